"""The checks on ``/chat``'s inputs that come before any work: each value's type and shape, refused with a message
in the caller's terms (what was sent, what to send instead).

``chat_files()`` makes ``/chat``'s ``files`` input: Gradio validates a file list itself before any handler runs, and
its own message for a malformed one is a raw pydantic report; this one says what was wrong.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
from gradio.data_classes import ListFiles
from pydantic import model_validator

from minicpm_demo.settings import MODALITIES, shown
from minicpm_demo.ui.errors import RequestError

HANDLE_FILE = "gradio_client's handle_file(path), which uploads the file"


def described(value: Any) -> str:
    """What a JSON value is, in words, with the value itself (cut short)."""
    kind = ("true/false" if isinstance(value, bool) else "a number" if isinstance(value, (int, float))
            else "a string" if isinstance(value, str) else "a list" if isinstance(value, list)
            else "a dict" if isinstance(value, dict) else "null" if value is None else type(value).__name__)
    return kind if value is None else f"{kind}: {shown(value)}"


def check_types(text, files, modality, history, settings) -> None:
    """Refuse a value of the wrong type for any of ``/chat``'s five inputs."""
    if text is not None and not isinstance(text, str):
        raise RequestError(f"`text` must be a string with the question (or null), not {described(text)}.")
    if (problem := files_problem(files)) is not None:
        raise RequestError(problem)
    if not isinstance(modality, str) or modality not in MODALITIES:
        raise RequestError(f"`modality` must be one of {', '.join(map(repr, MODALITIES))}, not {described(modality)}.")
    if history is not None and not isinstance(history, list):
        raise RequestError("`history` must be a list of messages (the `history` of the previous /chat reply) or "
                           f"null, not {described(history)}.")
    if settings is not None and not isinstance(settings, dict):
        raise RequestError("`settings` must be a dict of setting names to values (or null), not "
                           f"{described(settings)}.")


def files_problem(files: Any) -> str | None:
    """What is wrong with ``files`` as ``/chat`` takes them (None: nothing): a list of uploaded files, each an upload
    record (a dict with a string ``path``) or, from Python, a path."""
    if files is None:
        return None
    if not isinstance(files, list):
        return f"`files` must be a list of files, each passed through {HANDLE_FILE}; not {described(files)}."
    for number, item in enumerate(files, 1):
        if isinstance(item, str) or (isinstance(item, dict) and isinstance(item.get("path"), str)):
            continue
        what = "a dict without a `path`" if isinstance(item, dict) else described(item)
        return (f"`files` item {number} must be a file passed through {HANDLE_FILE}, not {what}. Send one file "
                "per item, in a flat list.")
    return None


def file_paths(files: list | None) -> list[str]:
    """The paths of ``files`` (checked by ``files_problem``)."""
    return [item if isinstance(item, str) else item["path"] for item in files or ()]


class FilesRefused(Exception):
    """A malformed ``files`` list. Not a ValueError, which pydantic would wrap in its own report: Gradio shows this
    message as it is."""


class _ReadableFileList(ListFiles):
    @model_validator(mode="before")
    @classmethod
    def _readable(cls, value):
        problem = files_problem(value)
        if problem is None:
            for number, item in enumerate(value or (), 1):
                meta = item.get("meta") if isinstance(item, dict) else None
                if not isinstance(meta, dict) or meta.get("_type") != "gradio.FileData":
                    problem = (f"`files` item {number} is not an uploaded file ({described(item)}): pass each file "
                               f"through {HANDLE_FILE}.")
                    break
        if problem is not None:
            raise FilesRefused(problem)
        return value


def chat_files(**kwargs) -> gr.File:
    """``/chat``'s ``files`` input: a ``gr.File`` for several files whose malformed lists are refused with
    ``files_problem``'s message. (An instance whose data model is set, rather than a subclass: Gradio would write a
    type stub beside the source of every component class it has not seen.)"""
    files = gr.File(file_count="multiple", type="filepath", **kwargs)
    files.data_model = _ReadableFileList  # what gr.File itself sets, per instance, to ListFiles
    return files
