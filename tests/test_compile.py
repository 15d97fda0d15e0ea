"""--compile: decoding with a torch.compile'd step and a static cache, warmed up at load, on one thread.

On this CPU the step is compiled with inductor's default mode (on a GPU, with CUDA graphs); the tiny checkpoint
goes through the same loader, engine and ``generate`` as a real one."""

from __future__ import annotations

import threading

import pytest
from torch._dynamo.utils import counters

from minicpm_demo.chat import Attachment, Conversation
from minicpm_demo.engine import LocalEngine, compiled, run_request
from minicpm_demo.loader import ModelSpec
from minicpm_demo.settings import Settings

CACHE_TOKENS = 1024


def ready_engine(spec: ModelSpec) -> LocalEngine:
    engine = LocalEngine(spec)
    status = engine.wait_until_loaded(timeout=600)
    assert status.state == "ready", status.message
    return engine


# float32: the random tiny weights' greedy picks are near ties, which BF16 rounding flips between code paths
@pytest.fixture(scope="module")
def compiled_engine(tiny_checkpoint):
    engine = ready_engine(ModelSpec(str(tiny_checkpoint), device="cpu", dtype="float32", compile_tokens=CACHE_TOKENS))
    engine.graphs_compiled_at_load = counters["stats"]["unique_graphs"]
    return engine


@pytest.fixture
def generate_calls(compiled_engine, monkeypatch):
    """(thread, cache_implementation) of each ``generate`` call on the compiled engine's real model."""
    model = compiled_engine.ready_model().model
    real_generate = model.generate
    calls = []

    def recording_generate(*args, **kwargs):
        calls.append((threading.current_thread(), kwargs.get("cache_implementation")))
        return real_generate(*args, **kwargs)

    monkeypatch.setattr(model, "generate", recording_generate)
    return calls


def ask(engine, image, max_new_tokens, stop_after_pieces=None):
    messages = Conversation().ask("Describe the picture.", (Attachment(str(image), "image"),)).to_messages()
    settings = Settings.for_modality("image", do_sample=False, max_new_tokens=max_new_tokens)
    stop = threading.Event()
    deltas = []
    for delta in run_request(engine, messages, settings, stop):
        deltas.append(delta)
        if stop_after_pieces and sum(1 for d in deltas if d.answer) == stop_after_pieces:
            stop.set()
    return deltas


def test_the_status_line_says_decoding_is_compiled(compiled_engine):
    status = compiled_engine.status()
    assert "compiled decoding" in status.message
    assert status.details["decoding"] == f"compiled (static cache {CACHE_TOKENS} tokens)"
    assert not status.details["warnings"]


def test_a_compiled_reply_streams_the_same_text_as_eager_decoding(compiled_engine, generate_calls, red_image):
    compiled = ask(compiled_engine, red_image, 32)
    assert [cache for _, cache in generate_calls] == ["static"]
    assert sum(1 for d in compiled if d.answer) >= 3
    assert compiled[-1].stats.generated_tokens == 32 and compiled[-1].stats.tokens_per_s > 0
    # the same model, plain generate: dynamic cache, no compiled step
    messages = Conversation().ask("Describe the picture.", (Attachment(str(red_image), "image"),)).to_messages()
    settings = Settings.for_modality("image", do_sample=False, max_new_tokens=32)
    inputs = compiled_engine.prepare(messages, settings).inputs
    loaded = compiled_engine.ready_model()
    output = loaded.model.generate(**inputs, **settings.to_generate_kwargs())
    eager = loaded.processor.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "".join(d.answer for d in compiled) == eager


def test_replies_reuse_the_step_compiled_at_load(compiled_engine, red_image):
    """The warm-up compiled it; a recompile would make a reply wait (~35 s on a GPU, more here) — e.g. if a
    per-request value such as the Stop hook's event were traced into the step."""
    assert compiled_engine.graphs_compiled_at_load > 0
    ask(compiled_engine, red_image, 8)
    ask(compiled_engine, red_image, 16)
    assert counters["stats"]["unique_graphs"] == compiled_engine.graphs_compiled_at_load


def test_every_compiled_reply_runs_on_the_one_compiled_generate_thread(compiled_engine, generate_calls, red_image):
    """CUDA graphs are per thread (pytorch/pytorch#123177): the warm-up and all replies share one thread."""
    ask(compiled_engine, red_image, 8)
    ask(compiled_engine, red_image, 8)
    threads = {thread for thread, _ in generate_calls}
    assert len(threads) == 1
    (thread,) = threads
    assert thread.name.startswith("compiled-generate") and thread.is_alive()


def test_a_reply_longer_than_the_static_cache_decodes_eagerly(compiled_engine, generate_calls, red_image):
    deltas = ask(compiled_engine, red_image, CACHE_TOKENS, stop_after_pieces=3)
    assert [cache for _, cache in generate_calls] == [None]
    assert generate_calls[0][0].name == "generate"
    assert deltas[-1].stats.stopped and sum(1 for d in deltas if d.answer) >= 3


def test_stop_ends_a_compiled_reply_and_the_next_one_still_runs(compiled_engine, generate_calls, red_image):
    stopped = ask(compiled_engine, red_image, CACHE_TOKENS - 200, stop_after_pieces=3)
    assert stopped[-1].stats.stopped and stopped[-1].stats.generated_tokens < 50
    following = ask(compiled_engine, red_image, 8)
    assert following[-1].stats.generated_tokens == 8 and not following[-1].stats.stopped
    assert [cache for _, cache in generate_calls] == ["static", "static"]


def test_a_failed_compile_keeps_the_model_decoding_eagerly_and_says_why(tiny_checkpoint, red_image, monkeypatch):
    from transformers import CompileConfig

    def unusable_config(device):
        config = CompileConfig(backend="no-such-backend")
        config._compile_all_devices = True
        return config

    monkeypatch.setattr(compiled, "compile_config", unusable_config)
    engine = LocalEngine(ModelSpec(str(tiny_checkpoint), device="cpu", compile_tokens=CACHE_TOKENS))
    status = engine.wait_until_loaded(timeout=300)
    assert status.state == "ready"
    assert "compiled" not in status.message and status.details["decoding"] == "eager"
    assert any(warning.startswith("--compile failed, decoding without it:") for warning in status.details["warnings"])
    deltas = ask(engine, red_image, 8)
    assert deltas[-1].stats.generated_tokens == 8


@pytest.fixture
def failing_compiled_step(compiled_engine, monkeypatch):
    """The compiled engine's real model, with its compiled ``generate`` runs raising as a broken CUDA graph or
    inductor kernel would (eager runs too when ``fails["eager"]`` is set). Decoding is compiled again after."""
    model = compiled_engine.ready_model().model
    real_generate = model.generate
    fails = {"eager": False, "calls": []}

    def generate(*args, **kwargs):
        compiled = kwargs.get("cache_implementation") == "static"
        fails["calls"].append("compiled" if compiled else "eager")
        if compiled or fails["eager"]:
            raise RuntimeError("simulated failure of the compiled step")
        return real_generate(*args, **kwargs)

    monkeypatch.setattr(model, "generate", generate)
    monkeypatch.setattr(compiled_engine.ready_model(), "compile_error", None)
    return fails


def test_a_compiled_step_failing_in_a_reply_retries_it_eagerly_and_says_so(compiled_engine, failing_compiled_step,
                                                                          red_image):
    first = ask(compiled_engine, red_image, 8)
    assert first[-1].stats.generated_tokens == 8 and "".join(d.answer for d in first)
    status = compiled_engine.status()
    assert status.details["decoding"] == "eager" and "compiled decoding" not in status.message
    assert any("simulated failure of the compiled step" in warning for warning in status.details["warnings"])
    second = ask(compiled_engine, red_image, 8)
    assert second[-1].stats.generated_tokens == 8
    assert failing_compiled_step["calls"] == ["compiled", "eager", "eager"]


def test_an_error_eager_decoding_raises_too_is_the_requests_and_keeps_the_compiled_step(
        compiled_engine, failing_compiled_step, red_image):
    failing_compiled_step["eager"] = True
    with pytest.raises(RuntimeError, match="simulated failure"):
        ask(compiled_engine, red_image, 8)
    assert failing_compiled_step["calls"] == ["compiled", "eager"]
    assert compiled_engine.status().details["decoding"].startswith("compiled")
