"""With ``--mcp``: the demo as an MCP server (Gradio's, at ``/gradio_api/mcp/``) whose tools are
``describe_image``, ``compare_images`` and ``describe_video``.

Each tool is a queued endpoint that goes through ``/chat``'s own checks (``api.stream_chat``): the same limits,
the same messages, the same queue and its share per visitor. With ``--auth``, ``McpGate`` lets an MCP client in
only with a user's name and password (HTTP Basic), since Gradio's MCP route itself checks no sign-in
(docs/SECURITY.md).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from typing import Any

import gradio as gr

from minicpm_demo.ui import api
from minicpm_demo.ui.errors import USER_ERRORS, user_error
from minicpm_demo.ui.mcp_files import received_file
from minicpm_demo.ui.pacing import QueuePacer

MCP_PATH = "/gradio_api/mcp"
GREEDY = {"do_sample": False}  # an agent's question gets the same answer each time it asks


def _answer(engine, pacer: QueuePacer, question, files, modality: str, settings: dict[str, Any]):
    """The answer to one question about ``files`` (each a URL and what it is, e.g. "the image"), as ``/chat``
    gives it. Only the text: Gradio's MCP server gives each output as text, so the stats stay ``/chat``'s."""
    final = None
    largest, flag = api.size_limit("video" if modality == "video" else "image", engine.limits)
    try:
        files = [received_file(value, what, largest, flag) for value, what in files]
        for final in api.stream_chat(engine, pacer, question, files, modality, None, {**GREEDY, **settings}):
            pass
    except USER_ERRORS as error:
        raise user_error(error) from None
    return final["answer"]


def add_mcp_tools(engine, pacer: QueuePacer, *, concurrency_id: str, concurrency_limit: int) -> None:
    """The three tools, as endpoints named after them, queued with the model's other requests."""

    def describe_image(image: Any, question: str) -> str:
        """Answer a question about one image (a photo, screenshot, chart, document scan, or a PDF's pages) with
        the MiniCPM-V 4.6 vision-language model.

        Args:
            image: the image, as a URL (https://...) or as a data: URL (data:image/png;base64,...)
            question: what to ask about the image, in any language, e.g. "What does this chart show?"

        Returns:
            the model's answer
        """
        return _answer(engine, pacer, question, [(image, "the image")], "image", {})

    def compare_images(first_image: Any, second_image: Any, question: str, third_image: Any = None,
                       fourth_image: Any = None) -> str:
        """Answer a question about two to four images at once, such as what differs between them, with the
        MiniCPM-V 4.6 vision-language model.

        Args:
            first_image: the first image, as a URL (https://...) or as a data: URL (base64)
            second_image: the second image, the same way
            question: what to ask about the images together, e.g. "What is different between these two?"
            third_image: a third image, if there is one
            fourth_image: a fourth image, if there is one

        Returns:
            the model's answer
        """
        images = [(image, f"the {nth} image") for nth, image in zip(
            ("first", "second", "third", "fourth"), (first_image, second_image, third_image, fourth_image)) if image]
        return _answer(engine, pacer, question, images, "multi-image", {})

    def describe_video(video: Any, question: str, max_frames: float = 64) -> str:
        """Answer a question about a video (what happens, in what order, what is shown) with the MiniCPM-V 4.6
        vision-language model, which sees frames sampled evenly across it.

        Args:
            video: the video (MP4, WebM, MOV, ...), as a URL (https://...) or as a data: URL (base64)
            question: what to ask about the video, e.g. "Describe what happens."
            max_frames: most frames sampled from the video (more see more detail in time, and take longer)

        Returns:
            the model's answer
        """
        return _answer(engine, pacer, question, [(video, "the video")], "video", {"max_num_frames": max_frames})

    with gr.Column(visible=False):
        # Files as text (URLs), fetched by ui/mcp_files.py within the limits, rather than Gradio's file inputs,
        # which Gradio would fetch whole into memory; one input per image, as an agent names them.
        image, video = gr.Textbox(label="image"), gr.Textbox(label="video")
        images = [gr.Textbox(label=f"{nth}_image") for nth in ("first", "second", "third", "fourth")]
        question = gr.Textbox(label="question")
        max_frames = gr.Number(label="max_frames", value=64, precision=0)
        answer = gr.Textbox(label="answer")
        for tool, inputs in ((describe_image, [image, question]),
                             (compare_images, [*images[:2], question, *images[2:]]),
                             (describe_video, [video, question, max_frames])):
            gr.Button(tool.__name__).click(tool, inputs, [answer], api_name=tool.__name__,
                                           concurrency_id=concurrency_id, concurrency_limit=concurrency_limit)


class McpGate:
    """ASGI middleware: with ``--auth``, a request to the MCP server needs one of the users' name and password as
    HTTP Basic credentials (``Authorization: Basic base64(user:password)``); others get 401."""

    def __init__(self, app, credentials: list[tuple[str, str]], root_path: str = ""):
        self.app = app
        self.credentials = credentials
        self.path = (root_path or "").rstrip("/") + MCP_PATH

    def signed_in(self, scope) -> bool:
        header = dict(scope.get("headers") or ()).get(b"authorization", b"")
        scheme, _, encoded = header.partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return any(hmac.compare_digest(user.encode(), known.encode()) and
                   hmac.compare_digest(password.encode(), secret.encode()) for known, secret in self.credentials)

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not self.credentials or not (path.startswith(MCP_PATH) or path.startswith(self.path)) or \
                self.signed_in(scope):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "This demo's MCP server needs a user's name and password: send them as HTTP "
                                    "Basic credentials (an 'Authorization: Basic ...' header)."}).encode()
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"www-authenticate", b'Basic realm="MiniCPM-V 4.6 demo MCP"')]})
        await send({"type": "http.response.body", "body": body})
