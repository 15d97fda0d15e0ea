"""The launched app under the requests a hostile visitor of a public Space sends: each bound refuses with a message
that names it, nothing of the refused request stays, and the next request is answered."""

from __future__ import annotations

import ctypes
import gc
import json
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest
from gradio_client import Client, handle_file
from helpers import launched_app

GREEDY = {"do_sample": False, "max_new_tokens": 2}
MB = 1024 * 1024
PASSWORD = ("alice", "s3cret")


@pytest.fixture
def client(app):
    return Client(app["url"], analytics_enabled=False, verbose=False)


def answered(client, files=(), modality="image"):
    job = client.submit("Still there?", [handle_file(str(f)) for f in files], modality, None, GREEDY,
                        api_name="/chat")
    assert job.result()["done"], "the next request is answered"


def refusal(client, *inputs) -> str:
    with pytest.raises(Exception) as caught:
        client.predict(*inputs, api_name="/chat")
    return str(caught.value)


def chat_fn_index(url) -> int:
    config = httpx.get(url + "config").json()
    return next(i for i, dependency in enumerate(config["dependencies"]) if dependency.get("api_name") == "chat")


def raw_chat(url, data, fn_index, body: bytes | None = None):
    """One /chat request as a browser or script sends it, from a new session: (join status, completed message)."""
    session = uuid.uuid4().hex
    payload = body or json.dumps({"data": data, "fn_index": fn_index, "session_hash": session}).encode()
    joined = httpx.post(url + "gradio_api/queue/join", content=payload, headers={"content-type": "application/json"})
    if joined.status_code != 200:
        return joined.status_code, joined.json()
    with httpx.stream("GET", url + "gradio_api/queue/data", params={"session_hash": session}, timeout=60) as events:
        for line in events.iter_lines():
            message = json.loads(line[5:]) if line.startswith("data:") else {}
            if message.get("msg") == "process_completed":
                return 200, message
    raise AssertionError("no process_completed message")


@pytest.mark.parametrize("inputs,message", [
    ((123, [], "image", None, {}), "`text` must be a string with the question (or null), not a number: 123."),
    (("Hi", [], "image", 5, {}), "`history` must be a list of messages"),
    (("Hi", [], 5, None, {}), "`modality` must be one of 'image', 'multi-image', 'video', not a number: 5."),
    (("Hi", [], "image", None, ["max_new_tokens"]), "`settings` must be a dict of setting names to values"),
    (("Hi", [], "image", None, {"max_new_tokens": "Infinity"}), "max_new_tokens must be a whole number, not 'Inf"),
    (("Hi", [], "image", None, {"max_new_tokens": "1e999"}), "max_new_tokens must be a whole number, not '1e999'"),
    (("Hi", [], "image", None, {"max_new_tokens": 10**400}), "max_new_tokens must be between 1 and 8192, not 1000"),
    (("Hi", [], "image", None, {"temperature": "NaN"}), "temperature must be a finite number, not 'NaN'"),
    (("Hi", [], "image", None, {"temperature": -0.0}), "temperature must be between 0.01 and 2.0, not 0.0"),
    (("Hi", [], "image", None, {"temperature": 1e308}), "temperature must be between 0.01 and 2.0, not 1e+308"),
    (("Hi", [], "image", [{"role": "user", "content": [{"type": "image", "image": "/tmp/a\x00b"}]}], {}),
     "A file named in the history has a NUL character in its name"),
    (("Hi", [{"x": 1}], "image", None, {}), "`files` item 1 must be a file passed through gradio_client's "
                                            "handle_file(path), which uploads the file, not a dict without a `path`"),
    (("Hi", [[1]], "image", None, {}), "`files` item 1 must be a file passed through"),
    (("Hi", [5], "image", None, {}), "not a number: 5. Send one file per item, in a flat list."),
    (("Hi", 5, "image", None, {}), "`files` must be a list of files"),
    (("Hi", [{"path": "/tmp/x.png"}], "image", None, {}), "`files` item 1 is not an uploaded file"),
    (("Hi", [], "image", [5], {}), "history is not in the messages format: history item 0 must be a dict"),
    (("Hi", [], "image", None, {"volume": 1, "v" * 5000: 2}), "Unknown settings volume, 'vvvvvvvvvv"),
    (("Hi", [], "image", None, {"system_prompt": "s" * 4001}), "The system prompt is 4,001 characters long; this "
                                                               "demo takes up to 4,000. Shorten it"),
    (("Hi", [], "video", None, {"system_prompt": ["Be brief."]}), "system_prompt must be str, not ['Be brief.']"),
])
def test_each_malformed_input_gets_its_own_message_and_the_next_request_works(client, inputs, message):
    shown = refusal(client, *inputs)
    assert message in shown, shown
    assert "Traceback" not in shown and "validation error for" not in shown
    answered(client)


def test_a_long_question_many_turns_or_a_long_history_are_refused_before_any_work(client, app):
    limits = app["engine"].request_limits
    assert "this demo takes up to 20,000 in one question" in refusal(client, "x" * 20_001, [], "image", None, {})
    turns = [message for _ in range(limits.max_turns) for message in ({"role": "user", "content": "Q"},
                                                                       {"role": "assistant", "content": "A"})]
    assert "would have 51 questions; this demo takes up to 50" in refusal(client, "Hi", [], "image", turns, {})
    history = [{"role": "user", "content": "q" * 150_000}, {"role": "assistant", "content": "a" * 60_000}]
    shown = refusal(client, "Hi", [], "image", history, {})
    assert "would hold 210,002 characters of text; this demo takes up to 200,000" in shown
    answered(client)


def test_a_body_over_the_cap_is_refused_with_413_before_gradio_reads_it(app, client):
    cap = app["engine"].request_limits.max_body_bytes
    body = b'{"data": ["' + b"x" * (cap + 1) + b'"]}'
    declared = httpx.post(app["url"] + "gradio_api/queue/join", content=body,
                          headers={"content-type": "application/json"})
    pieces = (body[start:start + MB] for start in range(0, len(body), MB))  # no Content-Length: counted as it comes
    streamed = httpx.post(app["url"] + "gradio_api/queue/join", content=pieces,
                          headers={"content-type": "application/json"})
    for response in (declared, streamed):
        assert response.status_code == 413
        assert f"this server takes up to {cap / MB:,.1f} MB in one request" in response.json()["detail"]
    answered(client)


def test_a_file_named_by_url_is_refused_before_gradio_fetches_it_and_leaves_no_directory(app, client):
    from gradio.utils import get_upload_folder

    cache = Path(get_upload_folder())
    before = set(cache.iterdir())
    url_file = {"path": "http://127.0.0.1:1/holiday.png", "meta": {"_type": "gradio.FileData"}}
    for inputs in (("Hi", [url_file], "image", None, {}),
                   ("Hi", [], "image", [{"role": "user", "content": url_file}, {"role": "assistant", "content": "A"}],
                    {})):
        assert "A file in the request is a URL ('http://127.0.0.1:1/holiday.png')" in refusal(client, *inputs)
    fn_index = chat_fn_index(app["url"])
    escaped = (b'{"data": ["Hi", [{"path": "http://127.0.0.1:1/a.png", "meta": {"_type": "gradio\\u002eFileData"}}], '
               b'"image", null, {}], "fn_index": %d, "session_hash": "s"}' % fn_index)
    assert raw_chat(app["url"], None, fn_index, body=escaped)[0] == 422
    nul = {"path": "/tmp/a\x00b", "meta": {"_type": "gradio.FileData"}}
    status, answer = raw_chat(app["url"], ["Hi", [nul], "image", None, {}], fn_index)
    assert status == 422 and "has a NUL character in its path" in answer["detail"][0]["message"]
    assert set(cache.iterdir()) == before, "no directory is left in the upload cache"
    answered(client)


def _rss_mb() -> float:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand freed heap pages back, so that RSS shows what is kept
    except OSError:
        pass
    return psutil.Process().memory_info().rss / MB


def test_refused_requests_keep_nothing_in_their_sessions(app):
    """Each request below comes from a new session with a 1 MB question, refused; Gradio keeps up to 10,000
    sessions, so anything a session kept of it would add up (the server runs in this process)."""
    fn_index, question = chat_fn_index(app["url"]), "x" * MB

    def refused_from_new_sessions(count):
        for _ in range(count):
            _, completed = raw_chat(app["url"], [question, [], "image", None, {}], fn_index)
            assert not completed["success"] and "characters long" in completed["output"]["error"]

    refused_from_new_sessions(10)  # the allocator's own high-water mark
    growth = []
    for _ in range(3):  # kept questions would add 30 MB each round; a background import may add to one round
        before = _rss_mb()
        refused_from_new_sessions(30)
        growth.append(_rss_mb() - before)
        if growth[-1] < 8:
            break
    assert min(growth) < 8, f"30 refused 1 MB questions must not stay in memory: each round grew {growth} MB"


# ---- a Space-like app: small limits, a password, visitors told apart by a proxy's X-Forwarded-For ----------------

@pytest.fixture(scope="module")
def guarded(tiny_checkpoint, tmp_path_factory):
    with launched_app(tiny_checkpoint, "--auth-file", str(_auth_file(tmp_path_factory.mktemp("auth"))),
                      "--max-image-mb", "1", "--upload-mb-per-hour", "3", "--login-failures", "2",
                      "--forwarded-for", "last") as url:
        yield url


def _auth_file(folder: Path) -> Path:
    path = folder / "users.txt"
    path.write_text(":".join(PASSWORD) + "\n")
    return path


def visitor(address: str) -> dict:
    return {"X-Forwarded-For": f"198.51.100.7, {address}"}  # the last entry is what "our" proxy saw


def login(url, address, password):
    return httpx.post(url + "login", data={"username": PASSWORD[0], "password": password}, headers=visitor(address))


def test_wrong_passwords_slow_down_that_visitor_only(guarded):
    assert [login(guarded, "203.0.113.1", "wrong").status_code for _ in range(2)] == [400, 400]
    refused = login(guarded, "203.0.113.1", PASSWORD[1])
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert "Too many wrong passwords from this address: wait 1 s" in refused.json()["detail"]
    assert login(guarded, "203.0.113.2", PASSWORD[1]).status_code == 200, "another visitor is not slowed down"
    time.sleep(1.1)
    assert login(guarded, "203.0.113.1", PASSWORD[1]).status_code == 200, "the right password, after the wait"
    assert login(guarded, "203.0.113.1", "wrong").status_code == 400, "and a success clears the count"


def _upload(url, address, path, cookies):
    with open(path, "rb") as file:
        return httpx.post(url + "gradio_api/upload", files={"files": (path.name, file, "image/png")},
                          headers=visitor(address), cookies=cookies)


def test_an_image_over_its_limit_is_refused_by_chat_and_deleted_at_once(guarded, tmp_path, red_image):
    from gradio.utils import get_upload_folder

    big = tmp_path / "holiday.png"
    big.write_bytes(red_image.read_bytes() + b"\0" * int(1.6 * MB))
    client = Client(guarded, auth=PASSWORD, headers=visitor("203.0.113.10"), analytics_enabled=False, verbose=False)
    shown = refusal(client, "What is it?", [handle_file(str(big))], "image", None, {})
    assert "The image 'holiday.png' is 2 MB; this demo takes up to 1 MB. Upload a smaller file" in shown
    assert not list(Path(get_upload_folder()).rglob("holiday.png")), "the refused upload is gone, folder and all"
    answered(client, [red_image])


def test_uploads_over_a_visitors_hourly_quota_get_429_and_other_visitors_still_upload(guarded, tmp_path):
    cookies = httpx.post(guarded + "login", data=dict(zip(("username", "password"), PASSWORD)),
                         headers=visitor("203.0.113.20")).cookies
    part = tmp_path / "part.png"
    part.write_bytes(b"\1" * int(1.2 * MB))
    assert [_upload(guarded, "203.0.113.20", part, cookies).status_code for _ in range(2)] == [200, 200]
    over = _upload(guarded, "203.0.113.20", part, cookies)
    assert over.status_code == 429 and int(over.headers["retry-after"]) > 60
    assert "over what one visitor may upload in an hour (3 MB): wait" in over.json()["detail"]
    assert _upload(guarded, "203.0.113.21", part, cookies).status_code == 200, "another visitor's quota is their own"
    whole = tmp_path / "whole.png"
    whole.write_bytes(b"\1" * 4 * MB)
    too_big = _upload(guarded, "203.0.113.22", whole, cookies)
    assert too_big.status_code == 413 and "one visitor may upload up to 3 MB an hour" in too_big.json()["detail"]
    unsized = httpx.post(guarded + "gradio_api/upload", content=iter([b"--x--\r\n"]), cookies=cookies,
                         headers={**visitor("203.0.113.23"), "content-type": "multipart/form-data; boundary=x"})
    assert unsized.status_code == 411


# ---- who a visitor is, the quota and the slow-down, on a clock of their own ------------------------------------

def _scope(peer: str, *forwarded: str) -> dict:
    return {"client": (peer, 5000), "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded]}


def test_x_forwarded_for_is_read_only_where_a_proxy_of_the_operator_writes_it(monkeypatch):
    from minicpm_demo.ui.visitors import visitor_address

    sent = _scope("10.0.3.7", "198.51.100.7, 203.0.113.9")
    monkeypatch.delenv("SPACE_ID", raising=False)
    assert visitor_address(sent, "auto") == "10.0.3.7", "off a Space anyone can write the header"
    monkeypatch.setenv("SPACE_ID", "someone/demo")
    assert visitor_address(sent, "auto") == "198.51.100.7", "in a Space, the first entry"
    assert visitor_address(_scope("8.8.8.8", "198.51.100.7"), "auto") == "8.8.8.8", "not from a public peer"
    assert visitor_address(sent, "last") == "203.0.113.9" and visitor_address(sent, "ignore") == "10.0.3.7"
    assert visitor_address(_scope("10.0.3.7"), "first") == "10.0.3.7", "no header: the connection's address"


def test_the_upload_quota_refills_over_the_hour():
    from minicpm_demo.ui.visitors import UploadQuota

    now = [0.0]
    quota = UploadQuota(3600, clock=lambda: now[0])  # a byte a second
    assert quota.take("a", 3000) is None and quota.take("a", 1000) == pytest.approx(400)
    assert quota.take("b", 1000) is None, "each visitor has their own"
    now[0] += 400
    assert quota.take("a", 1000) is None
    assert quota.take("a", 4000) == float("inf"), "more than an hour's worth never fits"


def test_each_wrong_password_past_the_free_ones_doubles_the_wait_and_a_right_one_clears_it():
    from minicpm_demo.ui.visitors import LoginThrottle

    now = [0.0]
    throttle = LoginThrottle(3, clock=lambda: now[0])
    waits = []
    for _ in range(5):
        throttle.failed("a")
        waits.append(throttle.wait_s("a"))
        now[0] += waits[-1]
    assert waits == [0, 0, 1, 2, 4]
    throttle.succeeded("a")
    assert throttle.wait_s("a") == 0
    for _ in range(3):
        throttle.failed("b")
    now[0] += 3601
    throttle.failed("b")
    assert throttle.wait_s("b") == 0, "an hour without a wrong password forgets the earlier ones"


def test_lean_sessions_are_this_app_s_only(app):
    import gradio as gr
    from gradio.state_holder import SessionState

    from minicpm_demo.ui.gradio_patches import lean_sessions

    assert lean_sessions(app["demo"]), "the Gradio the patch is written for"
    assert SessionState(app["demo"]).config_values == {}
    with gr.Blocks() as other:
        gr.Textbox()
    assert SessionState(other).config_values, "another page's sessions are as Gradio makes them"
