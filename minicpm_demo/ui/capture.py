"""Ways in besides the paperclip: a photo or a clip from the camera, and (Video tab) a recording of the screen.

A capture is attached to the tab's input box, as a picked file would be, so that it is seen there, checked on
Send as any file is, and sent with the question the user types. Pasting an image into the box is the box's own
(Gradio's MultimodalTextbox takes an image from the clipboard). The screen recorder is the page's script
(``SCREEN_JS``): Gradio's video component records a camera, not a screen; where the browser cannot record the
screen (phones), its button hides itself.
"""

from __future__ import annotations

import gradio as gr

from minicpm_demo.ui.i18n import t

SINGLE = "single"


def attach(capture, message, file_count: str = SINGLE):
    """``message`` (the input box's value) with the file ``capture`` names added (a one-file tab: instead of
    the one there), and the capture emptied for the next one."""
    path = capture.get("path") if isinstance(capture, dict) else capture
    if not path:
        return gr.skip(), gr.skip()
    message = dict(message or {})
    files = [] if file_count == SINGLE else list(message.get("files") or [])
    return {"text": message.get("text") or "", "files": [*files, path]}, None


def capture_controls(modality: str, key: str, box, file_count: str) -> None:
    """The tab's camera (a photo; in the Video tab a clip, and the screen recorder), collapsed under the box."""
    quiet = {"api_visibility": "private", "show_progress": "hidden", "queue": False}
    video = modality == "video"
    with gr.Accordion(t("capture.video" if video else "capture.photo"), open=False, elem_id=f"capture_{key}"):
        if video:
            # Not mirrored: text held up to the camera reads the right way round, and Gradio mirrors a webcam
            # clip with ffmpeg, which this app does not need.
            camera = gr.Video(sources=["webcam"], include_audio=False, label=t("capture.camera_clip"),
                              webcam_options=gr.WebcamOptions(mirror=False), elem_id=f"camera_{key}", height=240)
            gr.Button(t("capture.screen"), elem_id=f"screen_{key}", size="sm", elem_classes=["record-screen"])
            taken = camera.stop_recording
        else:
            camera = gr.Image(sources=["webcam"], type="filepath", label=t("capture.camera_photo"),
                              webcam_options=gr.WebcamOptions(mirror=False), elem_id=f"camera_{key}", height=240)
            taken = camera.input
        gr.Markdown(t("capture.paste"), elem_classes=["capture-hint"])
    # preprocess=False: the capture's upload record as sent; its path is in Gradio's cache like a picked file.
    taken(lambda capture, message: attach(capture, message, file_count), [camera, box], [box, camera],
          preprocess=False, **quiet)


# Records the screen with the browser's own recorder and attaches the recording to the Video tab's input box as
# if it had been picked (the box's file input, then its change event), so that it goes the way every file goes.
SCREEN_JS = """
  const recordScreen = (button) => {
    const tab = button.closest("[id^=capture_]").id.replace("capture_", "");
    let recorder = null, chunks = [];
    const label = button.textContent;
    button.addEventListener("click", async () => {
      if (recorder) { recorder.stop(); return; }
      let stream;
      try { stream = await navigator.mediaDevices.getDisplayMedia({video: {frameRate: 15}, audio: false}); }
      catch (error) { return; }  // the user chose not to share
      const type = MediaRecorder.isTypeSupported("video/webm;codecs=vp9") ? "video/webm;codecs=vp9" : "video/webm";
      recorder = new MediaRecorder(stream, {mimeType: type});
      chunks = [];
      recorder.ondataavailable = (event) => { if (event.data.size) chunks.push(event.data); };
      recorder.onstop = () => {
        stream.getTracks().forEach((track) => track.stop());
        recorder = null;
        button.textContent = label;
        button.classList.remove("recording");
        const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
        const file = new File(chunks, `screen-${stamp}.webm`, {type: "video/webm"});
        const input = document.querySelector(`#input_${tab} input[type=file]`);
        if (!input || !file.size) return;
        const transfer = new DataTransfer();
        transfer.items.add(file);
        input.files = transfer.files;
        input.dispatchEvent(new Event("change", {bubbles: true}));
      };
      stream.getVideoTracks()[0].addEventListener("ended", () => recorder && recorder.stop());
      recorder.start(1000);
      button.textContent = button.dataset.stop;
      button.classList.add("recording");
    });
  };
  const screenButtons = () => {
    for (const button of document.querySelectorAll(".record-screen")) {
      if (button.dataset.ready) continue;
      button.dataset.ready = "1";
      button.dataset.stop = STOP_LABEL;
      if (!navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia || !window.MediaRecorder)
        button.style.display = "none";
      else recordScreen(button);
    }
  };
"""
