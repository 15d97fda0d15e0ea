"""Helpers for tests that launch the app (imported by test modules; fixtures live in conftest.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"  # screenshots of the browser tests, to look at
LAPTOP = {"width": 1280, "height": 800}
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 # a camera and a screen to capture: Chromium's test pattern, its prompts accepted
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                 "--auto-select-desktop-capture-source=Entire screen"]


def require_chromium() -> None:
    """Skip the calling test module where Debian's Chromium is missing; CI must have it."""
    import pytest

    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            raise RuntimeError("CI must run the browser test: .ci/run installs Debian's chromium")
        pytest.skip("Debian chromium is not installed (apt-get install chromium)", allow_module_level=True)


def generate_threads_alive() -> bool:
    """Whether a ``generate`` worker thread (engine/generate.py) is still running."""
    return any(t.name == "generate" and t.is_alive() for t in threading.enumerate())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def launched_app(checkpoint, *flags: str, endless: bool = False) -> Iterator[str]:
    """The app as ``app.py`` builds it on ``checkpoint`` (CPU, a free port, ``flags``), its model loaded; yields
    its URL and closes it after. ``endless``: its replies run until stopped (see ``endless_replies``)."""
    import app as app_module
    from minicpm_demo.config import parse_config

    port = free_port()
    config = parse_config(["--model", str(checkpoint), "--device", "cpu", "--port", str(port), *flags], environ={})
    demo, engine = app_module.create_app(config)
    assert engine.wait_until_loaded(timeout=300).state == "ready"
    demo.launch(prevent_thread_lock=True, quiet=True, **app_module.launch_kwargs(config, demo))
    app_module.after_launch(config, demo)
    _launched[f"http://127.0.0.1:{port}/"] = demo
    try:
        if endless:
            with endless_replies(engine):
                yield f"http://127.0.0.1:{port}/"
        else:
            yield f"http://127.0.0.1:{port}/"
    finally:
        _launched.pop(f"http://127.0.0.1:{port}/", None)
        demo.close()


_launched: dict = {}  # URL -> the Blocks that launched_app serves there


def queue_holds(url: str) -> int:
    """How many requests for the model the queue of the app launched at ``url`` holds, waiting or running."""
    from minicpm_demo.ui.blocks import MODEL_CONCURRENCY_ID
    from minicpm_demo.ui.gradio_patches import waiting_requests

    return len(waiting_requests(_launched[url], MODEL_CONCURRENCY_ID))


@contextmanager
def endless_replies(engine, seconds_per_token: float = 0.02) -> Iterator[None]:
    """While open, ``engine``'s model never picks an end token and takes ``seconds_per_token`` a token: a test
    acts on a reply still streaming however early the random tiny model would end it."""
    import torch

    model = engine.ready_model().model
    ends = model.generation_config.eos_token_id
    ends = list(ends) if isinstance(ends, (list, tuple)) else [ends]

    def no_end(module, args, logits):
        time.sleep(seconds_per_token)
        logits[..., ends] = torch.finfo(logits.dtype).min
        return logits

    hook = model.get_output_embeddings().register_forward_hook(no_end)
    try:
        yield
    finally:
        hook.remove()


def start_app_without_weights(tmp_path):
    """``python app.py`` as a user runs it here: default model, no hub, an empty cache."""
    port = free_port()
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "GRADIO_TEMP_DIR": str(tmp_path)}
    env.pop("HF_HUB_CACHE", None)
    log_path = tmp_path / "app.log"
    log_file = open(log_path, "w")
    process = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=log_file, stderr=subprocess.STDOUT, text=True)
    return process, f"http://127.0.0.1:{port}/", log_path


def wait_for(condition, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.3)
    return None


def fetch(url):
    try:
        return urllib.request.urlopen(url, timeout=5).read()
    except OSError:
        return None


def open_page(browser, url, viewport=LAPTOP, locale="en-US"):
    """A new page on the app at ``url``, once its status line says the model is ready."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport=viewport, locale=locale)
    page.goto(url)
    expect(page.locator("#model_status")).to_contain_text("Ready" if locale == "en-US" else "就绪", timeout=60_000)
    return page


@contextmanager
def served_before_loading(checkpoint: str, *flags: str) -> Iterator[tuple[str, object]]:
    """The app as ``main`` serves it, the page up before the model is loaded: yields its URL and engine."""
    import app as app_module
    from minicpm_demo.config import parse_config

    port = free_port()
    config = parse_config(["--model", checkpoint, "--device", "cpu", "--port", str(port), *flags], environ={})
    demo, engine = app_module.create_app(config)
    demo.launch(prevent_thread_lock=True, quiet=True, **app_module.launch_kwargs(config, demo))
    try:
        yield f"http://127.0.0.1:{port}/", engine
    finally:
        demo.close()


def slower_load(monkeypatch, seconds: float) -> None:
    """Loading a checkpoint takes ``seconds`` longer (a test's request then surely arrives while it runs)."""
    from minicpm_demo import loader

    load = loader.load

    def slowly(spec, progress=None):
        time.sleep(seconds)
        return load(spec, progress=progress)

    monkeypatch.setattr(loader, "load", slowly)
