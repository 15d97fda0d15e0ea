"""The page: a header with live model status, one chat tab per modality, and the ``/chat`` API."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, fields
from typing import Any

import gradio as gr

from minicpm_demo.chat import Attachment, Turn
from minicpm_demo.media import MediaError
from minicpm_demo.session import UPDATE_INTERVAL_S, ChatSession, stream_reply
from minicpm_demo.settings import MODALITIES, Settings
from minicpm_demo.ui import api
from minicpm_demo.ui.errors import USER_ERRORS, user_error
from minicpm_demo.ui.fairness import QueueShare
from minicpm_demo.ui.i18n import t
from minicpm_demo.ui.pacing import QueuePacer
from minicpm_demo.ui.render import LATEX_DELIMITERS, to_chatbot

log = logging.getLogger(__name__)

MODEL_CONCURRENCY_ID = "model"
Refusal = Callable[[gr.Request | None], str | None]  # why a request may not join the model's queue now, or None
VIDEO_ONLY_FIELDS = ("max_num_frames", "stack_frames")


@dataclass(frozen=True)
class TabSpec:
    modality: str
    title_key: str
    input_key: str
    file_types: tuple[str, ...]
    file_count: str
    examples: tuple[dict[str, Any], ...] = ()


def _as_input(turn: Turn, refused_file: str | None = None) -> dict:
    """A turn's question as the input box's value, to edit and send again (without a file that was refused)."""
    return {"text": turn.text,
            "files": [attachment.path for attachment in turn.attachments if attachment.path != refused_file]}


def _refuse_while_answering(session: ChatSession) -> None:
    if session.conversation.pending:
        raise gr.Error("Wait for the current reply to finish, or press Stop.", print_exception=False)


class ChatTab:
    """Event handlers of one tab; everything per user lives in the ``ChatSession`` state, never here."""

    def __init__(self, engine, spec: TabSpec, setting_names: list[str], pacer: QueuePacer,
                 update_interval_s: float = UPDATE_INTERVAL_S, refusal: Refusal = lambda request: None):
        self.refusal = refusal
        self.engine = engine
        self.spec = spec
        self.setting_names = setting_names
        self.pacer = pacer
        self.update_interval_s = update_interval_s

    def settings(self, thinking: bool, values: tuple) -> Settings:
        chosen = dict(zip(self.setting_names, values))
        chosen["enable_thinking"] = thinking
        return Settings.for_modality(self.spec.modality, **chosen)

    def add_user_turn(self, message: dict | None, session: ChatSession, request: gr.Request | None = None):
        message = message or {}
        text = (message.get("text") or "").strip()
        files = [f if isinstance(f, str) else f.get("path") for f in message.get("files") or []]
        if not text and not files:
            raise gr.Error("Type a question or attach a file first.", print_exception=False)
        _refuse_while_answering(session)
        if (refused := self.refusal(request)) is not None:  # another tab of the same visitor may hold the queue
            raise gr.Error(refused, print_exception=False)
        try:
            self.engine.ready_model()  # refuse now, while the question is still in the input box
            conversation = session.conversation
            self.engine.request_limits.check(text, len(conversation.turns), conversation.text_chars)
        except USER_ERRORS as error:
            raise user_error(error) from None
        if self.spec.modality == "multi-image" and len(files) == 1 and not session.conversation.turns:
            gr.Warning("Only one image attached: the Multi-image tab is for comparing 2 or more.")
        kind = "video" if self.spec.modality == "video" else "image"
        session.conversation = session.conversation.ask(text, tuple(Attachment(path, kind) for path in files))
        session.new_request()
        return session, to_chatbot(session.conversation, streaming=True), gr.MultimodalTextbox(value=None,
                                                                                                interactive=False)

    def respond(self, session: ChatSession, thinking: bool, *values):
        before = session.conversation
        if not before.pending:
            return
        try:
            settings = self.settings(thinking, values)
            replies = self.pacer.paced(stream_reply(self.engine, before, settings, session.stop_event,
                                                    self.update_interval_s))
            with closing(replies):  # a page that goes away closes this handler, and the reply with it
                for conversation in replies:
                    if conversation is session.conversation:  # nothing new yet: the page keeps what it shows
                        yield session, gr.skip(), gr.skip()
                        continue
                    session.conversation = conversation
                    yield session, to_chatbot(conversation, streaming=conversation.turns[-1].stats is None), gr.skip()
            yield session, to_chatbot(session.conversation), gr.skip()
        except Exception as error:
            if isinstance(error, USER_ERRORS):
                shown = user_error(error)
            else:
                log.exception("reply failed")
                shown = gr.Error(f"Something went wrong while answering ({type(error).__name__}: {error}). "
                                 "Your conversation is kept; try again.", print_exception=False)
            # Roll the question back into the input box, less a file that was refused (the message names it);
            # the conversation stays as it was before it.
            session.conversation, question = before.undo()
            refused_file = error.path if isinstance(error, MediaError) else None
            for attachment in question.attachments:  # an earlier turn's file was fine then: it stays
                if attachment.path == refused_file:
                    api.discard_if_oversized(refused_file, attachment.kind, self.engine.limits)
            box = gr.MultimodalTextbox(value=_as_input(question, refused_file), interactive=True)
            yield session, to_chatbot(session.conversation), box
            raise shown from None

    @staticmethod
    def stop(session: ChatSession) -> None:
        session.stop()

    @staticmethod
    def unlock():
        return gr.MultimodalTextbox(interactive=True)

    @staticmethod
    def prepare_regenerate(session: ChatSession):
        _refuse_while_answering(session)
        if not session.conversation.turns:
            raise gr.Error("Nothing to regenerate yet: ask a question first.", print_exception=False)
        session.conversation = session.conversation.for_regenerate()
        session.new_request()
        return session, to_chatbot(session.conversation, streaming=True), gr.MultimodalTextbox(interactive=False)

    @staticmethod
    def undo(session: ChatSession):
        _refuse_while_answering(session)
        session.conversation, removed = session.conversation.undo()
        box = gr.skip() if removed is None else _as_input(removed)
        return session, to_chatbot(session.conversation), box

    @staticmethod
    def clear(session: ChatSession):
        session.stop()
        return ChatSession(), [], gr.MultimodalTextbox(value=None, interactive=True)


def _setting_control(name: str, default: Any, elem_id: str, unsupported: dict[str, str]):
    meta = Settings.field(name).metadata
    common = {"label": t(f"setting.{name}.label"), "info": t(f"setting.{name}.info"), "value": default,
              "interactive": name not in unsupported, "elem_id": elem_id}
    if name in unsupported:  # shown, greyed out, with the reason: never silently ignored
        common["info"] = f"⚠️ Not applied: {unsupported[name]}."
    if meta["choices"]:
        return gr.Radio(choices=list(meta["choices"]), **common)
    if isinstance(default, bool):
        return gr.Checkbox(**common)
    return gr.Slider(minimum=meta["minimum"], maximum=meta["maximum"], step=meta["step"], **common)


def _build_tab(engine, spec: TabSpec, generation_limit: int, pacer: QueuePacer, update_interval_s: float,
               refusal: Refusal):
    defaults = Settings.for_modality(spec.modality)
    names = [f.name for f in fields(Settings) if f.name != "enable_thinking"
             and (spec.modality == "video" or f.name not in VIDEO_ONLY_FIELDS)]
    tab = ChatTab(engine, spec, names, pacer, update_interval_s, refusal)
    key = spec.modality.replace("-", "_")
    session = gr.State(ChatSession())
    chatbot = gr.Chatbot(show_label=False, height=460, elem_id=f"chatbot_{key}", buttons=["copy", "copy_all"],
                         feedback_options=None, latex_delimiters=LATEX_DELIMITERS)
    box = gr.MultimodalTextbox(label=t(spec.input_key), placeholder=t("placeholder"),
                               file_types=list(spec.file_types), file_count=spec.file_count, submit_btn=False,
                               elem_id=f"input_{key}")
    # One line of five buttons; on a phone two lines (send/stop, then the rest), not five.
    with gr.Row():
        with gr.Column(scale=2, min_width=160), gr.Row():
            send = gr.Button(t("send"), variant="primary", elem_id=f"send_{key}", min_width=56)
            stop = gr.Button(t("stop"), variant="stop", elem_id=f"stop_{key}", min_width=56)
        with gr.Column(scale=3, min_width=240), gr.Row():
            regenerate = gr.Button(t("regenerate"), elem_id=f"regenerate_{key}", min_width=100)
            undo = gr.Button(t("undo"), elem_id=f"undo_{key}", min_width=56)
            clear = gr.Button(t("clear"), elem_id=f"clear_{key}", min_width=56)
    unsupported = engine.unsupported_settings()
    thinking = _setting_control("enable_thinking", defaults.enable_thinking, f"thinking_{key}", unsupported)
    with gr.Accordion(t("advanced"), open=False, elem_id=f"advanced_{key}"):
        controls = [_setting_control(name, getattr(defaults, name), f"setting_{name}_{key}", unsupported)
                    for name in names]
    if spec.examples:
        gr.Examples(examples=[[example] for example in spec.examples], inputs=[box], label=t("examples"),
                    cache_examples=False)

    model_slot = {"concurrency_id": MODEL_CONCURRENCY_ID, "concurrency_limit": generation_limit}
    for trigger in (box.submit, send.click):
        trigger(tab.add_user_turn, [box, session], [session, chatbot, box], api_visibility="private").success(
            tab.respond, [session, thinking, *controls], [session, chatbot, box], api_visibility="private",
            **model_slot).then(tab.unlock, None, [box], api_visibility="private")
    # Not queued: a queue full of other visitors' requests must not keep anyone from stopping their own reply.
    stop.click(tab.stop, [session], None, queue=False, api_visibility="private")
    regenerate.click(tab.prepare_regenerate, [session], [session, chatbot, box], api_visibility="private").success(
        tab.respond, [session, thinking, *controls], [session, chatbot, box], api_visibility="private",
        **model_slot).then(tab.unlock, None, [box], api_visibility="private")
    undo.click(tab.undo, [session], [session, chatbot, box], api_visibility="private")
    clear.click(tab.clear, [session], [session, chatbot, box], api_visibility="private")


def _status_markdown(engine) -> str:
    status = engine.status()
    if status.state == "ready":
        warnings = [f"⚠️ {warning}" for warning in status.details.get("warnings", ())]
        return " · ".join([f"🟢 **Ready** · {status.message}", *warnings])
    if status.state == "error":
        return f"🔴 **Model not available** — {status.message}"
    return f"⏳ **Loading** {status.message}"


def build_demo(engine, *, generation_limit: int = 1, queue_size: int | None = None,
               update_interval_s: float = UPDATE_INTERVAL_S, examples: dict[str, tuple[dict, ...]] | None = None,
               queue_share: QueueShare | None = None) -> gr.Blocks:
    """The page, queued: at most ``generation_limit`` replies at once, ``queue_size`` requests waiting, each
    session and visitor's share of them bounded by ``queue_share``; a streaming reply is sent at most every
    ``update_interval_s``."""
    examples = examples or {}
    tabs = [
        TabSpec("image", "tab_image", "input_image", ("image",), "single", examples.get("image", ())),
        TabSpec("multi-image", "tab_multi", "input_multi", ("image",), "multiple", examples.get("multi-image", ())),
        # animated GIF, WebP and PNG play as short videos; a still image gets a message pointing to the Image tab
        TabSpec("video", "tab_video", "input_video", ("video", ".gif", ".webp", ".png", ".apng"), "single",
                examples.get("video", ())),
    ]
    assert [tab.modality for tab in tabs] == list(MODALITIES)
    demo = gr.Blocks(title="MiniCPM-V 4.6", delete_cache=(3600, 24 * 3600))
    pacer = QueuePacer(demo)

    def refusal(request: gr.Request | None) -> str | None:
        if queue_share is None or request is None or request.request is None:
            return None
        return queue_share.refusal(demo, MODEL_CONCURRENCY_ID, request.session_hash, request.request.scope)

    with demo:
        gr.Markdown(t("header"), elem_id="header")
        status = gr.Markdown(_status_markdown(engine), elem_id="model_status")
        timer = gr.Timer(1.0)

        def refresh_status():
            return _status_markdown(engine), gr.Timer(active=engine.status().state == "loading")

        timer.tick(refresh_status, None, [status, timer], api_visibility="private", queue=False,
                   show_progress="hidden")
        demo.load(refresh_status, None, [status, timer], api_visibility="private", queue=False,
                  show_progress="hidden")
        for spec in tabs:
            with gr.Tab(t(spec.title_key), id=spec.modality, elem_id=f"tab_{spec.modality.replace('-', '_')}"):
                _build_tab(engine, spec, generation_limit, pacer, update_interval_s, refusal)
        api.add_chat_endpoint(engine, pacer, concurrency_id=MODEL_CONCURRENCY_ID, concurrency_limit=generation_limit,
                              update_interval_s=update_interval_s)
    demo.queue(max_size=queue_size, default_concurrency_limit=generation_limit)
    pacer.settle()
    return demo
