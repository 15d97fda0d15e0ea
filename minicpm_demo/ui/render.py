"""Turn a ``Conversation`` into what ``gr.Chatbot`` shows: thumbnails, collapsed reasoning, answer, stats."""

from __future__ import annotations

import copy
import os
import threading
import weakref
from collections import OrderedDict
from typing import Any
from urllib.parse import quote

from minicpm_demo import seen
from minicpm_demo.chat import GONE, Conversation, Turn
from minicpm_demo.engine.pipeline import BEFORE_THE_MODEL
from minicpm_demo.grounding import find_boxes, readable
from minicpm_demo.phrases import said_in
from minicpm_demo.text import dollar_math_to_parens, normalize_response_text
from minicpm_demo.ui import boxes as drawn_boxes
from minicpm_demo.ui.boxes import boxed_picture
from minicpm_demo.ui.i18n import say

STOPPED_MARK = "⏹ stopped"  # in English; say("stopped", lang) in the page's language

# No single-dollar delimiter: inline $…$ math arrives as \(…\) (see ``dollar_math_to_parens``), so a $ in a price
# stays a dollar sign.
LATEX_DELIMITERS = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "\\(", "right": "\\)", "display": False},
    {"left": "\\[", "right": "\\]", "display": True},
]
# How every chat shows what ``to_chatbot`` gives. Each message in its own bubble: Gradio's edit box (6.31) fails
# on a bubble that groups a question's file with its text, so a file is a bubble and the question another.
CHATBOT = {"latex_delimiters": LATEX_DELIMITERS, "group_consecutive_messages": False}


def _display_text(text: str) -> str:
    return dollar_math_to_parens(normalize_response_text(text))


def format_stats(stats: dict[str, Any] | None, lang: str = "en") -> str:
    if not stats:
        return ""
    parts = [say("stats.visual", lang, n=stats["visual_tokens"])] if stats.get("visual_tokens") is not None else []
    if stats["prompt_tokens"]:  # 0 when the reply was stopped before a prompt was built
        parts.append(say("stats.prompt", lang, n=stats["prompt_tokens"]))
    if stats["generated_tokens"]:  # none when stopped before the first token
        # a speed needs two tokens: after one, there is no figure to show
        speed = f"{stats['tokens_per_s']:.1f}" if stats["generated_tokens"] > 1 else "–"
        parts += [say("stats.ttft", lang, s=f"{stats['ttft_s']:.2f}"), say("stats.speed", lang, speed=speed)]
    notes = [say("stats.before_model", lang) if note == BEFORE_THE_MODEL else said_in(note, lang)
             for note in stats.get("notes") or ()]
    return "<sub>" + " · ".join(parts + notes) + "</sub>"


def _waiting_title(loading: dict[str, Any], lang: str) -> str:
    """The pending reply's title while it waits for the model: how far the loader is."""
    step, steps = loading.get("step"), loading.get("steps")
    where = say("status.step", lang, step=max(step, 1), steps=steps) if step is not None and steps else \
        say("status.loading", lang)
    title = say("waiting_model", lang, step=where)
    return f"{title}: {loading['doing']}" if lang == "en" and loading.get("doing") else title  # the loader's English


def _assistant_messages(turn: Turn, streaming: bool, lang: str, picture: str | None = None) -> list[dict[str, Any]]:
    if streaming and not turn.reasoning and not turn.reply:  # one placeholder until the first text
        title = say("preparing", lang) if not turn.loading else _waiting_title(turn.loading, lang)
        return [{"role": "assistant", "content": "", "metadata": {"title": title, "status": "pending"}}]
    if streaming and not turn.reply:  # thinking: the reasoning so far, under Gradio's spinner
        return [{"role": "assistant", "content": _display_text(turn.reasoning),
                 "metadata": {"title": say("reasoning", lang), "status": "pending"}}]
    # One message a reply: the chat shows each message in its own bubble (see ``CHATBOT``), and a reply is one
    # bubble with its reasoning folded above the answer.
    messages = []
    boxes = [] if streaming else find_boxes(turn.reply or "")
    answer = _display_text(readable(turn.reply or "") if boxes else turn.reply or "")
    if turn.reasoning:
        folded = f'<details class="reasoning"><summary>{say("reasoning", lang)}</summary>\n\n' \
                 f"{_display_text(turn.reasoning)}\n\n</details>"
        answer = f"{folded}\n\n{answer}" if answer else folded
    if turn.stopped:
        mark = say("stopped", lang)
        answer = f"{answer}\n\n*{mark}*" if answer else f"*{mark}*"
    stats = format_stats(turn.stats, lang)
    if stats:
        answer = f"{answer}\n\n{stats}"
    if turn.stats and turn.stats.get("seen"):
        answer += _filmstrip(turn.stats["seen"], lang)
    if turn.stats and turn.stats.get("python"):  # collapsed in the reply; each code block has its own copy button
        blocks = [f"```python\n{turn.stats['python']}```"]
        if turn.stats.get("gradio_client"):
            blocks.append(f"{say('python.gradio_client', lang)}\n\n```python\n{turn.stats['gradio_client']}```")
        if turn.stats.get("curl"):
            blocks.append(f"{say('python.curl', lang)}\n\n```bash\n{turn.stats['curl']}```")
        answer += f"\n\n<details><summary>{say('python', lang)}</summary>\n\n" + "\n\n".join(blocks) + \
            "\n\n</details>"
    messages.append({"role": "assistant", "content": answer or "…"})
    drawn = boxed_picture(picture, boxes) if boxes and picture else None
    if drawn:  # the boxes on the picture the question was about, numbered as in the text
        messages.append({"role": "assistant", "content": {"path": drawn}})
    return messages


# A finished reply's messages, kept while its turn lives: a streamed update renders the whole conversation each
# time, and only its last reply changes. Keyed by the turn's identity (a Turn is immutable, so a changed reply is
# another turn) with what else its rendering depends on; the weak reference tells a reused id from the same turn.
RENDERED_KEPT = 1024
_rendered: OrderedDict[tuple, tuple[weakref.ref, list[dict[str, Any]]]] = OrderedDict()
_rendered_lock = threading.Lock()


def _finished_messages(turn: Turn, lang: str, picture: str | None) -> list[dict[str, Any]]:
    # The sweep counts change when a filmstrip's or a box drawing's file is removed: such a reply is drawn anew.
    key = (id(turn), lang, picture, seen.sweeps(), drawn_boxes.removals())
    with _rendered_lock:
        kept = _rendered.get(key)
        if kept is not None and kept[0]() is turn:
            _rendered.move_to_end(key)
            return copy.deepcopy(kept[1])
    messages = _assistant_messages(turn, False, lang, picture)
    with _rendered_lock:
        _rendered[key] = (weakref.ref(turn), messages)
        while len(_rendered) > RENDERED_KEPT:
            _rendered.popitem(last=False)
    return copy.deepcopy(messages)  # the caller's to change: the kept ones stay as rendered


def _filmstrip(seen: list[dict[str, Any]], lang: str) -> str:
    """What the model was given, collapsed: each frame with its time, each image with its slices' grid; a click
    opens one large. Pictures swept from the server since are left out."""
    pictures = [picture for picture in seen if os.path.exists(picture["path"])]
    if not pictures:
        return ""
    frames = sum(picture["t"] is not None for picture in pictures)
    count, kind = (frames, "frame") if frames else (len(pictures), "image")
    title = say(f"seen.{kind}s" if count > 1 else f"seen.{kind}", lang, n=count)
    cells = []
    for picture in pictures:
        url = "gradio_api/file=" + quote(picture["path"])
        caption = "" if picture["t"] is None else f'{picture["t"]:.1f} s'
        cells.append(f'<a href="{url}" target="_blank"><img src="{url}" alt="{caption}" height="72"></a>'
                     + (f"<sub>{caption}</sub>" if caption else ""))
    return f"\n\n<details><summary>{title}</summary>\n\n" + " ".join(cells) + "\n\n</details>"


def to_chatbot(conversation: Conversation, streaming: bool = False, lang: str = "en") -> list[dict[str, Any]]:
    """What the chatbot shows, in ``lang``; with ``streaming``, the last turn's reply is still coming (a
    placeholder says so until its first text)."""
    return [message for _, _, message in _layout(conversation, streaming, lang)]


def question_at(conversation: Conversation, index: int) -> int | None:
    """The turn whose question text is message ``index`` of what ``to_chatbot`` shows, or None (a file, a reply)."""
    layout = _layout(conversation, False, "en")
    if not 0 <= index < len(layout):
        return None
    turn, is_question, _ = layout[index]
    return turn if is_question else None


def _layout(conversation: Conversation, streaming: bool, lang: str) -> list[tuple[int, bool, dict[str, Any]]]:
    """Each message shown, with the number of the turn it belongs to and whether it is that turn's question."""
    messages: list[tuple[int, bool, dict[str, Any]]] = []
    picture = None  # the latest image asked about: where a reply's boxes are drawn
    for index, turn in enumerate(conversation.turns):
        for attachment in turn.attachments:
            picture = attachment.path if attachment.kind == "image" else picture
            if attachment.kind == GONE:  # a chat read back whose file the server has swept: said, not shown broken
                gone = say("gone", lang)
                messages.append((index, False, {"role": "user", "content": f"*{attachment.path}: {gone}*"}))
            else:
                messages.append((index, False, {"role": "user", "content": {"path": attachment.path}}))
        if turn.text:
            messages.append((index, True, {"role": "user", "content": dollar_math_to_parens(turn.text)}))
        is_last = index == len(conversation.turns) - 1
        if is_last and streaming:
            replies = _assistant_messages(turn, True, lang, picture)
        elif turn.reply is not None:
            replies = _finished_messages(turn, lang, picture)
        else:
            replies = []
        messages.extend((index, False, message) for message in replies)
    return messages
