"""The Gradio page and API (the only package that imports gradio)."""

import os

from minicpm_demo.ui import gradio_import

# Gradio wraps every event call in a switch to matplotlib's "agg" backend and back when matplotlib is installed
# (not a requirement here, but common). Left to auto-detection, the first switch detects the backend: the
# first event after start took 0.55-0.68 s instead of 0.10-0.12 s. A server never needs an interactive backend.
os.environ.setdefault("MPLBACKEND", "agg")

gradio_import.install()  # before the first `import gradio`: most of the app's start-up time

from minicpm_demo.ui.blocks import build_demo  # noqa: E402
from minicpm_demo.ui.gradio_import import finish_deferred_imports  # noqa: E402
from minicpm_demo.ui.server_app import server_app_built_at_launch  # noqa: E402

__all__ = ["build_demo", "finish_deferred_imports", "server_app_built_at_launch"]
