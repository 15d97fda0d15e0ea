"""A browser's own recording (WebM, VP8/VP9, no frame rate, no duration) gets its length and frames from its
packets' timestamps, and a sample is the frame shown at the sample's time."""

from __future__ import annotations

import bisect

import av
import numpy as np
import pytest
from media_corpus import RECORDING_MS, browser_recording, sampler

from minicpm_demo import media
from minicpm_demo.media import MediaError, MediaLimits
from minicpm_demo.media.limits import FRAME_COST_FLOOR_PIXELS


def frames_by_time(clip):
    """Every frame of a full decode, with its time in seconds."""
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        return [(frame.pts * float(stream.time_base), frame.to_ndarray(format="rgb24"))
                for frame in container.decode(stream)]


def assert_frames_shown_at_their_times(sampled, clip):
    """Sample i is the frame a player shows at i / fps after the first frame: the last one that starts at or
    before then."""
    decoded = frames_by_time(clip)
    starts = [seconds - decoded[0][0] for seconds, _ in decoded]
    fps = sampled.metadata.fps
    for frame, index in zip(sampled.frames, sampled.metadata.frames_indices):
        shown = bisect.bisect_right(starts, index / fps + 1e-6) - 1
        assert np.array_equal(frame, decoded[shown][1]), f"sample {index} at {index / fps:.3f} s"


@pytest.mark.parametrize("codec", ["libvpx", "libvpx-vp9"])
def test_a_browser_recording_has_no_rate_or_length_in_its_header(tmp_path, codec):
    with av.open(str(browser_recording(tmp_path, codec))) as container:
        stream = container.streams.video[0]
        assert stream.average_rate is None and stream.duration is None and container.duration is None
        assert float(stream.guessed_rate) == 1000, "the time base, which passed for the frame rate"


@pytest.mark.parametrize("codec", ["libvpx", "libvpx-vp9"])
def test_its_length_and_frames_come_from_the_timestamps(tmp_path, codec):
    clip = browser_recording(tmp_path, codec)
    info = media.probe_video(clip)
    gap = RECORDING_MS[-1] / (len(RECORDING_MS) - 1) / 1000  # the last frame shows for the average gap
    assert info.total_frames == len(RECORDING_MS) == 20
    assert info.duration == pytest.approx(RECORDING_MS[-1] / 1000 + gap)
    assert info.fps == pytest.approx(20 / info.duration)
    every_frame = media.sample_video(clip, lambda metadata: list(range(metadata.total_num_frames)))
    assert every_frame.metadata.total_num_frames == 20 and len(every_frame.frames) == 20
    assert_frames_shown_at_their_times(every_frame, clip)
    # frames 6 (0.233 s) and 7 (0.6 s) are far apart: the samples between show frame 6
    assert len({frame.tobytes() for frame in every_frame.frames}) < 20
    processor = media.sample_video(clip, sampler(max_num_frames=8, stack_frames=2))
    assert len(processor.frames) == len(processor.metadata.frames_indices) > 2
    assert_frames_shown_at_their_times(processor, clip)


def test_a_long_recording_seeks_by_its_keyframes_and_gives_the_frames_shown(tmp_path):
    rng = np.random.default_rng(7)
    stamps = tuple(int(ms) for ms in np.cumsum(rng.integers(20, 70, size=600)))  # ~27 s, irregular
    clip = browser_recording(tmp_path, "libvpx", stamps_ms=stamps, gop=60, name="long.webm")
    budget = MediaLimits().budget()
    ours = media.sample_video(clip, sampler(max_num_frames=16), budget=budget)
    assert ours.metadata.total_num_frames == 600
    assert ours.metadata.duration == pytest.approx((stamps[-1] - stamps[0]) / 1000 * 600 / 599, rel=1e-6)
    assert_frames_shown_at_their_times(ours, clip)
    decoded = budget.frame_pixels / FRAME_COST_FLOOR_PIXELS  # 160×120 frames are charged at the floor
    assert len(set(ours.metadata.frames_indices)) <= decoded < 400, "seeks to the keyframe before each sample"


def test_a_recording_with_more_frames_than_any_camera_is_refused_before_it_is_read(tmp_path):
    clip = browser_recording(tmp_path, "libvpx", stamps_ms=tuple(range(0, 60, 2)), name="dense.webm")
    with pytest.raises(MediaError, match=r"has more than 24 frames, over 240 a second for the longest video"):
        media.probe_video(clip, MediaLimits(max_video_seconds=0.1))
