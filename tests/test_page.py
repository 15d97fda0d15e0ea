"""The page as a person uses it, in headless Debian Chromium: errors that leave the chat readable, files of the
wrong kind, the controls in view, typing while a reply streams, the status line (the app fixture's tiny model)."""

from __future__ import annotations

import helpers
import pytest
from helpers import ARTIFACTS, LAPTOP, open_page, require_chromium

require_chromium()
from playwright.sync_api import expect  # noqa: E402

PHONE = {"width": 390, "height": 844}


def no_error_overlay(page, *elem_ids):
    """Gradio's status tracker draws "Error" over an event's outputs when the event fails."""
    for elem_id in elem_ids:
        expect(page.locator(f"#{elem_id} .error")).to_have_count(0)


@pytest.fixture
def endless_replies(app):
    """Replies that run until they are stopped (helpers.endless_replies)."""
    with helpers.endless_replies(app["engine"]):
        yield


def long_replies(page, key):
    """Replies of up to 4000 tokens, so that the reply is still running when the test acts on it."""
    page.locator(f"#advanced_{key}").get_by_text("Advanced settings").click()
    page.locator(f"#setting_max_new_tokens_{key} input[type=number]").fill("4000")
    page.locator(f"#setting_max_new_tokens_{key} input[type=number]").press("Enter")
    page.locator(f"#advanced_{key}").get_by_text("Advanced settings").click()


def test_an_error_leaves_the_chat_readable_and_the_question_editable(browser, app, red_image, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    page = open_page(browser, app["url"])
    chatbot, box = page.locator("#chatbot_image"), page.locator("#input_image textarea")
    box.fill("What colour is this?")
    page.locator("#input_image input[type=file]").set_input_files(str(red_image))
    page.locator("#send_image").click()
    expect(chatbot.locator(".bot").last).to_contain_text("tokens/s", timeout=120_000)

    empty = tmp_path / "broken.jpg"
    empty.write_bytes(b"\xff\xd8 not really a JPEG")
    box.fill("And this one?")
    page.locator("#input_image input[type=file]").set_input_files(str(empty))
    page.locator("#send_image").click()
    expect(page.locator(".toast-body").last).to_contain_text("broken.jpg", timeout=60_000)
    no_error_overlay(page, "chatbot_image", "input_image")
    expect(chatbot).to_contain_text("What colour is this?")  # the first question and its picture, still readable
    expect(chatbot.locator(".user img").first).to_be_visible()
    expect(chatbot.locator(".bot")).to_have_count(1)
    expect(chatbot).not_to_contain_text("And this one?")
    page.screenshot(path=str(ARTIFACTS / "page-refused-file.png"))
    expect(box).to_have_value("And this one?")  # back in the box, less the refused file
    expect(page.locator("#input_image .thumbnail-item, #input_image .thumbnail-image")).to_have_count(0)
    box.click()  # editable: no overlay takes the click
    box.fill("What about the red picture again?")
    page.locator("#send_image").click()
    expect(chatbot.locator(".bot")).to_have_count(2, timeout=120_000)
    expect(chatbot.locator(".bot").last).to_contain_text("tokens/s", timeout=120_000)

    box.fill("")
    page.locator("#send_image").click()  # nothing to send: said, and nothing else changes
    expect(page.locator(".toast-body").last).to_contain_text("Type a question or attach a file first")
    no_error_overlay(page, "chatbot_image", "input_image")
    expect(chatbot.locator(".bot")).to_have_count(2)
    page.close()


def test_a_video_in_the_image_tab_gets_our_message_and_nothing_is_sent(browser, app, short_video):
    page = open_page(browser, app["url"])
    page.locator("#input_image textarea").fill("What happens here?")
    page.locator("#input_image input[type=file]").set_input_files(str(short_video))  # the browser takes it
    page.locator("#send_image").click()
    expect(page.locator(".toast-body").last).to_contain_text("is a video, not an image", timeout=60_000)
    expect(page.locator(".toast-body").last).to_contain_text("Video tab")
    expect(page.locator("#chatbot_image .bot")).to_have_count(0)  # not answered without its video
    expect(page.locator("#chatbot_image .user")).to_have_count(0)
    expect(page.locator("#input_image textarea")).to_have_value("What happens here?")
    # the picker still offers each tab's own kind of file first
    assert "image/*" in page.locator("#input_image input[type=file]").get_attribute("accept")
    page.get_by_role("tab", name="Video").click()
    expect(page.locator("#input_video input[type=file]")).to_have_attribute("accept", "video/*,.mkv,.avi,.flv,"
                                                                           ".wmv,.ts,.m2ts,.3gp,.gif,.webp,.png,.apng")
    page.close()


def test_a_file_the_browser_cannot_draw_shows_its_name_and_gets_our_message(browser, app, tmp_path):
    drawing = tmp_path / "drawing.svg"
    drawing.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/>'
                       '</svg>')
    page = open_page(browser, app["url"])
    page.locator("#input_image textarea").fill("What is drawn here?")
    page.locator("#input_image input[type=file]").set_input_files(str(drawing))
    expect(page.locator("#input_image .unshown-file")).to_have_text("drawing.svg", timeout=30_000)
    broken = page.locator("#input_image img").evaluate_all(
        "images => images.filter(image => image.checkVisibility() && !image.naturalWidth).length")
    assert broken == 0, "no broken picture in the box"
    page.screenshot(path=str(ARTIFACTS / "page-svg-attached.png"))
    page.locator("#send_image").click()
    expect(page.locator(".toast-body").last).to_contain_text("'drawing.svg' is not an image this demo can read",
                                                             timeout=60_000)
    expect(page.locator("#chatbot_image .user")).to_have_count(0)
    page.close()


def test_send_and_stop_follow_the_reply_and_the_next_question_can_be_typed(browser, app, red_image, endless_replies):
    page = open_page(browser, app["url"])
    send, stop = page.locator("#send_image"), page.locator("#stop_image")
    expect(stop).to_be_disabled()  # nothing to stop yet
    long_replies(page, "image")
    page.locator("#input_image textarea").fill("Tell me about this picture.")
    page.locator("#input_image input[type=file]").set_input_files(str(red_image))
    send.click()
    expect(send).to_have_text("Answering…", timeout=30_000)
    expect(send).to_be_disabled()
    expect(stop).to_be_enabled()
    bot = page.locator("#chatbot_image .bot")
    expect(bot).to_have_count(1)  # one placeholder, then the streamed text in the same place
    page.locator("#input_image textarea").click()  # nothing covers the box while the reply streams
    page.locator("#input_image textarea").fill("A next question, typed while the reply streams")
    page.locator("#input_image textarea").press("Enter")  # sending now is refused, the text stays
    expect(page.locator(".toast-body").last).to_contain_text("Wait for the current reply to finish")
    expect(page.locator("#input_image textarea")).to_have_value("A next question, typed while the reply streams")
    stop.click()
    expect(bot.last).to_contain_text("stopped", timeout=30_000)
    expect(send).to_have_text("Send", timeout=30_000)
    expect(send).to_be_enabled()
    expect(stop).to_be_disabled()
    expect(page.locator("#input_image textarea")).to_have_value("A next question, typed while the reply streams")
    send.click()
    expect(bot).to_have_count(2, timeout=30_000)
    stop.click()
    expect(bot.last).to_contain_text("stopped", timeout=30_000)
    page.close()


@pytest.mark.parametrize("name, viewport", [("desktop", LAPTOP), ("phone", PHONE)])
def test_with_an_attachment_the_box_send_and_stop_are_in_view(browser, app, red_image, name, viewport):
    page = open_page(browser, app["url"], viewport)
    ARTIFACTS.mkdir(exist_ok=True)
    for tab, key in (("Image", "image"), ("Multi-image", "multi_image"), ("Video", "video")):
        page.get_by_role("tab", name=tab, exact=True).click()
        if key != "video":
            page.locator(f"#input_{key} input[type=file]").set_input_files(str(red_image))
            expect(page.locator(f"#input_{key} img").first).to_be_visible(timeout=30_000)
        page.evaluate("window.scrollTo(0, 0)")
        for elem_id in (f"input_{key}", f"send_{key}", f"stop_{key}"):
            box = page.locator(f"#{elem_id}").bounding_box()
            assert box and box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (name, elem_id, box)
        page.screenshot(path=str(ARTIFACTS / f"page-{key}-{name}.png"))
    page.close()


def test_the_status_line_says_the_model_in_words_and_its_state_not_only_by_colour(browser, app):
    page = open_page(browser, app["url"])
    status = page.locator("#model_status")
    expect(status).to_contain_text("Ready — tiny-bf16")
    expect(status).to_contain_text("on the CPU")
    assert "/" not in status.inner_text(), "no local path"
    colour = status.locator(".state").evaluate("element => getComputedStyle(element).color")
    assert colour == "rgb(21, 128, 61)", colour
    page.close()
    page = open_page(browser, app["url"], locale="zh-CN")
    expect(page.locator("#model_status")).to_contain_text("运行于 CPU")
    page.close()


def ask(page, key, text, files=()):
    page.locator(f"#input_{key} textarea").fill(text)
    if files:
        page.locator(f"#input_{key} input[type=file]").set_input_files([str(f) for f in files])
        expect(page.locator(f"#input_{key} img").first).to_be_visible(timeout=30_000)
    bots = page.locator(f"#chatbot_{key} .bot").count()
    page.locator(f"#send_{key}").click()
    expect(page.locator(f"#chatbot_{key} .bot")).to_have_count(bots + 1, timeout=60_000)
    expect(page.locator(f"#chatbot_{key} .bot").last).to_contain_text("tokens/s", timeout=120_000)
    expect(page.locator(f"#send_{key}")).to_be_enabled(timeout=30_000)  # the chat is saved once Send is back


def test_chats_survive_a_reload_and_are_listed_exported_and_imported(browser, app, red_image, tmp_path):
    import json
    import zipfile

    page = open_page(browser, app["url"])
    chatbot = page.locator("#chatbot_image")
    ask(page, "image", "What colour is this picture?", [red_image])
    ask(page, "image", "Is it bright?")
    page.reload()
    expect(page.locator("#model_status")).to_contain_text("Ready", timeout=60_000)
    expect(chatbot.locator(".bot")).to_have_count(2, timeout=30_000)  # the chat, as it was
    expect(chatbot).to_contain_text("What colour is this picture?")
    expect(chatbot.locator("img").first).to_be_visible()

    page.locator("#clear_image").click()  # a new chat; the first stays in the list
    expect(chatbot.locator(".user")).to_have_count(0, timeout=30_000)
    ask(page, "image", "A second chat, without a picture")
    page.locator("#chats_image").get_by_text("Chats").first.click()
    page.locator("#chat_menu_image input").click()
    expect(page.get_by_role("option")).to_have_count(2)
    page.get_by_role("option", name="What colour is this picture?").click()
    expect(chatbot.locator(".bot")).to_have_count(2, timeout=30_000)
    expect(chatbot).not_to_contain_text("A second chat")

    page.locator("#export_image").click()
    link = page.locator("#exported_image a").first
    expect(link).to_be_visible(timeout=30_000)
    with page.expect_download() as download:
        link.click()
    exported = tmp_path / "chat.zip"
    download.value.save_as(exported)
    with zipfile.ZipFile(exported) as archive:
        names = archive.namelist()
        markdown = archive.read("chat.md").decode()
        record = json.loads(archive.read("chat.json"))
    assert f"files/1-{red_image.name}" in names and f"![{red_image.name}](files/1-{red_image.name})" in markdown
    assert [turn["text"] for turn in record["turns"]] == ["What colour is this picture?", "Is it bright?"]
    page.screenshot(path=str(ARTIFACTS / "page-chats.png"), full_page=True)

    page.locator("#delete_chat_image").click()
    expect(chatbot.locator(".user")).to_have_count(0, timeout=30_000)
    with page.expect_file_chooser() as chooser:
        page.locator("#import_image").click()
    chooser.value.set_files(str(exported))
    expect(chatbot.locator(".bot")).to_have_count(2, timeout=30_000)
    expect(chatbot).to_contain_text("Is it bright?")
    ask(page, "image", "And now?")  # the imported chat goes on, its picture still on this server
    page.close()


def test_an_example_click_sends_it(browser, app):
    page = open_page(browser, app["url"])
    page.get_by_role("button", name="What does this chart show?").first.click()
    expect(page.locator("#chatbot_image")).to_contain_text("Which day had the most visitors?", timeout=30_000)
    expect(page.locator("#chatbot_image .bot").last).to_contain_text("tokens/s", timeout=120_000)
    expect(page.locator("#chatbot_image .user img").first).to_be_visible()  # with the example's chart
    page.close()
