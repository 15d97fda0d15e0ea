"""The one request pipeline: what every engine's reply shares (Stop, the reasoning split, timing, stats).

These tests drive it with a scripted engine, which records what it was given, so that each rule is checked
without a model; the real engines go through it in test_engine.py, test_remote.py and test_app.py."""

from __future__ import annotations

import threading
import time

import pytest

from minicpm_demo.cancel import Cancelled
from minicpm_demo.engine import Generated, Prepared, ReasoningText, run_request
from minicpm_demo.engine.pipeline import BEFORE_THE_MODEL
from minicpm_demo.engine.preflight import Calibration
from minicpm_demo.settings import Settings

MESSAGES = [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]


class ScriptedEngine:
    """Prepares a fixed request and streams ``pieces``; ``prepare_until`` holds preparation until it is set."""

    def __init__(self, pieces, prompt_tokens=7, prepare_until=None, piece_delay_s=0.0):
        self.pieces = pieces
        self.prompt_tokens = prompt_tokens
        self.prepare_until = prepare_until
        self.piece_delay_s = piece_delay_s
        self.prepared: list[Prepared] = []
        self.generate_calls = 0
        self.closed = False
        self.calibration = Calibration()

    def reproduction(self, messages, prepared):
        return {}

    def ready_model(self):
        return "scripted"

    def prepare(self, messages, settings, cancelled, conversation=None):
        if self.prepare_until is not None:
            while not self.prepare_until.wait(0.01):
                if cancelled():
                    raise Cancelled
        prepared = Prepared(inputs={"messages": messages}, calls={"generate": settings.to_generate_kwargs()},
                            prompt_tokens=self.prompt_tokens, visual_tokens=3, notes=("a note",))
        self.prepared.append(prepared)
        return prepared

    def generate(self, prepared, stop):
        self.generate_calls += 1
        try:
            for piece in self.pieces:
                if stop.is_set():
                    return
                time.sleep(self.piece_delay_s)
                yield piece
        finally:
            self.closed = True


def run(engine, stop=None, **settings):
    return list(run_request(engine, MESSAGES, Settings.for_modality("image", **settings), stop or threading.Event()))


def test_a_finished_reply_has_its_stats_and_is_not_marked_stopped():
    engine = ScriptedEngine(["Hello", " there", Generated(5)], piece_delay_s=0.01)
    stop = threading.Event()
    deltas = run(engine, stop)
    assert "".join(d.answer for d in deltas) == "Hello there"
    stats = deltas[-1].stats
    assert (stats.prompt_tokens, stats.visual_tokens, stats.generated_tokens) == (7, 3, 5)
    assert stats.notes == ("a note",) and not stats.stopped
    assert 0 < stats.ttft_s <= stats.total_s and stats.tokens_per_s > 0
    assert not stop.is_set(), "only the user sets Stop: a finished reply leaves it alone"
    assert engine.closed and engine.prepared[0].inputs is None, "the model's inputs are not kept after the reply"


def test_without_a_count_the_streamed_pieces_are_counted():
    deltas = run(ScriptedEngine(["a", "", "b", "c"]))
    assert deltas[-1].stats.generated_tokens == 3


def test_a_server_that_counts_the_prompt_gives_it_when_the_engine_cannot():
    deltas = run(ScriptedEngine(["a", Generated(1, prompt_tokens=42)], prompt_tokens=None))
    assert deltas[-1].stats.prompt_tokens == 42


@pytest.mark.parametrize("thinking", [False, True])
def test_reasoning_is_split_from_the_answer_whoever_marks_it(thinking):
    pieces = ["<thi", "nk>why</think>", "so"] if not thinking else ["why", "</think>so"]
    deltas = run(ScriptedEngine(pieces), enable_thinking=thinking)
    assert "".join(d.reasoning for d in deltas) == "why" and "".join(d.answer for d in deltas) == "so"
    # a server's reasoning parser already split it: taken as it is, whatever the thinking switch says
    deltas = run(ScriptedEngine([ReasoningText("<think>raw"), "answer"]), enable_thinking=thinking)
    assert "".join(d.reasoning for d in deltas) == "<think>raw" and "".join(d.answer for d in deltas) == "answer"


def test_stop_before_the_model_runs_ends_the_reply_at_once_and_never_generates():
    release, stop = threading.Event(), threading.Event()
    engine = ScriptedEngine(["never"], prepare_until=release)
    threading.Timer(0.2, stop.set).start()
    started = time.perf_counter()
    deltas = run(engine, stop)
    release.set()
    assert time.perf_counter() - started < 5
    assert len(deltas) == 1 and deltas[0].stats.stopped and deltas[0].stats.notes == (BEFORE_THE_MODEL,)
    assert deltas[0].stats.generated_tokens == 0 and engine.generate_calls == 0


def test_stop_during_generation_marks_the_reply_stopped_and_keeps_what_was_said():
    stop = threading.Event()
    engine = ScriptedEngine(["one", " two", " three", " four"])
    deltas = []
    for delta in run_request(engine, MESSAGES, Settings.for_modality("image"), stop):
        deltas.append(delta)
        if delta.answer == " two":
            stop.set()
    assert "".join(d.answer for d in deltas) == "one two"
    assert deltas[-1].stats.stopped and deltas[-1].stats.generated_tokens == 2


def test_closing_the_reply_closes_the_engines_generation():
    engine = ScriptedEngine(["a", "b", "c"])
    reply = run_request(engine, MESSAGES, Settings.for_modality("image"), threading.Event())
    next(reply)
    reply.close()
    assert engine.closed and engine.prepared[0].inputs is None


def test_an_error_while_preparing_reaches_the_caller():
    class Refusing(ScriptedEngine):
        def prepare(self, messages, settings, cancelled, conversation=None):
            raise ValueError("this file is broken")

    with pytest.raises(ValueError, match="this file is broken"):
        run(Refusing([]))
