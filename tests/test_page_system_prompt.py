"""The system prompt and text-only questions on the page, in headless Chromium: a system prompt set in Advanced
settings lengthens the prompt (before Send and in the reply's stats), one too long is refused in a toast with the
conversation kept, and each tab answers a question without a file (the app fixture's tiny model)."""

from __future__ import annotations

import re

from helpers import ARTIFACTS, open_page, require_chromium

require_chromium()
from playwright.sync_api import expect  # noqa: E402

SYSTEM = "You are a patient maths teacher. Answer in one short sentence, and check the sum twice."
TABS = (("Image", "image"), ("Multi-image", "multi_image"), ("Video", "video"))


def budget_prompt(page, key: str) -> int:
    return int(re.search(r"(\d+) prompt tokens", page.locator(f"#budget_{key}").inner_text()).group(1))


def reply_prompt(page, key: str) -> int:
    return int(re.search(r"prompt tokens (\d+)", page.locator(f"#chatbot_{key} .bot").last.inner_text()).group(1))


def short_replies(page, key: str) -> None:
    """Replies of up to 16 tokens (Advanced settings left open): the tiny model's sampled ones may run to 1024."""
    page.locator(f"#advanced_{key}").get_by_text("Advanced settings").click()
    page.locator(f"#setting_max_new_tokens_{key} input[type=number]").fill("16")
    page.locator(f"#setting_max_new_tokens_{key} input[type=number]").press("Enter")


def answer(page, key: str, text: str) -> None:
    """Send ``text`` alone and wait for its reply's stats."""
    page.locator(f"#input_{key} textarea").fill(text)
    page.locator(f"#send_{key}").click()
    expect(page.locator(f"#chatbot_{key} .bot").last).to_contain_text("tokens/s", timeout=120_000)
    expect(page.locator(f"#send_{key}")).to_be_enabled(timeout=30_000)


def test_a_system_prompt_lengthens_the_prompt_and_one_too_long_is_refused(browser, app):
    ARTIFACTS.mkdir(exist_ok=True)
    page = open_page(browser, app["url"])
    box, budget, chatbot = page.locator("#input_image textarea"), page.locator("#budget_image"), \
        page.locator("#chatbot_image")
    box.fill("What is two and two?")
    expect(budget).to_contain_text("prompt tokens", timeout=30_000)  # a question alone has a cost too
    plain = budget_prompt(page, "image")
    short_replies(page, "image")
    system = page.locator("#setting_system_prompt_image textarea")
    expect(page.locator("#setting_system_prompt_image")).to_contain_text("System prompt")
    system.fill(SYSTEM)
    expect(budget).not_to_contain_text(f" {plain} prompt tokens", timeout=30_000)  # the budget follows it
    told = budget_prompt(page, "image")
    assert told > plain + 10, (plain, told)
    page.screenshot(path=str(ARTIFACTS / "page-system-prompt.png"), full_page=True)
    answer(page, "image", "What is two and two?")
    assert reply_prompt(page, "image") == told, "the stats count what the budget said"

    page.locator("#clear_image").click()
    expect(chatbot.locator(".bot")).to_have_count(0, timeout=30_000)
    system.fill("")
    answer(page, "image", "What is two and two?")
    assert reply_prompt(page, "image") == plain < told, "without it, the same question's prompt is shorter"

    system.fill("x" * 4001)
    box.fill("And three and three?")
    expect(budget).to_contain_text("The system prompt is 4,001 characters long", timeout=30_000)
    page.locator("#send_image").click()
    expect(page.locator(".toast-body").last).to_contain_text("The system prompt is 4,001 characters long; this "
                                                             "demo takes up to 4,000", timeout=60_000)
    expect(chatbot.locator(".bot")).to_have_count(1)  # the conversation as it was
    expect(chatbot).not_to_contain_text("And three and three?")
    expect(box).to_have_value("And three and three?")  # back in the box, to send once the prompt is shorter
    expect(page.locator("#chatbot_image .error, #input_image .error")).to_have_count(0)
    page.close()


def test_a_text_only_question_is_answered_in_every_tab(browser, app):
    page = open_page(browser, app["url"])
    for tab, key in TABS:
        page.get_by_role("tab", name=tab, exact=True).click()
        short_replies(page, key)
        page.locator(f"#input_{key} textarea").fill("Say hello.")
        expect(page.locator(f"#budget_{key}")).to_contain_text("0 visual tokens", timeout=30_000)
        answer(page, key, "Say hello.")
        stats = page.locator(f"#chatbot_{key} .bot").last.locator("sub").last
        expect(stats).to_contain_text("visual tokens 0")
        assert reply_prompt(page, key) > 0
        expect(page.locator(".toast-body")).to_have_count(0)  # nothing refused, nothing to warn of
    page.close()
