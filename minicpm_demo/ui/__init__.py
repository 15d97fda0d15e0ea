"""The Gradio page and API (the only package that imports gradio)."""

from minicpm_demo.ui import gradio_import

gradio_import.install()  # before the first `import gradio`: halves the app's start-up time

from minicpm_demo.ui.blocks import build_demo  # noqa: E402

__all__ = ["build_demo"]
