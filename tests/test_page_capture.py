"""Ways in besides the paperclip, in headless Chromium with its fake camera and screen: a webcam photo, a webcam
clip, an image pasted from the clipboard, a screen recording (the app fixture's tiny model)."""

from __future__ import annotations

import pytest
from helpers import ARTIFACTS, LAPTOP, open_page, require_chromium

require_chromium()
from playwright.sync_api import expect  # noqa: E402

PHONE = {"width": 390, "height": 844}


def short_replies(page, key: str) -> None:
    page.locator(f"#advanced_{key}").get_by_text("Advanced settings").click()
    page.locator(f"#setting_max_new_tokens_{key} input[type=number]").fill("8")
    page.locator(f"#setting_max_new_tokens_{key} input[type=number]").press("Enter")
    page.locator(f"#advanced_{key}").get_by_text("Advanced settings").click()


def send_and_wait(page, key: str, question: str):
    """Send ``question`` with what is attached (a short reply); the reply, once answered."""
    short_replies(page, key)
    page.locator(f"#input_{key} textarea").fill(question)
    page.locator(f"#send_{key}").click()
    reply = page.locator(f"#chatbot_{key} .bot").last
    expect(reply).to_contain_text("tokens/s", timeout=120_000)
    return reply


def open_camera(page, key: str):
    page.locator(f"#capture_{key}").get_by_text("Camera").first.click()
    camera = page.locator(f"#camera_{key}")
    camera.scroll_into_view_if_needed()
    start_camera(page, camera)
    return camera


def start_camera(page, camera) -> None:
    """Start the webcam and wait for its picture, as a person waits for the preview before the shutter."""
    camera.get_by_text("Click to Access Webcam").click()
    camera.locator("video").wait_for(timeout=30_000)
    page.wait_for_function("(video) => video.readyState >= 2 && video.videoWidth > 0",
                           arg=camera.locator("video").element_handle(), timeout=30_000)


def open_video_capture(page) -> None:
    page.get_by_role("tab", name="Video").click()
    page.locator("#capture_video").get_by_text("Camera and screen").click()


def record_a_moment(page, button, recording_label: str) -> None:
    """Record for 2.5 s with ``button`` (it reads ``recording_label`` meanwhile); the recording is attached."""
    button.click()
    expect(button).to_have_text(recording_label, timeout=30_000)
    page.wait_for_timeout(2500)
    button.click()
    expect(page.locator("#input_video video, #input_video .thumbnail-item")).not_to_have_count(0, timeout=30_000)


def test_a_webcam_photo_is_attached_to_the_question_and_answered(browser, app):
    page = open_page(browser, app["url"])
    camera = open_camera(page, "image")
    camera.get_by_label("capture photo").click()
    attached = page.locator("#input_image img")
    expect(attached).to_have_count(1, timeout=30_000)  # in the box, as a picked file would be
    reply = send_and_wait(page, "image", "What does the camera see?")
    expect(reply).to_contain_text("visual tokens")
    expect(page.locator("#chatbot_image .user img")).to_have_count(1)  # the photo, in the question
    page.screenshot(path=str(ARTIFACTS / "capture-photo-answered.png"))
    start_camera(page, camera)  # the camera is ready for the next photo
    camera.get_by_label("capture photo").click()
    expect(attached).to_have_count(1, timeout=30_000)
    expect(camera.get_by_text("Click to Access Webcam")).to_be_visible(timeout=30_000)  # emptied once attached
    start_camera(page, camera)
    camera.get_by_label("capture photo").click()  # a second photo takes the first one's place in a one-image tab
    expect(camera.get_by_text("Click to Access Webcam")).to_be_visible(timeout=30_000)  # it was attached
    expect(attached).to_have_count(1)
    page.close()


def test_a_webcam_clip_is_attached_when_recording_stops_and_its_frames_are_counted(browser, app):
    page = open_page(browser, app["url"])
    open_video_capture(page)
    camera = page.locator("#camera_video")
    camera.scroll_into_view_if_needed()
    start_camera(page, camera)
    # Gradio's one button: "Record", then "Stop"
    record_a_moment(page, camera.get_by_label("start recording"), "Stop")
    reply = send_and_wait(page, "video", "What happens in the clip?")
    expect(reply).to_contain_text("frame")  # the clip's note: how many frames of how many seconds
    page.close()


def test_an_image_pasted_into_the_box_is_attached_and_answered(browser, app, red_image):
    page = open_page(browser, app["url"])
    data = list(red_image.read_bytes())
    page.locator("#input_image textarea").focus()
    page.evaluate("""(bytes) => {
        const file = new File([new Uint8Array(bytes)], "pasted.png", {type: "image/png"});
        const transfer = new DataTransfer();
        transfer.items.add(file);
        const event = new ClipboardEvent("paste", {clipboardData: transfer, bubbles: true, cancelable: true});
        document.querySelector("#input_image textarea").dispatchEvent(event);
    }""", data)
    expect(page.locator("#input_image img")).to_have_count(1, timeout=30_000)
    reply = send_and_wait(page, "image", "What colour is the pasted picture?")
    expect(reply).to_contain_text("visual tokens")
    page.close()


def test_a_screen_recording_is_attached_to_the_video_question(browser, app):
    page = open_page(browser, app["url"])
    open_video_capture(page)
    record = page.locator("#screen_video")
    record.scroll_into_view_if_needed()
    record_a_moment(page, record, "⏹ Stop recording")
    reply = send_and_wait(page, "video", "What is on the screen?")
    expect(reply).to_contain_text("frame")
    page.close()


@pytest.mark.parametrize(("name", "viewport"), [("desktop", LAPTOP), ("phone", PHONE)])
def test_the_capture_controls_at_desktop_and_phone_size(browser, app, name, viewport):
    page = open_page(browser, app["url"], viewport=viewport)
    camera = open_camera(page, "image")
    expect(camera.get_by_label("capture photo")).to_be_visible(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / f"capture-image-{name}.png"))
    open_video_capture(page)
    expect(page.locator("#screen_video")).to_be_visible()
    page.locator("#screen_video").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"capture-video-{name}.png"))
    page.close()
