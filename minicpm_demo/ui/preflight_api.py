"""``/preflight``: what a ``/chat`` request would cost, without running the model.

Inputs are ``/chat``'s (text, files, modality, history, settings), checked the same way. The answer is a dict:
``visual_tokens`` and ``prompt_tokens`` (those ``/chat`` then reports for the same request), ``frames`` (the
time of each video frame the model would get, in seconds), ``slices`` (per image, the slices cut besides its
whole view), ``estimated_ttft_s`` with ``estimate_source`` ("measured" from this server's replies, or "shape
twin": docs/PERFORMANCE.md's figures for the device, scaled to the model's size), ``gpu_seconds`` (on ZeroGPU),
``estimated_memory_mb`` (the device memory at the request's peak, weights included) and ``free_memory_mb``,
``fits`` (false when ``/chat`` would refuse it or the model could not hold it) and ``advice`` (what to lower).
"""

from __future__ import annotations

import gradio as gr

from minicpm_demo.engine.preflight import preflight_apart
from minicpm_demo.ui.api import chat_request
from minicpm_demo.ui.chat_inputs import chat_files
from minicpm_demo.ui.errors import USER_ERRORS, user_error

API_NAME = "preflight"
CONCURRENCY_ID = "preflight"  # media reading and the processor, beside the model's replies, one at a time
ROOM = 32  # budget lines and /preflight calls that may wait at once, in a room of their own (ui/fairness.py)


def preflight_request(engine, text, files, modality, history, settings) -> dict:
    conversation, chosen = chat_request(engine, text, files, modality, history, settings)
    return preflight_apart(engine, conversation.to_messages(chosen.system_prompt), chosen, modality).to_dict()


def add_preflight_endpoint(engine) -> None:
    def preflight_endpoint(text, files, modality, history, settings):
        try:
            return preflight_request(engine, text, files, modality, history, settings)
        except USER_ERRORS as error:
            raise user_error(error) from None

    with gr.Column(visible=False):
        inputs = [gr.Textbox(label="text"), chat_files(label="files"), gr.Textbox(label="modality", value="image"),
                  gr.JSON(label="history"), gr.JSON(label="settings")]
        budget = gr.JSON(label="budget")
        trigger = gr.Button("preflight")
    trigger.click(preflight_endpoint, inputs, [budget], api_name=API_NAME, api_description=__doc__,
                  concurrency_id=CONCURRENCY_ID, concurrency_limit=1, preprocess=False)
