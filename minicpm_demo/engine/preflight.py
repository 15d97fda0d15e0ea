"""What a request will cost, known before it is sent: its tokens, the frames and slices the model will get, an
estimate of the time to the first token, and whether it fits this machine's limits (with the setting to lower
when it does not, and the steps of "fit it").

The counts come from the request prepared exactly as ``/chat`` prepares it, so they are the ones its stats then
report; only the model does not run.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, replace
from typing import Any

from minicpm_demo.engine.pipeline import prepared_unless_stopped
from minicpm_demo.phrases import Phrase
from minicpm_demo.settings import Settings

# Seconds of the prompt's first pass per prompt token and per model parameter, from the shape twin's runs
# (docs/PERFORMANCE.md: "Visual tokens and prefill time" on 2 CPU cores, "On a GPU" on an H200); the figure
# for this process is measured from its own replies as soon as it has answered one.
PRIOR_S_PER_TOKEN_PARAMETER = {"cpu": 6.5e-11, "cuda": 3.8e-13}
OBSERVED = 16  # replies the measured figure is the median of


class Calibration:
    """The time to the first token per prompt token on this machine, once measured here, else the prior."""

    def __init__(self):
        self._per_token: deque[float] = deque(maxlen=OBSERVED)
        self._prior: float | None = None
        self._lock = threading.Lock()

    def set_prior(self, device: str, parameters: int) -> None:
        kind = "cpu" if device.split(":")[0] == "cpu" else "cuda"
        self._prior = PRIOR_S_PER_TOKEN_PARAMETER[kind] * parameters

    def observe(self, prompt_tokens: int, model_seconds: float) -> None:
        """A reply's first pass: ``model_seconds`` from its inputs being ready to its first token."""
        if prompt_tokens > 0 and model_seconds > 0:
            with self._lock:
                self._per_token.append(model_seconds / prompt_tokens)

    def estimate(self, prompt_tokens: int) -> tuple[float | None, str]:
        """Seconds of the first pass over ``prompt_tokens``, and where the figure comes from."""
        with self._lock:
            if self._per_token:
                return statistics.median(self._per_token) * prompt_tokens, "measured"
        if self._prior is None:
            return None, "unknown"
        return self._prior * prompt_tokens, "shape twin"


@dataclass(frozen=True)
class Preflight:
    visual_tokens: int | None
    prompt_tokens: int | None
    frames: list[float]  # the time of each video frame the model gets, in seconds
    slices: list[int]  # per image: the slices cut besides its whole view
    estimated_ttft_s: float | None  # reading the media and the processor (as measured now) plus the first pass
    estimate_source: str  # "measured" (this process's replies), "shape twin" (docs/PERFORMANCE.md) or "unknown"
    gpu_seconds: int | None  # on ZeroGPU: the GPU time the request would ask for
    estimated_memory_mb: int | None  # the device memory at the request's peak, the model's weights included
    free_memory_mb: int | None  # the device's memory free for the request (engine/memory.py)
    fits: bool
    advice: str  # what to change when it does not fit; empty when it does
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def slices_per_image(ids: list[int], image_start: int, slice_start: int, image_pad: int) -> list[int]:
    """The slices of each image in a prompt's token ids: each ``<image>`` block holding image (not video) pads
    starts an image; the ``<slice>`` blocks after it, until the next ``<image>``, are its slices."""
    counts: list[int] = []
    current: int | None = None  # index in counts of the image whose slices follow, None after a video frame
    for position, token in enumerate(ids):
        if token == image_start:
            current = None
            if position + 1 < len(ids) and ids[position + 1] == image_pad:
                counts.append(0)
                current = len(counts) - 1
        elif token == slice_start and current is not None:
            counts[current] += 1
    return counts


def next_step(settings: Settings, modality: str) -> tuple[Settings, Phrase] | None:
    """One step down in cost, and what it changes: 4x to 16x, then fewer slices, and for a video no stacking,
    then fewer frames."""
    if settings.downsample_mode == "4x":
        return replace(settings, downsample_mode="16x"), Phrase("fit.downsample")
    if settings.max_slice_nums > 1:
        lower = max(1, settings.max_slice_nums // 2)
        return replace(settings, max_slice_nums=lower), Phrase("fit.slices", value=lower)
    if modality != "video":
        return None
    if settings.stack_frames > 1:
        return replace(settings, stack_frames=1), Phrase("fit.stack")
    if settings.max_num_frames > 1:
        lower = max(1, settings.max_num_frames // 2)
        return replace(settings, max_num_frames=lower), Phrase("fit.frames", value=lower)
    return None


def preflight(engine, messages: list[dict[str, Any]], settings: Settings, modality: str) -> Preflight:
    """The request ``messages`` with ``settings`` prepared as ``/chat`` would, then measured against the limits."""
    started = time.perf_counter()
    prepared = engine.prepare(messages, settings, within_limits=False)
    try:
        preparing_s = time.perf_counter() - started
        tokens = prepared.prompt_tokens
        first_pass, source = engine.calibration.estimate(tokens) if tokens is not None else (None, "unknown")
        gpu_seconds = engine.gpu_seconds(prepared)
        needed, free = engine.memory(prepared)
        problems = engine.budget_problems(prepared, gpu_seconds, (needed, free))
    finally:
        prepared.release()
    step = next_step(settings, modality)
    advice = ""
    if problems:
        advice = problems[0] if step is None else Phrase("fit.advice", problem=problems[0], step=step[1])
    return Preflight(
        visual_tokens=prepared.visual_tokens, prompt_tokens=tokens,
        frames=[round(t, 3) for media in prepared.media for t in media.frames_s],
        slices=list(prepared.slices),
        estimated_ttft_s=None if first_pass is None else round(preparing_s + first_pass, 3),
        estimate_source=source, gpu_seconds=gpu_seconds, estimated_memory_mb=megabytes(needed, up=True),
        free_memory_mb=megabytes(free), fits=not problems, advice=advice,
        notes=list(prepared.notes))


def megabytes(size: int | None, up: bool = False) -> int | None:
    """Whole MB: a need rounded up and what is free rounded down, so that a rounded figure never hides a
    shortfall."""
    if size is None:
        return None
    return int(-(-size // 2**20)) if up else int(size // 2**20)


def preflight_apart(engine, messages: list[dict[str, Any]], settings: Settings, modality: str) -> Preflight:
    """``preflight`` on a thread of its own, as a reply's preparation runs: tensor work on a server's long-lived
    threads slows the replies (engine/pipeline.py, ``prepared_unless_stopped``)."""
    return prepared_unless_stopped(lambda cancelled: preflight(engine, messages, settings, modality),
                                   threading.Event())
