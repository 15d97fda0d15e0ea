"""ZeroGPU: the GPU time a request asks for, the cap, and nothing of it outside a ZeroGPU Space."""

from __future__ import annotations

import pytest

from minicpm_demo.chat import Attachment, Conversation
from minicpm_demo.engine import ResourceError, generate, zero_gpu
from minicpm_demo.settings import Settings


def request(engine, attachments, modality, **overrides):
    settings = Settings.for_modality(modality, do_sample=False, **overrides)
    inputs = engine.prepare(Conversation().ask("?", attachments).to_messages(), settings).inputs
    return inputs, settings.to_generate_kwargs()


def test_short_image_questions_ask_for_less_gpu_time_than_long_videos(engine, red_image, tmp_path):
    from media_corpus import encode_clip

    long_video = encode_clip(tmp_path / "long.mp4", seconds=30, fps=5, size=(320, 240))
    image = zero_gpu.estimate_gpu_seconds(engine.spec, *request(engine, (Attachment(str(red_image), "image"),),
                                                                "image", max_new_tokens=256))
    video = zero_gpu.estimate_gpu_seconds(engine.spec, *request(engine, (Attachment(str(long_video), "video"),),
                                                                "video", max_new_tokens=256, stack_frames=3))
    longer_reply = zero_gpu.estimate_gpu_seconds(engine.spec, *request(
        engine, (Attachment(str(red_image), "image"),), "image", max_new_tokens=2048))
    assert 8 < image < video, (image, video)
    assert longer_reply > image + 60, "max_new_tokens is paid for"


def test_a_request_over_the_cap_says_what_to_lower():
    zero_gpu.check_gpu_budget(100, 120, 1024)
    with pytest.raises(ResourceError) as caught:
        zero_gpu.check_gpu_budget(300, 120, 4096)
    message = str(caught.value)
    assert "300 s" in message and "120 s" in message and "max_new_tokens (now 4096)" in message


def test_the_cap_follows_the_environment(monkeypatch):
    monkeypatch.setenv("ZEROGPU_MAX_SECONDS", "300")
    assert zero_gpu.gpu_seconds_cap() == 300
    monkeypatch.delenv("ZEROGPU_MAX_SECONDS")
    assert zero_gpu.gpu_seconds_cap() == zero_gpu.DEFAULT_GPU_SECONDS_CAP


def test_outside_a_space_the_decorator_changes_nothing():
    assert not zero_gpu.ON_ZERO_GPU
    assert zero_gpu.generate_on_gpu is generate.generate_pieces


def test_the_reply_runs_where_spaces_finds_the_visitors_request(tiny_checkpoint, red_image, monkeypatch):
    """``spaces.GPU`` charges a visitor's own quota by the X-IP-Token header of the request it reads from Gradio's
    context: the reply, generated on a thread of its own, must still see that request."""
    from gradio.context import LocalContext
    from gradio_client import Client, handle_file
    from helpers import launched_app

    from minicpm_demo.engine.local import LocalEngine

    seen, generate = [], LocalEngine.generate

    def generate_and_look(self, prepared, stop):
        request = LocalContext.request.get(None)
        seen.append(None if request is None else request.headers.get("x-ip-token"))
        return generate(self, prepared, stop)

    monkeypatch.setattr(LocalEngine, "generate", generate_and_look)
    with launched_app(tiny_checkpoint) as url:
        client = Client(url, analytics_enabled=False, verbose=False, headers={"X-IP-Token": "visitor-token"})
        client.predict("What colour?", [handle_file(str(red_image))], "image", None,
                       {"do_sample": False, "max_new_tokens": 3}, api_name="/chat")
    assert seen == ["visitor-token"]
