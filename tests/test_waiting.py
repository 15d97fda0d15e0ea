"""A request sent while the model loads waits for it and is answered; a load that fails, or outlasts
--load-wait-s, gives the error, not a hang."""

from __future__ import annotations

import threading
import time

import pytest
from gradio_client import Client, handle_file
from helpers import served_before_loading, slower_load

from minicpm_demo import loader
from minicpm_demo.engine import EngineNotReady, EngineStatus
from minicpm_demo.engine.waiting import check_can_wait, model_ready
from minicpm_demo.settings import RequestLimits


class Loading:
    """An engine whose model is ready after ``steps`` looks at its status, or whose load fails there."""

    def __init__(self, steps: int, fails: bool = False, wait_s: float = 60):
        self.looks, self.steps, self.fails = 0, steps, fails
        self.request_limits = RequestLimits(load_wait_s=wait_s)

    def ready_model(self):
        self.looks += 1
        if self.looks > self.steps:
            if self.fails:
                raise EngineNotReady("The model could not be loaded: no such checkpoint")
            return "model"
        raise EngineNotReady("still loading")

    def status(self) -> EngineStatus:
        if self.fails and self.looks > self.steps:
            return EngineStatus("error", "no such checkpoint")
        return EngineStatus("loading", "", {"step": min(self.looks, 3), "steps": 3, "doing": f"step {self.looks}"})


def test_a_request_waits_through_the_load_and_sees_each_step():
    engine = Loading(steps=3)
    progress = list(model_ready(engine, threading.Event(), poll_s=0.01))
    assert [p["step"] for p in progress] == [1, 2, 3] and progress[-1] == {"step": 3, "steps": 3, "doing": "step 3"}


def test_a_failed_load_ends_the_wait_with_its_cause():
    with pytest.raises(EngineNotReady, match="no such checkpoint"):
        list(model_ready(Loading(steps=2, fails=True), threading.Event(), poll_s=0.01))


def test_a_load_longer_than_the_wait_gives_an_error_naming_the_flag():
    started = time.monotonic()
    with pytest.raises(EngineNotReady) as caught:
        list(model_ready(Loading(steps=10**6, wait_s=0.3), threading.Event(), poll_s=0.01))
    assert "--load-wait-s" in str(caught.value) and time.monotonic() - started < 5


def test_stop_ends_the_wait_at_once():
    stop = threading.Event()
    waiting = model_ready(Loading(steps=10**6), stop, poll_s=0.01)
    next(waiting)
    stop.set()
    assert list(waiting) == []


def test_the_page_refuses_at_once_only_what_could_not_wait():
    check_can_wait(Loading(steps=5))  # loading: the question is accepted, and waits
    with pytest.raises(EngineNotReady):
        check_can_wait(Loading(steps=5, wait_s=0))  # --load-wait-s 0: refused while it loads
    failed = Loading(steps=0, fails=True)
    with pytest.raises(EngineNotReady, match="no such checkpoint"):
        check_can_wait(failed)


def test_chat_sent_at_once_waits_for_the_model_and_is_answered(tiny_checkpoint, red_image, monkeypatch):
    slower_load(monkeypatch, seconds=1.0)  # so that the request surely arrives while the model loads
    with served_before_loading(str(tiny_checkpoint)) as (url, engine):
        client = Client(url, analytics_enabled=False, verbose=False)
        job = client.submit("What colour?", [handle_file(str(red_image))], "image", None,
                            {"do_sample": False, "max_new_tokens": 4}, api_name="/chat")
        final = job.result(timeout=300)
        updates = job.outputs()
    assert final["done"] and final["stats"]["generated_tokens"] >= 1
    loading = [update for update in updates if update["status"] == "loading"]
    assert loading, "the request said it was waiting for the model"
    assert all(update["loading"]["steps"] == loader.LOAD_STEPS and update["loading"]["doing"] for update in loading)
    assert [update["status"] for update in updates].index("loading") < [u["status"] for u in updates].index("done")


def test_chat_to_a_checkpoint_that_fails_to_load_gets_the_error(tmp_path, red_image):
    with served_before_loading(str(tmp_path / "no-such-checkpoint")) as (url, _):
        client = Client(url, analytics_enabled=False, verbose=False)
        started = time.monotonic()
        with pytest.raises(Exception, match="could not be loaded"):
            client.predict("Hi", [handle_file(str(red_image))], "image", None, None, api_name="/chat")
    assert time.monotonic() - started < 60, "an error, not a wait for --load-wait-s"
