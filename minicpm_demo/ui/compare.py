"""The Compare tab: one question and its media answered under two settings side by side (16x vs 4x by default,
either side editable, thinking on or off), each reply streamed with its stats, and a line saying the difference.

On one device the two runs take turns: B starts when A has ended (the model answers one request at a time). With
``--compare-model`` each side also picks its checkpoint (--model's or the second one), both loaded in this process.
"""

from __future__ import annotations

import threading
from contextlib import closing

import gradio as gr

from minicpm_demo.chat import Attachment, Conversation
from minicpm_demo.media import detect_kind
from minicpm_demo.phrases import error_in, said_in
from minicpm_demo.session import UPDATE_INTERVAL_S, stream_reply
from minicpm_demo.settings import Settings
from minicpm_demo.ui.controls import setting_control
from minicpm_demo.ui.errors import USER_ERRORS
from minicpm_demo.ui.feedback import notice, question_in
from minicpm_demo.ui.i18n import language, say, t
from minicpm_demo.ui.render import CHATBOT, to_chatbot

SIDES = ("a", "b")
DEFAULTS = {"a": {"downsample_mode": "16x"}, "b": {"downsample_mode": "4x"}}
COMPARED = ("system_prompt", "downsample_mode", "max_slice_nums", "max_num_frames", "stack_frames", "enable_thinking",
            "max_new_tokens")
VIDEO_ONLY = ("max_num_frames", "stack_frames")


def verdict(a: dict, b: dict, lang: str) -> str:
    """One line: how B's reply differs from A's in visual tokens, prompt tokens, time to first token and speed."""
    def change(name: str) -> str:
        first, second = a.get(name) or 0, b.get(name) or 0
        return f"{second / first:.2f}×" if first else "–"

    return say("compare.verdict", lang, visual=change("visual_tokens"), prompt=change("prompt_tokens"),
               ttft=change("ttft_s"), speed=change("tokens_per_s"))


def _modality(files: list[str]) -> str:
    kinds = {detect_kind(path) for path in files}
    if "video" in kinds:
        return "video"
    return "multi-image" if len(files) > 1 else "image"


class CompareTab:
    def __init__(self, engine, pacer, update_interval_s: float = UPDATE_INTERVAL_S,
                 refusal=lambda request: None, compare_engine=None):
        self.engine, self.pacer, self.update_interval_s = engine, pacer, update_interval_s
        # each checkpoint a side may run, by the name its model menu shows
        self.engines = {model_name(engine): engine}
        if compare_engine is not None:
            self.engines[model_name(compare_engine)] = compare_engine
        self.refusal = refusal  # the visitor's share of the queue, as in the chat tabs (ui/fairness.py)

    def run(self, request: gr.Request, message: dict | None, *values):
        """Both replies, A then B, streamed; then the verdict."""
        lang = language(request)
        text, files = question_in(message)
        if not text and not files:
            notice(say("empty", lang), lang)
            yield gr.skip(), gr.skip(), gr.skip()
            return
        if (refused := self.refusal(request)) is not None:  # another tab of the same visitor holds the queue
            notice(said_in(refused, lang), lang)
            yield gr.skip(), gr.skip(), gr.skip()
            return
        modality = _modality(files)
        kind = "video" if modality == "video" else "image"
        question = Conversation().ask(text, tuple(Attachment(path, kind) for path in files))
        shown = {"a": [], "b": []}
        stats = {}
        models = values[len(SIDES) * len(COMPARED):]  # the sides' checkpoints, with --compare-model
        for index, side in enumerate(SIDES):
            chosen = dict(zip(COMPARED, values[index * len(COMPARED):(index + 1) * len(COMPARED)]))
            engine = self.engines.get(models[index], self.engine) if models else self.engine
            # a video's frames are not sliced (the card's video default); images have no frames
            unused = ("max_slice_nums",) if modality == "video" else VIDEO_ONLY
            chosen = {name: value for name, value in chosen.items() if name not in unused}
            try:
                engine.request_limits.check(text)
                settings = Settings.for_modality(modality, do_sample=False, **chosen)
                replies = self.pacer.paced(stream_reply(engine, question, settings, threading.Event(),
                                                        self.update_interval_s))
                with closing(replies):
                    for conversation in replies:
                        streaming = conversation.turns[-1].stats is None
                        shown[side] = to_chatbot(conversation, streaming, lang)
                        yield shown["a"], shown["b"], say("compare.waiting", lang) if side == "a" else gr.skip()
                stats[side] = conversation.turns[-1].stats or {}
            except USER_ERRORS as error:
                notice(error_in(error, lang), lang)
                yield gr.skip(), gr.skip(), ""
                return
        yield shown["a"], shown["b"], verdict(stats["a"], stats["b"], lang)


def model_name(engine) -> str:
    spec = getattr(engine, "spec", None)
    return getattr(spec, "model_id", None) or getattr(spec, "served_model", None) or "model"


def build_compare_tab(engine, pacer, update_interval_s: float, concurrency_id: str, concurrency_limit: int,
                      refusal=lambda request: None, compare_engine=None) -> None:
    """The tab's components and events; its replies take the model's queue slot, and the visitor's share of the
    queue, as the chat tabs' do. With ``compare_engine`` (--compare-model), A runs --model and B the second
    checkpoint, both at 16x, each side's menu able to change it."""
    tab = CompareTab(engine, pacer, update_interval_s, refusal, compare_engine)
    defaults = dict(DEFAULTS)
    if compare_engine is not None:  # the checkpoints are what is compared: the same compression on both sides
        defaults["b"] = {"downsample_mode": "16x"}
    models = []
    model_slot = {"concurrency_id": concurrency_id, "concurrency_limit": concurrency_limit,
                  "api_visibility": "private", "show_progress": "minimal"}
    gr.Markdown(t("compare.intro"))
    box = gr.MultimodalTextbox(label=t("compare.input"), placeholder=t("placeholder"), file_types=None,
                               file_count="multiple", submit_btn=False, elem_id="input_compare")
    controls, chatbots = [], {}
    unsupported = engine.unsupported_settings()
    with gr.Row():
        for side in SIDES:
            with gr.Column(min_width=300):
                chatbots[side] = gr.Chatbot(show_label=True, label=t(f"compare.{side}"), height=360,
                                            elem_id=f"chatbot_compare_{side}", buttons=["copy"],
                                            **CHATBOT)
                if compare_engine is not None:
                    names = list(tab.engines)
                    models.append(gr.Dropdown(names, value=names[SIDES.index(side)], label=t("compare.model"),
                                              elem_id=f"compare_model_{side}"))
                with gr.Accordion(t("compare.settings"), open=False, elem_id=f"compare_settings_{side}"):
                    for name in COMPARED:
                        value = defaults[side].get(name, getattr(Settings.for_modality(
                            "video" if name in VIDEO_ONLY else "image"), name))
                        controls.append(setting_control(name, value, f"compare_{name}_{side}", unsupported))
    with gr.Row():
        run = gr.Button(t("compare.run"), variant="primary", elem_id="run_compare")
        stop = gr.Button(t("stop"), variant="stop", elem_id="stop_compare")
    outcome = gr.Markdown("", elem_id="compare_verdict")
    event = run.click(tab.run, [box, *controls, *models], [chatbots["a"], chatbots["b"], outcome], **model_slot)
    stop.click(None, None, None, cancels=[event])  # the replies' generators close, which stops the model
