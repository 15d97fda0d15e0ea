"""The Compare tab: one question under two settings, both replies streamed with their stats, and the verdict."""

from __future__ import annotations

import re
from types import SimpleNamespace

from helpers import ARTIFACTS, open_page, require_chromium

from minicpm_demo.settings import RequestLimits
from minicpm_demo.ui import compare
from minicpm_demo.ui.compare import verdict

require_chromium()
from playwright.sync_api import expect  # noqa: E402


def test_the_verdict_says_b_against_a():
    a = {"visual_tokens": 100, "prompt_tokens": 150, "ttft_s": 0.5, "tokens_per_s": 20.0}
    b = {"visual_tokens": 400, "prompt_tokens": 450, "ttft_s": 1.0, "tokens_per_s": 10.0}
    assert verdict(a, b, "en") == ("B against A: visual tokens 4.00×, prompt tokens 3.00×, time to first token "
                                   "2.00×, tokens/s 0.50×.")
    assert verdict({}, b, "en").count("–") == 4


def test_each_side_is_asked_with_its_own_system_prompt(monkeypatch):
    asked = []

    def answered(engine, question, settings, stop, interval):
        asked.append(settings.system_prompt)
        yield question.answer("Hi.", stats={"prompt_tokens": 10 + len(settings.system_prompt), "generated_tokens": 1,
                                            "ttft_s": 0.1, "tokens_per_s": 0.0})

    monkeypatch.setattr(compare, "stream_reply", answered)
    engine = SimpleNamespace(request_limits=RequestLimits())
    pacer = SimpleNamespace(paced=lambda replies: replies)
    prompts = {"a": "", "b": "Answer in French."}
    assert compare.COMPARED[0] == "system_prompt"
    values = [value for side in compare.SIDES for value in (prompts[side], "16x", 9, 8, 1, False, 256)]
    *_, last = compare.CompareTab(engine, pacer).run(None, {"text": "Hello?", "files": []}, *values)
    assert asked == ["", "Answer in French."] and "prompt tokens 2.70×" in last[2]


def test_compare_streams_two_replies_with_their_stats_and_a_verdict(browser, app, red_image):
    ARTIFACTS.mkdir(exist_ok=True)
    page = open_page(browser, app["url"])
    page.get_by_role("tab", name="Compare", exact=True).click()
    page.locator("#input_compare textarea").fill("What colour is it?")
    page.locator("#input_compare input[type=file]").set_input_files(str(red_image))
    expect(page.locator("#input_compare img").first).to_be_visible(timeout=30_000)
    for side in ("a", "b"):  # short replies
        page.locator(f"#compare_settings_{side}").get_by_text("Settings").first.click()
        page.locator(f"#compare_max_new_tokens_{side} input[type=number]").fill("8")
        page.locator(f"#compare_max_new_tokens_{side} input[type=number]").press("Enter")
    page.locator("#run_compare").click()
    for side in ("a", "b"):
        expect(page.locator(f"#chatbot_compare_{side} .bot").last).to_contain_text("tokens/s", timeout=120_000)
    verdict_line = page.locator("#compare_verdict")
    expect(verdict_line).to_contain_text("B against A: visual tokens", timeout=30_000)
    ratio = float(re.search(r"visual tokens ([\d.]+)×", verdict_line.inner_text()).group(1))
    assert 3.5 < ratio <= 4.5, "16x against 4x: about four times the visual tokens"
    a, b = (int(re.search(r"visual tokens (\d+)", page.locator(f"#chatbot_compare_{side} .bot").last.inner_text())
                .group(1)) for side in ("a", "b"))
    assert abs(b / a - ratio) < 0.01
    page.screenshot(path=str(ARTIFACTS / "page-compare.png"), full_page=True)
    page.close()


def test_with_a_compare_model_each_side_runs_its_own_checkpoint(tiny_checkpoint, tiny_gptq_checkpoint, red_image):
    import app as app_module
    from minicpm_demo.config import parse_config

    config = parse_config(["--model", str(tiny_checkpoint), "--compare-model", str(tiny_gptq_checkpoint),
                           "--device", "cpu"], environ={})
    demo, engine = app_module.create_app(config)
    second = demo.compare_engine
    assert second is not None and second.spec.model_id == str(tiny_gptq_checkpoint)
    assert engine.wait_until_loaded(timeout=300).state == "ready"
    assert second.wait_until_loaded(timeout=300).state == "ready"
    tab = compare.CompareTab(engine, SimpleNamespace(paced=lambda replies: replies), compare_engine=second)
    settings = [value for _ in compare.SIDES for value in ("", "16x", 1, 8, 1, False, 4)]
    *_, last = tab.run(None, {"text": "Hi", "files": [str(red_image)]}, *settings,
                       str(tiny_checkpoint), str(tiny_gptq_checkpoint))
    a, b = last[0][-1]["content"], last[1][-1]["content"]
    assert "tokens/s" in a and "tokens/s" in b and "B against A" in last[2]
    # each reply's Python names the checkpoint that gave it
    assert str(tiny_gptq_checkpoint) in b and str(tiny_gptq_checkpoint) not in a and str(tiny_checkpoint) in a
