"""In a real browser: a question sent while the model loads waits, its reply bubble saying how far the load is,
and is answered once the model is ready."""

from __future__ import annotations

from helpers import ARTIFACTS, require_chromium, served_before_loading, slower_load

require_chromium()
from playwright.sync_api import expect  # noqa: E402


def test_a_question_sent_during_the_load_waits_and_is_answered(browser, tiny_checkpoint, red_image, monkeypatch):
    slower_load(monkeypatch, seconds=6.0)
    with served_before_loading(str(tiny_checkpoint)) as (url, engine):
        page = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="en-US")
        try:
            page.goto(url)
            page.locator("#input_image input[type=file]").set_input_files(str(red_image))
            page.locator("#input_image textarea").fill("What colour is it?")
            page.locator("#send_image").click()
            bot = page.locator("#chatbot_image .bot").last
            expect(bot).to_contain_text("Waiting for the model to load", timeout=30_000)
            expect(bot).to_contain_text("step", timeout=5_000)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "waiting-for-the-model.png"))
            expect(bot).to_contain_text("tokens/s", timeout=120_000)
            expect(bot).not_to_contain_text("Waiting for the model")
            expect(page.locator("#model_status")).to_contain_text("Ready", timeout=30_000)
        finally:
            page.close()
