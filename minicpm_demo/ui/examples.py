"""A tab's examples, one set per language, the browser's shown: an example's question is text for the box."""

from __future__ import annotations

from typing import Any

import gradio as gr

from minicpm_demo.ui.i18n import language, t

LANGUAGES = ("en", "zh")


def examples_by_language(key: str, examples: tuple[dict[str, Any], ...], box):
    """The examples (each {"text", "text_zh", "files"}) for ``box``: the ``gr.Examples`` of each language, the
    columns that hold them, and the page-load function that shows the browser's one."""
    sets, columns = [], []
    for lang in LANGUAGES if examples else ():
        with gr.Column(visible=lang == "en", elem_id=f"examples_{key}_{lang}") as column:
            samples = [[{"text": example["text" if lang == "en" else f"text_{lang}"], "files": example["files"]}]
                       for example in examples]
            sets.append(gr.Examples(examples=samples, inputs=[box], label=t("examples"), cache_examples=False))
        columns.append(column)

    def shown_for(request: gr.Request):
        return [gr.Column(visible=lang == language(request)) for lang in LANGUAGES]

    return sets, columns, shown_for
