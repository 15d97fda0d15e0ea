"""One real browser: headless Debian Chromium driven by Playwright (never Playwright's own browser download)."""

from __future__ import annotations

import os

import pytest
from helpers import ARTIFACTS, ROOT, fetch, require_chromium, start_app_without_weights, wait_for

# UPDATE_README_SCREENSHOT=1: the chat test also rewrites the README's picture, with an example asset as upload.
README_SCREENSHOT = ROOT / "docs" / "screenshot.png" if os.environ.get("UPDATE_README_SCREENSHOT") == "1" else None
DESKTOP = {"width": 1280, "height": 1400}

require_chromium()
from playwright.sync_api import expect  # noqa: E402


def _save_readme_screenshot(page) -> None:
    """The page down to its chat buttons, as a visitor first sees it in a laptop's window, as a palette PNG
    (the page is flat colours and text, which 256 colours keep)."""
    from PIL import Image

    page.evaluate("window.scrollTo(0, 0)")
    buttons = page.locator("#send_image").bounding_box()
    page.screenshot(path=str(README_SCREENSHOT), clip={"x": 0, "y": 0, "width": DESKTOP["width"],
                                                       "height": round(buttons["y"] + buttons["height"] + 16)})
    with Image.open(README_SCREENSHOT) as shot:
        palette = shot.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette.save(README_SCREENSHOT, optimize=True)


def test_upload_ask_stream_then_video_settings(browser, app, red_image):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport=DESKTOP, locale="en-US")
    page.goto(app["url"])
    expect(page.locator("#model_status")).to_contain_text("Ready", timeout=60_000)

    picture = ROOT / "minicpm_demo" / "assets" / "chart.png" if README_SCREENSHOT else red_image
    if README_SCREENSHOT:  # greedy and short: the same reply on every run, so the picture changes with the page
        page.locator("#advanced_image").get_by_text("Advanced settings").click()
        page.locator("#setting_do_sample_image input[type=checkbox]").uncheck()
        page.locator("#setting_max_new_tokens_image input[type=number]").fill("60")
        page.locator("#setting_max_new_tokens_image input[type=number]").press("Tab")
        page.locator("#advanced_image").get_by_text("Advanced settings").click()
    page.locator("#input_image input[type=file]").set_input_files(str(picture))
    page.locator("#input_image textarea").fill("What is in this picture?")
    page.locator("#send_image").click()

    bot = page.locator("#chatbot_image .bot").last
    expect(bot).to_be_visible(timeout=60_000)
    lengths = set()
    for _ in range(200):
        lengths.add(len(bot.inner_text()))
        if "tokens/s" in bot.inner_text():
            break
        page.wait_for_timeout(25)
    expect(bot).to_contain_text("tokens/s", timeout=120_000)
    assert len(lengths) >= 2, "the reply grows while it streams"
    expect(page.locator("#chatbot_image .user").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "image-chat.png"), full_page=True)
    if README_SCREENSHOT:
        _save_readme_screenshot(page)

    page.locator("#tab_video-button, button[role=tab]:has-text('Video')").first.click()
    page.locator("#advanced_video").get_by_text("Advanced settings").click()
    expect(page.get_by_text("Max video frames")).to_be_visible()
    expect(page.get_by_text("Frames stacked per second")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "video-settings.png"), full_page=True)
    page.close()


def test_chinese_browser_gets_the_chinese_interface(browser, app):
    page = browser.new_page(locale="zh-CN")
    page.goto(app["url"])
    expect(page.get_by_role("tab", name="视频")).to_be_visible(timeout=60_000)
    page.get_by_role("tab", name="视频").click()
    page.locator("#advanced_video").get_by_text("高级设置").click()
    expect(page.get_by_text("最大视频帧数")).to_be_visible()
    expect(page.locator("#send_video")).to_have_text("发送")
    page.close()


def test_without_weights_the_page_shows_why(browser, tmp_path):
    process, url, _ = start_app_without_weights(tmp_path)
    try:
        assert wait_for(lambda: fetch(url))
        page = browser.new_page()
        page.goto(url)
        expect(page.locator("#model_status")).to_contain_text("unreachable", timeout=90_000)
        expect(page.locator("#model_status")).to_contain_text("--model")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "no-weights.png"))
        page.close()
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_thinking_regenerate_undo_and_clear(browser, app):
    page = browser.new_page(viewport={"width": 1280, "height": 1400}, locale="en-US")
    page.goto(app["url"])
    expect(page.locator("#model_status")).to_contain_text("Ready", timeout=60_000)
    chatbot, question = page.locator("#chatbot_image"), "Say something about colours."
    # Greedy decoding: whether the random tiny model happens to open a <think> block must not vary between runs.
    page.locator("#advanced_image").get_by_text("Advanced settings").click()
    page.locator("#setting_do_sample_image input[type=checkbox]").uncheck()

    page.locator("#input_image textarea").fill(question)
    page.locator("#send_image").click()
    expect(chatbot.locator(".bot").last).to_contain_text("tokens/s", timeout=120_000)
    expect(chatbot).not_to_contain_text("Reasoning")

    # Regenerate answers the same question again, with the settings on the page now: thinking shows its reasoning.
    page.locator("#thinking_image input[type=checkbox]").check()
    page.locator("#regenerate_image").click()
    expect(chatbot).to_contain_text("Reasoning", timeout=120_000)
    expect(chatbot.locator(".bot").last).to_contain_text("tokens/s", timeout=180_000)
    expect(chatbot.locator(".user")).to_have_count(1)

    # Undo takes the question back into the input box; Clear empties the conversation.
    page.locator("#undo_image").click()
    expect(chatbot.locator(".bot")).to_have_count(0, timeout=30_000)
    expect(page.locator("#input_image textarea")).to_have_value(question)
    page.locator("#thinking_image input[type=checkbox]").uncheck()
    page.locator("#send_image").click()
    expect(chatbot.locator(".bot").last).to_contain_text("tokens/s", timeout=120_000)
    page.locator("#clear_image").click()
    expect(chatbot.locator(".user")).to_have_count(0, timeout=30_000)
    expect(chatbot.locator(".bot")).to_have_count(0)
    expect(page.locator("#input_image textarea")).to_have_value("")
    page.close()


def test_video_tab_plays_an_animated_webp_and_points_a_still_image_to_the_image_tab(browser, app, tmp_path):
    from media_corpus import animated_webp, webp

    page = browser.new_page(viewport={"width": 1280, "height": 1400}, locale="en-US")
    page.goto(app["url"])
    expect(page.locator("#model_status")).to_contain_text("Ready", timeout=60_000)
    page.locator("#tab_video-button, button[role=tab]:has-text('Video')").first.click()
    page.locator("#advanced_video").get_by_text("Advanced settings").click()  # a short reply: the test is of media
    page.locator("#setting_max_new_tokens_video input[type=number]").fill("16")
    page.locator("#setting_max_new_tokens_video input[type=number]").press("Tab")

    page.locator("#input_video input[type=file]").set_input_files(str(animated_webp(tmp_path)))
    page.locator("#input_video textarea").fill("What happens in this sticker?")
    page.locator("#send_video").click()
    expect(page.locator("#chatbot_video .bot").last).to_contain_text("tokens/s", timeout=120_000)

    page.locator("#input_video input[type=file]").set_input_files(str(webp(tmp_path)))
    page.locator("#input_video textarea").fill("And this one?")
    page.locator("#send_video").click()
    expect(page.get_by_text("is a still image, not a video").first).to_be_visible(timeout=60_000)
    expect(page.locator("#chatbot_video .user").filter(has_text="And this one?")).to_have_count(0)  # not sent
    expect(page.locator("#chatbot_video .bot")).to_have_count(1)
    expect(page.locator("#chatbot_video .bot").last).to_contain_text("tokens/s")
    page.close()


def test_prices_show_as_dollars_and_inline_math_is_typeset(browser, app):
    page = browser.new_page(viewport={"width": 1280, "height": 1400}, locale="en-US")
    page.goto(app["url"])
    expect(page.locator("#model_status")).to_contain_text("Ready", timeout=60_000)
    page.locator("#input_image textarea").fill("Coffee $4.50 and cake $3.20: is that $x^2$ or $$\\frac{1}{2}$$?")
    page.locator("#send_image").click()
    question = page.locator("#chatbot_image .user").last
    expect(question).to_contain_text("Coffee $4.50 and cake $3.20: is that", timeout=30_000)
    expect(question.locator(".katex")).to_have_count(2)  # x² inline, ½ displayed; nothing between the prices
    expect(question.locator(".katex-display")).to_have_count(1)
    page.locator("#stop_image").click()
    expect(page.locator("#chatbot_image .bot").last).to_contain_text("stopped", timeout=60_000)
    page.close()


@pytest.mark.parametrize(("width", "lines"), [(1280, 1), (390, 2)])
def test_the_chat_buttons_take_one_line_on_a_desktop_and_two_on_a_phone(browser, app, width, lines):
    page = browser.new_page(viewport={"width": width, "height": 900}, locale="en-US")
    page.goto(app["url"])
    expect(page.locator("#send_image")).to_be_visible(timeout=60_000)
    tops = {round(page.locator(f"#{name}_image").bounding_box()["y"])
            for name in ("send", "stop", "regenerate", "undo", "clear")}
    assert len(tops) == lines, tops
    page.close()


def test_stop_and_the_status_line_get_through_a_full_queue(browser, tiny_checkpoint, red_image):
    """Other visitors' requests fill the queue: the visitor whose reply is streaming can still stop it."""
    import httpx
    from gradio_client import Client, handle_file
    from helpers import launched_app

    with launched_app(tiny_checkpoint, "--queue-size", "1", endless=True) as url:
        page = browser.new_page(viewport=DESKTOP, locale="en-US")
        waiting = None
        try:
            page.goto(url)
            expect(page.locator("#model_status")).to_contain_text("Ready", timeout=60_000)
            page.locator("#input_image textarea").fill("Tell me a long story.")
            page.locator("#send_image").click()
            expect(page.locator("#chatbot_image .bot")).to_have_count(1, timeout=60_000)
            expect(page.locator("#chatbot_image .bot").last).not_to_contain_text("Preparing", timeout=60_000)
            other = Client(url, analytics_enabled=False, verbose=False)
            waiting = other.submit("Talk.", [handle_file(str(red_image))], "image", None,
                                   {"do_sample": False, "max_new_tokens": 4000}, api_name="/chat")
            chat_fn = next(index for index, dependency in enumerate(httpx.get(url + "config").json()["dependencies"])
                           if dependency.get("api_name") == "chat")
            assert wait_for(lambda: httpx.post(url + "gradio_api/queue/join", json={
                "data": ["Hi", [], "image", None, None], "fn_index": chat_fn, "session_hash": "third",
                "event_data": None}).status_code == 503, timeout=30), "the queue did not fill"
            page.locator("#stop_image").click()
            # the whole chat, not its last bubble: a bubble re-rendered by a streamed update is briefly detached
            expect(page.locator("#chatbot_image")).to_contain_text("stopped", timeout=20_000)
            expect(page.locator("#model_status")).to_contain_text("Ready")
        finally:
            page.close()
            if waiting is not None:
                waiting.cancel()
