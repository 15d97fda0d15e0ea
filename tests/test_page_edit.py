"""Edit an earlier question in the chat and ask it again from there, in headless Chromium (the app fixture)."""

from __future__ import annotations

from helpers import ARTIFACTS, require_chromium

require_chromium()
from playwright.sync_api import expect  # noqa: E402


def test_an_earlier_question_edited_in_the_chat_is_asked_again_and_the_later_turns_go(browser, app, red_image):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    page.goto(app["url"])
    expect(page.locator("#model_status")).to_contain_text("Ready", timeout=60_000)
    chatbot = page.locator("#chatbot_image")
    page.locator("#advanced_image").get_by_text("Advanced settings").click()  # short replies
    page.locator("#setting_max_new_tokens_image input[type=number]").fill("8")
    page.locator("#setting_max_new_tokens_image input[type=number]").press("Enter")
    for answered, (question, files) in enumerate((("What colour is it?", [str(red_image)]), ("And its shape?", [])), 1):
        page.locator("#input_image textarea").fill(question)
        if files:
            page.locator("#input_image input[type=file]").set_input_files(files)
            expect(page.locator("#input_image img").first).to_be_visible(timeout=30_000)
        page.locator("#send_image").click()
        expect(chatbot.locator(".bot")).to_have_count(answered, timeout=60_000)
        expect(chatbot.locator(".bot").last).to_contain_text("tokens/s", timeout=120_000)
        expect(page.locator("#send_image")).to_be_enabled(timeout=30_000)
    chatbot.locator(".user").filter(has_text="What colour is it?").hover()
    chatbot.get_by_role("button", name="Edit").first.click()  # the first question's
    editor = chatbot.locator("textarea").first
    editor.click()
    editor.press("Control+a")
    editor.press_sequentially("Which colour, exactly?")
    chatbot.get_by_role("button", name="Submit").click()
    expect(chatbot).to_contain_text("Which colour, exactly?", timeout=30_000)
    expect(chatbot).not_to_contain_text("And its shape?", timeout=30_000)  # the later turn is dropped
    expect(chatbot.locator(".bot")).to_have_count(1, timeout=120_000)
    expect(chatbot.locator(".bot").last).to_contain_text("tokens/s", timeout=120_000)
    expect(chatbot.locator(".user img").first).to_be_visible()  # its picture kept
    page.screenshot(path=str(ARTIFACTS / "page-edited.png"))
    assert not errors, errors
    page.close()
