"""The page: a header with live model status, one chat tab per modality, and the ``/chat`` API."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, fields
from typing import Any

import gradio as gr

from minicpm_demo.chat import Attachment, Conversation
from minicpm_demo.engine.waiting import check_can_wait
from minicpm_demo.media import MediaError, is_pdf
from minicpm_demo.phrases import error_in, said_in
from minicpm_demo.seen import SeenPictures
from minicpm_demo.session import UPDATE_INTERVAL_S, ChatSession, stream_reply
from minicpm_demo.settings import MODALITIES, Settings
from minicpm_demo.ui import api
from minicpm_demo.ui.budget import BudgetLine
from minicpm_demo.ui.capture import capture_controls
from minicpm_demo.ui.compare import build_compare_tab
from minicpm_demo.ui.controls import setting_control
from minicpm_demo.ui.endpoints import add_endpoints
from minicpm_demo.ui.errors import USER_ERRORS
from minicpm_demo.ui.examples import examples_by_language
from minicpm_demo.ui.fairness import QueueShare, whole_queue
from minicpm_demo.ui.feedback import UNCHANGED, answering_buttons, as_input, busy, idle_buttons, notice, question_in
from minicpm_demo.ui.history import chats_menu
from minicpm_demo.ui.i18n import language, say, t
from minicpm_demo.ui.pacing import QueuePacer
from minicpm_demo.ui.render import CHATBOT, question_at, to_chatbot
from minicpm_demo.ui.sign_in import scope_of
from minicpm_demo.ui.status import status_line

log = logging.getLogger(__name__)

MODEL_CONCURRENCY_ID = "model"
Refusal = Callable[[gr.Request | None], str | None]  # why a request may not join the model's queue now, or None
VIDEO_ONLY_FIELDS = ("max_num_frames", "stack_frames")
# Each tab's input box, by elem_id, and the kind of file its picker offers (ui/style.py's PICKER_TYPES).
PICKERS = {f"input_{modality.replace('-', '_')}": "video" if modality == "video" else "image"
           for modality in MODALITIES}


@dataclass(frozen=True)
class TabSpec:
    modality: str
    title_key: str
    input_key: str
    file_types: tuple[str, ...]
    file_count: str
    examples: tuple[dict[str, Any], ...] = ()


class ChatTab:
    """Event handlers of one tab; everything per user lives in the ``ChatSession`` state, never here."""

    def __init__(self, engine, spec: TabSpec, setting_names: list[str], pacer: QueuePacer,
                 update_interval_s: float = UPDATE_INTERVAL_S, refusal: Refusal = lambda request: None,
                 seen: SeenPictures | None = None):
        self.refusal = refusal
        self.seen = seen  # where the pictures of what the model saw are kept, for the reply's filmstrip
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
        """The question in the box as the conversation's next turn; when it cannot be sent, the user is told why
        and the question stays in the box, editable (nothing is pending, so ``respond`` does nothing)."""
        session.language = language(request)
        text, files = question_in(message)
        if not text and not files:
            notice(say("empty", session.language), session.language)
            return session, *UNCHANGED
        if busy(session):
            return session, *UNCHANGED
        if (refused := self.refusal(request)) is not None:  # another tab of the same visitor may hold the queue
            notice(said_in(refused, session.language), session.language)
            return session, *UNCHANGED
        try:
            check_can_wait(self.engine)  # refuse now, while the question is still in the input box
            conversation = session.conversation
            self.engine.request_limits.check(text, len(conversation.turns), conversation.text_chars)
        except USER_ERRORS as error:
            notice(error_in(error, session.language), session.language)
            return session, *UNCHANGED
        one_picture = len(files) == 1 and not is_pdf(files[0])  # a PDF gives its pages
        if self.spec.modality == "multi-image" and one_picture and not session.conversation.turns:
            notice(say("one_image", session.language), session.language, seconds=10)
        kind = "video" if self.spec.modality == "video" else "image"
        session.conversation = session.conversation.ask(text, tuple(Attachment(path, kind) for path in files))
        session.new_request()
        # The box stays editable: the next question can be typed (not sent) while this one is answered.
        shown = to_chatbot(session.conversation, lang=session.language)
        return session, shown, gr.MultimodalTextbox(value=None), *answering_buttons()

    def respond(self, session: ChatSession, thinking: bool, *values):
        before = session.conversation
        if not before.pending:  # the question was not sent (see add_user_turn): the page stays as it is
            yield session, gr.skip(), gr.skip()
            return
        stop_event = session.stop_event
        try:
            yield from self._answer(session, before, stop_event, thinking, values)
        finally:  # answered, stopped, failed, or its page gone: the next question may be sent
            session.finished(stop_event)

    def _answer(self, session: ChatSession, before: Conversation, stop_event, thinking: bool, values: tuple):
        try:
            settings = self.settings(thinking, values)
            keep_seen = None if self.seen is None else (lambda seen: self.seen.keep(session, seen))
            replies = self.pacer.paced(stream_reply(self.engine, before, settings, stop_event,
                                                    self.update_interval_s, keep_seen=keep_seen,
                                                    reuse_key=session.reuse_key))
            shown = None
            with closing(replies):  # a page that goes away closes this handler, and the reply with it
                for conversation in replies:
                    if session.superseded(stop_event):  # cleared, or another chat opened: not this reply's page
                        return
                    if conversation is shown:  # nothing new yet: the page keeps what it shows
                        yield session, gr.skip(), gr.skip()
                        continue
                    session.conversation = shown = conversation
                    streaming = conversation.turns[-1].stats is None
                    yield session, to_chatbot(conversation, streaming, session.language), gr.skip()
            if not session.superseded(stop_event):
                yield session, to_chatbot(session.conversation, lang=session.language), gr.skip()
        except Exception as error:
            if session.superseded(stop_event):
                return
            if isinstance(error, USER_ERRORS):
                message = error_in(error, session.language)
            else:
                log.exception("reply failed")
                message = say("failed", session.language, error=f"{type(error).__name__}: {error}")
            # Roll the question back into the input box, less a file that was refused (the message names it);
            # the conversation stays as it was before it.
            session.conversation, question = before.undo()
            refused_file = error.path if isinstance(error, MediaError) else None
            for attachment in question.attachments:  # an earlier turn's file was fine then: it stays
                if attachment.path == refused_file:
                    api.discard_if_oversized(refused_file, attachment.kind, self.engine.limits)
            box = gr.MultimodalTextbox(value=as_input(question, refused_file))
            notice(message, session.language)
            yield session, to_chatbot(session.conversation, lang=session.language), box

    @staticmethod
    def prepare_regenerate(session: ChatSession, request: gr.Request | None = None):
        session.language = language(request)
        if busy(session):
            return session, *UNCHANGED
        if not session.conversation.turns:
            notice(say("nothing_to_regenerate", session.language), session.language)
            return session, *UNCHANGED
        session.conversation = session.conversation.for_regenerate()
        session.new_request()
        return session, to_chatbot(session.conversation, lang=session.language), gr.skip(), *answering_buttons()

    @staticmethod
    def edit(session: ChatSession, edit: gr.EditData, request: gr.Request | None = None):
        """An earlier question edited in the chat: the conversation goes back to it, asked anew."""
        session.language = language(request)
        # what the chat showed before the edit, should the edit not be taken
        shown = to_chatbot(session.conversation, lang=session.language)
        turn = question_at(session.conversation, edit.index if isinstance(edit.index, int) else -1)
        text = edit.value if isinstance(edit.value, str) else ""
        if busy(session) or turn is None or not text.strip():
            return session, shown, *UNCHANGED[1:]
        session.conversation = session.conversation.edited(turn, text.strip())
        session.new_request()
        return session, to_chatbot(session.conversation, lang=session.language), gr.skip(), *answering_buttons()

    @staticmethod
    def undo(session: ChatSession):
        if busy(session):
            return session, gr.skip(), gr.skip()
        session.conversation, removed = session.conversation.undo()
        box = gr.skip() if removed is None else as_input(removed)
        return session, to_chatbot(session.conversation, lang=session.language), box

    @staticmethod
    def clear(session: ChatSession):
        session.replace_conversation(Conversation())
        return session, [], gr.MultimodalTextbox(value=None), *idle_buttons()


def _build_tab(engine, spec: TabSpec, generation_limit: int, pacer: QueuePacer, update_interval_s: float,
               refusal: Refusal, seen: SeenPictures) -> tuple:
    defaults = Settings.for_modality(spec.modality)
    names = [f.name for f in fields(Settings) if f.name != "enable_thinking"
             and (spec.modality == "video" or f.name not in VIDEO_ONLY_FIELDS)]
    tab = ChatTab(engine, spec, names, pacer, update_interval_s, refusal, seen)
    key = spec.modality.replace("-", "_")
    # Gradio drops a browser session's state an hour after its page closes: what it kept goes with it.
    session = gr.State(ChatSession(forget=engine.forget), delete_callback=ChatSession.end)
    chatbot = gr.Chatbot(show_label=False, height=460, elem_id=f"chatbot_{key}", buttons=["copy", "copy_all"],
                         feedback_options=None, **CHATBOT, editable="user")
    box = gr.MultimodalTextbox(label=t(spec.input_key), placeholder=t("placeholder"),
                               file_types=None, file_count=spec.file_count, submit_btn=False,
                               elem_id=f"input_{key}")
    budget = BudgetLine(engine, spec.modality, names, key)  # what the question will cost, before Send
    # One line of five buttons; on a phone two lines (send/stop, then the rest), not five.
    with gr.Row():
        with gr.Column(scale=2, min_width=160), gr.Row():
            send = gr.Button(t("send"), variant="primary", elem_id=f"send_{key}", min_width=56)
            stop = gr.Button(t("stop"), variant="stop", elem_id=f"stop_{key}", min_width=56, interactive=False)
        with gr.Column(scale=3, min_width=240), gr.Row():
            regenerate = gr.Button(t("regenerate"), elem_id=f"regenerate_{key}", min_width=100)
            undo = gr.Button(t("undo"), elem_id=f"undo_{key}", min_width=56)
            clear = gr.Button(t("clear"), elem_id=f"clear_{key}", min_width=56)
    capture_controls(spec.modality, key, box, spec.file_count)
    unsupported = engine.unsupported_settings()
    thinking = setting_control("enable_thinking", defaults.enable_thinking, f"thinking_{key}", unsupported)
    with gr.Accordion(t("advanced"), open=False, elem_id=f"advanced_{key}"):
        controls = [setting_control(name, getattr(defaults, name), f"setting_{name}_{key}", unsupported)
                    for name in names]
    budget.wire(box, session, thinking, controls)
    example_sets, example_columns, examples_in = examples_by_language(key, spec.examples, box)
    reopen, saved, cleared = chats_menu(key, session, chatbot)

    # No event shows Gradio's progress overlay over the box, which stays editable while a reply streams; what
    # could not be sent is said in a toast (ui/feedback.py).
    private = {"api_visibility": "private", "show_progress": "hidden"}
    # The reply's own progress (queue position, time) shows on the chat only, never over the box.
    model_slot = {"concurrency_id": MODEL_CONCURRENCY_ID, "concurrency_limit": generation_limit,
                  "api_visibility": "private", "show_progress": "minimal", "show_progress_on": [chatbot]}
    turn_outputs = [session, chatbot, box, send, stop]

    def answered(event) -> None:  # a turn made ready by ``event`` is answered, then Send and Stop go idle
        # saved before Send comes back: a reload once Send is back finds the whole chat
        budget.after(saved(event.success(tab.respond, [session, thinking, *controls], [session, chatbot, box],
                                         **model_slot)).then(idle_buttons, None, [send, stop], **private))

    # A click on an example sends it, as a person who clicks one expects.
    for trigger in (box.submit, send.click, *(examples.load_input_event.then for examples in example_sets)):
        answered(trigger(tab.add_user_turn, [box, session], turn_outputs, **private))
    # Not queued: a queue full of other visitors' requests must not keep anyone from stopping their own reply.
    stop.click(ChatSession.stop, [session], None, queue=False, api_visibility="private")
    answered(regenerate.click(tab.prepare_regenerate, [session], turn_outputs, **private))
    # An earlier question edited in place is asked again from there (the turns after it are dropped).
    answered(chatbot.edit(tab.edit, [session], turn_outputs, **private))
    saved(undo.click(tab.undo, [session], [session, chatbot, box], **private))
    cleared(clear.click(tab.clear, [session], turn_outputs, **private))
    loads = [reopen]
    if example_columns:
        loads.append((examples_in, None, example_columns))
    return loads


def build_demo(engine, *, generation_limit: int = 1, queue_size: int | None = None,
               update_interval_s: float = UPDATE_INTERVAL_S, examples: dict[str, tuple[dict, ...]] | None = None,
               queue_share: QueueShare | None = None, compare_engine=None, mcp: bool = False,
               sign_in=None) -> gr.Blocks:
    """The page, queued: at most ``generation_limit`` replies at once, ``queue_size`` requests waiting, each
    session and visitor's share of them bounded by ``queue_share``; a streaming reply is sent at most every
    ``update_interval_s``. ``mcp``: also the MCP server's tools (ui/mcp_tools.py); ``sign_in``: visitors sign in
    with Hugging Face (ui/sign_in.py)."""
    examples = examples or {}
    tabs = [
        TabSpec("image", "tab_image", "input_image", ("image",), "single", examples.get("image", ())),
        TabSpec("multi-image", "tab_multi", "input_multi", ("image",), "multiple", examples.get("multi-image", ())),
        # animated GIF, WebP and PNG play as short videos; a still image gets a message pointing to the Image tab
        TabSpec("video", "tab_video", "input_video", ("video",), "single", examples.get("video", ())),
    ]
    assert [tab.modality for tab in tabs] == list(MODALITIES)
    demo = gr.Blocks(title="MiniCPM-V 4.6", delete_cache=(3600, 24 * 3600))
    pacer, seen = QueuePacer(demo), SeenPictures()

    def refusal(request: gr.Request | None) -> str | None:
        scope = scope_of(request)
        if sign_in is not None and (problem := sign_in.refusal(scope)) is not None:
            return problem
        return None if queue_share is None or scope is None else \
            queue_share.refusal(demo, MODEL_CONCURRENCY_ID, request.session_hash, scope)

    with demo:
        gr.Markdown(t("header"), elem_id="header")
        status_line(demo, engine, sign_in)
        for spec in tabs:
            with gr.Tab(t(spec.title_key), id=spec.modality, elem_id=f"tab_{spec.modality.replace('-', '_')}"):
                loads = _build_tab(engine, spec, generation_limit, pacer, update_interval_s, refusal, seen)
            for load in loads:  # the chat open before a reload; the examples in the browser's language
                demo.load(*load, api_visibility="private", show_progress="hidden")
        with gr.Tab(t("tab_compare"), id="compare", elem_id="tab_compare"):
            build_compare_tab(engine, pacer, update_interval_s, MODEL_CONCURRENCY_ID, generation_limit, refusal,
                              compare_engine)
        add_endpoints(engine, demo, pacer, concurrency_id=MODEL_CONCURRENCY_ID, concurrency_limit=generation_limit,
                      update_interval_s=update_interval_s, mcp=mcp)
    demo.queue(max_size=whole_queue(MODEL_CONCURRENCY_ID, queue_size), default_concurrency_limit=generation_limit)
    pacer.settle()
    return demo
