"""``/chat``: the stable, documented endpoint for scripts (``gradio_client``), independent of the page.

Inputs, in order: ``text`` (str), ``files`` (list of files), ``modality`` ("image" | "multi-image" | "video"),
``history`` (earlier turns in the messages format, or None), ``settings`` (dict: any subset of the settings,
the rest at the modality's defaults; ``system_prompt`` is sent as the system message). ``text`` alone, with no
file, is a question too. Each streamed update is a dict ``{"answer", "reasoning", "done", "status", "stats",
"history", "loading"}``; ``status`` is "loading" while the request waits for the model to load (``loading``: the
loader's ``step`` of ``steps`` and what it is ``doing``), "preparing" (media read, prompt built and read by the
model) until the first text, then "generating", then "done". Updates come at least every half second, the same
again while nothing is new, so cancelling the job (or closing the connection) stops the work at any point. The
last has ``done: true``, the reply's ``stats`` and the whole conversation as ``history`` (media as this server's
paths; the system prompt is a setting, not part of it) to pass back for a follow-up question.
"""

from __future__ import annotations

import os
import threading
from contextlib import closing, suppress
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder

from minicpm_demo.chat import Attachment, conversation_from_messages
from minicpm_demo.media import MediaError, detect_kind, is_pdf
from minicpm_demo.media.limits import check_file
from minicpm_demo.session import UPDATE_INTERVAL_S, stream_reply
from minicpm_demo.settings import Settings, shown
from minicpm_demo.ui.chat_inputs import chat_files, check_types, file_paths
from minicpm_demo.ui.errors import USER_ERRORS, RequestError, user_error
from minicpm_demo.ui.pacing import QueuePacer

API_NAME = "chat"


def served_file(path: str, in_history: bool = True) -> str:
    """History and files may only name files this server received; anything else could read the server's disk."""
    where = "the history" if in_history else "`files`"
    if "\x00" in path:
        raise RequestError(f"A file named in {where} has a NUL character in its name ({shown(path)}), which no file "
                           "on this server has. Pass the history returned by the previous /chat call, and files "
                           "through gradio_client's handle_file().")
    name = os.path.basename(path)
    try:
        resolved = Path(path).resolve()
        received = resolved.is_relative_to(Path(get_upload_folder()).resolve())
        present = received and resolved.is_file()
    except OSError:  # a name too long for the file system, say: no upload has it
        received = present = False
    if not received:
        if not in_history:  # Gradio refuses these before the handler runs; checked here all the same
            raise RequestError(f"`files` names {shown(name)}, which was not uploaded to this server. Pass each file "
                               "with gradio_client's handle_file(), which uploads it.")
        raise RequestError(f"history refers to {shown(name)}, which this server did not receive. "
                           "Pass the history returned by the previous /chat call, or send the file again in `files`.")
    if not present:
        raise RequestError(f"{shown(name)} from {where} is no longer on the server (uploads are kept for a day). "
                           "Send the file again in `files`.")
    return str(resolved)


def discard_upload(path: str) -> None:
    """Delete a refused upload now, and its folder once empty, rather than when Gradio's daily sweep comes by."""
    resolved = Path(path).resolve()
    cache = Path(get_upload_folder()).resolve()
    if resolved.parent == cache or not resolved.is_relative_to(cache):
        return  # only a file in an upload's own folder, never anything else
    with suppress(OSError):
        resolved.unlink()
    with suppress(OSError):
        resolved.parent.rmdir()  # refused while another file is in it


def size_limit(kind: str, limits) -> tuple[int, str]:
    return (limits.max_video_bytes, "--max-video-mb") if kind == "video" else (limits.max_image_bytes, "--max-image-mb")


def discard_if_oversized(path: str, kind: str, limits) -> None:
    """Delete an upload over its kind's limit at once: Gradio takes uploads up to the largest limit of any kind,
    before anyone knows which tab a file is for."""
    with suppress(OSError):
        if os.path.getsize(path) > size_limit(kind, limits)[0]:
            discard_upload(path)


def _check_sizes(paths: list[str], kind: str, limits) -> None:
    """Refuse, and delete at once, a file over its kind's limit."""
    largest, flag = size_limit(kind, limits)
    for path in paths:
        try:
            check_file(path, "pdf" if kind == "image" and is_pdf(path) else kind, largest, flag)
        except MediaError as error:
            discard_if_oversized(path, kind, limits)
            error.path = path
            raise


def chat_request(engine, text: str | None, files: list[str | dict[str, Any]] | None, modality: str | None,
                 history: list[dict[str, Any]] | None, settings: dict[str, Any] | None):
    """The conversation to answer and its settings, from ``/chat``'s inputs; every bound and check that needs no
    file opened and no token counted comes first, in that order."""
    check_types(text, files, modality, history, settings)
    chosen = Settings.for_modality(modality, **(settings or {}))
    text = (text or "").strip()
    try:
        conversation = conversation_from_messages(history)  # files' kinds later, once the sizes are known to fit
    except ValueError as error:
        raise RequestError(f"history is not in the messages format: {error}.") from None
    engine.request_limits.check(text, len(conversation.turns), conversation.text_chars)
    paths = [served_file(path, in_history=False) for path in file_paths(files)]
    if not text and not paths:
        raise RequestError("Send a question in `text`, files in `files`, or both.")
    if modality == "image" and len(paths) > 1:
        raise RequestError(f"modality 'image' takes one image, got {len(paths)}: use 'multi-image' for several.")
    if modality == "video" and len(paths) > 1:
        raise RequestError(f"modality 'video' takes one video per question, got {len(paths)}.")
    kind = "video" if modality == "video" else "image"
    _check_sizes(paths, kind, engine.limits)
    earlier = {attachment.path for attachment in conversation.attachments}
    # Each earlier file is looked up and opened below to tell its kind: no more of them than a conversation may
    # hold, images and at most a video a question (the engine counts the images exactly).
    files_count = len(earlier) + len(paths)
    if files_count > engine.limits.max_images + engine.request_limits.max_turns:
        raise RequestError(f"This conversation has {files_count} files; this demo takes up to "
                           f"{engine.limits.max_images} images in one conversation, and a video a question. Start a "
                           "new conversation (Clear) with fewer.")
    for path in earlier:
        served_file(path)
    conversation = conversation.with_kinds(detect_kind)
    return conversation.ask(text, tuple(Attachment(path, kind) for path in paths)), chosen


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
                update_interval_s: float = UPDATE_INTERVAL_S, reuse_key: str | None = None):
    conversation, chosen = chat_request(engine, text, files, modality, history, settings)
    stop = threading.Event()
    replies = pacer.paced(stream_reply(engine, conversation, chosen, stop, update_interval_s,
                                       reuse_key=reuse_key))
    # Gradio closes this generator when the client cancels or goes away, and stream_reply takes that as Stop.
    with closing(replies):
        for answered in replies:
            turn = answered.turns[-1]
            done = turn.stats is not None
            status = "done" if done else "generating" if turn.reply or turn.reasoning else \
                "loading" if turn.loading else "preparing"
            yield {"answer": turn.reply or "", "reasoning": turn.reasoning, "done": done, "status": status,
                   "loading": turn.loading, "stats": turn.stats,
                   "history": history_for_client(answered) if done else None}


def add_chat_endpoint(engine, pacer: QueuePacer, *, concurrency_id: str, concurrency_limit: int,
                      update_interval_s: float = UPDATE_INTERVAL_S) -> None:
    def chat(text, files, modality, history, settings, request: gr.Request):
        # A client's follow-ups (history passed back) reuse what its earlier questions kept, found under its
        # own session: another client's session is never looked at.
        session = getattr(request, "session_hash", None)
        reuse_key = f"api:{session}" if session else None
        try:
            yield from stream_chat(engine, pacer, text, files, modality, history, settings, update_interval_s,
                                   reuse_key)
        except USER_ERRORS as error:
            raise user_error(error) from None

    chat.__doc__ = __doc__
    with gr.Column(visible=False):
        text = gr.Textbox(label="text")
        files = chat_files(label="files")
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
