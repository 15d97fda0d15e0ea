"""``generate`` in a worker thread, streamed as text pieces, ending within a token (or a layer) of Stop.

``generate_pieces`` takes the model's spec (it finds the model in the loader's cache) and plain tensors, so that
on a ZeroGPU Space it can run in a GPU worker process (engine/zero_gpu.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import wait
from functools import partial
from typing import Any

from minicpm_demo import loader
from minicpm_demo.engine import compiled
from minicpm_demo.engine.base import Generated, ResourceError
from minicpm_demo.engine.stopping import StopOnSwitch, Stopped, StopSwitch, make_stoppable_mid_pass, run_under
from minicpm_demo.phrases import Phrase


def generate_pieces(spec: loader.ModelSpec, inputs: Any, generate_kwargs: dict[str, Any],
                    stop: threading.Event | None = None, reuse=None) -> Iterator[str | Generated]:
    """Yield decoded text pieces as ``generate`` produces them, then ``Generated``.

    ``generate`` runs in a worker thread under ``torch.inference_mode``; it ends within one token of ``stop``
    being set or of this generator being closed. With ``--compile`` it decodes with the compiled step where the
    reply fits its cache, and eagerly where that step fails (engine/compiled.py). With ``reuse`` (a
    follow_up.Plan) the prompt's conversation part is read first, on the same thread, from what its
    conversation kept, and ``generate`` is given the cache that holds it.
    """
    import torch

    loaded = loader.load(spec)
    stop = stop or threading.Event()
    if reuse is None:  # a plan takes to the device only what the model has not read yet
        try:
            inputs = inputs.to(loaded.model.device)
        except torch.OutOfMemoryError:
            raise out_of_memory(inputs) from None
    make_stoppable_mid_pass(loaded)
    run = partial(_stream_generate, loaded, inputs, generate_kwargs, stop, reuse)
    compiled_kwargs = None if reuse is not None else compiled.generate_kwargs(
        loaded, int(inputs["input_ids"].shape[1]), int(generate_kwargs.get("max_new_tokens", 0)))
    if compiled_kwargs:
        yield from compiled.with_eager_fallback(loaded, run, compiled_kwargs, stop)
    else:
        yield from run({})


def _stream_generate(loaded: loader.LoadedModel, inputs: Any, generate_kwargs: dict[str, Any],
                     stop: threading.Event, reuse, compiled_kwargs: dict[str, Any]) -> Iterator[str | Generated]:
    """One ``generate`` run, compiled or eager, streamed; raises ``CompiledStepFailed`` for a compiled run's
    failure (other than running out of memory)."""
    import torch
    from transformers import StoppingCriteriaList, TextIteratorStreamer

    streamer = TextIteratorStreamer(loaded.processor.tokenizer, skip_prompt=True, skip_special_tokens=True)
    switch = StopSwitch(stop)
    result: dict[str, Any] = {}

    def generate() -> None:
        run_under(switch)
        if switch.is_set():  # stopped while it waited for the compiled-generate thread
            streamer.end()
            return
        try:
            with torch.inference_mode():
                given = inputs if reuse is None else reuse.run(loaded.model)
                result["output"] = loaded.model.generate(
                    **given, **generate_kwargs, **compiled_kwargs, streamer=streamer,
                    stopping_criteria=StoppingCriteriaList([StopOnSwitch(switch)]),
                )
        except Stopped:  # Stop pressed during a forward pass: the reply ends with what was streamed
            streamer.end()
        except BaseException as error:  # re-raised in the consumer below
            result["error"] = error
            streamer.end()

    join = _start(generate, on_compiled_thread=bool(compiled_kwargs))
    finished = False
    try:
        yield from streamer
        join(None)
        finished = True
        if isinstance(result.get("error"), torch.OutOfMemoryError):
            del result["error"]  # its traceback holds the request's tensors: drop them before freeing the cache
            raise out_of_memory(inputs)
        if "error" in result:
            if compiled_kwargs and isinstance(result["error"], Exception):
                raise compiled.CompiledStepFailed(result["error"])
            raise result["error"]
        if "output" in result:  # not when stopped mid-pass: then the pipeline's own count of pieces stands
            yield Generated(int(result["output"].shape[1]) - int(inputs["input_ids"].shape[1]))
    finally:
        if not finished:  # the consumer closed us (Stop) or gave up: end the worker
            switch.abandon()
            join(30)


def _start(work: Callable[[], None], on_compiled_thread: bool) -> Callable[[float | None], None]:
    """Run ``work`` on its own thread, or on the compiled-generate thread; returns a join(timeout)."""
    if on_compiled_thread:
        future = compiled.submit(work)
        return partial(_wait_for, future)
    worker = threading.Thread(target=work, name="generate", daemon=True)
    worker.start()
    return worker.join


def _wait_for(future, timeout: float | None) -> None:
    wait([future], timeout)


def out_of_memory(inputs: Any) -> ResourceError:
    """What to tell the user when the device ran out of memory, after returning the request's memory."""
    import torch

    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()
    return ResourceError(Phrase("gpu.out_of_memory", tokens=int(inputs["input_ids"].shape[1])))
