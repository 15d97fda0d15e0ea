"""Every odd or broken upload in the generated corpus is taken with the right result or refused clearly."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest
from media_corpus import ANIMATION_COLOURS, CORPUS, encode_clip, sampler

from minicpm_demo import media
from minicpm_demo.cancel import Cancelled
from minicpm_demo.media import MB, MediaError, MediaLimits


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    return {name: case.build(folder) for name, case in CORPUS.items()}


def test_the_corpus_is_large_and_mixed():
    assert len(CORPUS) >= 25
    assert {case.kind for case in CORPUS.values()} == {"image", "video"}
    assert sum(1 for case in CORPUS.values() if case.error) >= 10


def open_upload(path, kind, limits=MediaLimits()):
    return media.load_image(path, limits) if kind == "image" else media.sample_video(path, sampler(), limits)


@pytest.mark.parametrize("name", [name for name, case in CORPUS.items() if case.error])
def test_bad_files_are_refused_with_a_specific_message(corpus, name):
    with pytest.raises(MediaError) as caught:
        open_upload(corpus[name], CORPUS[name].kind)
    message = str(caught.value)
    assert CORPUS[name].error in message
    assert os.path.basename(corpus[name]) in message, "the message names the file"
    assert caught.value.path == str(corpus[name]), "and carries its path, so the page can take it back out"


@pytest.mark.parametrize("name", [name for name, case in CORPUS.items() if not case.error])
def test_good_files_are_accepted(corpus, name):
    result = open_upload(corpus[name], CORPUS[name].kind)
    if CORPUS[name].kind == "image":
        assert result.image.mode == "RGB"
    else:
        assert result.frames.ndim == 4 and result.frames.shape[-1] == 3 and result.frames.dtype == np.uint8
        assert len(result.frames) == len(result.metadata.frames_indices)


def pixel(result, x, y):
    return result.image.getpixel((x, y))


def test_image_normalisation_results(corpus):
    assert pixel(media.load_image(corpus["rgba_png"]), 5, 5) == (255, 255, 255), "transparent on white"
    palette = media.load_image(corpus["palette_transparent_png"])
    assert pixel(palette, 2, 2) == (255, 255, 255) and pixel(palette, 32, 32) == (255, 0, 0)
    assert abs(pixel(media.load_image(corpus["png_16bit"]), 5, 5)[0] - 127) <= 1, "16-bit scaled, not clipped"
    cmyk = pixel(media.load_image(corpus["cmyk_jpeg"]), 5, 5)
    assert cmyk[0] > 200 and cmyk[1] < 100 and cmyk[2] < 100, "magenta+yellow ink is red on screen"
    assert media.load_image(corpus["exif_rotated_jpeg"]).image.size == (200, 320), "EXIF orientation applied"
    assert media.load_image(corpus["one_pixel"]).image.size == (1, 1)
    gif = media.load_image(corpus["animated_gif"])
    assert gif.notes and "first frame" in gif.notes[0]
    big = media.load_image(corpus["big_photo"])
    assert max(big.image.size) == MediaLimits().max_image_side and "downscaled from 12000×9000" in big.notes[0]


@pytest.mark.parametrize("name", ["rotated_mp4", "iphone_hevc_mov"])
def test_rotated_phone_video_is_upright(corpus, name):
    frames = media.sample_video(corpus[name], sampler()).frames
    height, width = frames.shape[1:3]
    assert (height, width) == (160, 96), "portrait after the 90° display rotation"
    # the white top-left corner of the stored frame is bottom-left once rotated counter-clockwise
    assert frames[0, -10, 5].min() > 200 and frames[0, 5, 5].max() < 100


def test_limits_say_the_limit_and_the_value(corpus):
    with pytest.raises(MediaError, match="this demo takes up to 0 MB"):
        media.load_image(corpus["webp"], MediaLimits(max_image_bytes=10))
    with pytest.raises(MediaError, match=r"is 2 s; this demo takes up to 1 s — trim it or raise --max-video-seconds"):
        media.probe_video(corpus["mkv_h264"], MediaLimits(max_video_seconds=1))


@pytest.mark.parametrize("name", ["animated_webp_as_video", "animated_png_as_video"])
def test_animated_webp_and_png_play_as_short_videos(corpus, name):
    every_frame = media.sample_video(corpus[name], lambda metadata: list(range(metadata.total_num_frames)))
    metadata = every_frame.metadata
    assert (metadata.total_num_frames, metadata.duration) == (4, pytest.approx(0.6)), "0 ms frame played 100 ms"
    # frame i is the picture shown at i / fps = i × 0.15 s: 0 s, 0.15 s, 0.3 s (still the 300 ms one), 0.45 s
    colours = [tuple(int(v) for v in frame[24, 32]) for frame in every_frame.frames]
    assert colours == [ANIMATION_COLOURS[0], ANIMATION_COLOURS[1], ANIMATION_COLOURS[1], ANIMATION_COLOURS[2]]
    assert every_frame.frames[0, 2, 2].tolist() == [255, 255, 255], "transparency composited on white"
    processor_sample = media.sample_video(corpus[name], sampler(stack_frames=3))
    assert len(processor_sample.frames) == len(processor_sample.metadata.frames_indices) >= 1


def test_a_still_image_in_the_video_tab_is_sent_to_the_image_tab(corpus):
    with pytest.raises(MediaError, match="is a still image, not a video. Ask about it in the Image tab"):
        media.sample_video(corpus["rgba_png"], sampler())


def memory_flags(address: int) -> set[str]:
    """The kernel's VmFlags of this process's mapping that holds ``address``."""
    with open("/proc/self/smaps") as smaps:
        inside = False
        for line in smaps:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                start, end = (int(bound, 16) for bound in head.split("-"))
                inside = start <= address < end
            elif inside and head == "VmFlags:":
                return set(line.split()[1:])
    raise AssertionError("no mapping holds the address")


@pytest.mark.skipif(not hasattr(__import__("mmap"), "MADV_NOHUGEPAGE") or not os.path.exists("/proc/self/smaps"),
                    reason="page advice is a Linux feature")
def test_sampled_frames_live_in_private_memory_in_small_pages(tmp_path):
    """Fresh private 4 KB pages take the frames fastest (see video._frame_buffer)."""
    clip = encode_clip(tmp_path / "clip.mp4", seconds=8, fps=4, size=(640, 360))
    frames = media.sample_video(clip, sampler(max_num_frames=16)).frames
    assert frames.nbytes >= 4 << 20
    flags = memory_flags(frames.ctypes.data)
    assert "nh" in flags and "hg" not in flags and "sh" not in flags, flags


def test_webm_without_frame_count_gets_duration_from_the_container(corpus):
    info = media.probe_video(corpus["webm_vp9"])
    assert info.total_frames == 20 and abs(info.duration - 2.0) < 0.15 and info.fps == 10


def test_processing_the_whole_corpus_leaves_no_temp_files(corpus):
    before = set(os.listdir(tempfile.gettempdir()))
    for name, case in CORPUS.items():
        try:
            open_upload(corpus[name], case.kind)
        except MediaError:
            pass
    assert set(os.listdir(tempfile.gettempdir())) - before == set()


def test_frames_of_a_very_large_video_are_scaled_while_decoding(tmp_path):
    clip = encode_clip(tmp_path / "wide.mp4", seconds=1, fps=4, size=(640, 360))
    result = media.sample_video(clip, sampler(), MediaLimits(max_video_side=320))
    assert result.frames.shape[1:3] == (180, 320)
    assert "scaled from 640×360 to 320×180" in result.notes[0]


@pytest.mark.parametrize("stack_frames", [1, 4])
def test_frames_are_scaled_to_fit_the_frame_memory_budget(tmp_path, stack_frames):
    clip = encode_clip(tmp_path / "clip.mp4", seconds=4, fps=8, size=(640, 360))
    budget = 2 * MB  # about three full-size frames
    result = media.sample_video(clip, sampler(stack_frames=stack_frames), MediaLimits(max_video_frames_bytes=budget))
    frames = len(result.metadata.frames_indices)
    assert result.frames.shape[0] == frames == 4 * stack_frames
    assert result.frames.nbytes <= budget * 1.02
    height, width = result.frames.shape[1:3]
    assert width / height == pytest.approx(16 / 9, rel=0.02) and width < 640
    assert result.notes == [f"clip.mp4: frames scaled from 640×360 to {width}×{height} to fit in 2 MB "
                            "(--max-video-frames-mb)"]


def test_an_animation_is_scaled_to_fit_the_frame_memory_budget(tmp_path):
    from media_corpus import animated_webp

    path = animated_webp(tmp_path)
    whole = media.sample_video(path, sampler(), MediaLimits())
    count, height, width = whole.frames.shape[:3]
    budget = count * height * width * 3 // 4
    result = media.sample_video(path, sampler(), MediaLimits(max_video_frames_bytes=budget))
    assert result.frames.shape == (count, height // 2, width // 2, 3)
    assert "fit in" in result.notes[0]


def test_a_request_refuses_too_many_images_and_its_videos_share_the_frame_memory():
    limits = MediaLimits(max_images=3, max_video_frames_bytes=900 * MB)
    assert limits.for_request(images=3, videos=1) == limits
    assert limits.for_request(images=0, videos=3).max_video_frames_bytes == 300 * MB
    with pytest.raises(MediaError, match=r"^This conversation has 4 images; this demo takes up to 3 in one "
                                         r"conversation.*raise --max-images\.$"):
        limits.for_request(images=4, videos=0)


@pytest.mark.parametrize("name", ["animated_webp_as_video", "animated_png_as_video"])
def test_reading_an_animation_stops_within_a_picture_of_being_cancelled(corpus, name):
    checks = []

    def cancelled_after_two_pictures() -> bool:
        checks.append(1)
        return len(checks) > 2

    every_frame = lambda metadata: list(range(metadata.total_num_frames))  # noqa: E731 - only sampled ones are read
    with pytest.raises(Cancelled):
        media.sample_video(corpus[name], every_frame, cancelled=cancelled_after_two_pictures)
    assert len(checks) == 3
