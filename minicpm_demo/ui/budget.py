"""The line under a tab's input box that says what the question will cost before it is sent (tokens, frames,
slices, the time to the first token, GPU time on ZeroGPU), and "Fit it" when it would be refused."""

from __future__ import annotations

import html
from dataclasses import fields

import gradio as gr

from minicpm_demo.chat import Attachment
from minicpm_demo.engine.memory import gigabytes
from minicpm_demo.engine.preflight import Preflight, next_step, preflight_apart
from minicpm_demo.phrases import error_in, said_in
from minicpm_demo.session import ChatSession
from minicpm_demo.settings import Settings
from minicpm_demo.ui.errors import USER_ERRORS
from minicpm_demo.ui.feedback import question_in
from minicpm_demo.ui.i18n import say, t
from minicpm_demo.ui.preflight_api import CONCURRENCY_ID

QUIET = {"api_visibility": "private", "show_progress": "hidden", "trigger_mode": "always_last",
         "concurrency_id": CONCURRENCY_ID, "concurrency_limit": 1}
MOST_FIT_STEPS = 8  # 4x→16x, slices halved from 36, no stacking, frames halved from 256: fewer in practice


def budget_html(found: Preflight, lang: str) -> str:
    parts = [say("budget.tokens", lang, visual=found.visual_tokens, prompt=found.prompt_tokens)]
    if found.frames:
        seconds = sorted(set(found.frames))
        gap = (seconds[-1] - seconds[0]) / (len(seconds) - 1) if len(seconds) > 1 else 0
        parts.append(say("budget.frames", lang, n=len(seconds), gap=f"{gap:.1f}"))
    if any(found.slices):
        parts.append(say("budget.slices", lang, slices=" + ".join(map(str, found.slices))))
    if found.estimated_ttft_s is not None:
        seconds = found.estimated_ttft_s
        parts.append(say("budget.ttft", lang, s=f"{seconds:.1f}" if seconds >= 1 else f"{seconds:.2f}",
                         source=say(f"budget.source.{found.estimate_source}", lang)))
    if found.gpu_seconds is not None:
        parts.append(say("budget.gpu", lang, s=found.gpu_seconds))
    if found.estimated_memory_mb is not None:
        memory = gigabytes(found.estimated_memory_mb * 2**20)
        parts.append(say("budget.memory", lang, total=memory) if found.free_memory_mb is None else
                     say("budget.memory_free", lang, total=memory, free=gigabytes(found.free_memory_mb * 2**20)))
    line = html.escape(" · ".join(parts))
    if found.fits:
        return f'<span class="budget fits" title="{line}">{line}</span>'
    return (f'<span class="budget over">{line}</span><br>'
            f'<span class="budget over">{html.escape(str(said_in(found.advice, lang)))}</span>')


class BudgetLine:
    def __init__(self, engine, modality: str, setting_names: list[str], key: str):
        self.engine, self.modality, self.setting_names = engine, modality, setting_names
        with gr.Row(equal_height=True, elem_id=f"budget_row_{key}"):
            self.line = gr.HTML("", elem_id=f"budget_{key}", padding=False)
            self.fit = gr.Button(t("fit_it"), visible=False, size="sm", scale=0, min_width=90, elem_id=f"fit_{key}")

    def _request(self, message: dict | None, session: ChatSession, thinking: bool, values: tuple):
        """The messages and settings the question in the box would be sent with, or None when there is none."""
        text, files = question_in(message)
        if session.answering or not (text or files or session.conversation.turns):
            return None
        kind = "video" if self.modality == "video" else "image"
        conversation = session.conversation.ask(text, tuple(Attachment(path, kind) for path in files))
        chosen = dict(zip(self.setting_names, values), enable_thinking=thinking)
        settings = Settings.for_modality(self.modality, **chosen)
        return conversation.to_messages(settings.system_prompt), settings

    def _measured(self, messages, settings) -> Preflight:
        return preflight_apart(self.engine, messages, settings, self.modality)

    def show(self, message, session: ChatSession, thinking: bool, *values):
        lang = session.language  # the page load set it (ui/history.py), as every question does
        try:
            request_ = self._request(message, session, thinking, values)  # a setting refused: said here too
            if request_ is None:
                return ("", gr.Button(visible=False)) if not session.answering else (gr.skip(), gr.skip())
            found = self._measured(*request_)
        except USER_ERRORS as error:  # said where the user looks, as the toast would on Send
            return f'<span class="budget over">{html.escape(error_in(error, lang))}</span>', gr.Button(visible=False)
        return budget_html(found, lang), gr.Button(visible=not found.fits)

    def fit_it(self, message, session: ChatSession, thinking: bool, *values):
        """Step the settings down until the request fits, and set the controls to them."""
        lang = session.language
        try:
            request_ = self._request(message, session, thinking, values)
            if request_ is None:
                return gr.skip(), gr.skip(), *(gr.skip() for _ in values)
            messages, settings = request_
            found = self._measured(messages, settings)
            for _ in range(MOST_FIT_STEPS):
                step = None if found.fits else next_step(settings, self.modality)
                if step is None:
                    break
                settings = step[0]
                found = self._measured(messages, settings)
        except USER_ERRORS as error:
            return (f'<span class="budget over">{html.escape(error_in(error, lang))}</span>', gr.Button(visible=False),
                    *(gr.skip() for _ in values))
        chosen = {field.name: getattr(settings, field.name) for field in fields(Settings)}
        return (budget_html(found, lang), gr.Button(visible=not found.fits),
                *(chosen[name] for name in self.setting_names))

    def wire(self, box, session, thinking, controls) -> None:
        self.inputs = [box, session, thinking, *controls]
        for trigger in (box.change, thinking.change, *(control.change for control in controls)):
            trigger(self.show, self.inputs, [self.line, self.fit], **QUIET)
        self.fit.click(self.fit_it, self.inputs, [self.line, self.fit, *controls], **QUIET)

    def after(self, event) -> None:
        """Measured again once ``event`` (a reply) ends: the box changed while it ran, and the chat grew."""
        event.then(self.show, self.inputs, [self.line, self.fit], **QUIET)
