"""``--backend openai``: the app in front of a real ``transformers serve`` running the tiny checkpoint."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from helpers import fetch, free_port, wait_for

from minicpm_demo.engine import EngineNotReady, RemoteEngine, RemoteError, RemoteSpec, run_request
from minicpm_demo.engine.servers import PROFILES, detect_server
from minicpm_demo.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
GREEDY = {"do_sample": False}
SERVE = Path(sys.executable).with_name("transformers")


@pytest.fixture(scope="module")
def model_server(tiny_checkpoint, tmp_path_factory):
    """``transformers serve`` pinned to the tiny checkpoint on a loopback port (what `make` installs for tests)."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    with open(log_path, "w") as log_file:
        process = subprocess.Popen([str(SERVE), "serve", str(tiny_checkpoint), "--host", "127.0.0.1", "--port",
                                    str(port)], cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT,
                                   env={**os.environ, "HF_HUB_OFFLINE": "1"})
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_for(lambda: fetch(f"{base}/health"), timeout=180):
            pytest.fail(f"transformers serve did not start:\n{log_path.read_text()[-3000:]}")
        yield {"api_base": f"{base}/v1", "model": str(tiny_checkpoint), "log": log_path, "pid": process.pid}
    finally:
        process.terminate()
        process.wait(timeout=30)


def launch(args: list[str], tmp_path_factory):
    sys.path.insert(0, str(ROOT))
    import app as app_module
    from minicpm_demo.config import parse_config

    os.environ.setdefault("GRADIO_TEMP_DIR", str(tmp_path_factory.mktemp("gradio")))
    port = free_port()
    config = parse_config([*args, "--port", str(port)], environ={})
    demo, engine = app_module.create_app(config)
    demo.launch(prevent_thread_lock=True, quiet=True, **app_module.launch_kwargs(config, demo))
    return demo, engine, f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def remote_app(model_server, tmp_path_factory):
    demo, engine, url = launch(["--backend", "openai", "--api-base", model_server["api_base"]], tmp_path_factory)
    try:
        yield {"url": url, "engine": engine, "client": Client(url, analytics_enabled=False, verbose=False)}
    finally:
        demo.close()


def chat(client, text, files=(), modality="image", settings=None, history=None):
    job = client.submit(text, [handle_file(str(f)) for f in files], modality, history, {**GREEDY, **(settings or {})},
                        api_name="/chat")
    updates = list(job)
    return updates, updates[-1]


# ---- through the launched app ---------------------------------------------------------------------
def test_status_names_the_server_and_what_it_cannot_take(remote_app, model_server):
    status = remote_app["engine"].status()
    assert status.state == "ready", status.message
    assert status.details["server"] == "transformers" and status.details["model"] == model_server["model"]
    assert "downsample_mode" in status.details["warnings"][0]


def test_image_reply_streams_and_follow_up_keeps_the_image(remote_app, red_image):
    client = remote_app["client"]
    updates, last = chat(client, "Describe it.", [red_image], settings={"max_new_tokens": 24})
    assert len(updates) >= 2 and not updates[0]["done"] and updates[0]["answer"] != last["answer"]
    assert last["done"] and last["stats"]["generated_tokens"] == 24 and last["stats"]["prompt_tokens"] > 100
    _, follow_up = chat(client, "More?", history=last["history"], settings={"max_new_tokens": 4})
    assert follow_up["stats"]["prompt_tokens"] > last["stats"]["prompt_tokens"], "the first image is sent again"


def test_processor_settings_reach_the_server_and_unsupported_ones_say_so(remote_app, red_image):
    client = remote_app["client"]
    sliced = chat(client, "Read.", [red_image], settings={"max_new_tokens": 1, "max_slice_nums": 9})[1]["stats"]
    single = chat(client, "Read.", [red_image], settings={"max_new_tokens": 1, "max_slice_nums": 1})[1]["stats"]
    assert single["prompt_tokens"] < sliced["prompt_tokens"]
    refused = chat(client, "Read.", [red_image], settings={"max_new_tokens": 1, "downsample_mode": "4x"})[1]["stats"]
    assert any(note.startswith("downsample_mode=4x not applied") for note in refused["notes"])


def test_a_system_prompt_reaches_the_server_and_a_text_only_question_is_answered(remote_app):
    client = remote_app["client"]
    plain = chat(client, "Say hello.", modality="video", settings={"max_new_tokens": 2})[1]
    told = chat(client, "Say hello.", modality="video", settings={"max_new_tokens": 2,
                                                                  "system_prompt": "Answer in one word."})[1]
    assert plain["done"] and told["done"] and told["stats"]["generated_tokens"] == 2
    assert told["stats"]["prompt_tokens"] > plain["stats"]["prompt_tokens"], "the server read the system message"


def test_video_reply_streams_as_sampled_frames(remote_app, short_video):
    updates, last = chat(remote_app["client"], "What happens?", [short_video], "video",
                         settings={"max_new_tokens": 16, "max_num_frames": 3})
    assert len(updates) >= 2 and last["done"] and last["answer"]
    assert any("sent as 3 frames" in note for note in last["stats"]["notes"])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def test_stop_mid_stream_ends_generation_on_the_server(remote_app, model_server, red_image):
    client = remote_app["client"]
    job = client.submit("Talk.", [handle_file(str(red_image))], "image", None, {"max_new_tokens": 4000},
                        api_name="/chat")
    assert wait_for(lambda: job.outputs(), timeout=60), "no streamed update arrived"
    job.cancel()
    time.sleep(2)
    # 4000 tokens keep a core busy for minutes: an idle server means the closed stream ended its generation.
    before = cpu_seconds(model_server["pid"])
    time.sleep(3)
    assert cpu_seconds(model_server["pid"]) - before < 1.0
    _, after = chat(client, "Again.", [red_image], settings={"max_new_tokens": 4})
    assert after["done"] and after["stats"]["generated_tokens"] == 4


def test_engine_stop_event_ends_the_stream_and_marks_it_stopped(remote_app, red_image):
    engine, stop = remote_app["engine"], threading.Event()
    messages = [{"role": "user", "content": [{"type": "image", "path": str(red_image)}, {"type": "text", "text": "Go"}]}]
    deltas = []
    for delta in run_request(engine, messages, Settings.for_modality("image", max_new_tokens=4000), stop):
        deltas.append(delta)
        if len(deltas) == 2:
            stop.set()
    assert deltas[-1].stats.stopped and deltas[-1].stats.generated_tokens < 100


def test_bad_upload_gets_the_same_message_as_locally(remote_app, tmp_path, red_image):
    broken = tmp_path / "broken.png"
    broken.write_text("not an image")
    client = remote_app["client"]
    with pytest.raises(Exception, match="not an image this demo can read"):
        client.predict("What?", [handle_file(str(broken))], "image", None, GREEDY, api_name="/chat")
    assert chat(client, "What?", [red_image], settings={"max_new_tokens": 2})[1]["done"]


# ---- servers that cannot answer -------------------------------------------------------------------
def test_closed_port_gives_a_clear_message_and_the_app_stays_up(tmp_path_factory, red_image):
    closed = f"http://127.0.0.1:{free_port()}/v1"
    demo, engine, url = launch(["--backend", "openai", "--api-base", closed], tmp_path_factory)
    try:
        assert engine.status().state == "error" and "Cannot reach the model server" in engine.status().message
        client = Client(url, analytics_enabled=False, verbose=False)
        for _ in range(2):  # and again: the app keeps answering with the message
            with pytest.raises(Exception, match="Cannot reach the model server.*--api-base"):
                client.predict("Hello?", [handle_file(str(red_image))], "image", None, GREEDY, api_name="/chat")
        assert fetch(url)
    finally:
        demo.close()


def test_wrong_served_model_names_what_the_server_has(model_server):
    engine = RemoteEngine(RemoteSpec(api_base=model_server["api_base"], served_model="no-such-model"))
    engine.start_loading()
    assert engine.status().state == "error"
    with pytest.raises(EngineNotReady, match=f"does not serve 'no-such-model'.*{model_server['model']}"):
        engine.ready_model()


def test_server_error_status_reaches_the_user(model_server, red_image):
    # transformers serve refuses fields it does not know (422): the message carries the server's reason.
    engine = RemoteEngine(RemoteSpec(api_base=model_server["api_base"], server="vllm"))
    messages = [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
    with pytest.raises(RemoteError, match=r"rejected the request \(422: .*Unexpected fields"):
        list(run_request(engine, messages, Settings.for_modality("image", max_new_tokens=2), threading.Event()))


# ---- what each server kind is sent (no server needed) ---------------------------------------------
def _request_for(server: str, content: list[dict], **settings):
    engine = RemoteEngine(RemoteSpec(api_base="http://127.0.0.1:9/v1", served_model="m", server=server))
    engine._model = "m"
    prepared = engine.prepare([{"role": "user", "content": content}], Settings.for_modality("video", **settings))
    return prepared.inputs, list(prepared.notes)


def test_vllm_gets_the_video_file_and_processor_kwargs(short_video):
    body, notes = _request_for("vllm", [{"type": "video", "path": str(short_video)}], downsample_mode="4x",
                               stack_frames=3, enable_thinking=True, top_k=20)
    video = body["messages"][0]["content"][0]
    assert video["type"] == "video_url" and video["video_url"]["url"].startswith("data:video/mp4;base64,")
    assert body["mm_processor_kwargs"]["downsample_mode"] == "4x" and body["mm_processor_kwargs"]["stack_frames"] == 3
    assert body["chat_template_kwargs"] == {"enable_thinking": True} and body["top_k"] == 20 and not notes


def test_a_pdf_is_sent_as_its_pages_with_the_note_naming_them(tmp_path):
    from media_corpus import pdf_of_pages

    body, notes = _request_for("vllm", [{"type": "image", "path": str(pdf_of_pages(tmp_path, 2))}])
    parts = body["messages"][0]["content"]
    assert [part["type"] for part in parts] == ["image_url", "image_url"]
    assert all(part["image_url"]["url"].startswith("data:image/") for part in parts)
    assert notes == ["report.pdf: pages 1–2 of 2"]


def test_plain_openai_server_gets_frames_and_every_dropped_setting_is_named(short_video):
    body, notes = _request_for("openai", [{"type": "video", "path": str(short_video)}], max_num_frames=2,
                               stack_frames=3, enable_thinking=True, temperature=0.3)
    assert [part["type"] for part in body["messages"][0]["content"]] == ["image_url", "image_url"]
    assert "chat_template_kwargs" not in body and "mm_processor_kwargs" not in body and body["temperature"] == 0.3
    assert {note.split("=")[0] for note in notes if "not applied" in note} == {"stack_frames", "enable_thinking"}


def test_server_kind_is_detected_from_the_model_listing():
    assert detect_server({"data": [{"id": "m", "owned_by": "vllm"}]}) == "vllm"
    assert detect_server({"data": [{"id": "m", "owned_by": "llamacpp"}]}) == "llama.cpp"
    assert detect_server({"data": [{"id": "m", "owned_by": "local", "status": {"value": "loaded"}}]}) == "transformers"
    assert detect_server({"data": [{"id": "gpt", "owned_by": "openai"}]}) == "openai"
    assert set(PROFILES) == {"vllm", "sglang", "llama.cpp", "transformers", "openai"}


def test_stop_while_a_video_is_decoded_sends_nothing_to_the_server(short_video, monkeypatch):
    from minicpm_demo.media import video

    engine = RemoteEngine(RemoteSpec(api_base=f"http://127.0.0.1:{free_port()}/v1", served_model="m", server="openai"))
    engine._model, engine._connected = "m", True  # a request would fail: nothing listens there
    stop = threading.Event()
    real_upright = video._upright
    monkeypatch.setattr(video, "_upright", lambda frame, size: (stop.set(), real_upright(frame, size))[1])
    messages = [{"role": "user", "content": [{"type": "video", "path": str(short_video)},
                                             {"type": "text", "text": "What happens?"}]}]
    deltas = list(run_request(engine, messages, Settings.for_modality("video", max_new_tokens=4), stop))
    assert len(deltas) == 1 and deltas[0].stats.stopped and deltas[0].stats.notes == ("before the model ran",)
