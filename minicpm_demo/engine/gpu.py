"""The GPU-bound part of a reply: ``generate`` streaming text pieces, as one module-level generator.

On a ZeroGPU Space, ``spaces.GPU`` runs it in a GPU worker process with a duration computed from the request;
anywhere else the decorator changes nothing. Its arguments cross a process boundary there, so it takes the
model's spec (the worker finds the model in the loader's cache) and plain tensors — and Stop arrives by
closing the generator, since a thread Event cannot be sent along.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from minicpm_demo import loader
from minicpm_demo.settings import SettingsError

# ZeroGPU's longest allocation for one call; PRO and organisation Spaces may set more (ZEROGPU_MAX_SECONDS).
DEFAULT_GPU_SECONDS_CAP = 120

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerationDone:
    generated_tokens: int


class _StopOnEvent:
    """A ``StoppingCriteria`` that ends ``generate`` at the next token once the event is set."""

    def __init__(self, event: threading.Event):
        self.event = event

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


class _Stopped(Exception):
    """Raised inside a forward pass once its request's stop event is set."""


# The stop event of the request whose ``generate`` runs in this thread (each request has its own thread, or takes
# its turn on the compiled-generate thread).
_this_thread = threading.local()


def _raise_if_stopped(module, args) -> None:
    import torch

    if torch.compiler.is_compiling():  # a compiled decoding step is one graph; Stop acts between tokens there
        return
    event = getattr(_this_thread, "stop_event", None)
    if event is not None and event.is_set():
        raise _Stopped


def _make_stoppable_mid_pass(model) -> None:
    """Let Stop end a forward pass between two layers, not only after a token.

    A ``StoppingCriteria`` is consulted once per token, after the pass: on a CPU the prompt's pass (vision tower
    and prefill) takes from seconds to minutes, and Stop would wait for all of it. A check before each layer of
    every stack (vision encoder, language model) costs ~2 µs a layer (~50 µs a token for the 24 text layers).
    """
    if getattr(model, "_stops_mid_pass", False):
        return
    import torch

    for module in model.modules():
        if isinstance(module, torch.nn.ModuleList):
            for layer in module:
                layer.register_forward_pre_hook(_raise_if_stopped)
    model._stops_mid_pass = True


# ---- compiled decoding (--compile) ---------------------------------------------------------------------------
COMPILE_WARM_UP_TOKENS = 4
_compiled_generate_thread: ThreadPoolExecutor | None = None
_compiled_generate_lock = threading.Lock()


def _compiled_generate_runner() -> ThreadPoolExecutor:
    """The one thread that runs every compiled ``generate``, warm-up included.

    torch.compile's CUDA graphs are recorded per thread, and calling them from several threads trips an assertion
    (pytorch/pytorch#123177); so compiled replies queue for this thread instead of each starting its own."""
    global _compiled_generate_thread
    with _compiled_generate_lock:
        if _compiled_generate_thread is None:
            _compiled_generate_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="compiled-generate")
        return _compiled_generate_thread


def run_on_compiled_thread(work: Callable[[], Any]) -> Any:
    """``work()`` on the compiled-generate thread (for code that calls a compiled model's ``generate`` itself)."""
    return _compiled_generate_runner().submit(work).result()


def compile_config(device: str):
    from transformers import CompileConfig

    if device == "cuda":
        return CompileConfig(mode="reduce-overhead")  # CUDA graphs: one launch per token instead of thousands
    config = CompileConfig(mode="default")
    config._compile_all_devices = True  # generate compiles on accelerators only, unless told so
    return config


def compiled_generate_kwargs(loaded: loader.LoadedModel, prompt_tokens: int, max_new_tokens: int) -> dict[str, Any]:
    """What makes ``generate`` decode with the compiled step and a static cache, or {} for eager decoding: when
    compiling is off or failed, on ZeroGPU, or when the reply may not fit the static cache."""
    limit = loaded.spec.compile_tokens
    if not limit or ON_ZERO_GPU or compile_error(loaded) or prompt_tokens + max_new_tokens > limit:
        return {}
    # Always the same cache length, so that transformers reuses the compiled step instead of recompiling.
    return {"cache_implementation": "static", "max_cache_len": limit, "compile_config": compile_config(loaded.device)}


def compile_error(loaded: loader.LoadedModel) -> str | None:
    return getattr(loaded.model, "_compile_error", None)


def warm_up_compiled_decoding(loaded: loader.LoadedModel) -> None:
    """Compile the decoding step now (on a GPU also record its CUDA graphs), so that no reply waits for it.

    If that fails, decoding stays eager; ``compile_error`` says why."""
    import torch

    kwargs = compiled_generate_kwargs(loaded, 0, 0)
    if not kwargs:
        return
    prompt = loaded.processor.tokenizer("Hello", return_tensors="pt")["input_ids"].to(loaded.model.device)
    _make_stoppable_mid_pass(loaded.model)  # compiled as replies will run it

    def warm_up() -> None:
        with torch.inference_mode():
            loaded.model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt), do_sample=False,
                                  max_new_tokens=COMPILE_WARM_UP_TOKENS, min_new_tokens=COMPILE_WARM_UP_TOKENS,
                                  **kwargs)

    try:
        run_on_compiled_thread(warm_up)
    except Exception as error:  # an unsupported setup must not cost the app its model
        loaded.model._compile_error = _describe(error)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"


def estimate_gpu_seconds(spec: loader.ModelSpec, inputs: Any, generate_kwargs: dict[str, Any],
                         stop_event: threading.Event | None = None) -> int:
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
        raise SettingsError(
            f"This request needs about {seconds} s of GPU time; this Space allows {cap} s per reply. "
            f"Lower max_new_tokens (now {max_new_tokens}), or for video max_num_frames / stack_frames, and send again."
        )


def generate_pieces(spec: loader.ModelSpec, inputs: Any, generate_kwargs: dict[str, Any],
                    stop_event: threading.Event | None = None) -> Iterator[str | GenerationDone]:
    """Yield decoded text pieces as ``generate`` produces them, then ``GenerationDone``.

    ``generate`` runs in a worker thread under ``torch.inference_mode``; it ends within one token of
    ``stop_event`` being set or of this generator being closed. If the compiled decoding step (--compile) fails
    before the reply shows any text, the reply is generated again eagerly; when that works, decoding stays eager
    from then on (the status line says why).
    """
    import torch

    loaded = loader.load(spec)
    stop_event = stop_event or threading.Event()
    try:
        inputs = inputs.to(loaded.model.device)
    except torch.OutOfMemoryError:
        raise _out_of_memory(inputs) from None
    compiled = compiled_generate_kwargs(loaded, int(inputs["input_ids"].shape[1]),
                                        int(generate_kwargs.get("max_new_tokens", 0)))
    _make_stoppable_mid_pass(loaded.model)
    shown_text = False
    try:
        for piece in _stream_generate(loaded, inputs, generate_kwargs, compiled, stop_event):
            shown_text = shown_text or bool(isinstance(piece, str) and piece)
            yield piece
    except _CompiledStepFailed as failure:
        if shown_text or stop_event.is_set():
            _stop_compiling(loaded, failure.error)
            raise failure.error from None
        # Eager decoding where the compiled step failed. Only once it works is the compiled step to blame (an
        # error both raise is the request's, and the next reply may still use the compiled step).
        for piece in _stream_generate(loaded, inputs, generate_kwargs, {}, stop_event):
            if piece != "" and compile_error(loaded) is None:  # the streamer ends with "" even on errors
                _stop_compiling(loaded, failure.error)
            yield piece


def _stop_compiling(loaded: loader.LoadedModel, error: BaseException) -> None:
    loaded.model._compile_error = _describe(error)
    log.warning("--compile: the compiled decoding step failed during a reply; decoding is eager from now on: %s",
                loaded.model._compile_error)


class _CompiledStepFailed(Exception):
    def __init__(self, error: BaseException):
        super().__init__(str(error))
        self.error = error


def _stream_generate(loaded: loader.LoadedModel, inputs: Any, generate_kwargs: dict[str, Any],
                     compiled: dict[str, Any], stop_event: threading.Event) -> Iterator[str | GenerationDone]:
    """One ``generate`` run, compiled or eager, streamed; raises ``_CompiledStepFailed`` for a compiled run's
    failure (other than running out of memory)."""
    import torch
    from transformers import StoppingCriteriaList, TextIteratorStreamer

    streamer = TextIteratorStreamer(loaded.processor.tokenizer, skip_prompt=True, skip_special_tokens=True)
    result: dict[str, Any] = {}

    def generate() -> None:
        _this_thread.stop_event = stop_event
        if stop_event.is_set():  # stopped while it waited for the compiled-generate thread
            streamer.end()
            return
        try:
            with torch.inference_mode():
                result["output"] = loaded.model.generate(
                    **inputs, **generate_kwargs, **compiled, streamer=streamer,
                    stopping_criteria=StoppingCriteriaList([_StopOnEvent(stop_event)]),
                )
        except _Stopped:  # Stop pressed during a forward pass: the reply ends with what was streamed
            streamer.end()
        except BaseException as error:  # re-raised in the consumer below
            result["error"] = error
            streamer.end()

    join = _start(generate, on_compiled_thread=bool(compiled))
    finished = False
    try:
        yield from streamer
        join(None)
        finished = True
        if isinstance(result.get("error"), torch.OutOfMemoryError):
            del result["error"]  # its traceback holds the request's tensors: drop them before freeing the cache
            raise _out_of_memory(inputs)
        if "error" in result:
            if compiled and isinstance(result["error"], Exception):
                raise _CompiledStepFailed(result["error"])
            raise result["error"]
        if "output" in result:  # not when stopped mid-pass: then the consumer's own count of pieces stands
            yield GenerationDone(int(result["output"].shape[1]) - int(inputs["input_ids"].shape[1]))
    finally:
        if not finished:  # the consumer closed us (Stop) or gave up: end the worker
            stop_event.set()
            join(30)


def _start(work: Callable[[], None], on_compiled_thread: bool) -> Callable[[float | None], None]:
    """Run ``work`` on its own thread, or on the compiled-generate thread; returns a join(timeout)."""
    if on_compiled_thread:
        future = _compiled_generate_runner().submit(work)

        def join(timeout: float | None) -> None:
            wait([future], timeout)

        return join
    worker = threading.Thread(target=work, name="generate", daemon=True)
    worker.start()
    return worker.join


def _out_of_memory(inputs: Any) -> SettingsError:
    """What to tell the user when the device ran out of memory, after returning the request's memory."""
    import torch

    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()
    return SettingsError(
        f"The GPU ran out of memory for this request ({int(inputs['input_ids'].shape[1])} prompt tokens). Send less "
        "at once: a lower max_slice_nums or max_num_frames, stack_frames 1, 16x instead of 4x — or start a new "
        "conversation (Clear), as every question sends the earlier turns' images and videos again.")


def _on_zero_gpu() -> bool:
    # The variable spaces.config reads; importing spaces itself costs ~0.4 s of startup off ZeroGPU.
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")


ON_ZERO_GPU = _on_zero_gpu()
if ON_ZERO_GPU:  # pragma: no cover - only on a ZeroGPU Space
    import spaces

    generate_pieces = spaces.GPU(duration=estimate_gpu_seconds)(generate_pieces)
