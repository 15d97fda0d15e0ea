"""A preflight (what a question will cost, before Send) against the work it stands for, same run.

    python bench/preflight.py [--model DIR] [--seconds 60] [--repeats 3]

For a camera-like H.264 clip of ``--seconds`` s at 1280×720 (cached in bench/.cache) at the Video tab's defaults,
and a 1344×1008 photo at 16x with max_slice_nums 9, times: sampling the video once with the app's sampler (the
frames the processor's rule picks), the whole preparation of a request (``LocalEngine.prepare``: media and the
processor), and ``preflight`` (the same preparation plus the budget's checks). Prints medians and the ratio
preflight / sampling once. The model is the tiny checkpoint unless ``--model`` names another: a preflight never
runs it, so its size does not matter here.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import markdown_table, ratio, tiny_checkpoint  # noqa: E402
from bench.video_sampling import make_clip  # noqa: E402

CACHE = ROOT / "bench" / ".cache"


def median_time(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="checkpoint directory (default: the tiny checkpoint)")
    parser.add_argument("--seconds", type=int, default=60, help="length of the clip")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache-dir", type=Path, default=CACHE)
    args = parser.parse_args(argv)

    from PIL import Image

    from minicpm_demo.engine import LocalEngine
    from minicpm_demo.engine.intake import Intake
    from minicpm_demo.engine.preflight import preflight
    from minicpm_demo.loader import ModelSpec
    from minicpm_demo.media import MediaLimits
    from minicpm_demo.settings import Settings

    model = args.model or str(tiny_checkpoint(args.cache_dir))
    clip = make_clip(args.cache_dir / f"preflight-{args.seconds}s-720p.mp4", args.seconds, camera=True)
    photo = args.cache_dir / "preflight-photo.jpg"
    if not photo.exists():
        Image.effect_noise((1344, 1008), 64).convert("RGB").save(photo, quality=90)
    engine = LocalEngine(ModelSpec(model, device="cpu"))
    assert engine.wait_until_loaded(600).state == "ready", engine.status().message
    processor = engine.ready_model().processor
    rows = []
    for name, path, modality, settings in (
            (f"video ({args.seconds} s, 1280×720)", clip, "video", Settings.for_modality("video")),
            ("photo (1344×1008)", photo, "image", Settings.for_modality("image", max_slice_nums=9))):
        messages = [{"role": "user", "content": [{"type": modality.split("-")[0], "path": str(path)},
                                                 {"type": "text", "text": "What is it?"}]}]
        if modality == "video":
            rule = partial(processor.video_processor.sample_frames, max_num_frames=settings.max_num_frames,
                           stack_frames=settings.stack_frames)
            base = median_time(lambda: Intake.for_messages(messages, MediaLimits()).video(str(path), rule),
                               args.repeats)
        else:
            base = None
        prepare = median_time(lambda: engine.prepare(messages, settings).release(), args.repeats)
        found = preflight(engine, messages, settings, modality)
        flight = median_time(lambda: preflight(engine, messages, settings, modality), args.repeats)
        sampled = "–" if base is None else f"{base:.2f}"
        rows.append([name, f"{found.visual_tokens}", f"{len(set(found.frames))}", sampled, f"{prepare:.2f}",
                     f"{flight:.2f}", ratio(flight, base)])
    print(f"model {Path(model).name}, median of {args.repeats}; ratio: preflight / sampling the video once")
    print(markdown_table(["input", "visual tokens", "frames", "sampling once s", "prepare s", "preflight s",
                          "preflight ×"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
