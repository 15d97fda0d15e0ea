"""The budget under the input box, in headless Chromium: what a question will cost shows before Send, follows the
settings, and "Fit it" steps a request that would be refused down until it fits (the app fixture's tiny model)."""

from __future__ import annotations

import re
from dataclasses import replace

from helpers import ARTIFACTS, open_page, require_chromium

require_chromium()
from playwright.sync_api import expect  # noqa: E402


def prompt_tokens(page) -> int:
    return int(re.search(r"(\d+) prompt tokens", page.locator("#budget_image").inner_text()).group(1))


def visual_tokens(page) -> int:
    return int(re.search(r"(\d+) visual tokens", page.locator("#budget_image").inner_text()).group(1))


def test_the_budget_shows_before_send_and_fit_it_makes_a_request_fit(browser, app, red_image, monkeypatch):
    ARTIFACTS.mkdir(exist_ok=True)
    page = open_page(browser, app["url"])
    page.locator("#input_image input[type=file]").set_input_files(str(red_image))
    budget = page.locator("#budget_image")
    expect(budget).to_contain_text("visual tokens", timeout=30_000)
    expect(budget).to_contain_text("first token in about")
    low = visual_tokens(page)
    page.locator("#advanced_image").get_by_text("Advanced settings").click()
    page.locator("#setting_downsample_mode_image").get_by_text("4x", exact=True).click()
    expect(budget).not_to_contain_text(f"{low} visual tokens", timeout=30_000)
    assert 3.5 < visual_tokens(page) / low <= 4.5, "4x: about four times the visual tokens of 16x"
    expect(page.locator("#chatbot_image .user")).to_have_count(0)  # nothing was sent

    # a bound between the two: at 4x the request would be refused
    engine = app["engine"]
    bound = replace(engine.request_limits, max_prompt_tokens=prompt_tokens(page) - 1)
    monkeypatch.setattr(engine, "request_limits", bound)
    page.locator("#setting_max_slice_nums_image input[type=number]").fill("9")
    page.locator("#setting_max_slice_nums_image input[type=number]").press("Enter")
    expect(budget).to_contain_text("this demo takes up to", timeout=30_000)
    expect(budget).to_contain_text("Try: 16x instead of 4x.")
    budget.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "page-budget-over.png"))
    page.locator("#fit_image").click()
    expect(page.locator("#setting_downsample_mode_image input[value='16x']")).to_be_checked(timeout=30_000)
    expect(budget).to_contain_text(f"{low} visual tokens", timeout=30_000)
    expect(budget).not_to_contain_text("Try:")
    expect(page.locator("#fit_image")).to_be_hidden()
    page.close()


def test_a_request_over_the_zero_gpu_cap_is_flagged_before_send_and_fit_it_makes_it_fit(
        browser, app, tmp_path, monkeypatch):
    """As on a ZeroGPU Space whose cap lies between what a large photo asks for cut into many slices and into few."""
    from gradio_client import Client, handle_file
    from PIL import Image

    photo = tmp_path / "large.png"  # 12 megapixels: as many slices as the Image tab allows
    Image.new("RGB", (4000, 3000), (200, 120, 40)).save(photo)
    client = Client(app["url"], analytics_enabled=False, verbose=False)

    def gpu_seconds(slices: int) -> int:
        budget = client.predict("What is it?", [handle_file(str(photo))], "image", None,
                                {"max_slice_nums": slices, "max_new_tokens": 16}, api_name="/preflight")
        return budget["gpu_seconds"]

    monkeypatch.setattr(app["engine"], "gpu_seconds_cap", 1000)  # a Space's: the GPU time is counted and shown
    many, few = gpu_seconds(36), gpu_seconds(1)
    assert few < many, (few, many)
    monkeypatch.setattr(app["engine"], "gpu_seconds_cap", few)

    page = open_page(browser, app["url"])
    page.locator("#advanced_image").get_by_text("Advanced settings").click()
    short_reply(page, "image")
    page.locator("#input_image input[type=file]").set_input_files(str(photo))
    budget = page.locator("#budget_image")
    expect(budget).to_contain_text(f"{many} s of GPU time", timeout=60_000)
    expect(budget).to_contain_text(f"this Space allows {few} s per reply")
    expect(page.locator("#chatbot_image .user")).to_have_count(0)  # flagged before anything was sent
    budget.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "page-budget-zero-gpu.png"))
    page.locator("#fit_image").click()
    expect(page.locator("#fit_image")).to_be_hidden(timeout=60_000)
    expect(budget).not_to_contain_text("this Space allows")
    expect(budget).to_contain_text(f"{few} s of GPU time")
    slices = int(page.locator("#setting_max_slice_nums_image input[type=number]").input_value())
    assert slices < 36 and gpu_seconds(slices) <= few, slices
    page.close()


def short_reply(page, key: str) -> None:
    """16 tokens at most (Advanced settings open): the tiny model's sampled replies run long on a busy machine."""
    page.locator(f"#setting_max_new_tokens_{key} input[type=number]").fill("16")
    page.locator(f"#setting_max_new_tokens_{key} input[type=number]").press("Enter")


def test_a_reply_can_be_copied_as_python(browser, app, red_image):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, permissions=["clipboard-read",
                                                                                         "clipboard-write"])
    page = context.new_page()
    page.goto(app["url"])
    expect(page.locator("#model_status")).to_contain_text("Ready", timeout=60_000)
    page.locator("#input_image textarea").fill("What colour is it?")
    page.locator("#input_image input[type=file]").set_input_files(str(red_image))
    page.locator("#advanced_image").get_by_text("Advanced settings").click()
    page.locator("#setting_downsample_mode_image").get_by_text("4x", exact=True).click()
    short_reply(page, "image")
    page.locator("#send_image").click()
    chatbot = page.locator("#chatbot_image")
    python = chatbot.get_by_text("This reply as Python")
    expect(python).to_be_visible(timeout=120_000)
    python.click()  # collapsed until asked for
    code = chatbot.locator("details pre").first  # the transformers script, before the gradio_client and curl ones
    expect(code).to_contain_text("apply_chat_template")
    code.hover()
    chatbot.locator("details .copy_code_button").first.click()  # the script's own copy button
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "'downsample_mode': '4x'" in copied and "'max_new_tokens': " in copied, copied[:500]
    assert "model.generate(" in copied and "red.png" in copied
    page.screenshot(path=str(ARTIFACTS / "page-python.png"))
    context.close()


def test_the_filmstrip_shows_the_frames_the_model_got_with_their_times(browser, app, short_video):
    page = open_page(browser, app["url"])
    page.get_by_role("tab", name="Video", exact=True).click()
    page.locator("#input_video textarea").fill("What happens?")
    page.locator("#input_video input[type=file]").set_input_files(str(short_video))
    page.locator("#advanced_video").get_by_text("Advanced settings").click()
    short_reply(page, "video")
    page.locator("#send_video").click()
    reply = page.locator("#chatbot_video .bot").last
    expect(reply).to_contain_text("tokens/s", timeout=120_000)
    frames = int(re.search(r"clip\.mp4: (\d+) frames", reply.inner_text()).group(1))  # what the stats say
    reply.get_by_text("What the model saw").click()
    pictures = reply.locator("details img")
    expect(pictures).to_have_count(frames)
    assert all(pictures.nth(index).evaluate("image => image.naturalWidth") > 0 for index in range(frames))
    times = [float(text.removesuffix(" s")) for text in reply.locator("details sub").all_inner_texts()]
    assert len(times) == frames and times == sorted(times) and times[0] == 0.0 and times[-1] < 4
    page.screenshot(path=str(ARTIFACTS / "page-filmstrip.png"))
    page.close()
