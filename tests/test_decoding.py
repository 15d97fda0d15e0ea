"""The sampled frames are the ones a full decode gives, in every container, however the runs reach them."""

from __future__ import annotations

import os

import av
import numpy as np
import pytest
from media_corpus import encode_clip, sampler
from transformers.video_utils import read_video_pyav

from minicpm_demo import media
from minicpm_demo.cancel import Cancelled
from minicpm_demo.media import decoding


def assert_frames_of_a_full_decode(sampled, clip):
    """The sampled frames are those at their indices when every frame of ``clip`` is decoded in order."""
    with av.open(str(clip)) as container:
        every_frame = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert np.array_equal(sampled.frames, np.stack([every_frame[i] for i in sampled.metadata.frames_indices]))


@pytest.mark.parametrize("container_format,codec,suffix,options", [
    ("mpegts", "libx264", "ts", {}), ("mpegts", "libx264", "m2ts", {}), ("mpeg", "mpeg2video", "vob", {}),
    ("mpeg1video", "mpeg1video", "m1v", {}), ("flv", "flv", "flv", {}), ("avi", "mpeg4", "avi", {}),
    ("3gp", "h263", "3gp", {}), ("ivf", "libvpx", "ivf", {}), ("yuv4mpegpipe", "rawvideo", "y4m", {}),
    ("nut", "ffv1", "nut", {}), ("asf", "wmv2", "wmv", {}), ("h264", "libx264", "h264", {}),
    ("matroska", "libx264", "mkv", {}), ("mov", "libx264", "mov", {}),
    ("webm", "libvpx", "webm", {"live": "1"}),  # a browser's recording: no duration, no seek index
    ("mov", "libx265", "MOV", {}),  # x265's open GOPs: frames after a keyframe may refer to the GOP before it
])
def test_every_container_gives_the_frames_a_full_decode_gives(tmp_path, container_format, codec, suffix, options):
    quiet = {"x265-params": "log-level=error"} if codec == "libx265" else None
    clip = encode_clip(tmp_path / f"clip.{suffix}", codec=codec, container_format=container_format, size=(176, 144),
                       seconds=12, fps=25, gop=25, options=quiet, container_options=options)
    assert media.detect_kind(clip) == "video", "Pillow must not claim it (the Video tab would call it a still image)"
    ours = media.sample_video(clip, sampler(max_num_frames=8))
    # containers that declare no frame count get it from the duration, which may leave out the last frame's
    assert abs(ours.metadata.total_num_frames - 300) <= 1 and len(set(ours.metadata.frames_indices)) == 8
    # transformers' PyAV reader breaks on containers that report no frame count, so decode every frame here
    assert_frames_of_a_full_decode(ours, clip)


def test_a_seek_that_lands_past_its_frame_is_caught_and_the_frames_stay_right(tmp_path, monkeypatch):
    clip = encode_clip(tmp_path / "clip.ts", container_format="mpegts", size=(176, 144), seconds=12, fps=25, gop=25)
    # pretend MPEG-TS seeks exactly, as indexed containers do: its seeks then land after the frames asked for
    monkeypatch.setattr(decoding, "INDEXED_CONTAINERS", decoding.INDEXED_CONTAINERS | {"mpegts"})
    landed_after = []
    monkeypatch.setattr(decoding, "_LandedAfterTarget", type("Spy", (Exception,), {
        "__init__": lambda self, *args: landed_after.append(True)}))
    ours = media.sample_video(clip, sampler(max_num_frames=8))
    assert landed_after, "a seek landed after its target and was caught"
    assert_frames_of_a_full_decode(ours, clip)


@pytest.mark.parametrize("container_format,suffix,opens", [("mp4", "mp4", 1), ("mpegts", "ts", 2)])
def test_one_core_opens_an_indexed_video_once(tmp_path, monkeypatch, container_format, suffix, opens):
    """Opening is costly (FFmpeg decodes a frame to probe): the probe's container decodes the frames too,
    except where a seek back to the start could land after it (MPEG-TS guesses a byte offset)."""
    clip = encode_clip(tmp_path / f"clip.{suffix}", container_format=container_format, size=(176, 144), seconds=12,
                       fps=25, gop=25)
    opened = []
    monkeypatch.setattr(av, "open", lambda *args, real=av.open, **kwargs: opened.append(args) or real(*args, **kwargs))
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    ours = media.sample_video(clip, sampler(max_num_frames=8, stack_frames=2))
    assert len(opened) == opens
    assert_frames_of_a_full_decode(ours, clip)


def test_decoding_stops_within_a_frame_of_being_cancelled_and_the_next_video_is_read(tmp_path):
    clip = encode_clip(tmp_path / "clip.mp4", size=(176, 144), seconds=12, fps=25, gop=250)
    checks = []

    def cancelled_after_five_frames() -> bool:  # the user presses Stop while the video is decoded
        checks.append(1)
        return len(checks) > 5

    with pytest.raises(Cancelled):
        media.sample_video(clip, sampler(max_num_frames=12, stack_frames=3), cancelled=cancelled_after_five_frames)
    # 300 frames to decode (keyframes 10 s apart): each decoding thread stops at its next frame
    assert len(checks) <= 5 + os.cpu_count() + 4
    assert len(media.sample_video(clip, sampler(max_num_frames=12, stack_frames=3)).frames) == 36


# ---- the same frames as transformers' own PyAV reader ---------------------------------------------------

@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    return {
        "short": encode_clip(folder / "short.mp4", seconds=4, fps=10),
        "long_small_gop": encode_clip(folder / "long.mp4", seconds=60, fps=10, gop=10),
        "long_default_gop": encode_clip(folder / "long-default.mp4", seconds=40, fps=25),
    }


@pytest.mark.parametrize("clip,max_num_frames", [("short", 128), ("short", 3), ("long_small_gop", 8),
                                                 ("long_small_gop", 64), ("long_default_gop", 16)])
def test_sampled_frames_equal_transformers_pyav_reader(clips, clip, max_num_frames):
    indices_for = sampler(max_num_frames=max_num_frames)
    ours = media.sample_video(clips[clip], indices_for)
    theirs, metadata = read_video_pyav(str(clips[clip]), sample_indices_fn=indices_for)
    assert ours.metadata.frames_indices == list(metadata.frames_indices)
    # transformers keeps one frame per distinct index; ours keeps the processor's list (repeats included)
    distinct = [ours.frames[ours.metadata.frames_indices.index(i)] for i in sorted(set(metadata.frames_indices))]
    assert np.array_equal(np.stack(distinct), theirs)
