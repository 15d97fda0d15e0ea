"""The Gradio page and API (the only package that imports gradio)."""

from minicpm_demo.ui.blocks import build_demo

__all__ = ["build_demo"]
