"""Past chats of one tab, kept in the visitor's own browser (localStorage, through ``gr.BrowserState``; never on the
server, where another visitor could see them): the current chat survives a reload, earlier ones are listed to
switch to or delete, and a chat is exported (one zip: Markdown to read, with its files, and JSON to import again)."""

from __future__ import annotations

import json
import secrets
import time
import zipfile
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder

from minicpm_demo.chat import GONE, IMAGE, Conversation
from minicpm_demo.media import is_pdf
from minicpm_demo.phrases import Phrase, error_in
from minicpm_demo.saved import MAX_CHATS, MAX_RECORD_CHARS, MAX_TURNS, RecordError, from_record, title_of, to_record
from minicpm_demo.session import ChatSession
from minicpm_demo.ui.api import RequestError, served_file
from minicpm_demo.ui.feedback import busy, notice
from minicpm_demo.ui.i18n import language, say, t
from minicpm_demo.ui.render import format_stats, to_chatbot

EMPTY: dict[str, Any] = {"current": None, "chats": []}
MAX_IMPORT_BYTES = MAX_RECORD_CHARS * 4  # a record's JSON, at most four bytes a character
MAX_EXPORT_FILES_BYTES = 200 * 1024 * 1024  # media copied into one export; a larger file is named, not included


def _served(path: str) -> str | None:
    try:
        return served_file(path)
    except RequestError:
        return None


def _checked(store: Any) -> dict[str, Any]:
    """The stored chats as they must be (the browser sends them back, so anything else is dropped)."""
    if not isinstance(store, dict) or not isinstance(store.get("chats"), list):
        return {"current": None, "chats": []}
    chats = [chat for chat in store["chats"][:MAX_CHATS] if isinstance(chat, dict) and isinstance(
        chat.get("id"), str) and isinstance(chat.get("record"), dict)]
    current = store.get("current") if any(chat["id"] == store.get("current") for chat in chats) else None
    return {"current": current, "chats": chats}


def _menu(store: dict[str, Any]):
    choices = [(title_of(chat["record"]), chat["id"]) for chat in store["chats"]]
    return gr.Dropdown(choices=choices, value=store["current"])


def _opened(session: ChatSession, store: dict[str, Any], chat_id: str | None):
    """``session`` on the stored chat ``chat_id`` (a new one for None); what the tab shows of it."""
    record = next((chat["record"] for chat in store["chats"] if chat["id"] == chat_id), None)
    try:
        session.replace_conversation(from_record(record, _served) if record else Conversation())
    except RecordError:  # a stored chat this version cannot read: dropped, not shown broken
        store = {"current": None, "chats": [chat for chat in store["chats"] if chat["id"] != chat_id]}
        session.replace_conversation(Conversation())
    else:
        store = {"current": chat_id if record else None, "chats": store["chats"]}
    return session, to_chatbot(session.conversation, lang=session.language), store, _menu(store)


def save(session: ChatSession, store: Any):
    """The tab's conversation into the browser's list, first (a chat with no answered turn is not listed)."""
    store = _checked(store)
    record = to_record(session.conversation)
    if not record["turns"]:
        return store, _menu(store)
    chat_id = store["current"] or secrets.token_hex(6)
    others = [chat for chat in store["chats"] if chat["id"] != chat_id]
    store = {"current": chat_id, "chats": ([{"id": chat_id, "record": record}] + others)[:MAX_CHATS]}
    return store, _menu(store)


def restore(session: ChatSession, store: Any, request: gr.Request | None = None):
    """On page load: the chat that was open before the reload."""
    session.language = language(request)
    store = _checked(store)
    if session.conversation.turns:  # a slow page load: a chat begun meanwhile is kept (as a new one) and runs on
        store = {"current": None, "chats": store["chats"]}
        return session, gr.skip(), store, _menu(store)
    return _opened(session, store, store["current"])


def switch(chat_id: str | None, session: ChatSession, store: Any):
    store = _checked(store)
    if busy(session):
        return session, gr.skip(), store, _menu(store)
    session, shown, store, menu = _opened(session, store, chat_id)
    return session, shown, store, menu


def start_anew(store: Any):
    """After Clear: the next chat is a new one; the one before stays in the list."""
    store = {"current": None, "chats": _checked(store)["chats"]}
    return store, _menu(store)


def delete_chat(session: ChatSession, store: Any):
    store = _checked(store)
    session.replace_conversation(Conversation())
    store = {"current": None, "chats": [chat for chat in store["chats"] if chat["id"] != store["current"]]}
    return session, [], store, _menu(store)


def import_chat(file: Any, session: ChatSession, store: Any):
    """A chat exported before (its JSON, or the export's zip) becomes the open chat; its files are used where this
    server still has them."""
    store = _checked(store)
    path = getattr(file, "name", file)
    try:
        record = _read_export(Path(str(path)))
        conversation = from_record(record, _served)
    except (RecordError, OSError, ValueError, zipfile.BadZipFile) as error:
        notice(error_in(error, session.language) if isinstance(error, RecordError)
               else say("import_failed", session.language), session.language)
        return session, gr.skip(), store, _menu(store)
    session.replace_conversation(conversation)
    store = {"current": None, "chats": store["chats"]}
    store, menu = save(session, store)
    return session, to_chatbot(session.conversation, lang=session.language), store, menu


def _read_export(path: Path) -> Any:
    if path.stat().st_size > MAX_IMPORT_BYTES * 50:
        raise RecordError(Phrase("record.file_too_large"))
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("chat.json")
            if info.file_size > MAX_IMPORT_BYTES:
                raise RecordError(Phrase("record.too_large", turns=MAX_TURNS, chars=MAX_RECORD_CHARS))
            return json.loads(archive.read(info))
    if path.stat().st_size > MAX_IMPORT_BYTES:
        raise RecordError(Phrase("record.too_large", turns=MAX_TURNS, chars=MAX_RECORD_CHARS))
    return json.loads(path.read_text(encoding="utf-8"))


def export_chat(session: ChatSession):
    """One zip: chat.md (the chat to read, its pictures shown), files/ (the chat's media this server still has),
    chat.json (to import again). Written in Gradio's upload cache, which removes it after a day."""
    conversation = session.conversation
    if not to_record(conversation)["turns"]:
        notice(say("nothing_to_export", session.language), session.language)
        return gr.skip()
    folder = Path(get_upload_folder()) / "exports" / secrets.token_hex(12)
    folder.mkdir(parents=True)
    target = folder / f"minicpm-chat-{time.strftime('%Y%m%d-%H%M%S')}.zip"
    lines = [f"# {title_of(to_record(conversation))}", "", "*A chat with MiniCPM-V 4.6.*", ""]
    room = MAX_EXPORT_FILES_BYTES
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, turn in enumerate(conversation.turns, 1):
            lines.append(f"**You:** {turn.text}".rstrip())
            for attachment in turn.attachments:
                name = f"files/{number}-{Path(attachment.path).name}"
                size = Path(attachment.path).stat().st_size if attachment.kind != GONE else 0
                if attachment.kind == GONE or size > room:  # gone from the server, or past what one export holds
                    lines.append(f"*{Path(attachment.path).name}: {say('not_exported', session.language)}*")
                    continue
                room -= size
                archive.write(attachment.path, name)
                shown = attachment.kind == IMAGE and not is_pdf(attachment.path)  # Markdown shows no PDF: linked
                lines.append(f"![{Path(attachment.path).name}]({name})" if shown
                             else f"[{Path(attachment.path).name}]({name})")
            if turn.reply is not None:
                stats = format_stats(turn.stats, session.language)
                lines += ["", f"**MiniCPM-V 4.6:** {turn.reply}", "", stats, ""]
        archive.writestr("chat.md", "\n".join(lines) + "\n")
        archive.writestr("chat.json", json.dumps(to_record(conversation), ensure_ascii=False, indent=1))
    return gr.File(value=str(target), visible=True)


def chats_menu(key: str, session, chatbot) -> tuple:
    """The tab's chats menu; returns what the page's load event runs to reopen the chat, ``saved(event)``, which
    saves the chat after ``event``, and ``cleared(event)``, after which the next chat is a new one."""
    store = gr.BrowserState(EMPTY)
    with gr.Accordion(t("chats"), open=False, elem_id=f"chats_{key}"):
        with gr.Row(equal_height=True):
            menu = gr.Dropdown(choices=[], value=None, label=t("chats"), show_label=False, scale=3, min_width=200,
                               elem_id=f"chat_menu_{key}")
            delete = gr.Button(t("delete_chat"), min_width=80, scale=0, elem_id=f"delete_chat_{key}")
            export = gr.Button(t("export"), min_width=80, scale=0, elem_id=f"export_{key}")
            imported = gr.UploadButton(t("import"), file_types=[".json", ".zip"], min_width=80, scale=0,
                                       elem_id=f"import_{key}")
        exported = gr.File(visible=False, label=t("exported"), interactive=False, elem_id=f"exported_{key}")
    private = {"api_visibility": "private", "show_progress": "hidden"}

    def saved(event):
        return event.then(save, [session, store], [store, menu], **private)

    def cleared(event) -> None:
        event.then(start_anew, [store], [store, menu], **private)

    menu.input(switch, [menu, session, store], [session, chatbot, store, menu], **private)
    delete.click(delete_chat, [session, store], [session, chatbot, store, menu], **private)
    imported.upload(import_chat, [imported, session, store], [session, chatbot, store, menu], **private)
    export.click(export_chat, [session], [exported], **private)
    demo_load = (restore, [session, store], [session, chatbot, store, menu])
    return demo_load, saved, cleared

