"""What a request will cost, before it is sent: ``/preflight`` counts what ``/chat`` then reports, says which
frames and slices the model gets, and whether the request fits, with the setting to lower when it does not."""

from __future__ import annotations

import pytest
from gradio_client import Client, handle_file

from minicpm_demo.engine.preflight import Calibration, next_step, slices_per_image
from minicpm_demo.settings import MODALITIES, Settings

GREEDY = {"do_sample": False, "max_new_tokens": 3}
IMAGE, SLICE, PAD, VIDEO_PAD, TEXT = 1, 2, 3, 4, 9


@pytest.fixture(scope="module")
def client(app):
    return Client(app["url"], analytics_enabled=False, verbose=False)


def ask(client, endpoint, text, files, modality, settings=None, history=None):
    files = [handle_file(str(f)) for f in files]
    if endpoint == "preflight":
        return client.predict(text, files, modality, history, {**GREEDY, **(settings or {})}, api_name="/preflight")
    return list(client.submit(text, files, modality, history, {**GREEDY, **(settings or {})}, api_name="/chat"))[-1]


def test_slices_are_counted_per_image_and_not_for_video_frames():
    ids = [TEXT, IMAGE, PAD, PAD, TEXT, SLICE, PAD, SLICE, PAD, TEXT, IMAGE, VIDEO_PAD, SLICE, VIDEO_PAD, IMAGE, PAD]
    assert slices_per_image(ids, IMAGE, SLICE, PAD) == [2, 0]


def test_fit_it_steps_down_in_the_order_that_saves_most_first():
    settings, steps = Settings.for_modality("video", downsample_mode="4x", stack_frames=3, max_num_frames=4), []
    while (step := next_step(settings, "video")) is not None:
        settings, said = step
        steps.append(str(said))
    assert steps == ["16x instead of 4x", "stack_frames 1", "max_num_frames 2", "max_num_frames 1"]
    image = next_step(Settings.for_modality("image", max_slice_nums=9), "image")
    assert image[0].max_slice_nums == 4 and str(image[1]) == "max_slice_nums 4"
    assert next_step(Settings.for_modality("image", max_slice_nums=1), "image") is None, "frames are for videos"


def test_the_estimate_is_measured_here_once_a_reply_was_timed():
    calibration = Calibration()
    assert calibration.estimate(100) == (None, "unknown")
    calibration.set_prior("cpu", 1_300_000_000)
    seconds, source = calibration.estimate(499)
    assert source == "shape twin" and 40 < seconds < 45, "the shape twin's 42 s for this prompt on 2 CPU cores"
    calibration.observe(200, 0.5)
    assert calibration.estimate(400) == (1.0, "measured")


@pytest.mark.parametrize("modality, settings", [
    ("image", {"downsample_mode": "16x"}), ("image", {"downsample_mode": "4x"}), ("multi-image", {}),
    ("video", {"stack_frames": 1}), ("video", {"stack_frames": 3})])
def test_preflight_counts_what_chat_then_reports(client, modality, settings, red_image, three_images, short_video):
    files = {"image": [red_image], "multi-image": three_images, "video": [short_video]}[modality]
    budget = ask(client, "preflight", "What is it?", files, modality, settings)
    stats = ask(client, "chat", "What is it?", files, modality, settings)["stats"]
    assert (budget["visual_tokens"], budget["prompt_tokens"]) == (stats["visual_tokens"], stats["prompt_tokens"])
    assert budget["frames"] == [frame["t"] for frame in stats["frames"]]
    assert budget["slices"] == stats["slices"]
    assert budget["fits"] and budget["advice"] == "" and budget["estimated_ttft_s"] > 0
    if modality == "video":
        # about one frame a second of the 4 s clip, and with stacking the sub-second frames composed with them
        seconds = [t for t in budget["frames"] if t == int(t)]
        assert 3 <= len(seconds) <= 5 and seconds == sorted(seconds) and max(budget["frames"]) < 4
        assert len(budget["frames"]) == settings["stack_frames"] * len(seconds)
        assert f"{len(set(budget['frames']))} frames" in " ".join(stats["notes"])
        assert budget["slices"] == []
    else:
        assert len(budget["slices"]) == len(files) and budget["frames"] == []


def test_a_system_prompt_adds_its_turn_to_the_prompt_preflight_and_chat_count(client, app, red_image):
    system = "You are a careful assistant. Answer in one short sentence."
    plain = ask(client, "chat", "What is it?", [red_image], "image")["stats"]
    told = ask(client, "chat", "What is it?", [red_image], "image", {"system_prompt": system})
    budget = ask(client, "preflight", "What is it?", [red_image], "image", {"system_prompt": system})
    tokenizer = app["engine"].ready_model().processor.tokenizer
    turn = len(tokenizer(f"<|im_start|>system\n{system}<|im_end|>\n")["input_ids"])
    assert told["stats"]["prompt_tokens"] == plain["prompt_tokens"] + turn == budget["prompt_tokens"]
    assert told["stats"]["visual_tokens"] == plain["visual_tokens"] == budget["visual_tokens"]
    assert [message["role"] for message in told["history"]] == ["user", "assistant"], "a setting, not a turn"


@pytest.mark.parametrize("modality", MODALITIES)
def test_a_text_only_question_is_answered_in_every_modality(client, modality):
    budget = ask(client, "preflight", "Say hello.", [], modality, {"system_prompt": "Be brief."})
    last = ask(client, "chat", "Say hello.", [], modality, {"system_prompt": "Be brief."})
    stats = last["stats"]
    assert last["done"] and stats["generated_tokens"] > 0 and not stats["stopped"]
    assert stats["visual_tokens"] == budget["visual_tokens"] == 0 and stats["frames"] == stats["slices"] == []
    assert stats["prompt_tokens"] == budget["prompt_tokens"] > 0 and budget["fits"]


def test_4x_costs_about_four_times_the_visual_tokens_of_16x(client, red_image):
    low, high = (ask(client, "preflight", "What is it?", [red_image], "image", {"downsample_mode": mode})
                 for mode in ("16x", "4x"))
    assert 3.5 < high["visual_tokens"] / low["visual_tokens"] <= 4.5


def test_a_request_over_the_gpu_cap_is_flagged_with_the_setting_to_lower(client, app, red_image, monkeypatch):
    monkeypatch.setattr(app["engine"], "gpu_seconds_cap", 8)  # as a ZeroGPU Space with an 8 s cap would
    budget = ask(client, "preflight", "What is it?", [red_image], "image", {"downsample_mode": "4x"})
    assert not budget["fits"] and budget["gpu_seconds"] > 8
    assert "GPU time; this Space allows 8 s per reply. Try: 16x instead of 4x." in budget["advice"]


def test_the_memory_estimate_holds_the_weights_grows_with_the_media_and_flags_a_small_device(
        client, app, red_image, monkeypatch):
    from minicpm_demo.engine import memory

    weights = memory.memory_model(app["engine"].ready_model().model).weights / 2**20
    text, low, high = (ask(client, "preflight", "What is it?", files, "image", {"downsample_mode": mode})
                       for files, mode in (([], "16x"), ([red_image], "16x"), ([red_image], "4x")))
    # 4x adds tokens, not pixels: on the tiny model less than the megabyte the estimate is rounded up to
    assert weights <= text["estimated_memory_mb"] < low["estimated_memory_mb"] <= high["estimated_memory_mb"]
    assert text["free_memory_mb"] > 0 and text["fits"]
    monkeypatch.setattr(memory, "free_bytes", lambda device: 1)  # as a device whose memory is full would
    full = ask(client, "preflight", "What is it?", [red_image], "image", {"downsample_mode": "4x"})
    assert not full["fits"] and full["free_memory_mb"] == 0
    assert "of memory beyond the model's weights; the device has 1 MB free. Try: 16x instead of 4x." in full["advice"]


def test_a_prompt_past_the_bound_is_flagged_not_refused(client, app, monkeypatch):
    from dataclasses import replace

    engine = app["engine"]
    monkeypatch.setattr(engine, "request_limits", replace(engine.request_limits, max_prompt_tokens=50))
    budget = ask(client, "preflight", "word " * 80, [], "image")
    assert not budget["fits"] and budget["prompt_tokens"] > 50
    assert f"The prompt would be {budget['prompt_tokens']:,} tokens; this demo takes up to 50" in budget["advice"]


def test_a_bad_file_gets_the_message_chat_gives(client, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a JPEG")
    with pytest.raises(Exception, match="broken.jpg"):
        ask(client, "preflight", "What is it?", [broken], "image")
