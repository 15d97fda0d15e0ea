"""The Gradio page and API (the only package that imports gradio)."""

from minicpm_demo.ui.gradio_patches import apply, finish_deferred_imports, server_app_built_at_launch

apply()  # before the first `import gradio`: most of the app's start-up time

from minicpm_demo.ui.blocks import build_demo  # noqa: E402

__all__ = ["build_demo", "finish_deferred_imports", "server_app_built_at_launch"]
