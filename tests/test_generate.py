"""``generate`` in a worker thread, streamed, ended by Stop or by closing the stream."""

from __future__ import annotations

import threading

from helpers import generate_threads_alive

from minicpm_demo.chat import Attachment, Conversation
from minicpm_demo.engine import Generated, generate
from minicpm_demo.settings import Settings


def request(engine, attachments, **overrides):
    settings = Settings.for_modality("image", do_sample=False, **overrides)
    inputs = engine.prepare(Conversation().ask("?", attachments).to_messages(), settings).inputs
    return inputs, settings.to_generate_kwargs()


def test_closing_the_generator_without_an_event_stops_generate(engine, red_image):
    """How Stop reaches generation on ZeroGPU, where no Event can cross into the GPU process."""
    inputs, kwargs = request(engine, (Attachment(str(red_image), "image"),), max_new_tokens=4000)
    pieces = generate.generate_pieces(engine.spec, inputs, kwargs)
    assert isinstance(next(pieces), str) and isinstance(next(pieces), str)
    pieces.close()
    assert not generate_threads_alive()


def test_closing_the_stream_ends_the_worker_without_setting_the_users_stop(engine, red_image):
    """Stop means the user pressed it: a consumer that goes away ends generate without claiming so."""
    inputs, kwargs = request(engine, (Attachment(str(red_image), "image"),), max_new_tokens=4000)
    stop = threading.Event()
    pieces = generate.generate_pieces(engine.spec, inputs, kwargs, stop)
    next(pieces)
    pieces.close()
    assert not generate_threads_alive() and not stop.is_set()


def test_a_finished_generation_ends_with_the_token_count_and_leaves_stop_unset(engine, red_image):
    inputs, kwargs = request(engine, (Attachment(str(red_image), "image"),), max_new_tokens=5)
    stop = threading.Event()
    pieces = list(generate.generate_pieces(engine.spec, inputs, {**kwargs, "min_new_tokens": 5}, stop))
    assert pieces[-1] == Generated(5) and all(isinstance(piece, str) for piece in pieces[:-1])
    assert not stop.is_set() and not generate_threads_alive()
