"""The status line's words, from an engine's status, in English and Chinese (no browser needed)."""

from __future__ import annotations

from types import SimpleNamespace

from minicpm_demo.engine import EngineStatus
from minicpm_demo.ui.i18n import language
from minicpm_demo.ui.status import status_html


def test_ready_names_the_model_quantization_and_device_in_words_not_a_path():
    ready = EngineStatus("ready", "", {"model": "/home/me/checkpoints/MiniCPM-V-4.6-GPTQ", "quantization": "GPTQ 4-bit",
                                       "device": "cuda:0", "decoding": "eager", "warnings": ["fla not installed"]})
    line = status_html(ready, "en")
    assert line.startswith('<span class="state ready">Ready</span> — MiniCPM-V-4.6-GPTQ, GPTQ 4-bit, on the GPU')
    assert "/home/me" not in line and '<span class="state warning">Warning</span>: fla not installed' in line
    assert "就绪" in status_html(ready, "zh") and "运行于 GPU" in status_html(ready, "zh")


def test_loading_counts_its_steps_and_an_error_keeps_the_loaders_message():
    loading = EngineStatus("loading", "", {"model": "openbmb/MiniCPM-V-4.6-GPTQ", "step": 2, "steps": 3,
                                           "doing": "Loading the processor"})
    assert status_html(loading, "en") == ('<span class="state loading">Loading the model</span> MiniCPM-V-4.6-GPTQ'
                                          " — step 2 of 3: Loading the processor")
    assert status_html(loading, "zh").endswith("第 2 步，共 3 步")
    failed = EngineStatus("error", "Weights are unreachable: pass `--model DIR` <offline>")
    assert status_html(failed, "en") == ('<span class="state error">The model is not available</span> — Weights are '
                                         "unreachable: pass <code>--model DIR</code> &lt;offline&gt;")


def test_the_language_follows_the_browsers_first_choice():
    asks = [("zh-CN,zh;q=0.9,en;q=0.8", "zh"), ("en-US,en;q=0.9,zh;q=0.8", "en"), ("", "en"), ("zh-TW", "zh")]
    for header, expected in asks:
        assert language(SimpleNamespace(headers={"accept-language": header})) == expected, header
    assert language(None) == "en"
