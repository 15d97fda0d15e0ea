"""The one adapter from errors a user can cause to what Gradio shows them."""

from __future__ import annotations

import gradio as gr

from minicpm_demo.engine import EngineNotReady, RemoteError, ResourceError
from minicpm_demo.media import MediaError
from minicpm_demo.settings import LimitError, SettingsError


class RequestError(ValueError):
    """A malformed API request; the message says what to send instead."""


USER_ERRORS = (MediaError, SettingsError, LimitError, ResourceError, EngineNotReady, RemoteError, RequestError)


def user_error(error: Exception) -> gr.Error:
    return gr.Error(str(error), print_exception=False)
