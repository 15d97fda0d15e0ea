"""The launched app, driven through gradio_client's /chat API and through the tab handlers themselves."""

from __future__ import annotations

import html
import threading
import time
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from helpers import fetch, generate_threads_alive, start_app_without_weights, wait_for

GREEDY = {"do_sample": False}


@pytest.fixture
def client(app):
    return Client(app["url"], analytics_enabled=False, verbose=False)


def chat(client, text, files=(), modality="image", history=None, settings=None):
    job = client.submit(text, [handle_file(str(f)) for f in files], modality, history, {**GREEDY, **(settings or {})},
                        api_name="/chat")
    updates = list(job)
    return updates, updates[-1]


def test_only_chat_preflight_and_status_are_public(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert list(endpoints) == ["/chat", "/preflight", "/status"]


@pytest.mark.parametrize("modality", ["image", "multi-image", "video"])
def test_each_tab_streams_and_answers_a_follow_up(client, modality, red_image, three_images, short_video):
    files = {"image": [red_image], "multi-image": three_images, "video": [short_video]}[modality]
    updates, last = chat(client, "Describe it.", files, modality, settings={"max_new_tokens": 16})
    assert len(updates) >= 2 and not updates[0]["done"]
    assert last["done"] and last["answer"] and last["stats"]["generated_tokens"] == 16
    assert last["stats"]["visual_tokens"] > 0
    assert updates[0]["answer"] != last["answer"], "the reply arrives in pieces"
    _, follow_up = chat(client, "Tell me more.", (), modality, history=last["history"], settings={"max_new_tokens": 4})
    assert follow_up["stats"]["visual_tokens"] == last["stats"]["visual_tokens"]
    assert [m["role"] for m in follow_up["history"]] == ["user", "assistant", "user", "assistant"]


def test_requests_leave_nothing_in_gradio_s_cache_but_the_uploaded_files(client, red_image, three_images):
    from gradio.utils import get_upload_folder

    cache = Path(get_upload_folder())
    before = set(cache.rglob("*"))
    for _ in range(2):
        chat(client, "Compare them.", [red_image, *three_images], "multi-image", settings={"max_new_tokens": 2})
    created = {path for path in set(cache.rglob("*")) - before if path.is_file()}
    assert {path.name for path in created} <= {path.name for path in [red_image, *three_images]}
    assert all(path.parent.parent == cache for path in created), "each upload sits in its own hash folder"


def test_a_file_path_the_server_did_not_receive_is_refused(app):
    """A script can name any path in its request; only files uploaded to this server may be read."""
    import json
    import uuid

    import httpx

    config = httpx.get(app["url"] + "config").json()
    fn_index = next(i for i, dependency in enumerate(config["dependencies"]) if dependency.get("api_name") == "chat")
    session = uuid.uuid4().hex
    data = ["What is it?", [{"path": __file__, "meta": {"_type": "gradio.FileData"}}], "image", None, {}]
    joined = httpx.post(app["url"] + "gradio_api/queue/join",
                        json={"data": data, "fn_index": fn_index, "session_hash": session})
    joined.raise_for_status()
    with httpx.stream("GET", app["url"] + "gradio_api/queue/data", params={"session_hash": session},
                      timeout=60) as events:
        completed = next(message for line in events.iter_lines() if line.startswith("data:")
                         for message in [json.loads(line[5:])] if message.get("msg") == "process_completed")
    assert not completed["success"] and "not uploaded" in completed["output"]["error"], completed
    # and the handler's own check, behind Gradio's
    from minicpm_demo.ui.api import chat_request
    from minicpm_demo.ui.errors import RequestError

    with pytest.raises(RequestError, match="was not uploaded to this server"):
        chat_request(app["engine"], "What is it?", [{"path": __file__}], "image", None, None)


def test_an_animated_webp_plays_in_the_video_tab(client, tmp_path):
    from media_corpus import animated_webp

    updates, last = chat(client, "What changes?", [animated_webp(tmp_path)], "video", settings={"max_new_tokens": 4})
    assert last["done"] and last["stats"]["generated_tokens"] == 4 and last["stats"]["visual_tokens"] > 0


def test_downsample_mode_changes_visual_tokens(client, red_image):
    counts = {mode: chat(client, "Read.", [red_image], settings={"downsample_mode": mode, "max_new_tokens": 1})[1]
              ["stats"]["visual_tokens"] for mode in ("16x", "4x")}
    assert 3.5 <= counts["4x"] / counts["16x"] <= 4.5


def test_max_num_frames_and_use_image_id_reach_the_processor(client, short_video):
    def stats(**settings):
        return chat(client, "What happens?", [short_video], "video", settings={"max_new_tokens": 1, **settings})[1]["stats"]

    four, two = stats(max_num_frames=4), stats(max_num_frames=2)
    assert four["visual_tokens"] == 2 * two["visual_tokens"]
    assert f"{Path(short_video).name}: 4 frames of " in " · ".join(four["notes"]), "the stats say what the model saw"
    with_ids = stats(max_num_frames=2, use_image_id=True)
    assert with_ids["visual_tokens"] == two["visual_tokens"] and with_ids["prompt_tokens"] > two["prompt_tokens"]


def test_cancel_mid_stream_stops_generation_and_the_next_request_works(client, red_image):
    job = client.submit("Go on.", [handle_file(str(red_image))], "image", None, {**GREEDY, "max_new_tokens": 4000},
                        api_name="/chat")
    deadline = time.monotonic() + 60
    while sum(1 for update in job.outputs() if update["answer"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert generate_threads_alive()
    job.cancel()
    deadline = time.monotonic() + 10
    while generate_threads_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not generate_threads_alive(), "Stop must end generate itself, not only the stream"
    _, last = chat(client, "Again.", [red_image], settings={"max_new_tokens": 3})
    assert last["done"] and last["stats"]["generated_tokens"] == 3


def request_threads_alive() -> list[str]:
    """The threads a request works on (reading media, the processor, generate, the reply's own)."""
    names = ("generate", "prepare-inputs", "reply", "video-decode")
    return [t.name for t in threading.enumerate() if t.is_alive() and t.name.startswith(names)]


def ended_within(seconds: float) -> float | None:
    started = time.monotonic()
    while request_threads_alive() and time.monotonic() - started < seconds:
        time.sleep(0.02)
    return None if request_threads_alive() else time.monotonic() - started


def test_cancel_during_the_prompts_first_pass_frees_the_worker_within_a_second(app, client, red_image):
    """Before the first token there is nothing to stream, yet a cancelled request must end at once."""
    model = app["engine"].ready_model().model
    entered = threading.Event()

    def slow_layer(*args):  # a slow machine: each layer of the prompt's pass takes half a second
        entered.set()
        time.sleep(0.5)

    hooks = [layer.register_forward_pre_hook(slow_layer)
             for layers in (model.model.vision_tower.encoder.layers, model.model.language_model.layers)
             for layer in layers]
    try:
        job = client.submit("Describe it.", [handle_file(str(red_image))], "image", None,
                            {**GREEDY, "max_new_tokens": 50}, api_name="/chat")
        assert entered.wait(60), "the prompt's pass did not start"
        assert not any(update["answer"] for update in job.outputs())
        job.cancel()
        took = ended_within(10)
    finally:
        for hook in hooks:
            hook.remove()
    assert took is not None and took < 1.5, f"still working: {request_threads_alive()} ({took})"
    _, last = chat(client, "Again.", [red_image], settings={"max_new_tokens": 3})
    assert last["done"] and last["stats"]["generated_tokens"] == 3


def test_a_client_that_goes_away_during_the_prompts_first_pass_frees_the_worker(app, client):
    """A killed script or a closed tab, mid-prefill: its stream of events closes, and the work must end too."""
    import json
    import uuid

    import httpx

    model = app["engine"].ready_model().model
    entered = threading.Event()

    def slow_layer(*args):
        entered.set()
        time.sleep(0.5)

    hooks = [layer.register_forward_pre_hook(slow_layer) for layer in model.model.language_model.layers]
    config = httpx.get(app["url"] + "config").json()
    fn_index = next(i for i, dependency in enumerate(config["dependencies"]) if dependency.get("api_name") == "chat")
    session = uuid.uuid4().hex
    try:
        joined = httpx.post(app["url"] + "gradio_api/queue/join", json={
            "data": ["Tell me a story.", [], "image", None, {**GREEDY, "max_new_tokens": 50}],
            "fn_index": fn_index, "session_hash": session})
        joined.raise_for_status()
        with httpx.stream("GET", app["url"] + "gradio_api/queue/data", params={"session_hash": session},
                          timeout=60) as events:
            for line in events.iter_lines():
                if line.startswith("data:") and json.loads(line[5:]).get("msg") == "process_generating" \
                        and entered.is_set():
                    break  # and the connection closes, mid-prefill
        took = ended_within(10)
    finally:
        for hook in hooks:
            hook.remove()
    assert took is not None and took < 1.5, f"still working: {request_threads_alive()} ({took})"


def test_cancel_while_a_video_is_read_frees_the_worker_within_a_second(client, short_video, monkeypatch):
    from minicpm_demo.media import video

    real_upright, decoded = video._upright, threading.Event()

    def slow_frame(frame, size):  # a slow machine: each sampled frame takes a fifth of a second
        decoded.set()
        time.sleep(0.2)
        return real_upright(frame, size)

    monkeypatch.setattr(video, "_upright", slow_frame)
    job = client.submit("What happens?", [handle_file(str(short_video))], "video", None,
                        {**GREEDY, "max_new_tokens": 5, "stack_frames": 8}, api_name="/chat")
    assert decoded.wait(60), "the video was not read"
    job.cancel()
    took = ended_within(10)
    monkeypatch.setattr(video, "_upright", real_upright)
    assert took is not None and took < 1.5, f"still working: {request_threads_alive()} ({took})"
    _, last = chat(client, "Again.", [short_video], "video", settings={"max_new_tokens": 3})
    assert last["done"] and last["stats"]["generated_tokens"] == 3


def test_updates_say_what_the_request_is_doing(client, red_image):
    updates, last = chat(client, "Describe it.", [red_image], settings={"max_new_tokens": 8})
    statuses = [update["status"] for update in updates]
    assert statuses[-1] == "done" and last["done"] and "done" not in statuses[:-1]
    assert all(update["status"] == "generating" for update in updates[:-1] if update["answer"])
    assert all(update["status"] == "preparing" for update in updates if not update["answer"]
               and not update["done"])


@pytest.mark.parametrize("settings,message", [
    ({"downsample_mode": "2x"}, "downsample_mode must be one of"),
    ({"max_slice_nums": 99}, "max_slice_nums must be between 1 and 36"),
    ({"volume": 11}, "Unknown setting volume"),
])
def test_bad_settings_come_back_as_clear_errors(client, red_image, settings, message):
    with pytest.raises(Exception, match=message):
        client.predict("Hi", [handle_file(str(red_image))], "image", None, settings, api_name="/chat")


def test_a_bad_file_gets_a_clear_message_and_the_next_request_works(client, tmp_path, red_image):
    fake = tmp_path / "notes.png"
    fake.write_text("this is text, not a picture")
    with pytest.raises(Exception, match="not an image this demo can read"):
        client.predict("What is it?", [handle_file(str(fake))], "image", None, GREEDY, api_name="/chat")
    _, last = chat(client, "What is it?", [red_image], settings={"max_new_tokens": 2})
    assert last["done"]


def test_two_clients_never_see_each_others_history(app, red_image, three_images):
    results = {}

    def converse(name, image):
        own = Client(app["url"], analytics_enabled=False, verbose=False)
        _, first = chat(own, f"question from {name}", [image], settings={"max_new_tokens": 3})
        _, second = chat(own, f"follow-up from {name}", (), history=first["history"], settings={"max_new_tokens": 3})
        results[name] = second["history"]

    threads = [threading.Thread(target=converse, args=(name, image))
               for name, image in (("alice", red_image), ("bob", three_images[0]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for name, other in (("alice", "bob"), ("bob", "alice")):
        text = str(results[name])
        assert f"question from {name}" in text and f"follow-up from {name}" in text
        assert other not in text


# ---- the tab handlers (what the page's buttons call), on the same launched engine ------------------

@pytest.fixture
def image_tab(app):
    from dataclasses import fields

    from minicpm_demo.settings import Settings
    from minicpm_demo.ui.blocks import ChatTab, TabSpec
    from minicpm_demo.ui.pacing import QueuePacer

    names = [f.name for f in fields(Settings) if f.name not in ("enable_thinking", "max_num_frames", "stack_frames")]
    tab = ChatTab(app["engine"], TabSpec("image", "tab_image", "input_image", ("image",), "single"), names,
                  QueuePacer(app["demo"]))
    defaults = Settings.for_modality("image", do_sample=False, max_new_tokens=6)
    values = tuple(getattr(defaults, name) for name in names)
    return tab, values


def run_turn(tab, values, session, text, files=()):
    session, shown, *_ = tab.add_user_turn({"text": text, "files": [str(f) for f in files]}, session)
    updates = list(tab.respond(session, False, *values))
    return updates[-1][0], updates


def test_undo_regenerate_clear(image_tab, red_image):
    from minicpm_demo.session import ChatSession

    tab, values = image_tab
    session, _ = run_turn(tab, values, ChatSession(), "First?", [red_image])
    session, updates = run_turn(tab, values, session, "Second?")
    assert len(updates) >= 2 and len(session.conversation.turns) == 2
    first_reply = session.conversation.turns[-1].reply

    session, shown, _, send, stop = tab.prepare_regenerate(session)
    assert session.conversation.pending and shown[-1]["role"] == "user", "the reply waits for respond"
    assert not send.interactive and stop.interactive, "Stop only while a reply runs"
    session = list(tab.respond(session, False, *values))[-1][0]
    assert session.conversation.turns[-1].reply == first_reply, "greedy regeneration repeats the reply"

    session, shown, box = tab.undo(session)
    assert len(session.conversation.turns) == 1 and box == {"text": "Second?", "files": []}
    assert [m["role"] for m in shown] == ["user", "user", "assistant"]

    session, shown, _, send, stop = tab.clear(session)
    assert session.conversation.turns == () and shown == []
    assert send.interactive and not stop.interactive


def test_an_earlier_question_edited_is_asked_again_from_there(image_tab, red_image):
    from types import SimpleNamespace

    from minicpm_demo.session import ChatSession

    tab, values = image_tab
    session, _ = run_turn(tab, values, ChatSession(), "First?", [red_image])
    session, _ = run_turn(tab, values, session, "Second?")
    shown = session.conversation
    # the chat shows: the picture (0), "First?" (1), its reply (2), "Second?" (3), its reply (4)
    for index in (0, 2, 4):  # a file or a reply is not a question to edit: the chat goes back to what it showed
        same, chat, *_ = tab.edit(session, SimpleNamespace(index=index, value="Changed?"))
        assert same.conversation == shown and chat[1]["content"] == "First?"
    session, chat, _, send, stop = tab.edit(session, SimpleNamespace(index=1, value="What colour is it?"))
    assert [turn.text for turn in session.conversation.turns] == ["What colour is it?"], "the later turn is dropped"
    assert session.conversation.turns[0].attachments == shown.turns[0].attachments, "its picture is kept"
    assert session.conversation.pending and not send.interactive and stop.interactive
    session = list(tab.respond(session, False, *values))[-1][0]
    assert session.conversation.turns[0].stats["visual_tokens"] > 0, "answered with the picture"


def test_stop_button_keeps_the_partial_reply_marked_as_stopped(image_tab, red_image):
    import gradio as gr

    from minicpm_demo.session import ChatSession
    from minicpm_demo.ui.render import STOPPED_MARK

    tab, values = image_tab
    values = tuple(4000 if v == 6 else v for v in values)  # max_new_tokens
    session, *_ = tab.add_user_turn({"text": "Talk.", "files": [str(red_image)]}, ChatSession())
    stream = tab.respond(session, False, *values)
    # the updates that show something (the others leave the page as it is while nothing is new)
    for index, (session, shown, _) in enumerate(update for update in stream if update[1] != gr.skip()):
        if index == 2:
            session.stop()
    turn = session.conversation.turns[-1]
    # the third update comes ~0.4 s in: far short of 4000 tokens at any speed this machine decodes the tiny model
    assert turn.stopped and turn.reply and turn.stats["generated_tokens"] < 1000
    assert STOPPED_MARK in shown[-1]["content"]
    assert not generate_threads_alive()


def test_clear_while_a_reply_streams_keeps_the_chat_cleared(image_tab, red_image):
    import gradio as gr

    from minicpm_demo.session import ChatSession

    tab, values = image_tab
    values = tuple(4000 if v == 6 else v for v in values)  # max_new_tokens
    session, *_ = tab.add_user_turn({"text": "Talk.", "files": [str(red_image)]}, ChatSession())
    stream = tab.respond(session, False, *values)
    next(update for update in stream if update[1] != gr.skip() and update[0].conversation.turns[-1].reply)
    cleared, chat, *_ = tab.clear(session)
    later = list(stream)
    assert chat == [] and cleared.conversation.turns == (), "cleared"
    assert all(update[1] == gr.skip() for update in later), "the stopped reply does not come back on the page"
    assert session.conversation.turns == () and not generate_threads_alive()


def test_a_question_sent_while_a_reply_streams_waits_until_it_ends(image_tab, red_image):
    """The streaming turn holds the reply so far, so nothing is pending; the reply is still running."""
    import gradio as gr

    from minicpm_demo.session import ChatSession

    tab, values = image_tab
    session, *_ = tab.add_user_turn({"text": "Talk.", "files": [str(red_image)]}, ChatSession())
    stream = tab.respond(session, False, *values)
    next(update for update in stream if update[1] != gr.skip() and update[0].conversation.turns[-1].reply)
    assert not session.conversation.pending and session.answering
    refused = tab.add_user_turn({"text": "Next?", "files": []}, session)
    assert refused[1:] == (gr.skip(),) * 4 and len(session.conversation.turns) == 1, "not sent: it would stop it"
    session.stop()
    list(stream)
    assert not session.answering and session.conversation.turns[-1].stats is not None
    session, shown, *_ = tab.add_user_turn({"text": "Next?", "files": []}, session)
    assert len(session.conversation.turns) == 2 and session.conversation.pending, "once it ended, sent"
    list(tab.respond(session, False, *values))
    assert not session.answering


def test_a_bad_upload_keeps_the_conversation(image_tab, red_image, tmp_path):
    import gradio as gr

    from minicpm_demo.session import ChatSession

    tab, values = image_tab
    session, _ = run_turn(tab, values, ChatSession(), "First?", [red_image])
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    session, *_ = tab.add_user_turn({"text": "And this?", "files": [str(red_image), str(empty)]}, session)
    with pytest.warns(UserWarning, match="empty"):  # the toast, outside a page
        updates = list(tab.respond(session, False, *values))
    # the one update that puts the question back (the others show the placeholder or leave the page as it is)
    session, shown, box = next(update for update in updates if update[2] != gr.skip())
    assert len(session.conversation.turns) == 1, "the failed question is rolled back"
    assert box.value["text"] == "And this?", "and put back in the input"
    assert [Path(f["path"]).name for f in box.value["files"]] == [red_image.name], "less the refused file"
    session, _ = run_turn(tab, values, session, "Still there?")
    assert len(session.conversation.turns) == 2


def test_a_conversation_past_the_image_limit_is_told_to_start_anew_and_keeps_its_turns(
        app, image_tab, red_image, monkeypatch):
    from dataclasses import replace

    import gradio as gr

    from minicpm_demo.session import ChatSession

    monkeypatch.setattr(app["engine"], "limits", replace(app["engine"].limits, max_images=2))
    tab, values = image_tab
    session, _ = run_turn(tab, values, ChatSession(), "First?", [red_image])
    session, _ = run_turn(tab, values, session, "Second?", [red_image])
    session, *_ = tab.add_user_turn({"text": "Third?", "files": [str(red_image)]}, session)
    with pytest.warns(UserWarning, match=r"This conversation has 3 images; this demo takes up to 2 .*Clear"):
        updates = list(tab.respond(session, False, *values))
    session, _, box = next(update for update in updates if update[2] != gr.skip())
    assert len(session.conversation.turns) == 2, "the two answered turns are kept"
    assert box.value["text"] == "Third?" and len(box.value["files"]) == 1, "the question and its image go back"
    session, _ = run_turn(tab, values, session, "About the first two?")
    assert len(session.conversation.turns) == 3, "a question without a new image still works"
    session, _ = run_turn(tab, values, ChatSession(), "Third?", [red_image])
    assert session.conversation.turns[-1].stats is not None, "and so does a new conversation"


# ---- launch without weights ---------------------------------------------------------------------

def test_launch_without_weights_serves_the_page_and_explains(tmp_path):
    process, url, log_path = start_app_without_weights(tmp_path)
    try:
        page = wait_for(lambda: fetch(url))
        assert page and b"MiniCPM-V 4.6" in page
        logged = wait_for(lambda: "are unreachable" in log_path.read_text())
        assert logged, log_path.read_text()[-2000:]
        assert "openbmb/MiniCPM-V-4.6-GPTQ" in log_path.read_text()
        assert process.poll() is None, "the app keeps running"
        assert fetch(url), "and keeps serving"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_every_bad_upload_in_the_corpus_keeps_the_session_working(app, tmp_path, red_image, short_video):
    from media_corpus import CORPUS

    from minicpm_demo.session import ChatSession
    from minicpm_demo.ui.blocks import ChatTab, TabSpec
    from minicpm_demo.ui.pacing import QueuePacer

    tabs = {}
    for kind, modality in (("image", "image"), ("video", "video")):
        names = ["max_new_tokens", "do_sample"]
        tabs[kind] = (ChatTab(app["engine"], TabSpec(modality, "t", "i", (kind,), "single"), names,
                              QueuePacer(app["demo"])), (3, False))
    sessions = {kind: ChatSession() for kind in tabs}
    for kind, good in (("image", red_image), ("video", short_video)):
        tab, values = tabs[kind]
        run_turn(tab, values, sessions[kind], "First question", [good])
    for name, case in CORPUS.items():
        if not case.error:
            continue
        tab, values = tabs[case.kind]
        session = sessions[case.kind]
        before = session.conversation
        path = case.build(tmp_path)
        tab.add_user_turn({"text": f"About {name}?", "files": [str(path)]}, session)
        with pytest.warns(UserWarning) as caught:
            list(tab.respond(session, False, *values))
        assert any(html.unescape(case.error) in html.unescape(str(w.message)) for w in caught), name
        assert session.conversation == before, f"{name}: the conversation is kept"
    for kind, good in (("image", red_image), ("video", short_video)):
        tab, values = tabs[kind]
        session, _ = run_turn(tab, values, sessions[kind], "Still working?")
        assert len(session.conversation.turns) == 2 and session.conversation.turns[-1].stats["generated_tokens"] == 3


def test_auth_gates_the_page_and_the_api(tiny_checkpoint, red_image):
    import urllib.error
    import urllib.request

    from helpers import launched_app

    with launched_app(tiny_checkpoint, "--auth", "alice:s3cret") as url:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + "config", timeout=10)
        assert refused.value.code == 401
        with pytest.raises(Exception):
            Client(url, analytics_enabled=False, verbose=False)
        with pytest.raises(Exception):
            Client(url, auth=("alice", "wrong"), analytics_enabled=False, verbose=False)
        client = Client(url, auth=("alice", "s3cret"), analytics_enabled=False, verbose=False)
        _, last = chat(client, "Hello?", [red_image], settings={"max_new_tokens": 2})
        assert last["done"]

