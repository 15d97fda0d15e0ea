"""ZeroGPU Spaces: ``generate`` under ``spaces.GPU``, with a GPU-time budget computed from each request.

There, ``spaces.GPU`` runs the generator in a GPU worker process for the duration it asks for. Its arguments
cross a process boundary, so Stop reaches it by closing the generator: a thread Event cannot be sent along.
Anywhere else nothing here runs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

from minicpm_demo.engine.base import Generated, ResourceError
from minicpm_demo.engine.generate import generate_pieces
from minicpm_demo.phrases import Phrase

# ZeroGPU's longest allocation for one call; PRO and organisation Spaces may set more (ZEROGPU_MAX_SECONDS).
DEFAULT_GPU_SECONDS_CAP = 120


def _on_zero_gpu() -> bool:
    # The variable spaces.config reads; importing spaces itself is slow, so it is imported only on ZeroGPU.
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")


ON_ZERO_GPU = _on_zero_gpu()


def estimate_gpu_seconds(spec, inputs: Any, generate_kwargs: dict[str, Any],
                         stop: threading.Event | None = None) -> int:
    """GPU seconds to reserve for one reply: fixed start-up, prefill of the prompt (visual tokens included:
    video length, frames and stacking all show up there), then ``max_new_tokens`` of decoding. Short image
    questions ask for little and so get the GPU sooner; long videos ask for what they need."""
    prompt_tokens = int(inputs["input_ids"].shape[1])
    pixels = sum(int(inputs[key].numel()) // 3 for key in ("pixel_values", "pixel_values_videos") if key in inputs)
    seconds = 8 + prompt_tokens / 4000 + pixels / 4_000_000 + int(generate_kwargs.get("max_new_tokens", 1024)) / 25
    return int(seconds + 0.999)


def gpu_seconds_cap() -> int:
    return int(os.environ.get("ZEROGPU_MAX_SECONDS", DEFAULT_GPU_SECONDS_CAP))


def check_gpu_budget(seconds: int, cap: int, max_new_tokens: int) -> None:
    if seconds > cap:
        raise ResourceError(Phrase("gpu.seconds", seconds=seconds, cap=cap, max_new_tokens=max_new_tokens))


if ON_ZERO_GPU:  # pragma: no cover - only on a ZeroGPU Space
    import spaces

    # Decorated at import, before the app starts, as ZeroGPU requires.
    generate_on_gpu = spaces.GPU(duration=estimate_gpu_seconds)(generate_pieces)
else:
    generate_on_gpu = generate_pieces


def generate(spec, inputs: Any, generate_kwargs: dict[str, Any],
             stop: threading.Event) -> Iterator[str | Generated]:  # pragma: no cover - only on a ZeroGPU Space
    """The reply generated in a GPU worker, refused first when it would need more GPU time than one call gets."""
    check_gpu_budget(estimate_gpu_seconds(spec, inputs, generate_kwargs), gpu_seconds_cap(),
                     int(generate_kwargs.get("max_new_tokens", 0)))
    pieces = generate_on_gpu(spec, inputs, generate_kwargs)
    try:
        for piece in pieces:
            yield piece
            if stop.is_set():
                break
    finally:
        pieces.close()
