"""Build the page without Gradio building its web server three times on the way.

Gradio 6 (checked up to the pinned 6.31) builds a complete FastAPI app (~80 routes, each analysed by FastAPI)
when a ``gr.Blocks`` is created, again when its ``with`` block closes and again on each ``.queue()`` call, so
that ``demo.app`` can be used before launch; ``launch()`` then builds the one that serves. Those first three
builds are ~0.3 s of the app's start-up on the 2-core development machine (bench/startup.py). Inside
``server_app_built_at_launch()`` they are skipped and ``demo.app`` stays None until ``launch()`` (or
``gr.mount_gradio_app``) builds it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


def _not_yet(*_args, **_kwargs) -> None:
    return None


@contextmanager
def server_app_built_at_launch() -> Iterator[None]:
    from gradio.routes import App

    build = App.__dict__.get("create_app")
    if not isinstance(build, staticmethod):  # Gradio changed: leave it alone
        yield
        return
    App.create_app = staticmethod(_not_yet)
    try:
        yield
    finally:
        App.create_app = build
