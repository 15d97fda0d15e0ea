"""PDFs on the page, in headless Debian Chromium: a PDF in the Multi-image tab answered with a note naming the
pages used, a broken or locked one refused in a toast while the conversation stays, in English and in Chinese
(the app fixture's tiny model)."""

from __future__ import annotations

from helpers import ARTIFACTS, open_page, require_chromium
from media_corpus import broken_pdf, password_pdf, pdf_of_pages

require_chromium()
from playwright.sync_api import expect  # noqa: E402
from test_page_zh import SHOWN_TEXT, english_in  # noqa: E402


def ask(page, key, text, path):
    page.locator(f"#input_{key} textarea").fill(text)
    page.locator(f"#input_{key} input[type=file]").set_input_files(str(path))
    page.locator(f"#send_{key}").click()


def test_a_pdf_in_the_multi_image_tab_is_answered_and_a_broken_one_refused(browser, app, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    page = open_page(browser, app["url"])
    page.get_by_role("tab", name="Multi-image").click()
    assert ".pdf" in page.locator("#input_multi_image input[type=file]").get_attribute("accept")
    chatbot = page.locator("#chatbot_multi_image")
    ask(page, "multi_image", "What do these pages say?", pdf_of_pages(tmp_path, 3))
    reply = chatbot.locator(".bot").last
    expect(reply).to_contain_text("tokens/s", timeout=120_000)
    expect(reply.locator("sub").first).to_contain_text("report.pdf: pages 1–3 of 3")
    expect(reply).to_contain_text("What the model saw: 3 images")
    expect(page.locator(".toast-body")).to_have_count(0)  # one PDF is not "only one image"
    page.screenshot(path=str(ARTIFACTS / "page-pdf-answered.png"))

    ask(page, "multi_image", "And this one?", broken_pdf(tmp_path))
    expect(page.locator(".toast-body").last).to_contain_text("'broken.pdf' is not a PDF this demo can read",
                                                             timeout=60_000)
    expect(page.locator(".toast-body").last).to_contain_text("send its pages as images")
    expect(chatbot.locator(".bot")).to_have_count(1)  # the conversation stays as it was
    expect(chatbot).to_contain_text("What do these pages say?")
    expect(chatbot).not_to_contain_text("And this one?")
    expect(page.locator("#input_multi_image textarea")).to_have_value("And this one?")  # back, less the file
    expect(page.locator("#input_multi_image .thumbnail-item")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "page-pdf-refused.png"))
    page.close()


def test_a_chinese_browser_reads_the_pdf_note_and_the_password_message_in_chinese(browser, app, tmp_path):
    page = open_page(browser, app["url"], locale="zh-CN")
    page.get_by_role("tab", name="多图", exact=True).click()
    ask(page, "multi_image", "这几页写了什么？", pdf_of_pages(tmp_path, 12, name="long.pdf"))
    reply = page.locator("#chatbot_multi_image .bot").last
    expect(reply).to_contain_text("token/秒", timeout=120_000)
    expect(reply.locator("sub").first).to_contain_text("long.pdf：第 1–8 页，共 12 页，页数上限为 8")
    ask(page, "multi_image", "这一份呢？", password_pdf(tmp_path))
    expect(page.locator(".toast-body").last).to_contain_text("'locked.pdf' 受密码保护", timeout=60_000)
    english = sorted(set(english_in(page.evaluate(SHOWN_TEXT))))
    assert not english, f"English on the zh-CN page: {english}"
    page.close()
