"""Visual tokens and prefill time per image / video setting, on the full-size MiniCPM-V 4.6 shape twin.

    python bench/visual_tokens.py [--video-cases 16x:32:1,16x:64:1,16x:32:3,16x:64:3]

One 1344×1008 image at downsample_mode 16x and 4x with max_slice_nums 1, 9 and 36, and a 30 s 1280×720
clip at max_num_frames 32 and 64 with stack_frames 1 and 3, each through the app's own path:
``LocalEngine.prepare`` with a ``Settings`` value, then ``engine.generate.generate_pieces`` with
max_new_tokens=1 (prefill = vision encoder + merger + language-model prefill up to the first token).
On a CPU the stack_frames 3 rows are counted but not timed by default (their prefill alone takes ~6 min on
2 cores; the default run takes ~7): list them in --video-cases to time them. On a GPU every row is timed, after
one untimed run of the same inputs (first passes at a new prompt length pay one-off kernel tuning there).
Prints medians and ratios against the baselines (image: 16x with max_slice_nums 9, the processor's default;
video: 16x, 32 frames, stack 1), all measured in this run, and plots visual tokens against prefill time
(--plot, default docs/perf-16x-vs-4x.png).

The shape twin (real dimensions, random weights: ``python -m devtools.shape_twin``) is built into
bench/.cache/shape-twin when missing. Settings whose inputs come out identical to an earlier row's (e.g.
max_slice_nums 36 for an image that needs fewer slices) reuse that row's timing instead of running again.
On a CPU the model runs in float32 by default: on CPUs without AVX-512 BF16 / AMX, BF16 matmuls are
several times slower (see bench/gptq_vs_bf16.py); ``--dtype bfloat16`` measures the checkpoint's own BF16.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import OFFLINE_ENV, markdown_table, ratio, shape_twin_checkpoint  # noqa: E402

IMAGE_BASELINE = "16x:9"
DEFAULT_IMAGE_CASES = "16x:1,16x:9,16x:36,4x:1,4x:9,4x:36"
DEFAULT_VIDEO_CASES = "16x:32:1,16x:64:1"
STACKED_VIDEO_CASES = "16x:32:3,16x:64:3"


@dataclass(frozen=True)
class Case:
    kind: str  # "image" | "video"
    downsample_mode: str
    max_slice_nums: int = 9
    max_num_frames: int = 128
    stack_frames: int = 1

    @property
    def label(self) -> str:
        if self.kind == "image":
            return f"{self.downsample_mode}, max_slice_nums {self.max_slice_nums}"
        return f"{self.downsample_mode}, {self.max_num_frames} frames, stack {self.stack_frames}"

    def settings(self):
        from minicpm_demo.settings import Settings

        overrides = {"downsample_mode": self.downsample_mode, "do_sample": False, "max_new_tokens": 1}
        if self.kind == "image":
            return Settings.for_modality("image", max_slice_nums=self.max_slice_nums, **overrides)
        return Settings.for_modality("video", max_num_frames=self.max_num_frames, stack_frames=self.stack_frames,
                                     **overrides)


def parse_cases(image_cases: str, video_cases: str) -> list[Case]:
    cases = []
    for spec in filter(None, image_cases.split(",")):
        mode, slices = spec.split(":")
        cases.append(Case("image", mode, max_slice_nums=int(slices)))
    for spec in filter(None, video_cases.split(",")):
        mode, frames, stack = spec.split(":")
        cases.append(Case("video", mode, max_num_frames=int(frames), stack_frames=int(stack)))
    return cases


def video_case_defaults(on_gpu: bool) -> tuple[str, str]:
    """(timed, counted only) video cases when --video-cases is not given."""
    if on_gpu:
        return f"{DEFAULT_VIDEO_CASES},{STACKED_VIDEO_CASES}", ""
    return DEFAULT_VIDEO_CASES, STACKED_VIDEO_CASES


def make_image(path: Path, size: tuple[int, int]) -> Path:
    """A photo-sized RGB image with texture everywhere (content does not change the cost, size does)."""
    import numpy as np
    from PIL import Image

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        width, height = size
        blocks = np.random.default_rng(0).integers(0, 256, (height // 16 + 1, width // 16 + 1, 3), dtype=np.uint8)
        Image.fromarray(np.repeat(np.repeat(blocks, 16, axis=0), 16, axis=1)[:height, :width]).save(path)
    return path


def default_dtype() -> str:
    import torch

    return "auto" if torch.cuda.is_available() else "float32"


def prefill_seconds(engine, inputs, settings) -> float:
    """Seconds from calling the app's generator to its end, with max_new_tokens=1: the time to first token."""
    from minicpm_demo.engine import Generated, generate

    started = time.perf_counter()
    for piece in generate.generate_pieces(engine.spec, inputs, settings.to_generate_kwargs(), threading.Event()):
        if isinstance(piece, Generated):
            break
    return time.perf_counter() - started


def prepare(engine, case: Case, media: Path):
    """The app's processor call for one question about ``media``: (inputs, seconds)."""
    messages = [{"role": "user", "content": [{"type": case.kind, "path": str(media)},
                                             {"type": "text", "text": "Describe this in detail."}]}]
    started = time.perf_counter()
    inputs = engine.prepare(messages, case.settings()).inputs
    return inputs, time.perf_counter() - started


def measure(engine, case: Case, media: Path, repeats: int, inputs=None, prepare_s: float | None = None,
            warm_up: bool = False) -> dict:
    """Median prepare and prefill seconds over ``repeats``; ``inputs`` prepared already count as the first.

    ``warm_up``: one untimed prefill first. On a GPU the first pass at a new prompt length pays one-off costs
    (Triton autotuning of the linear-attention kernels, cuBLAS heuristics) that a single timed run mixes in."""
    prepare_runs, prefill_runs = [], []
    if warm_up:
        if inputs is None:
            inputs, prepare_s = prepare(engine, case, media)
        prefill_seconds(engine, inputs, case.settings())
    for _ in range(repeats):
        if inputs is None:
            inputs, prepare_s = prepare(engine, case, media)
        prepare_runs.append(prepare_s)
        prefill_runs.append(prefill_seconds(engine, inputs, case.settings()))
        last, inputs = inputs, None
    return {**token_counts(engine, last), "prepare_s": statistics.median(prepare_runs),
            "prefill_s": statistics.median(prefill_runs)}


def token_counts(engine, inputs) -> dict:
    config = engine.ready_model().model.config
    input_ids = inputs["input_ids"]
    return {"visual_tokens": int(((input_ids == config.image_token_id) | (input_ids == config.video_token_id)).sum()),
            "prompt_tokens": int(input_ids.shape[1])}


def inputs_fingerprint(inputs, case: Case) -> str:
    """Identical processor output + downsample mode ⇒ identical model cost, so the timing can be reused."""
    digest = hashlib.sha256(case.downsample_mode.encode())
    for key in sorted(inputs):
        value = inputs[key]
        digest.update(key.encode() + str(tuple(value.shape)).encode())
        if key in ("input_ids", "target_sizes", "target_sizes_videos"):
            digest.update(value.numpy().tobytes())
    return digest.hexdigest()


def _point_label(kind: str, cases: list[Case]) -> str:
    if kind == "image":
        return "max_slice_nums " + ", ".join(str(case.max_slice_nums) for case in cases)
    frames = ", ".join(sorted({str(case.max_num_frames) for case in cases}, key=int))
    return f"{frames} frames, stack {cases[0].stack_frames}"


def plot_tradeoff(results: dict[Case, dict], path: Path) -> None:
    """Visual tokens vs prefill time per mode; settings with identical inputs share one labelled point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7.5, 4.8), dpi=120)
    styles = {"16x": ("tab:blue", "o"), "4x": ("tab:orange", "s")}
    for mode, (colour, marker) in styles.items():
        for kind, line in (("image", "-"), ("video", "--")):
            points: dict[tuple[int, float], list[Case]] = {}
            for case, result in results.items():
                if case.downsample_mode == mode and case.kind == kind and result["prefill_s"] is not None:
                    points.setdefault((result["visual_tokens"], result["prefill_s"]), []).append(case)
            if not points:
                continue
            ordered = sorted(points)
            axes.plot([p[0] for p in ordered], [p[1] for p in ordered], line, color=colour, marker=marker,
                      label=f"{mode} {kind}")
            for point, cases in points.items():
                axes.annotate(_point_label(kind, cases), point, textcoords="offset points", xytext=(5, -10),
                              fontsize=7)
    for case, result in results.items():
        partner = results.get(replace(case, downsample_mode="4x")) if case.downsample_mode == "16x" else None
        if partner and None not in (partner["prefill_s"], result["prefill_s"]):  # the same input at 4x
            axes.annotate("", xy=(partner["visual_tokens"], partner["prefill_s"]),
                          xytext=(result["visual_tokens"], result["prefill_s"]),
                          arrowprops={"arrowstyle": "->", "color": "grey", "linestyle": ":"})
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("visual tokens")
    axes.set_ylabel("prefill to first token (s)")
    axes.set_title("MiniCPM-V 4.6 shape twin: 16x vs 4x visual-token compression (arrows: same input)",
                   fontsize=10)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8, loc="upper left")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="checkpoint to measure (default: the shape twin in --cache-dir)")
    parser.add_argument("--dtype", help="model dtype (default: float32 on CPU, the checkpoint's on CUDA)")
    parser.add_argument("--image-cases", default=DEFAULT_IMAGE_CASES,
                        help=f"downsample:max_slice_nums list (default {DEFAULT_IMAGE_CASES})")
    parser.add_argument("--video-cases", help="downsample:max_num_frames:stack_frames list to time (default: "
                        f"{DEFAULT_VIDEO_CASES} on a CPU, with {STACKED_VIDEO_CASES} on a GPU)")
    parser.add_argument("--count-only-video-cases", help="video cases whose tokens are counted but not timed "
                        f"(default: {STACKED_VIDEO_CASES} on a CPU unless --video-cases is given, none on a GPU)")
    parser.add_argument("--image-size", default="1344x1008", help="WIDTHxHEIGHT of the image (default 1344x1008)")
    parser.add_argument("--video-seconds", type=int, default=30, help="length of the clip (default 30)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per image row; medians are shown (default 1)")
    parser.add_argument("--video-repeats", type=int, default=1, help="runs per video row (default 1)")
    parser.add_argument("--plot", default=str(ROOT / "docs" / "perf-16x-vs-4x.png"),
                        help="PNG of visual tokens vs prefill time ('' for none; default docs/perf-16x-vs-4x.png)")
    parser.add_argument("--cache-dir", type=Path, default=CACHE, help="where the twin and media are kept")
    args = parser.parse_args()

    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)
    import torch
    from video_sampling import make_clip

    from minicpm_demo import loader
    from minicpm_demo.engine import LocalEngine

    timed_video, counted_video = video_case_defaults(torch.cuda.is_available())
    if args.video_cases is not None:
        timed_video, counted_video = args.video_cases, ""
    if args.count_only_video_cases is not None:
        counted_video = args.count_only_video_cases
    cases = parse_cases(args.image_cases, timed_video)
    count_only = [case for case in parse_cases("", counted_video) if case not in cases]
    model = args.model or shape_twin_checkpoint(args.cache_dir)
    width, height = (int(side) for side in args.image_size.split("x"))
    media = {"image": make_image(args.cache_dir / f"image-{width}x{height}.png", (width, height))}
    if any(case.kind == "video" for case in cases):
        media["video"] = make_clip(args.cache_dir / f"clip-{args.video_seconds}s-gop30.mp4", args.video_seconds)
    dtype = args.dtype or default_dtype()
    engine = LocalEngine(loader.ModelSpec(str(model), device="auto", dtype=dtype))
    status = engine.wait_until_loaded()
    if status.state != "ready":
        sys.exit(f"model not loaded: {status.message}")
    loaded = engine.ready_model()
    print(f"loaded {model} ({loaded.quantization}, {loaded.device}) in {loaded.load_seconds:.1f} s; warming up …",
          file=sys.stderr, flush=True)
    measure(engine, Case("image", "16x", max_slice_nums=1), media["image"], repeats=1)

    results: dict[Case, dict] = {}
    first_with_inputs: dict[str, Case] = {}
    for case in cases + count_only:
        inputs, prepare_s = prepare(engine, case, media[case.kind])
        fingerprint = inputs_fingerprint(inputs, case)
        if fingerprint in first_with_inputs:
            same = first_with_inputs[fingerprint]
            results[case] = {**results[same], "prepare_s": prepare_s, "same_as": same.label}
        elif case in count_only:
            results[case] = {**token_counts(engine, inputs), "prepare_s": prepare_s, "prefill_s": None}
        else:
            first_with_inputs[fingerprint] = case
            repeats = args.repeats if case.kind == "image" else args.video_repeats
            results[case] = measure(engine, case, media[case.kind], repeats, inputs, prepare_s,
                                    warm_up=loaded.device == "cuda")
        timed = results[case]["prefill_s"]
        print(f"  {case.kind} {case.label}: {results[case]['visual_tokens']} visual tokens, "
              + (f"{timed:.1f} s" if timed is not None else "not timed"), file=sys.stderr, flush=True)

    baselines = {
        "image": next((c for c in results if c.kind == "image" and f"{c.downsample_mode}:{c.max_slice_nums}"
                       == IMAGE_BASELINE), next((c for c in results if c.kind == "image"), None)),
        "video": next((c for c in results if c.kind == "video"), None),
    }
    media_label = {"image": f"image ({width}×{height})", "video": f"video ({args.video_seconds} s, 1280×720)"}
    rows = []
    for case, result in results.items():
        base = results[baselines[case.kind]]
        if result["prefill_s"] is None:
            timing, prefill_ratio = "not timed (add it to --video-cases)", "–"
        else:
            timing = f"{result['prefill_s']:.2f}" + (f" (same inputs as {result['same_as']})" if "same_as" in result
                                                     else "")
            prefill_ratio = ratio(result["prefill_s"], base["prefill_s"])
        rows.append([media_label[case.kind], case.label, result["visual_tokens"], result["prompt_tokens"],
                     f"{result['prepare_s']:.2f}", timing, ratio(result["visual_tokens"], base["visual_tokens"]),
                     prefill_ratio])
    device = torch.cuda.get_device_name() if loaded.device == "cuda" else f"CPU ({os.cpu_count()} cores)"
    print(f"\n{Path(model).name} ({loaded.quantization}) on {device}, torch {torch.__version__}, "
          f"image rows: median of {args.repeats}, video rows: median of {args.video_repeats}; ratios vs "
          f"{baselines['image'].label if baselines['image'] else '–'} (image) and "
          f"{baselines['video'].label if baselines['video'] else '–'} (video)\n")
    print(markdown_table(["input", "setting", "visual tokens", "prompt tokens", "prepare s", "prefill s",
                          "tokens ×", "prefill ×"], rows))
    if args.plot:
        plot_tradeoff(results, Path(args.plot))
        print(f"\nplot: {args.plot}", file=sys.stderr)


if __name__ == "__main__":
    main()
