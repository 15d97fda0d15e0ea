"""The page's own CSS and script: the status line's colours, and the file pickers' lists of what each tab takes."""

import json

from minicpm_demo.ui.capture import SCREEN_JS
from minicpm_demo.ui.i18n import EN, ZH

PAGE_CSS = """
#model_status .state { font-weight: 600; }
#model_status .state::before { content: "●"; margin-right: .35em; }
#model_status .ready { color: #15803d; }
#model_status .loading { color: #b45309; }
#model_status .error { color: #b91c1c; }
#model_status .warning { color: #b45309; }
#header h1 { margin-bottom: 0; }
.budget { font-size: .8em; }
/* One line, however narrow the window (the whole text in its tooltip), so that Send and Stop stay in view. */
.budget.fits { color: var(--body-text-color-subdued); display: block; white-space: nowrap; overflow: hidden;
               text-overflow: ellipsis; }
[id^="budget_row_"]:not(:has(.budget)) { display: none; }
/* Its events show no progress, yet Gradio can draw "processing" over it while one waits: never over the line. */
[id^="budget_"] .wrap, [id^="budget_"] .progress-text { display: none !important; }
.budget.over { color: #b91c1c; }
/* A reply's filmstrip (ui/render.py): small frames in rows, each with its time under it. */
[id^="chatbot_"] details a:has(img) { display: inline-block; margin: 2px; vertical-align: top; }
[id^="chatbot_"] details a img { height: 72px !important; width: auto !important; max-width: none !important;
                                 border-radius: 4px; }
[id^="chatbot_"] details a + sub { display: inline-block; margin: 0 6px 0 -2px; }
.record-screen.recording { color: #b91c1c; border-color: #b91c1c; }
.capture-hint { font-size: .8em; color: var(--body-text-color-subdued); }
.unshown-file { font-size: .75em; word-break: break-all; padding: 2px; }
#header p { margin-top: .2em; }
/* The chat takes the window's height less what is around it, so that the input box, Send and Stop stay in view
   without scrolling, an attachment's thumbnail included (a laptop's 800 pixels, a phone's 844). */
[id^="chatbot_"] { height: max(240px, calc(100dvh - 480px)) !important; }
@media (max-width: 640px) { [id^="chatbot_"] { height: max(240px, calc(100dvh - 550px)) !important; } }
/* A phone's row of three leaves "Regenerate" no room for Gradio's padding: its label keeps inside the button. */
@media (max-width: 480px) { [id^="regenerate_"], [id^="undo_"], [id^="clear_"] { padding-inline: 4px; } }
"""

# What each tab's file picker offers (its own files first; "All files" stays one click away in the dialog). The
# box itself takes any file, so that one of the wrong kind, dropped or picked, reaches the server and gets this
# app's message naming the right tab, rather than being dropped by the browser while the question goes without it.
PICKER_TYPES = {
    "image": "image/*,.heic,.heif,.avif,.tif,.tiff,.mpo,.pdf",
    "video": "video/*,.mkv,.avi,.flv,.wmv,.ts,.m2ts,.3gp,.gif,.webp,.png,.apng",
}


def page_js(pickers: dict[str, str]) -> str:
    """A script for ``launch(js=...)`` that sets the ``accept`` list of the file input inside each element id of
    ``pickers`` (id → one of PICKER_TYPES' keys), also on inputs created later (a tab opened for the first time),
    writes a toast's heading in the browser's language (Gradio writes its kind there, in English), and names a
    file whose thumbnail the browser cannot draw."""
    accept = {elem_id: PICKER_TYPES[kind] for elem_id, kind in pickers.items()}
    return """() => {
  const accept = %s;
  const titles = %s;
  const title = titles[(navigator.language || "en").slice(0, 2).toLowerCase()] || titles.en;
  const kinds = new Set(["Warning", "Info", "Error", "Success"]);
  const STOP_LABEL = (%s)[(navigator.language || "en").slice(0, 2).toLowerCase()] || "%s";
%s
  const apply = () => {
    screenButtons();
    for (const [id, types] of Object.entries(accept))
      for (const input of document.querySelectorAll(`#${id} input[type=file]`))
        if (input.accept !== types) input.accept = types;
    for (const node of document.querySelectorAll("[class*=toast-title] span"))
      for (const text of node.childNodes)
        if (text.nodeType === Node.TEXT_NODE && kinds.has(text.data.trim())) text.data = title + " ";
  };
  apply();
  // A file the browser cannot draw (an SVG, a HEIC) shows its name, not a broken picture, until it is sent.
  document.addEventListener("error", (event) => {
    const image = event.target;
    if (!(image instanceof HTMLImageElement) || !image.closest("[id^=input_]") || image.dataset.unshown) return;
    image.dataset.unshown = "1";
    image.style.display = "none";
    const name = document.createElement("span");
    name.className = "unshown-file";
    name.textContent = image.alt || decodeURIComponent(image.src.split("/").pop().split("?")[0]);
    image.after(name);
  }, true);
  new MutationObserver(apply).observe(document.body, {childList: true, subtree: true, characterData: true});
}""" % (json.dumps(accept), json.dumps({"en": EN["notice"], "zh": ZH["notice"]}, ensure_ascii=False),
         json.dumps({"en": EN["capture.stop"], "zh": ZH["capture.stop"]}, ensure_ascii=False), EN["capture.stop"],
         SCREEN_JS)
