"""The preflight's memory estimate (engine/memory.py) against the memory a request takes, same run.

    python bench/memory_estimate.py [--model DIR] [--device auto]

On the shape twin (built once into bench/.cache) unless ``--model`` names another checkpoint: for a text-only
question, a 1344×1008 photo at 16x and at 4x with max_slice_nums 4, and a 20 s 720p clip at 8 frames, the
estimate of what the request adds to the weights, and what it took: on a GPU the peak of torch's allocations
over the weights, on the CPU the peak of the process's resident memory (sampled every 5 ms) over its size
before. Each request runs its prompt's pass and one reply token. Prints both and measured / estimated.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import markdown_table, ratio, shape_twin_checkpoint  # noqa: E402
from bench.video_sampling import make_clip  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
PAGE = 4096


def resident_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * PAGE


class PeakResident:
    """The highest resident size of this process while open, sampled on a thread."""

    def __enter__(self):
        self.before = self.peak = resident_bytes()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._done.wait(0.005):
            self.peak = max(self.peak, resident_bytes())

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="checkpoint directory (default: the shape twin)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--clip-seconds", type=int, default=20, help="length of the 720p clip")
    parser.add_argument("--cache-dir", type=Path, default=CACHE)
    args = parser.parse_args(argv)

    import torch
    from PIL import Image

    from minicpm_demo.engine import LocalEngine
    from minicpm_demo.engine.generate import generate_pieces
    from minicpm_demo.loader import ModelSpec
    from minicpm_demo.settings import Settings

    model = args.model or str(shape_twin_checkpoint(args.cache_dir))
    clip = make_clip(args.cache_dir / f"memory-{args.clip_seconds}s-720p.mp4", args.clip_seconds, camera=True)
    photo = args.cache_dir / "preflight-photo.jpg"
    if not photo.exists():
        Image.effect_noise((1344, 1008), 64).convert("RGB").save(photo, quality=90)
    engine = LocalEngine(ModelSpec(model_id=model, device=args.device))
    assert engine.wait_until_loaded().state == "ready", engine.status()
    device = engine.ready_model().device
    on_gpu = device.startswith("cuda")
    cases = [
        ("text only", [], "image", {}),
        ("photo 16x", [{"type": "image", "path": str(photo)}], "image", {"downsample_mode": "16x"}),
        ("photo 4x", [{"type": "image", "path": str(photo)}], "image", {"downsample_mode": "4x"}),
        ("clip 8 frames", [{"type": "video", "path": str(clip)}], "video", {"max_num_frames": 8}),
    ]
    rows = []
    for name, media, modality, chosen in cases:
        settings = Settings.for_modality(modality, max_new_tokens=1, do_sample=False, max_slice_nums=4, **chosen)
        messages = [{"role": "user", "content": [*media, {"type": "text", "text": "What is this?"}]}]
        prepared = engine.prepare(messages, settings)
        needed, _ = engine.memory(prepared)
        estimate = needed - engine._memory.weights
        if on_gpu:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        with PeakResident() as resident:
            for _ in generate_pieces(engine.spec, prepared.inputs, prepared.calls["generate"], threading.Event()):
                pass
        measured = (torch.cuda.max_memory_allocated() - base) if on_gpu else resident.peak - resident.before
        prepared.release()
        rows.append([name, f"{prepared.prompt_tokens:,}", f"{estimate / 2**20:,.1f}", f"{measured / 2**20:,.1f}",
                     ratio(measured, estimate)])
        print(" | ".join(rows[-1]), flush=True)
        time.sleep(0.5)
    print(f"model {model} on {device}; MB the request adds to the weights "
          f"({engine._memory.weights / 2**30:.2f} GB)")
    print(markdown_table(["request", "prompt tokens", "estimated MB", "measured MB", "measured / estimated"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
