"""``/chat``: the stable, documented endpoint for scripts (``gradio_client``), independent of the page.

Inputs, in order: ``text`` (str), ``files`` (list of files), ``modality`` ("image" | "multi-image" | "video"),
``history`` (earlier turns in the messages format, or None), ``settings`` (dict: any subset of the settings,
the rest at the modality's defaults). Each streamed update is a dict ``{"answer", "reasoning", "done",
"stats", "history"}``; the last has ``done: true``, the reply's ``stats`` and the whole conversation as
``history`` (media as this server's paths) to pass back for a follow-up question.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder

from minicpm_demo.chat import Attachment, conversation_from_messages
from minicpm_demo.media import detect_kind
from minicpm_demo.session import UPDATE_INTERVAL_S, stream_reply
from minicpm_demo.settings import MODALITIES, Settings
from minicpm_demo.ui.errors import USER_ERRORS, RequestError, user_error
from minicpm_demo.ui.pacing import QueuePacer

API_NAME = "chat"


def _served_file(path: str, in_history: bool = True) -> str:
    """History and files may only name files this server received; anything else could read the server's disk."""
    name = os.path.basename(path)
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(Path(get_upload_folder()).resolve()):
        if not in_history:  # Gradio refuses these before the handler runs; checked here all the same
            raise RequestError(f"`files` names {name!r}, which was not uploaded to this server. Pass each file "
                               "with gradio_client's handle_file(), which uploads it.")
        raise RequestError(f"history refers to {name!r}, which this server did not receive. "
                           "Pass the history returned by the previous /chat call, or send the file again in `files`.")
    if not resolved.exists():
        where = "the history" if in_history else "`files`"
        raise RequestError(f"{name!r} from {where} is no longer on the server (uploads are kept for a day). "
                           "Send the file again in `files`.")
    return str(resolved)


def chat_request(engine, text: str | None, files: list[str | dict[str, Any]] | None, modality: str | None,
                 history: list[dict[str, Any]] | None, settings: dict[str, Any] | None):
    if modality not in MODALITIES:
        raise RequestError(f"modality must be one of {', '.join(MODALITIES)}, not {modality!r}.")
    if settings is not None and not isinstance(settings, dict):
        raise RequestError("settings must be a dict of setting names to values (or null).")
    chosen = Settings.for_modality(modality, **(settings or {}))
    try:
        conversation = conversation_from_messages(
            history, kind_of=lambda path: detect_kind(_served_file(path)))
    except ValueError as error:
        if isinstance(error, RequestError):
            raise
        raise RequestError(f"history is not in the messages format: {error}.") from None
    for turn in conversation.turns:
        for attachment in turn.attachments:
            _served_file(attachment.path)
    files = [_served_file(f if isinstance(f, str) else f["path"], in_history=False) for f in files or []]
    text = (text or "").strip()
    if not text and not files:
        raise RequestError("Send a question in `text`, files in `files`, or both.")
    kind = "video" if modality == "video" else "image"
    if modality == "image" and len(files) > 1:
        raise RequestError(f"modality 'image' takes one image, got {len(files)}: use 'multi-image' for several.")
    if modality == "video" and len(files) > 1:
        raise RequestError(f"modality 'video' takes one video per question, got {len(files)}.")
    return conversation.ask(text, tuple(Attachment(path, kind) for path in files)), chosen


def history_for_client(conversation) -> list[dict[str, Any]]:
    """The card's message format, media as ``{"type": "image", "image": path}`` — a ``"path"`` key would make
    gradio_client download the file and replace the item by a local path."""
    messages = conversation.to_messages()
    for message in messages:
        for item in message["content"]:
            if "path" in item:
                item[item["type"]] = item.pop("path")
    return messages


def stream_chat(engine, pacer: QueuePacer, text, files, modality, history, settings,
                update_interval_s: float = UPDATE_INTERVAL_S):
    conversation, chosen = chat_request(engine, text, files, modality, history, settings)
    stop = threading.Event()
    replies = pacer.paced(stream_reply(engine, conversation, chosen, stop, update_interval_s))
    try:
        for answered in replies:
            turn = answered.turns[-1]
            done = turn.stats is not None
            yield {"answer": turn.reply, "reasoning": turn.reasoning, "done": done, "stats": turn.stats,
                   "history": history_for_client(answered) if done else None}
    except GeneratorExit:  # Gradio closes this generator when the client cancels or goes away: that is a Stop
        stop.set()
        raise
    finally:
        replies.close()


def add_chat_endpoint(engine, pacer: QueuePacer, *, concurrency_id: str, concurrency_limit: int,
                      update_interval_s: float = UPDATE_INTERVAL_S) -> None:
    def chat(text, files, modality, history, settings):
        try:
            yield from stream_chat(engine, pacer, text, files, modality, history, settings, update_interval_s)
        except USER_ERRORS as error:
            raise user_error(error) from None

    chat.__doc__ = __doc__
    with gr.Column(visible=False):
        text = gr.Textbox(label="text")
        files = gr.File(label="files", file_count="multiple", type="filepath")
        modality = gr.Textbox(label="modality", value="image")
        history = gr.JSON(label="history")
        settings = gr.JSON(label="settings")
        reply = gr.JSON(label="reply")
        trigger = gr.Button("chat")
    # preprocess=False: the handler takes the values as sent (files as their upload records), which it checks
    # itself. gr.File's own preprocessing (Gradio 6.31) would also leave an empty temporary file in Gradio's
    # cache for every file of every request, which nothing ever removes.
    trigger.click(chat, [text, files, modality, history, settings], [reply], api_name=API_NAME,
                  api_description=__doc__, concurrency_id=concurrency_id, concurrency_limit=concurrency_limit,
                  preprocess=False)
