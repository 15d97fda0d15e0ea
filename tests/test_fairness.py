"""Fair queueing: one session, or one visitor, cannot fill the queue every visitor shares."""

from __future__ import annotations

import httpx
import pytest
from gradio_client import Client, handle_file
from helpers import generate_threads_alive, launched_app, queue_holds, wait_for

LONG = {"do_sample": False, "max_new_tokens": 4000}


@pytest.fixture(scope="module")
def shared_app(tiny_checkpoint):
    """The app with room for 2 requests per session and 3 per visitor (every client here is 127.0.0.1)."""
    with launched_app(tiny_checkpoint, "--queue-per-session", "2", "--queue-per-visitor", "3",
                      endless=True) as url:
        yield url


def submit(client, image):
    return client.submit("Talk.", [handle_file(str(image))], "image", None, LONG, api_name="/chat")


def cancel_all(url: str, jobs) -> None:
    for job in jobs:
        try:
            job.cancel()
        except httpx.TimeoutException:  # gradio_client waits 5 s for the answer; the server still cancels it
            pass
    assert wait_for(lambda: not generate_threads_alive(), timeout=30)
    assert wait_for(lambda: queue_holds(url) == 0, timeout=30), "the queue forgets the cancelled requests"


def refused(job) -> str:
    with pytest.raises(Exception) as caught:
        job.result(timeout=30)
    return str(caught.value)


def test_one_session_may_have_only_its_share_of_the_queue(shared_app, red_image):
    client = Client(shared_app, analytics_enabled=False, verbose=False)
    jobs = [submit(client, red_image) for _ in range(2)]
    try:
        assert wait_for(generate_threads_alive, timeout=60)
        message = refused(submit(client, red_image))
        assert "This session already has 2 requests waiting for the model" in message
        assert "up to 2 at once from one session" in message
    finally:
        cancel_all(shared_app, jobs)
    job = client.submit("Hi", [handle_file(str(red_image))], "image", None, {"do_sample": False, "max_new_tokens": 3},
                        api_name="/chat")
    assert job.result(timeout=120)["done"], "once its requests ended, the session may send again"


def test_one_visitor_may_have_only_its_share_whatever_its_sessions(shared_app, red_image):
    assert wait_for(lambda: queue_holds(shared_app) == 0, timeout=30), "the earlier tests' requests have ended"
    clients = [Client(shared_app, analytics_enabled=False, verbose=False) for _ in range(3)]
    jobs = [submit(clients[0], red_image), submit(clients[0], red_image), submit(clients[1], red_image)]
    try:
        assert wait_for(generate_threads_alive, timeout=60)
        assert wait_for(lambda: jobs[2].status().code.name in ("QUEUE", "IN_QUEUE", "PROCESSING", "ITERATING"),
                        timeout=30)
        message = refused(submit(clients[2], red_image))
        assert "You already have 3 requests waiting for the model" in message, message
    finally:
        cancel_all(shared_app, jobs)


def test_the_page_refuses_a_question_the_visitors_share_has_no_room_for(app):

    from minicpm_demo.session import ChatSession
    from minicpm_demo.ui.blocks import ChatTab, TabSpec
    from minicpm_demo.ui.pacing import QueuePacer

    tab = ChatTab(app["engine"], TabSpec("image", "tab_image", "input_image", ("image",), "single"), [],
                  QueuePacer(app["demo"]), refusal=lambda request: "You already have 8 requests waiting")
    session = ChatSession()
    with pytest.warns(UserWarning, match="You already have 8 requests waiting"):
        tab.add_user_turn({"text": "Hello?", "files": []}, session)
    assert session.conversation.turns == (), "the question stays in the input box, the conversation unchanged"


def test_compare_refuses_a_question_the_visitors_share_has_no_room_for(app):
    from minicpm_demo.ui.compare import CompareTab
    from minicpm_demo.ui.pacing import QueuePacer

    tab = CompareTab(app["engine"], QueuePacer(app["demo"]), refusal=lambda request: "You already have 8 requests")
    with pytest.warns(UserWarning, match="You already have 8 requests"):
        updates = list(tab.run(None, {"text": "Hello?", "files": []}))
    assert len(updates) == 1, "nothing is run"


def test_a_request_gradio_forgot_to_drop_takes_nobody_s_share(shared_app):
    """Gradio leaves an event cancelled twice while it winds down in its table of events for good (seen when a
    client cancels two requests at once on a busy machine); only waiting and running requests count."""
    from types import SimpleNamespace

    from helpers import _launched

    from minicpm_demo.ui.blocks import MODEL_CONCURRENCY_ID
    from minicpm_demo.ui.gradio_patches import waiting_requests

    queue = _launched[shared_app]._queue
    left_over = SimpleNamespace(session_hash="gone", concurrency_id=MODEL_CONCURRENCY_ID, closed=False,
                                request=SimpleNamespace(scope={"client": ("127.0.0.1", 1)}))
    queue.event_ids_to_events["left-over"] = left_over
    try:
        assert waiting_requests(_launched[shared_app], MODEL_CONCURRENCY_ID) == []
    finally:
        queue.event_ids_to_events.pop("left-over", None)


def test_a_full_queue_for_the_model_leaves_the_budget_lines_their_own_room(tiny_checkpoint, red_image):
    """With room for one waiting question, a third is refused as Gradio refuses a full queue, and what a
    question would cost is still answered: budget lines never take a question's place, nor it theirs."""
    with launched_app(tiny_checkpoint, "--queue-size", "1", endless=True) as url:
        clients = [Client(url, analytics_enabled=False, verbose=False) for _ in range(3)]
        jobs = [submit(clients[0], red_image)]
        try:
            assert wait_for(generate_threads_alive, timeout=60)
            jobs.append(submit(clients[1], red_image))
            assert wait_for(lambda: jobs[1].status().code.name in ("QUEUE", "IN_QUEUE"), timeout=30)
            assert "Queue is full" in refused(submit(clients[2], red_image))
            budget = clients[2].predict("What is it?", [handle_file(str(red_image))], "image", None, {},
                                        api_name="/preflight")
            assert budget["visual_tokens"] > 0 and budget["fits"]
        finally:
            cancel_all(url, jobs)
        job = clients[2].submit("Hi", [handle_file(str(red_image))], "image", None,
                                {"do_sample": False, "max_new_tokens": 3}, api_name="/chat")
        assert job.result(timeout=120)["done"], "once the queue has room, a question joins it again"
