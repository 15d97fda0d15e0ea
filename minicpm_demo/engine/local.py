"""The in-process engine: the cached model, the model card's processor call, and ``generate`` in a worker thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from typing import Any

from minicpm_demo import loader
from minicpm_demo.cancel import Cancelled, never
from minicpm_demo.engine import compiled, follow_up, memory, zero_gpu
from minicpm_demo.engine.base import EngineNotReady, EngineStatus, Generated, Prepared
from minicpm_demo.engine.generate import generate_pieces
from minicpm_demo.engine.intake import Intake
from minicpm_demo.engine.memory import gigabytes
from minicpm_demo.engine.preflight import Calibration, slices_per_image
from minicpm_demo.engine.reproduce import gradio_client_call, transformers_script, vllm_curl
from minicpm_demo.engine.reuse import MB, ReuseCache
from minicpm_demo.media import MediaLimits, load_readers
from minicpm_demo.media.thumbnails import frame_thumbnails, sliced_view
from minicpm_demo.phrases import Phrase
from minicpm_demo.settings import RequestLimits, Settings
from minicpm_demo.text import MINICPM_CONTROL_TOKENS, control_token_pattern

log = logging.getLogger(__name__)


class LocalEngine:
    def __init__(self, spec: loader.ModelSpec, limits: MediaLimits = MediaLimits(),
                 request_limits: RequestLimits = RequestLimits(), reuse_cache_mb: int | None = None):
        # Each ZeroGPU reply runs in a fresh GPU worker, where a step compiled at load does not exist.
        self.compile_ignored = bool(spec.compile_tokens) and zero_gpu.ON_ZERO_GPU
        self.spec = replace(spec, compile_tokens=0) if self.compile_ignored else spec
        self.limits = limits
        self.request_limits = request_limits
        self._loaded: loader.LoadedModel | None = None
        self._error: str | None = None
        self._progress = "Waiting to load"
        self._step = 0  # of LOAD_STEPS (and the compile step), shown as "step x of y"
        self._load_thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._control_token_pattern = None
        self.calibration = Calibration()  # the time to a first token, for estimates before a request is sent
        # what one ZeroGPU call may take (None: no cap on this machine; tests set one to simulate a Space)
        self.gpu_seconds_cap = zero_gpu.gpu_seconds_cap() if zero_gpu.ON_ZERO_GPU else None
        # What conversations keep for their follow-ups (engine/follow_up.py), sized at load where not given. A
        # ZeroGPU reply runs in a fresh GPU worker, and a compiled step owns its static cache: neither can take a
        # conversation's cache, so those keep nothing.
        self._reuse_cache_mb = 0 if zero_gpu.ON_ZERO_GPU or self.spec.compile_tokens else reuse_cache_mb
        self.kept = ReuseCache(0)

    # ---- loading -------------------------------------------------------------------------------
    def start_loading(self) -> None:
        """Load the model in the background so the page can be served meanwhile."""
        with self._lock:
            if self._load_thread is None:
                self._load_thread = threading.Thread(target=self._load, name="model-loader", daemon=True)
                self._load_thread.start()
                if zero_gpu.ON_ZERO_GPU:  # pragma: no cover - only on a ZeroGPU Space
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
            if self.spec.compile_tokens:
                self._set_progress("Compiling the decoding step (--compile; once per start) …")
                compiled.warm_up(loaded)
                if loaded.compile_error:
                    log.warning("--compile: decoding stays eager: %s", loaded.compile_error)
            self.request_limits = self.request_limits.for_device(loaded.device)
            self.calibration.set_prior(loaded.device, sum(p.numel() for p in loaded.model.parameters()))
            self._memory = memory.memory_model(loaded.model)
            self.kept = ReuseCache(self._reuse_budget(loaded.device))
            self._loaded = loaded
        except loader.LoaderError as error:
            self._error = str(error)
            log.error("model not loaded: %s", error)
        except Exception as error:  # an unexpected failure must reach the status line, not kill the app
            self._error = f"Loading {self.spec.model_id} failed: {type(error).__name__}: {error}"
            log.exception("model not loaded")

    def _reuse_budget(self, device: str) -> int:
        """--reuse-cache-mb, or by default a tenth of what the device has free once the model is loaded, at most
        4 GB (docs/PERFORMANCE.md, "Follow-up questions")."""
        if self._reuse_cache_mb is not None:
            return self._reuse_cache_mb * MB
        return min(4096 * MB, (memory.free_bytes(device) or 0) // 10)

    def forget(self, conversation: str | None) -> None:
        """Drop what ``conversation`` kept for its follow-ups (it was cleared, or its session ended)."""
        self.kept.forget(conversation)

    def _set_progress(self, message: str) -> None:
        self._progress = message
        self._step += 1
        log.info("%s", message)

    @property
    def _load_steps(self) -> int:
        return loader.LOAD_STEPS + bool(self.spec.compile_tokens)

    def status(self) -> EngineStatus:
        if self._error:
            return EngineStatus("error", self._error)
        if self._loaded is None:
            return EngineStatus("loading", f"`{self.spec.model_id}` — {self._progress}", {
                "model": self.spec.model_id, "step": self._step, "steps": self._load_steps, "doing": self._progress})
        loaded = self._loaded
        warnings = []
        if loaded.missing_kernels:
            warnings.append(f"{', '.join(loaded.missing_kernels)} not installed: linear-attention layers run on the "
                            "slow PyTorch fallback")
        if self.compile_ignored:  # pragma: no cover - only on a ZeroGPU Space
            warnings.append("--compile is not used on ZeroGPU (each reply runs in a fresh GPU worker)")
        decoding = "eager"
        if loaded.spec.compile_tokens:
            if loaded.compile_error:
                warnings.append(f"--compile failed, decoding without it: {loaded.compile_error}")
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
            raise EngineNotReady(Phrase("model.failed", error=self._error))
        raise EngineNotReady(Phrase("model.loading", doing=self._progress))

    def unsupported_settings(self) -> dict[str, str]:
        return {}  # the card's own processor and generate take every setting

    # ---- one request ---------------------------------------------------------------------------
    def prepare(self, messages: list[dict[str, Any]], settings: Settings,
                cancelled: Callable[[], bool] = never, within_limits: bool = True,
                conversation: str | None = None) -> Prepared:
        """Open the media named in ``messages`` and run the card's ``apply_chat_template`` call; the prompt is
        refused past the request limits unless ``within_limits`` is false (a preflight, which reports it). With
        ``conversation`` (a key the server made for one conversation), what its earlier questions kept is reused.

        Raises ``Cancelled`` when ``cancelled()`` turns true while the media is read."""
        import torch  # imported by the loader by now; not at module level, so the page is served before it

        loaded = self.ready_model()
        processor = loaded.processor
        kept = (self.kept, conversation) if conversation is not None and self.kept.enabled else None
        intake = Intake.for_messages(messages, self.limits, cancelled, kept=kept)
        video_metadata = []

        seen: list[tuple[float | None, Any]] = []  # what the model is given, small: (seconds or None, picture)

        def model_item(item: dict[str, Any]) -> list[dict[str, Any]]:
            if item["type"] != "video":  # an image, or a PDF's pages
                images = intake.images(item["path"])
                seen.extend((None, sliced_view(image, self._slice_grid(processor, image, settings)))
                            for image in images)
                return [{"type": "image", "image": image} for image in images]
            sampled = intake.video(item["path"], partial(processor.video_processor.sample_frames,
                                                         max_num_frames=settings.max_num_frames,
                                                         stack_frames=settings.stack_frames),
                                   rule=(settings.max_num_frames, settings.stack_frames))
            video_metadata.append(sampled.metadata)
            times = [index / sampled.metadata.fps for index in sampled.metadata.frames_indices]
            seen.extend(zip(times, frame_thumbnails(sampled.frames), strict=True))
            # A channels-first view: the processor takes it as it is, and would copy (N, H, W, 3) frames first.
            return [{"type": "video", "video": torch.from_numpy(sampled.frames).permute(0, 3, 1, 2)}]

        resolved = intake.resolve(model_item, self._control_tokens(processor.tokenizer))
        if cancelled():  # pressed after the last frame was read: do not start the processor's step
            raise Cancelled
        processor_kwargs = settings.to_processor_kwargs()
        if video_metadata:
            # Frames are already the processor's own sample; it still stacks and slices them.
            processor_kwargs.update(video_metadata=video_metadata, do_sample_frames=False)
        template_kwargs = {"tokenize": True, "add_generation_prompt": True, "return_dict": True,
                           "return_tensors": "pt", "enable_thinking": settings.enable_thinking,
                           "processor_kwargs": processor_kwargs}
        # the processor gets a copy, so that the recorded call stays what was passed
        inputs = processor.apply_chat_template(resolved,
                                               **template_kwargs | {"processor_kwargs": dict(processor_kwargs)})
        ids = inputs["input_ids"]
        if within_limits:
            self.request_limits.check_prompt_tokens(int(ids.shape[1]))  # before the model reads a word of it
        config = loaded.model.config
        tokenizer = processor.tokenizer
        reuse = kept and follow_up.plan(self.kept, conversation, processor, config, resolved, inputs,
                                        template_kwargs, settings.downsample_mode, files=len(intake.reused))
        return Prepared(
            inputs=inputs,
            calls={"apply_chat_template": template_kwargs, "generate": settings.to_generate_kwargs()},
            prompt_tokens=int(ids.shape[1]),
            visual_tokens=int(((ids == config.image_token_id) | (ids == config.video_token_id)).sum()),
            media=tuple(intake.media),
            notes=tuple(intake.notes),
            slices=tuple(slices_per_image(ids[0].tolist(), tokenizer.convert_tokens_to_ids("<image>"),
                                          tokenizer.convert_tokens_to_ids("<slice>"), config.image_token_id)),
            seen=tuple(seen),
            reuse=reuse or None,
        )

    @staticmethod
    def _slice_grid(processor, image, settings: Settings) -> tuple[int, int] | None:
        """The (rows, columns) the image processor cuts ``image`` into at these settings (None: not sliced)."""
        images = processor.image_processor
        if not getattr(images, "slice_mode", True) or not hasattr(images, "get_sliced_grid"):
            return None
        grid = images.get_sliced_grid((image.height, image.width), settings.max_slice_nums, images.scale_resolution)
        return tuple(grid) if grid else None

    def reproduction(self, messages: list[dict[str, Any]], prepared: Prepared) -> dict[str, str]:
        """Code that gives the reply to ``prepared`` again: a transformers script, a call to this server, a curl
        to a vLLM server."""
        loaded = self.ready_model()
        return {"python": transformers_script(self.spec.model_id, self.spec.revision, str(loaded.model.dtype),
                                              loaded.device, messages, prepared.calls, prepared.media),
                "gradio_client": gradio_client_call(messages, prepared.calls),
                "curl": vllm_curl(self.spec.model_id, messages, prepared.calls, prepared.media)}

    def gpu_seconds(self, prepared: Prepared) -> int | None:
        """The GPU time a ZeroGPU call for ``prepared`` asks for, where a cap applies."""
        if self.gpu_seconds_cap is None:
            return None
        return zero_gpu.estimate_gpu_seconds(self.spec, prepared.inputs, prepared.calls["generate"])

    def memory(self, prepared: Prepared) -> tuple[int | None, int | None]:
        if prepared.prompt_tokens is None:
            return None, None
        generate = prepared.calls["generate"]
        needed = self._memory.total_bytes(prepared.prompt_tokens, int(generate.get("max_new_tokens", 0)),
                                          prepared.visual_tokens or 0, generate.get("downsample_mode", "16x"))
        return needed, memory.free_bytes(self.ready_model().device)

    def budget_problems(self, prepared: Prepared, gpu_seconds: int | None,
                        memory: tuple[int | None, int | None]) -> list[Phrase]:
        """Why ``prepared`` would be refused, or fail, here: the prompt's bound, the model's context, GPU time,
        the device's memory."""
        problems = []
        tokens, most = prepared.prompt_tokens, self.request_limits.max_prompt_tokens
        if most and tokens > most:
            problems.append(Phrase("budget.tokens", tokens=tokens, most=most))
        reply = int(prepared.calls["generate"].get("max_new_tokens", 0))
        context = getattr(self.ready_model().model.config.get_text_config(), "max_position_embeddings", None)
        if context and tokens + reply > context:
            problems.append(Phrase("budget.context", tokens=tokens, reply=reply, context=context))
        if gpu_seconds is not None and gpu_seconds > self.gpu_seconds_cap:
            problems.append(Phrase("budget.gpu", seconds=gpu_seconds, cap=self.gpu_seconds_cap))
        needed, free = memory
        if needed is not None and free is not None and needed - self._memory.weights > free:
            problems.append(Phrase("budget.memory", need=gigabytes(needed - self._memory.weights),
                                   free=gigabytes(free)))
        return problems

    def _control_tokens(self, tokenizer):
        """Every added token of this checkpoint's tokenizer (a fine-tune may add its own)."""
        if self._control_token_pattern is None:
            tokens = [token.content for token in tokenizer.added_tokens_decoder.values()]
            self._control_token_pattern = control_token_pattern(tokens) if tokens else MINICPM_CONTROL_TOKENS
        return self._control_token_pattern

    def generate(self, prepared: Prepared, stop: threading.Event) -> Iterator[str | Generated]:
        generate_kwargs = prepared.calls["generate"]
        if zero_gpu.ON_ZERO_GPU:  # pragma: no cover - only on a ZeroGPU Space
            return zero_gpu.generate(self.spec, prepared.inputs, generate_kwargs, stop)
        return generate_pieces(self.spec, prepared.inputs, generate_kwargs, stop, reuse=prepared.reuse)
