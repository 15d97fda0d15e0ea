"""PDF documents (minicpm_demo/media/pdf.py): their first pages as pictures, bounded before any rendering, refused
with messages that name the file; given to the model as images by every engine and through ``/chat``.

The PDFs are generated here (tests/media_corpus.py): pages with Pillow's PDF writer, a password with pypdf, the
damaged and empty ones byte by byte."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from gradio_client import Client, handle_file
from media_corpus import (
    PAGE_COLOURS,
    broken_pdf,
    password_pdf,
    pdf_of_huge_page,
    pdf_of_pages,
    pdf_without_pages,
    text_named_pdf,
    written_pdf,
)

from minicpm_demo import media
from minicpm_demo.cancel import Cancelled
from minicpm_demo.media import MediaError, MediaLimits
from minicpm_demo.media.pdf import page_scale
from minicpm_demo.settings import Settings


def a_lying_page_tree(folder):
    """A page tree that counts two pages and holds one."""
    return written_pdf(folder, [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 2 >>",
                                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 300] >>"], "short.pdf")


def test_a_pdf_gives_its_pages_in_order_at_about_the_same_pixels(tmp_path):
    rendered = media.render_pdf(pdf_of_pages(tmp_path, 3))
    assert len(rendered.pages) == 3 and rendered.count == 3
    for page, colour in zip(rendered.pages, PAGE_COLOURS):
        assert page.mode == "RGB" and page.getpixel((page.width // 2, page.height // 2)) == colour
        assert page.size == (1261, 1785), "A4 at about 1500 × 1500 pixels, its shape kept"
    assert rendered.notes == ["report.pdf: pages 1–3 of 3"]
    assert rendered.notes[0].said_in("zh") == "report.pdf：第 1–3 页，共 3 页"
    assert media.render_pdf(pdf_of_pages(tmp_path, 1, name="one.pdf")).notes == ["one.pdf: page 1 of 1"]


def test_the_page_limit_keeps_the_first_pages_and_says_so(tmp_path):
    path = pdf_of_pages(tmp_path, 12, name="long.pdf")
    rendered = media.render_pdf(path)
    assert len(rendered.pages) == MediaLimits().max_pdf_pages == 8
    assert rendered.notes == ["long.pdf: pages 1–8 of 12, the page limit is 8"]
    assert rendered.notes[0].said_in("zh") == "long.pdf：第 1–8 页，共 12 页，页数上限为 8"
    assert media.pdf_pages(path) == 8 and media.pdf_pages(path, MediaLimits(max_pdf_pages=20)) == 12
    one = media.render_pdf(path, MediaLimits(max_pdf_pages=1))
    assert len(one.pages) == 1 and one.notes == ["long.pdf: page 1 of 12, the page limit is 1"]


def test_no_page_size_makes_a_larger_bitmap(tmp_path):
    poster = media.render_pdf(pdf_of_huge_page(tmp_path))
    assert poster.pages[0].size == (1500, 1500), "200 × 200 inches claimed, rendered at the pixels of any page"
    limits = MediaLimits()
    for width, height in ((10_000_000, 1), (1, 10_000_000), (1e-4, 1e-4), (14400, 14400)):
        scale = page_scale(width, height, limits)
        assert max(width, height) * scale <= limits.max_image_side - 1 + 1e-6
        assert width * scale * height * scale <= limits.pdf_page_pixels * (1 + 1e-9)
    assert page_scale(0, 100, limits) is None and page_scale(float("nan"), 100, limits) is None
    assert page_scale(float("inf"), 100, limits) is None and page_scale(-5, 100, limits) is None


@pytest.mark.parametrize(("build", "message"), [
    (password_pdf, "'locked.pdf' is protected by a password, so its pages cannot be read. Remove the password"),
    (broken_pdf, "'broken.pdf' is not a PDF this demo can read: it is damaged, or not a PDF. Save or print it"),
    (text_named_pdf, "'notes.pdf' is not a PDF this demo can read"),
    (pdf_without_pages, "The PDF 'blank.pdf' has no pages. Upload a PDF with at least one page."),
    (a_lying_page_tree, "'short.pdf' is not a PDF this demo can read: it is damaged, or not a PDF (page 2 cannot be "
                        "read)"),
])
def test_a_pdf_that_cannot_be_read_is_refused_with_a_message_naming_it(tmp_path, build, message):
    path = build(tmp_path)
    # counting the pages opens the document; a page is read only when it is rendered
    for read in (media.render_pdf,) if build is a_lying_page_tree else (media.render_pdf, media.pdf_pages):
        with pytest.raises(MediaError) as caught:
            read(path)
        assert message in str(caught.value)
        assert caught.value.path == str(path), "the page can take the file back out of the question"
        assert "PDF" in caught.value.args[0].said_in("zh") and "请" in caught.value.args[0].said_in("zh")


def test_an_empty_or_oversized_pdf_is_refused_before_it_is_opened(tmp_path):
    (tmp_path / "empty.pdf").write_bytes(b"")
    with pytest.raises(MediaError, match=r"The PDF 'empty.pdf' is empty \(0 bytes\)"):
        media.render_pdf(tmp_path / "empty.pdf")
    with pytest.raises(MediaError, match=r"The PDF 'report.pdf' is 0 MB; this demo takes up to 0 MB.*--max-image-mb"):
        media.render_pdf(pdf_of_pages(tmp_path, 2), MediaLimits(max_image_bytes=1000))


def test_the_pages_are_charged_to_the_request_before_any_is_rendered(tmp_path, monkeypatch):
    from minicpm_demo.media import pdf

    rendered = []
    real = pdf._rendered
    monkeypatch.setattr(pdf, "_rendered", lambda *args: rendered.append(1) or real(*args))
    limits = MediaLimits(max_request_image_pixels=5_000_000)  # two pages of about 2.25 megapixels, not three
    with pytest.raises(MediaError, match=r"The image 'report.pdf, page 3' is 1261×1785"):
        media.render_pdf(pdf_of_pages(tmp_path, 3), limits)
    assert rendered == []
    budget = limits.budget()
    media.render_pdf(pdf_of_pages(tmp_path, 2, name="two.pdf"), limits, budget=budget)
    assert budget.image_pixels == 2 * 1261 * 1785


def test_stop_ends_the_rendering_between_pages(tmp_path):
    calls = []
    with pytest.raises(Cancelled):
        media.render_pdf(pdf_of_pages(tmp_path, 3), cancelled=lambda: calls.append(1) or len(calls) > 1)
    assert len(calls) == 2, "the first page rendered, the second not begun"


def test_pdfs_rendered_on_several_threads_at_once_come_out_whole(tmp_path):
    """pdfium is not thread-safe: the replies and budget lines of several visitors take turns with it."""
    paths = [pdf_of_pages(tmp_path, 3, name=f"doc-{index}.pdf") for index in range(4)]
    results, errors = {}, []

    def render(path):
        try:
            results[path] = media.render_pdf(path)
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=render, args=(path,)) for path in paths * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for rendered in results.values():
        assert [page.getpixel((600, 900)) for page in rendered.pages] == list(PAGE_COLOURS[:3])


def test_a_pdf_is_an_image_file_and_the_video_tab_points_to_the_image_tabs(tmp_path):
    path = pdf_of_pages(tmp_path, 2)
    assert media.detect_kind(path) == "image" and media.is_pdf(path)
    assert media.is_pdf(text_named_pdf(tmp_path)), "named .pdf: refused as a PDF, not as an unknown picture"
    for read in (media.probe_video, lambda path: media.sample_video(path, lambda metadata: [0])):
        with pytest.raises(MediaError, match=r"'report.pdf' is a PDF, not a video. Ask about it in the Image or "
                                             r"Multi-image tab"):
            read(path)


# ---- given to the model ------------------------------------------------------------------------------------------
def user(*items):
    return [{"role": "user", "content": [*items, {"type": "text", "text": "What do these say?"}]}]


def test_the_model_is_given_a_pdf_s_pages_as_the_same_pictures_would_be(engine, tmp_path):
    path = pdf_of_pages(tmp_path, 3)
    settings = Settings.for_modality("multi-image")
    prepared = engine.prepare(user({"type": "image", "path": str(path)}), settings)
    pages = media.render_pdf(path).pages
    pictures = []
    for number, page in enumerate(pages, 1):
        pictures.append(tmp_path / f"page-{number}.png")
        page.save(pictures[-1])
    as_pictures = engine.prepare(user(*({"type": "image", "path": str(picture)} for picture in pictures)), settings)
    assert prepared.prompt_tokens == as_pictures.prompt_tokens and prepared.slices == as_pictures.slices
    assert [(given.name, given.page, given.size) for given in prepared.media] == [
        ("report.pdf", number, (1261, 1785)) for number in (1, 2, 3)]
    assert "report.pdf: pages 1–3 of 3" in prepared.notes
    assert len(prepared.seen) == 3, "the filmstrip shows each page with its slices"


def test_a_pdf_s_pages_count_against_the_conversation_s_images(engine, tmp_path, three_images):
    limited = replace(engine.limits, max_images=4)
    original, engine.limits = engine.limits, limited
    try:
        with pytest.raises(MediaError, match="This conversation has 5 images; this demo takes up to 4"):
            engine.prepare(user({"type": "image", "path": str(pdf_of_pages(tmp_path, 3))},
                                *({"type": "image", "path": str(path)} for path in three_images[:2])),
                           Settings.for_modality("multi-image"))
    finally:
        engine.limits = original


# ---- through /chat ----------------------------------------------------------------------------------------------
@pytest.fixture
def client(app):
    return Client(app["url"], analytics_enabled=False, verbose=False)


GREEDY = {"do_sample": False, "max_new_tokens": 4}


def test_chat_answers_about_a_pdf_and_a_follow_up(client, tmp_path):
    last = client.predict("What is on these pages?", [handle_file(str(pdf_of_pages(tmp_path, 3)))], "multi-image",
                          None, GREEDY, api_name="/chat")
    assert last["done"] and "report.pdf: pages 1–3 of 3" in last["stats"]["notes"]
    assert last["history"][0]["content"][0]["image"].endswith("report.pdf")
    follow_up = client.predict("And the second page?", [], "multi-image", last["history"], GREEDY, api_name="/chat")
    assert follow_up["done"] and "report.pdf: pages 1–3 of 3" in follow_up["stats"]["notes"]


def test_chat_takes_the_first_pages_up_to_the_limit_and_says_so(client, tmp_path):
    long = pdf_of_pages(tmp_path, 12, name="long.pdf")
    last = client.predict("Summarise it.", [handle_file(str(long))], "image", None, GREEDY, api_name="/chat")
    assert "long.pdf: pages 1–8 of 12, the page limit is 8" in last["stats"]["notes"]


@pytest.mark.parametrize(("build", "modality", "message"), [
    (password_pdf, "image", "'locked.pdf' is protected by a password"),
    (broken_pdf, "multi-image", "'broken.pdf' is not a PDF this demo can read"),
    (pdf_of_pages, "video", "'report.pdf' is a PDF, not a video. Ask about it in the Image or Multi-image tab"),
])
def test_chat_refuses_a_pdf_it_cannot_use_with_a_message(client, tmp_path, build, modality, message):
    with pytest.raises(Exception, match=message):
        client.predict("What does it say?", [handle_file(str(build(tmp_path)))], modality, None, GREEDY,
                       api_name="/chat")


def test_an_exported_chat_links_its_pdf_where_it_shows_its_pictures(tmp_path, red_image, monkeypatch):
    import zipfile

    from minicpm_demo.chat import Attachment, Conversation
    from minicpm_demo.session import ChatSession
    from minicpm_demo.ui import history

    monkeypatch.setattr(history, "get_upload_folder", lambda: str(tmp_path / "uploads"))
    session = ChatSession()
    files = (Attachment(str(pdf_of_pages(tmp_path, 2)), "image"), Attachment(str(red_image), "image"))
    session.conversation = Conversation().ask("Read them.", files).answer("Done.")
    exported = history.export_chat(session)
    with zipfile.ZipFile(next((tmp_path / "uploads" / "exports").rglob("*.zip"))) as archive:
        chat = archive.read("chat.md").decode()
        assert archive.read("files/1-report.pdf").startswith(b"%PDF-")
    assert exported is not None
    assert "[report.pdf](files/1-report.pdf)" in chat and "![report.pdf]" not in chat
    assert "![red.png](files/1-red.png)" in chat
