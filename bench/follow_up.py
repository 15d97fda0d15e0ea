"""A follow-up question with and without reuse of its conversation's media encoding and prompt, same run.

    python bench/follow_up.py [--model DIR] [--seconds 20] [--frames 64] [--cases image,video]

On the full-size shape twin (built into bench/.cache once; ``--model`` for another checkpoint), for a 1344×1008
photo at 16x with max_slice_nums 9 and a camera-like H.264 1280×720 clip of ``--seconds`` s at
``max_num_frames=--frames``: the first question (what every question costs without reuse), the follow-up in the
same conversation (reuse), and the same follow-up as a question of no conversation (no reuse), all greedy with
8-token replies on one engine. Prints TTFT and total time, each follow-up's ratio to the first question, whether
the two follow-ups gave the same reply, and memory: what the conversation keeps and the process's peak.

The issue's video case is ``--seconds 60 --frames 64``; on this 2-core CPU its first question alone takes minutes,
so the default clip is 20 s (the ratio is what the figures are for; docs/PERFORMANCE.md quotes both).
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
from bench.gptq_vs_bf16 import peak_memory_mb  # noqa: E402
from bench.video_sampling import make_clip  # noqa: E402

CACHE = ROOT / "bench" / ".cache"


def ask(engine, messages, settings, conversation) -> tuple[str, object, float]:
    from minicpm_demo.engine import run_request

    answer, stats, started = "", None, time.perf_counter()
    for delta in run_request(engine, messages, settings, threading.Event(), conversation):
        answer += delta.answer
        stats = delta.stats or stats
    return answer, stats, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="checkpoint directory (default: the BF16 shape twin)")
    parser.add_argument("--seconds", type=int, default=20, help="length of the clip (default 20)")
    parser.add_argument("--frames", type=int, default=64, help="max_num_frames for the clip (default 64)")
    parser.add_argument("--cases", default="image,video", help="comma-separated: image, video")
    parser.add_argument("--cache-dir", type=Path, default=CACHE)
    args = parser.parse_args(argv)

    import torch
    from PIL import Image

    from minicpm_demo.engine import LocalEngine
    from minicpm_demo.loader import ModelSpec
    from minicpm_demo.settings import Settings

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = args.model or str(shape_twin_checkpoint(args.cache_dir))
    engine = LocalEngine(ModelSpec(model, device=device, dtype="auto" if device == "cuda" else "float32"))
    assert engine.wait_until_loaded(900).state == "ready", engine.status().message
    photo = args.cache_dir / "preflight-photo.jpg"
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    if not photo.exists():
        Image.effect_noise((1344, 1008), 64).convert("RGB").save(photo, quality=90)
    cases = {
        "image": ("photo 1344×1008, 16x, max_slice_nums 9", "image", photo,
                  Settings.for_modality("image", max_slice_nums=9, do_sample=False, max_new_tokens=8)),
        "video": (f"clip {args.seconds} s 1280×720, {args.frames} frames", "video",
                  make_clip(args.cache_dir / f"preflight-{args.seconds}s-720p.mp4", args.seconds, camera=True),
                  Settings.for_modality("video", max_num_frames=args.frames, do_sample=False, max_new_tokens=8)),
    }
    rows = []
    for name in args.cases.split(","):
        label, kind, path, settings = cases[name.strip()]
        conversation = f"bench-{name}"
        first_question = [{"role": "user", "content": [{"type": kind, "path": str(path)},
                                                       {"type": "text", "text": "Describe it."}]}]
        reply, first, first_s = ask(engine, first_question, settings, conversation)
        follow_up = [*first_question, {"role": "assistant", "content": [{"type": "text", "text": reply}]},
                     {"role": "user", "content": [{"type": "text", "text": "What else is there?"}]}]
        reused_reply, reused, reused_s = ask(engine, follow_up, settings, conversation)
        kept_mb = engine.kept.used_bytes / 2 ** 20
        plain_reply, plain, plain_s = ask(engine, follow_up, settings, None)
        for what, stats, total in (("first question", first, first_s), ("follow-up, reuse", reused, reused_s),
                                   ("follow-up, no reuse", plain, plain_s)):
            rows.append([label, what, stats.prompt_tokens, f"{stats.ttft_s:.2f}", ratio(stats.ttft_s, first.ttft_s),
                         f"{total:.2f}", ratio(total, first_s),
                         f"{kept_mb:.0f}" if what == "follow-up, reuse" else "",
                         "yes" if what != "follow-up, no reuse" or plain_reply == reused_reply else "NO"])
        print(f"{label}: reused {reused.reused}", file=sys.stderr, flush=True)
        engine.forget(conversation)
    print(f"\n{model} on {device} ({engine.ready_model().model.dtype}); greedy, 8-token replies; "
          f"peak memory of the process {peak_memory_mb(device):.0f} MB\n")
    print(markdown_table(["input", "question", "prompt tokens", "TTFT s", "TTFT × first", "total s",
                          "total × first", "kept MB", "same reply"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
