"""``--compile``: decoding with a ``torch.compile``'d step and a static cache, and eager decoding where it fails.

On a GPU the step is recorded as CUDA graphs, one launch per token where eager decoding launches thousands of
kernels and is bound by Python's cost per op (docs/PERFORMANCE.md, "Compiled decoding"). The state of a
model's compiled decoding is ``LoadedModel.compile_error``: None while it works.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from minicpm_demo import loader
from minicpm_demo.engine.stopping import make_stoppable_mid_pass

log = logging.getLogger(__name__)

WARM_UP_TOKENS = 4
_runner: ThreadPoolExecutor | None = None
_runner_lock = threading.Lock()


class CompiledStepFailed(Exception):
    """A compiled ``generate`` run failed (other than by running out of memory); ``error`` is what it raised."""

    def __init__(self, error: BaseException):
        super().__init__(str(error))
        self.error = error


def submit(work: Callable[[], Any]) -> Future:
    """``work`` queued for the one thread that runs every compiled ``generate``, warm-up included.

    torch.compile's CUDA graphs are recorded per thread, and calling them from several threads trips an assertion
    (pytorch/pytorch#123177); so compiled replies take turns on this thread instead of each starting its own."""
    global _runner
    with _runner_lock:
        if _runner is None:
            _runner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="compiled-generate")
    return _runner.submit(work)


def run_on_compiled_thread(work: Callable[[], Any]) -> Any:
    """``work()`` on the compiled-generate thread (for code that calls a compiled model's ``generate`` itself)."""
    return submit(work).result()


def compile_config(device: str):
    from transformers import CompileConfig

    if device == "cuda":
        return CompileConfig(mode="reduce-overhead")  # CUDA graphs
    config = CompileConfig(mode="default")
    config._compile_all_devices = True  # generate compiles on accelerators only, unless told so
    return config


def generate_kwargs(loaded: loader.LoadedModel, prompt_tokens: int, max_new_tokens: int) -> dict[str, Any]:
    """What makes ``generate`` decode with the compiled step and a static cache, or {} for eager decoding: when
    compiling is off or failed, or when the reply may not fit the static cache."""
    limit = loaded.spec.compile_tokens
    if not limit or loaded.compile_error or prompt_tokens + max_new_tokens > limit:
        return {}
    # Always the same cache length, so that transformers reuses the compiled step instead of recompiling.
    return {"cache_implementation": "static", "max_cache_len": limit, "compile_config": compile_config(loaded.device)}


def warm_up(loaded: loader.LoadedModel) -> None:
    """Compile the decoding step now (on a GPU also record its CUDA graphs), so that no reply waits for it.

    If that fails, decoding stays eager and ``loaded.compile_error`` says why."""
    import torch

    kwargs = generate_kwargs(loaded, 0, 0)
    if not kwargs:
        return
    prompt = loaded.processor.tokenizer("Hello", return_tensors="pt")["input_ids"].to(loaded.model.device)
    make_stoppable_mid_pass(loaded)  # compiled as replies will run it

    def generate() -> None:
        with torch.inference_mode():
            loaded.model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt), do_sample=False,
                                  max_new_tokens=WARM_UP_TOKENS, min_new_tokens=WARM_UP_TOKENS, **kwargs)

    try:
        run_on_compiled_thread(generate)
    except Exception as error:  # an unsupported setup must not cost the app its model
        loaded.compile_error = _describe(error)


def with_eager_fallback(loaded: loader.LoadedModel, run: Callable[[dict[str, Any]], Iterator[Any]],
                        kwargs: dict[str, Any], stop: threading.Event) -> Iterator[Any]:
    """``run(kwargs)``'s pieces; if the compiled step fails before the reply shows any text, ``run({})``'s.

    Only once eager decoding works is the compiled step to blame, and decoding stays eager from then on; an error
    both raise is the request's, and the next reply may still use the compiled step."""
    shown_text = False
    try:
        for piece in run(kwargs):
            shown_text = shown_text or bool(isinstance(piece, str) and piece)
            yield piece
    except CompiledStepFailed as failure:
        if shown_text or stop.is_set():
            _stop_compiling(loaded, failure.error)
            raise failure.error from None
        for piece in run({}):
            if piece != "" and loaded.compile_error is None:  # the streamer ends with "" even on errors
                _stop_compiling(loaded, failure.error)
            yield piece


def _stop_compiling(loaded: loader.LoadedModel, error: BaseException) -> None:
    loaded.compile_error = _describe(error)
    log.warning("--compile: the compiled decoding step failed during a reply; decoding is eager from now on: %s",
                loaded.compile_error)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
