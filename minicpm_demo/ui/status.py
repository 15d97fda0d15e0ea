"""The status line above the tabs, for people: the model in words, what loading is doing (step x of y), and its
state in a coloured word as well as a dot, so that it reads right without colour or an emoji font."""

from __future__ import annotations

import html
from pathlib import PurePath

import gradio as gr

from minicpm_demo.engine import EngineStatus
from minicpm_demo.ui.gradio_patches import sign_in_button_reads_the_session
from minicpm_demo.ui.i18n import language, say
from minicpm_demo.ui.sign_in import scope_of, signed_in

DEVICES = {"cpu": "CPU", "cuda": "GPU", "mps": "Apple GPU"}


def _model_words(details: dict) -> str:
    """``openbmb/MiniCPM-V-4.6-GPTQ`` or a local folder, by its last part; the quantization and device after."""
    name = PurePath(str(details.get("model", ""))).name or str(details.get("model", ""))
    return html.escape(name)


def status_html(status: EngineStatus, lang: str) -> str:
    details = status.details
    if status.state == "ready":
        words = [_model_words(details)]
        if details.get("quantization"):
            words.append(html.escape(str(details["quantization"])))
        if details.get("device"):
            device = str(details["device"]).split(":")[0]
            words.append(say("status.on", lang, device=DEVICES.get(device, device)))
        elif details.get("server"):  # a model server: its kind and address
            words.append(html.escape(f"{details['server']} · {details.get('api_base', '')}"))
        if details.get("decoding", "eager") != "eager":
            words.append(html.escape(str(details["decoding"])))
        line = f'<span class="state ready">{say("status.ready", lang)}</span> — {", ".join(words)}'
        for warning in details.get("warnings", ()):
            line += (f'<br><span class="state warning">{say("status.warning", lang)}</span>: '
                     f'{html.escape(str(warning))}')
        return line
    if status.state == "error":
        return f'<span class="state error">{say("status.error", lang)}</span> — {_markdown_code(status.message)}'
    line = f'<span class="state loading">{say("status.loading", lang)}</span>'
    if details.get("model"):
        line += f" {_model_words(details)}"
    if details.get("steps"):
        step = min(max(details.get("step", 0), 1), details["steps"])
        line += f" — {say('status.step', lang, step=step, steps=details['steps'])}"
        if lang == "en" and details.get("doing"):  # the loader's own words are English
            line += f": {html.escape(str(details['doing']))}"
    elif status.message:
        line += f" — {_markdown_code(status.message)}"
    return line


def _markdown_code(text: str) -> str:
    """``text`` escaped, its `code` spans kept as code (the loader's messages name flags and paths that way)."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{part}</code>" if index % 2 else part for index, part in enumerate(parts))


def status_line(demo, engine, sign_in=None) -> None:
    """The status line, in the browser's language, refreshed every second while the model loads; with
    ``sign_in`` (ui/sign_in.py), a Sign in button beside it and the signed-in visitor's name in it."""
    with gr.Row(equal_height=True):
        status = gr.HTML(status_html(engine.status(), "en"), elem_id="model_status")
        if sign_in is not None:
            sign_in_button_reads_the_session()
            gr.LoginButton(elem_id="sign_in", size="md", scale=0, min_width=270)  # its label on one line
    timer = gr.Timer(1.0)

    def refresh_status(request: gr.Request):
        state = engine.status()
        lang = language(request)
        line = status_html(state, lang)
        profile = signed_in(scope_of(request)) if sign_in else None
        if profile is not None:
            line += f"<br>{say('status.signed_in', lang, user=html.escape(str(profile.get('preferred_username'))))}"
        return line, gr.Timer(active=state.state == "loading")

    quiet = {"api_visibility": "private", "queue": False, "show_progress": "hidden"}
    timer.tick(refresh_status, None, [status, timer], **quiet)
    demo.load(refresh_status, None, [status, timer], **quiet)
