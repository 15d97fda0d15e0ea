from __future__ import annotations

from dataclasses import fields

import pytest

from minicpm_demo.settings import MODALITY_DEFAULTS, Settings, SettingsError


def test_model_card_defaults_per_modality():
    image, video = Settings.for_modality("image"), Settings.for_modality("video")
    assert (image.downsample_mode, image.max_slice_nums, image.use_image_id) == ("16x", 36, True)
    assert (video.max_num_frames, video.stack_frames, video.max_slice_nums, video.use_image_id) == (128, 1, 1, False)
    assert not image.enable_thinking
    assert set(MODALITY_DEFAULTS) == {"image", "multi-image", "video"}


def test_downsample_mode_reaches_both_processor_and_generate():
    settings = Settings.for_modality("image", downsample_mode="4x")
    assert settings.to_processor_kwargs()["downsample_mode"] == "4x"
    assert settings.to_generate_kwargs()["downsample_mode"] == "4x"


def test_every_field_becomes_a_kwarg_somewhere_or_is_a_template_switch():
    settings = Settings()
    routed = set(settings.to_processor_kwargs()) | set(settings.to_generate_kwargs())
    assert routed | {"enable_thinking"} == {f.name for f in fields(Settings)}


def test_greedy_drops_sampling_knobs():
    kwargs = Settings(do_sample=False).to_generate_kwargs()
    assert kwargs["do_sample"] is False and "temperature" not in kwargs and "top_p" not in kwargs


@pytest.mark.parametrize("overrides,fragment", [
    ({"downsample_mode": "8x"}, "downsample_mode must be one of '16x', '4x'"),
    ({"max_slice_nums": 0}, "max_slice_nums must be between 1 and 36"),
    ({"temperature": 5}, "temperature must be between"),
    ({"max_new_tokens": 2.5}, "max_new_tokens must be a whole number"),
    ({"use_image_id": "maybe"}, "use_image_id must be bool"),
    ({"colour": "red"}, "Unknown setting colour"),
])
def test_bad_values_are_refused_with_a_message(overrides, fragment):
    with pytest.raises(SettingsError) as caught:
        Settings.for_modality("image", **overrides)
    assert fragment in str(caught.value)


def test_json_friendly_values_are_accepted():
    settings = Settings.for_modality("video", max_num_frames=64.0, use_image_id="true", temperature=1)
    assert settings.max_num_frames == 64 and settings.use_image_id is True and settings.temperature == 1.0


def test_unknown_modality():
    with pytest.raises(SettingsError, match="Unknown modality"):
        Settings.for_modality("audio")


def test_settings_are_immutable():
    with pytest.raises(Exception):
        Settings().downsample_mode = "4x"
