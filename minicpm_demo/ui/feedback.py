"""What the page tells the user besides the chat: why a question was not sent (a toast, with the question left
editable in its box), and what Send and Stop offer while a reply runs and after."""

from __future__ import annotations

import html

import gradio as gr

from minicpm_demo.chat import GONE, Turn
from minicpm_demo.session import ChatSession
from minicpm_demo.ui.i18n import say, t

UNCHANGED = (gr.skip(), gr.skip(), gr.skip(), gr.skip())  # chatbot, box, send, stop


def as_input(turn: Turn, refused_file: str | None = None) -> dict:
    """A turn's question as the input box's value, to edit and send again (without a file that was refused)."""
    return {"text": turn.text,
            "files": [attachment.path for attachment in turn.attachments
                      if attachment.path != refused_file and attachment.kind != GONE]}


def question_in(message: dict | None) -> tuple[str, list[str]]:
    """The text and file paths of an input box's value (its files as paths or upload records)."""
    message = message or {}
    files = [f if isinstance(f, str) else f.get("path") for f in message.get("files") or []]
    return (message.get("text") or "").strip(), files


def notice(message: str, lang: str, seconds: float = 30) -> None:
    """Tell the user why nothing was sent, in a toast: an error raised instead would leave Gradio's "Error"
    overlay over the chat and the input box until the next good reply. The page's script heads the toast in the
    browser's language (ui/style.py)."""
    gr.Warning(html.escape(message), duration=seconds, title="")


def busy(session: ChatSession) -> bool:
    """Whether a reply is on its way; if so, the user is told to wait or stop it."""
    if session.answering:
        notice(say("busy", session.language), session.language)
    return session.answering


def answering_buttons() -> tuple:
    """Send and Stop while a reply runs: Send says why it waits, and Stop has something to stop."""
    return gr.Button(value=t("answering"), interactive=False), gr.Button(interactive=True)


def idle_buttons() -> tuple:
    return gr.Button(value=t("send"), interactive=True), gr.Button(interactive=False)

