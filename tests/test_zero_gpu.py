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
