"""One control per setting, built from the setting's own metadata (label, bounds, choices) in the page's language."""

from __future__ import annotations

from typing import Any

import gradio as gr

from minicpm_demo.settings import Settings
from minicpm_demo.ui.i18n import t, t_made


def setting_control(name: str, default: Any, elem_id: str, unsupported: dict[str, str]):
    meta = Settings.field(name).metadata
    common = {"label": t(f"setting.{name}.label"), "info": t(f"setting.{name}.info"), "value": default,
              "interactive": name not in unsupported, "elem_id": elem_id}
    if name in unsupported:  # shown, greyed out, with the reason: never silently ignored
        # the reason names a model server's API: English in both
        common["info"] = t_made(f"not_applied.{name}", f"⚠️ Not applied: {unsupported[name]}.",
                                f"⚠️ 未生效：{unsupported[name]}。")
    if meta["choices"]:
        return gr.Radio(choices=list(meta["choices"]), **common)
    if isinstance(default, bool):
        return gr.Checkbox(**common)
    if isinstance(default, str):  # no max_length: a longer text pasted is refused with the bound, not cut short
        return gr.Textbox(lines=3, max_lines=12, **common)
    return gr.Slider(minimum=meta["minimum"], maximum=meta["maximum"], step=meta["step"], **common)
