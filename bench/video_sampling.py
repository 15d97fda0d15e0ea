"""Video frame sampling: this app's PyAV sampler vs transformers' own readers, same clips, same run.

    python bench/video_sampling.py [--long-minutes 10] [--repeats 3]

Generates H.264 1280×720 clips (60 s ones and a long one; cached in bench/.cache), then for max_num_frames 64
and stack_frames 1 and 3 times each reader picking the frames the MiniCPM-V 4.6 video processor asks for,
and measures its extra peak memory (each measurement in a fresh process, with PyAV and Pillow's format plugins
imported before the clock starts, as in a running app). Prints medians and the ratios
transformers / ours, measured in this run. A "decoding floor" row per case times the least decoding any reader
returning the same frames must do (see ``decode_floor``), with one decoder and in this process (it keeps no
frames, so there is no memory to isolate): transformers' time over it is the most any exact reader with one
decoder could gain. Clips come with a 1 s keyframe interval, like phone cameras
record; the 60 s clip comes camera-like (CABAC, B-frames, 8 Mbit/s, sensor noise: ~3 ms per frame to
decode, like real phone footage) and as cheap ultrafast encodes (<1 ms per frame), one of them with x264's
default keyframe interval of 250 frames.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
sys.path.insert(0, str(ROOT))


def make_clip(path: Path, seconds: int, fps: int = 30, gop: int | None = 30, size=(1280, 720),
              camera: bool = False) -> Path:
    import av
    import numpy as np

    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    # A textured scene the "camera" pans across, so every frame carries real motion like a phone video.
    rng = np.random.default_rng(0)
    scene = rng.integers(0, 256, (height // 8 + 1, (width + seconds * fps * 4) // 8 + 1, 3), dtype=np.uint8)
    scene = np.repeat(np.repeat(scene, 8, axis=0), 8, axis=1)[:height]
    # camera: what phones record — CABAC, B-frames, ~8 Mbit/s, sensor noise in every frame — so every frame
    # costs ~3 ms to decode here, as real footage does; otherwise a cheap ultrafast encode (<1 ms per frame).
    noise = rng.normal(0, 4, (8, height, width, 3)).astype(np.int16) if camera else None
    options = ({"preset": "veryfast", "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=2"} if camera
               else {"preset": "ultrafast", "crf": "28"})
    partial_path = path.with_suffix(".part.mp4")
    with av.open(str(partial_path), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options=options)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if camera:
            stream.bit_rate = 8_000_000
        elif gop:
            stream.codec_context.gop_size = gop
        for index in range(seconds * fps):
            array = np.ascontiguousarray(scene[:, index * 4: index * 4 + width])
            if camera:
                array = np.clip(array.astype(np.int16) + noise[index % len(noise)], 0, 255).astype(np.uint8)
            x = (index * 7) % (width - 120)
            array[300:420, x:x + 120] = (230, 40, 40)
            array[:40, :200] = (index % 256, 255, 0)
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    partial_path.rename(path)
    return path


def run_reader(reader: str, clip: str, max_num_frames: int, stack_frames: int) -> dict:
    """One measurement, in this (fresh) process: seconds and extra peak RSS in MB."""
    from transformers.models.minicpmv4_6 import MiniCPMV4_6VideoProcessor
    from transformers.video_utils import load_video

    from minicpm_demo import media

    indices_for = partial(MiniCPMV4_6VideoProcessor().sample_frames, max_num_frames=max_num_frames,
                          stack_frames=stack_frames)
    # What a running app has loaded once and for all (PyAV, Pillow's format plugins): both sides, off the clock.
    media.load_readers()
    if reader == "floor":
        keyframes = keyframe_indices(clip)  # reading the index is not decoding: off the clock
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    if reader == "ours":
        frames = media.sample_video(clip, indices_for).frames
    elif reader == "floor":
        frames = decode_floor(clip, indices_for, keyframes)
    else:
        frames, _ = load_video(clip, backend=reader, sample_indices_fn=indices_for)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "extra_peak_mb": (peak - baseline) / 1024, "frames": int(len(frames))}


FLOOR_LABEL = "decoding floor (one decoder, no RGB)"


def keyframe_indices(clip: str) -> list[int]:
    import av

    with av.open(clip) as container:
        stream = container.streams.video[0]
        scale = float(stream.time_base) * float(stream.average_rate)
        return sorted(round(packet.pts * scale) for packet in container.demux(stream)
                      if packet.is_keyframe and packet.pts is not None)


def decode_floor(clip: str, indices_for, keyframes: list[int]) -> list[int]:
    """The decoding any reader returning exact frames must do, and nothing else: for each keyframe interval that
    holds samples, from its keyframe to its last sample, skipping frames that are neither sampled nor referred to,
    and no packet after the interval's last sampled one (the decoder is drained instead); one decoder, no
    conversion to RGB, nothing kept. Returns the indices reached."""
    import bisect

    import av
    from transformers.video_utils import VideoMetadata

    with av.open(clip) as container:
        stream = container.streams.video[0]
        stream.thread_type = "SLICE"
        codec, time_base, fps = stream.codec_context, float(stream.time_base), float(stream.average_rate)
        metadata = VideoMetadata(total_num_frames=stream.frames, fps=fps, duration=float(stream.duration * time_base),
                                 width=stream.width, height=stream.height)
        targets = sorted(set(int(i) for i in indices_for(metadata)))
        intervals: dict[int, list[int]] = {}
        for target in targets:
            intervals.setdefault(keyframes[bisect.bisect_right(keyframes, target) - 1], []).append(target)
        reached = []
        for keyframe, wanted in intervals.items():
            container.seek(round(keyframe / fps / time_base), stream=stream, backward=True)
            pending, unfed = iter(wanted), set(wanted)
            target = next(pending)
            for packet in container.demux(stream):
                index = None if packet.pts is None else round(packet.pts * time_base * fps)
                codec.skip_frame = "NONREF" if index is not None and index < target else "DEFAULT"
                unfed.discard(index)
                for frame in codec.decode(packet) + (codec.decode(None) if not unfed else []):
                    while target is not None and round(frame.pts * time_base * fps) >= target:
                        reached.append(target)
                        target = next(pending, None)
                if target is None or not unfed:
                    codec.flush_buffers()
                    break
    return reached


def measure(reader: str, clip: Path, max_num_frames: int, stack_frames: int, repeats: int) -> dict:
    runs = []
    for _ in range(repeats):
        done = subprocess.run([sys.executable, __file__, "--worker", reader, str(clip), str(max_num_frames),
                               str(stack_frames)], capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {"seconds": statistics.median(r["seconds"] for r in runs),
            "extra_peak_mb": statistics.median(r["extra_peak_mb"] for r in runs), "frames": runs[0]["frames"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--long-minutes", type=int, default=10, help="length of the long clip (default 10; 0: none)")
    parser.add_argument("--short-seconds", type=int, default=60, help="length of the short clip (default 60)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement; medians are shown")
    parser.add_argument("--max-num-frames", type=int, default=64)
    parser.add_argument("--stacks", default="1,3", help="stack_frames values to measure (default 1,3)")
    parser.add_argument("--cache-dir", type=Path, default=CACHE, help="where generated clips are kept")
    parser.add_argument("--clips", default="camera,short,short250,long",
                        help="which clips: camera, short, short250, long (default: all)")
    parser.add_argument("--no-floor", dest="floor", action="store_false",
                        help="leave out the decoding-floor rows (the least decoding any exact reader must do)")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        reader, clip, max_num_frames, stack_frames = args.worker
        print(json.dumps(run_reader(reader, clip, int(max_num_frames), int(stack_frames))))
        return

    import importlib.util

    readers = ["pyav"] + (["torchcodec"] if importlib.util.find_spec("torchcodec") else [])
    print("generating clips (cached in bench/.cache) …", file=sys.stderr, flush=True)
    cache = args.cache_dir
    short = args.short_seconds
    wanted = {
        "camera": (f"{short} s camera-like (8 Mbit/s, B-frames, noise), keyframe every 1 s",
                   lambda: make_clip(cache / f"clip-{short}s-camera.mp4", short, camera=True)),
        "short": (f"{short} s, keyframe every 1 s", lambda: make_clip(cache / f"clip-{short}s-gop30.mp4", short)),
        "short250": (f"{short} s, keyframe every 250 frames",
                     lambda: make_clip(cache / f"clip-{short}s-gop250.mp4", short, gop=250)),
        "long": (f"{args.long_minutes} min, keyframe every 1 s",
                 lambda: make_clip(cache / f"clip-{args.long_minutes}min-gop30.mp4", args.long_minutes * 60)),
    }
    names = [name for name in args.clips.split(",") if name != "long" or args.long_minutes]
    clips = {wanted[name][0]: wanted[name][1]() for name in names}
    print(f"\nH.264 1280×720 30 fps, max_num_frames={args.max_num_frames}, median of {args.repeats} "
          "(ours and transformers each in a fresh process)\n")
    print("| clip | stack | reader | seconds | extra peak MB | frames | time ratio (them/ours) | memory ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for label, clip in clips.items():
        for stack_frames in (int(value) for value in args.stacks.split(",")):
            ours = measure("ours", clip, args.max_num_frames, stack_frames, args.repeats)
            print(f"| {label} | {stack_frames} | ours | {ours['seconds']:.2f} | {ours['extra_peak_mb']:.0f} | "
                  f"{ours['frames']} | 1.00 | 1.00 |", flush=True)
            pyav_seconds = None
            for reader in readers:
                theirs = measure(reader, clip, args.max_num_frames, stack_frames, args.repeats)
                if "error" in theirs:
                    print(f"| {label} | {stack_frames} | transformers {reader} | failed: {theirs['error'][:60]} "
                          "| | | | |", flush=True)
                    continue
                pyav_seconds = theirs["seconds"] if reader == "pyav" else pyav_seconds
                print(f"| {label} | {stack_frames} | transformers {reader} | {theirs['seconds']:.2f} | "
                      f"{theirs['extra_peak_mb']:.0f} | {theirs['frames']} | "
                      f"{theirs['seconds'] / ours['seconds']:.1f}× | "
                      f"{theirs['extra_peak_mb'] / max(ours['extra_peak_mb'], 1):.1f}× |", flush=True)
            if args.floor:
                # in this process: nothing is kept, so there is no peak memory to isolate
                runs = [run_reader("floor", str(clip), args.max_num_frames, stack_frames) for _ in range(args.repeats)]
                floor = {"seconds": statistics.median(run["seconds"] for run in runs), "frames": runs[0]["frames"]}
                best = f"pyav/floor {pyav_seconds / floor['seconds']:.1f}×" if pyav_seconds else ""
                print(f"| {label} | {stack_frames} | {FLOOR_LABEL} | {floor['seconds']:.2f} | – | {floor['frames']} "
                      f"| {best} | |", flush=True)


if __name__ == "__main__":
    main()
