"""The in-process engine: cached model, the card's processor call, then generation through engine/gpu.py."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from minicpm_demo import loader
from minicpm_demo.engine import gpu
from minicpm_demo.engine.base import (
    Delta,
    EngineNotReady,
    EngineStatus,
    ReplyStats,
    media_counts,
    prepared_unless_stopped,
    stopped_before_the_model,
)
from minicpm_demo.media import Cancelled, MediaLimits, describe_duration, load_image, load_readers, never, sample_video
from minicpm_demo.settings import Settings
from minicpm_demo.text import ReasoningSplitter

log = logging.getLogger(__name__)


class LocalEngine:
    def __init__(self, spec: loader.ModelSpec, limits: MediaLimits = MediaLimits()):
        self.spec = spec
        self.limits = limits
        self._loaded: loader.LoadedModel | None = None
        self._error: str | None = None
        self._progress = "Waiting to load"
        self._load_thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # ---- loading -------------------------------------------------------------------------------
    def start_loading(self) -> None:
        """Load the model in the background so the page can be served meanwhile."""
        with self._lock:
            if self._load_thread is None:
                self._load_thread = threading.Thread(target=self._load, name="model-loader", daemon=True)
                self._load_thread.start()
                if gpu.ON_ZERO_GPU:  # pragma: no cover - only on a ZeroGPU Space
                    # ZeroGPU moves CUDA tensors created at startup into its GPU workers: place the model
                    # before the app serves requests, as its documentation's examples do.
                    self._load_thread.join()

    def wait_until_loaded(self, timeout: float | None = None) -> EngineStatus:
        self.start_loading()
        self._load_thread.join(timeout)
        return self.status()

    def _load(self) -> None:
        try:
            loaded = loader.load(self.spec, progress=self._set_progress)
            load_readers()
            if self.spec.compile_tokens and not gpu.ON_ZERO_GPU:
                self._set_progress("Compiling the decoding step (--compile; once per start) …")
                gpu.warm_up_compiled_decoding(loaded)
                if gpu.compile_error(loaded):
                    log.warning("--compile: decoding stays eager: %s", gpu.compile_error(loaded))
            self._loaded = loaded
        except loader.LoaderError as error:
            self._error = str(error)
            log.error("model not loaded: %s", error)
        except Exception as error:  # an unexpected failure must reach the status line, not kill the app
            self._error = f"Loading {self.spec.model_id} failed: {type(error).__name__}: {error}"
            log.exception("model not loaded")

    def _set_progress(self, message: str) -> None:
        self._progress = message
        log.info("%s", message)

    def status(self) -> EngineStatus:
        if self._error:
            return EngineStatus("error", self._error)
        if self._loaded is None:
            return EngineStatus("loading", f"`{self.spec.model_id}` — {self._progress}")
        loaded = self._loaded
        warnings = []
        if loaded.missing_kernels:
            warnings.append(f"{', '.join(loaded.missing_kernels)} not installed: linear-attention layers run on the "
                            "slow PyTorch fallback")
        decoding = "eager"
        if loaded.spec.compile_tokens:
            if gpu.ON_ZERO_GPU:  # pragma: no cover - only on a ZeroGPU Space
                warnings.append("--compile is not used on ZeroGPU (each reply runs in a fresh GPU worker)")
            elif gpu.compile_error(loaded):
                warnings.append(f"--compile failed, decoding without it: {gpu.compile_error(loaded)}")
            else:
                decoding = f"compiled (static cache {loaded.spec.compile_tokens} tokens)"
        summary = f"`{loaded.spec.model_id}` · {loaded.quantization} · {loaded.device}"
        return EngineStatus("ready", summary + (" · compiled decoding" if decoding != "eager" else ""), {
            "model": loaded.spec.model_id, "quantization": loaded.quantization, "device": loaded.device,
            "load_seconds": round(loaded.load_seconds, 1), "missing_kernels": loaded.missing_kernels,
            "decoding": decoding, "warnings": warnings,
        })

    def ready_model(self) -> loader.LoadedModel:
        if self._loaded is not None:
            return self._loaded
        self.start_loading()
        if self._error:
            raise EngineNotReady(f"The model could not be loaded: {self._error}")
        raise EngineNotReady(f"The model is still loading ({self._progress}). Please wait a moment and send again.")

    def unsupported_settings(self) -> dict[str, str]:
        return {}  # the card's own processor and generate take every setting

    # ---- one request ---------------------------------------------------------------------------
    def prepare_inputs(self, messages: list[dict[str, Any]], settings: Settings,
                       cancelled: Callable[[], bool] = never) -> tuple[Any, list[str]]:
        """Open the media named in ``messages`` and run the card's ``apply_chat_template`` call.

        Raises ``media.Cancelled`` when ``cancelled()`` turns true while the media is read."""
        import torch  # imported by the loader by now; not at module level, so the page is served before it

        processor = self.ready_model().processor
        limits = self.limits.for_request(*media_counts(messages))
        notes: list[str] = []
        video_metadata = []
        resolved = []
        for message in messages:
            content = message["content"]
            if isinstance(content, str):
                resolved.append(message)
                continue
            items = []
            for item in content:
                if item["type"] == "image" and "path" in item:
                    loaded_image = load_image(item["path"], limits)
                    notes.extend(loaded_image.notes)
                    items.append({"type": "image", "image": loaded_image.image})
                elif item["type"] == "video" and "path" in item:
                    sampled = sample_video(item["path"], partial(
                        processor.video_processor.sample_frames,
                        max_num_frames=settings.max_num_frames, stack_frames=settings.stack_frames,
                    ), limits, cancelled)
                    notes.extend(sampled.notes)
                    # how many frames the model saw, so the frame settings' effect is visible in the stats
                    notes.append(f"{os.path.basename(item['path'])}: {len(set(sampled.metadata.frames_indices))} "
                                 f"frames of {describe_duration(sampled.metadata.duration)}")
                    video_metadata.append(sampled.metadata)
                    # Channels-first view: the processor takes it as it is, where it would copy an (N, H, W, 3)
                    # array into that layout first (same inputs; 0.58 -> 0.26 s for 60 frames of 720p).
                    frames = torch.from_numpy(sampled.frames).permute(0, 3, 1, 2)
                    items.append({"type": "video", "video": frames})
                else:
                    items.append(item)
            resolved.append({**message, "content": items})

        if cancelled():  # pressed after the last frame was read: do not start the processor's step
            raise Cancelled
        processor_kwargs = settings.to_processor_kwargs()
        if video_metadata:
            # Frames are already the processor's own sample; it still stacks and slices them.
            processor_kwargs.update(video_metadata=video_metadata, do_sample_frames=False)
        inputs = processor.apply_chat_template(
            resolved,
            tokenize=True,
            add_generation_prompt=True,
            return_dict=True,
            return_tensors="pt",
            enable_thinking=settings.enable_thinking,
            processor_kwargs=processor_kwargs,
        )
        return inputs, notes

    def stream(self, messages: list[dict[str, Any]], settings: Settings,
               stop_event: threading.Event) -> Iterator[Delta]:
        started = time.perf_counter()
        loaded = self.ready_model()
        config = loaded.model.config

        def prepare(cancelled: Callable[[], bool]) -> tuple[Any, list[str], int]:
            inputs, notes = self.prepare_inputs(messages, settings, cancelled)
            # Counted here, in prepared_unless_stopped's short-lived thread, like every tensor op before generate
            # (see there why): on a long prompt this comparison is big enough for torch to run it in parallel.
            ids = inputs["input_ids"]
            return inputs, notes, int(((ids == config.image_token_id) | (ids == config.video_token_id)).sum())

        prepared = prepared_unless_stopped(prepare, stop_event)
        if prepared is None:
            yield Delta(stats=stopped_before_the_model(started))
            return
        inputs, notes, visual_tokens = prepared
        input_ids = inputs["input_ids"]
        generate_kwargs = settings.to_generate_kwargs()
        if gpu.ON_ZERO_GPU:  # pragma: no cover - only on a ZeroGPU Space
            gpu.check_gpu_budget(gpu.estimate_gpu_seconds(self.spec, inputs, generate_kwargs), gpu.gpu_seconds_cap(),
                                 settings.max_new_tokens)
        # On ZeroGPU the generator runs in another process: Stop reaches it by closing it, not through the Event.
        pieces = gpu.generate_pieces(self.spec, inputs, generate_kwargs, None if gpu.ON_ZERO_GPU else stop_event)
        splitter = ReasoningSplitter(settings.enable_thinking)
        first_token_at, generated = None, 0
        try:
            for piece in pieces:
                if isinstance(piece, gpu.GenerationDone):
                    generated = piece.generated_tokens
                    break
                first_token_at = first_token_at or time.perf_counter()
                generated += 1  # an estimate until GenerationDone gives the count (it won't if closed early)
                reasoning, answer = splitter.feed(piece)
                if reasoning or answer:
                    yield Delta(answer=answer, reasoning=reasoning)
                if stop_event.is_set() and gpu.ON_ZERO_GPU:  # pragma: no cover - locally the Event stops it
                    pieces.close()
                    break
            reasoning, answer = splitter.flush()
            if reasoning or answer:
                yield Delta(answer=answer, reasoning=reasoning)
            finished = time.perf_counter()
            first_token_at = first_token_at or finished
            decode_time = finished - first_token_at
            yield Delta(stats=ReplyStats(
                prompt_tokens=int(input_ids.shape[1]),
                visual_tokens=visual_tokens,
                generated_tokens=generated,
                ttft_s=first_token_at - started,
                tokens_per_s=(generated - 1) / decode_time if generated > 1 and decode_time > 0 else 0.0,
                total_s=finished - started,
                stopped=stop_event.is_set(),
                notes=tuple(notes),
            ))
        finally:
            # Reached on normal end, on error, and when the consumer closes us (Stop in the UI).
            stop_event.set()
            pieces.close()
