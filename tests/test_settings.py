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


def test_every_field_becomes_a_kwarg_somewhere_or_is_a_template_switch_or_the_system_message():
    settings = Settings()
    routed = set(settings.to_processor_kwargs()) | set(settings.to_generate_kwargs())
    assert routed | {"enable_thinking", "system_prompt"} == {f.name for f in fields(Settings)}


def test_a_system_prompt_is_bounded_and_refused_past_it_in_english_and_chinese():
    from minicpm_demo.phrases import error_in
    from minicpm_demo.settings import SYSTEM_PROMPT_CHARS

    assert Settings.for_modality("video", system_prompt="x" * SYSTEM_PROMPT_CHARS).system_prompt.startswith("x")
    with pytest.raises(SettingsError) as caught:
        Settings.for_modality("image", system_prompt="x" * (SYSTEM_PROMPT_CHARS + 1))
    assert str(caught.value) == (f"The system prompt is {SYSTEM_PROMPT_CHARS + 1:,} characters long; this demo takes "
                                 f"up to {SYSTEM_PROMPT_CHARS:,}. Shorten it in Advanced settings (system_prompt) "
                                 "and send again.")
    assert "系统提示长 4,001 个字符" in error_in(caught.value, "zh")
    with pytest.raises(SettingsError, match="system_prompt must be str, not 12"):
        Settings.for_modality("image", system_prompt=12)


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


@pytest.mark.parametrize("overrides,fragment", [
    ({"max_new_tokens": "Infinity"}, "max_new_tokens must be a whole number, not 'Infinity'"),
    ({"max_new_tokens": "1e999"}, "max_new_tokens must be a whole number, not '1e999'"),
    ({"max_new_tokens": float("nan")}, "max_new_tokens must be a whole number, not nan"),
    ({"max_new_tokens": 10**400}, "max_new_tokens must be between 1 and 8192, not 1000000"),
    ({"temperature": float("inf")}, "temperature must be a finite number, not inf"),
    ({"temperature": 10**400}, "temperature must be a finite number, not 1000000"),
    ({"temperature": "NaN"}, "temperature must be a finite number, not 'NaN'"),
    ({"temperature": 1e308}, "temperature must be between 0.01 and 2.0, not 1e+308"),
    ({"top_p": -0.0}, "top_p must be between 0.01 and 1.0, not 0.0"),
    ({"downsample_mode": 16}, "downsample_mode must be str, not 16"),
    ({"max_slice_nums": [1]}, "max_slice_nums must be a whole number, not [1]"),
])
def test_numbers_json_cannot_hold_are_refused_by_name(overrides, fragment):
    with pytest.raises(SettingsError) as caught:
        Settings.for_modality("image", **overrides)
    assert fragment in str(caught.value) and len(str(caught.value)) < 200


def test_unknown_settings_are_named_briefly():
    with pytest.raises(SettingsError) as caught:
        Settings.for_modality("image", **{f"knob{number}": 1 for number in range(9)}, **{"x" * 5000: 1})
    assert "and 5 more" in str(caught.value) and len(str(caught.value)) < 400


def test_request_limits_say_the_limit_the_value_and_what_to_do():
    from minicpm_demo.settings import LimitError, RequestLimits

    limits = RequestLimits(max_text_chars=10, max_turns=2, max_history_chars=30, max_prompt_tokens=100)
    limits.check("0123456789", earlier_turns=1, earlier_chars=20)
    for call, fragment in [
        (lambda: limits.check("x" * 11), "The question is 11 characters long; this demo takes up to 10 in one "
                                         "question. Shorten it or send it in parts, or raise --max-text-chars."),
        (lambda: limits.check("x", earlier_turns=2), "would have 3 questions; this demo takes up to 2 in one "
                                                     "conversation"),
        (lambda: limits.check("x" * 5, earlier_turns=1, earlier_chars=26), "would hold 31 characters of text; this "
                                                                           "demo takes up to 30"),
        (lambda: limits.check_prompt_tokens(101), "This request is 101 tokens long (text and media together); this "
                                                  "demo takes up to 100 in one request."),
    ]:
        with pytest.raises(LimitError) as caught:
            call()
        assert fragment in str(caught.value)
    limits.check_prompt_tokens(100)
