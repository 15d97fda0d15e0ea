"""The bounds of the HTTP layer: one ASGI middleware in front of every Gradio route (``launch(app_kwargs=...)``).

- A request body (uploads aside, whose files Gradio caps) is at most ``max_body_bytes``: 413 before any of it is
  parsed, so an oversized question never reaches Gradio's queue or a session.
- A JSON body that names a file by URL is refused (422): Gradio would fetch it into its upload cache before any
  handler runs, unbounded in size and leaving a directory behind when the fetch fails. So is a file path with a
  NUL character, which Gradio would answer with a raw error.
- An upload must say its size (411) and fit the visitor's hourly quota (429, with Retry-After).
- After too many wrong passwords, a visitor's next login waits (429, with Retry-After).
- A request that would take more than its session's or visitor's share of the model's queue is refused as it
  joins (422, ``admission``; ui/fairness.py), before it waits; so is one whose kind has no room left in the
  queue (503, as Gradio answers a full queue).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from minicpm_demo.settings import shown
from minicpm_demo.ui.visitors import LoginThrottle, UploadQuota, visitor_address

MB = 1024 * 1024
LOGIN_BODY_BYTES = 64 * 1024  # a user name and a password, form-encoded
UPLOAD_PATH = "/gradio_api/upload"
JOIN_PATH = "/gradio_api/queue/join"


@dataclass(frozen=True)
class HttpLimits:
    max_body_bytes: int
    upload_bytes_per_hour: int  # 0: no quota
    login_failures: int
    forwarded_for: str = "auto"  # see visitors.visitor_address
    first_login_wait_s: float = 1.0


class RequestGuard:
    """Starlette/ASGI middleware; ``limits`` is an ``HttpLimits``."""

    def __init__(self, app, limits: HttpLimits, admission: Callable[[Any, dict], Any] | None = None):
        self.app = app
        self.limits = limits
        self.admission = admission  # a queue/join's JSON body and scope -> a fairness.Refusal, or None
        self.uploads = UploadQuota(limits.upload_bytes_per_hour) if limits.upload_bytes_per_hour else None
        self.logins = LoginThrottle(limits.login_failures, first_wait_s=limits.first_login_wait_s)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"].rstrip("/")
        visitor = visitor_address(scope, self.limits.forwarded_for)
        if path.endswith(UPLOAD_PATH) and scope["method"] == "POST":
            refusal = self._upload_refusal(scope, visitor)
            return await (refusal(send) if refusal else self.app(scope, receive, send))
        login = path.endswith("/login") and scope["method"] == "POST"
        if login and (wait := self.logins.wait_s(visitor)):
            seconds = math.ceil(wait)
            return await _Refusal(429, f"Too many wrong passwords from this address: wait {seconds} s, then try "
                                       "again.", seconds)(send)
        limit = LOGIN_BODY_BYTES if login else self.limits.max_body_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            return await _too_large(declared, limit)(send)
        body = await _read_body(receive, limit)
        if body is None:  # the client went away while sending
            return
        if isinstance(body, int):
            return await _too_large(body, limit)(send)
        if problem := _file_problem(scope, body):
            return await _Refusal(422, problem, validation=True)(send)
        if self.admission and path.endswith(JOIN_PATH) and (refused := self.admission(_json(body), scope)):
            if refused.status == 503:  # shaped as Gradio's own full queue, which its clients know
                return await _Refusal(503, str(refused.message))(send)
            return await _Refusal(refused.status, refused.message, validation=True, parameter="text")(send)
        replayed = _replay(body, receive)
        if not login:
            return await self.app(scope, replayed, send)
        status = []

        async def seen(message):
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, replayed, seen)
        if status == [200]:
            self.logins.succeeded(visitor)
        elif status == [400]:  # Gradio's answer to a wrong user name or password
            self.logins.failed(visitor)

    def _upload_refusal(self, scope, visitor: str) -> _Refusal | None:
        if self.uploads is None:
            return None
        size = _content_length(scope)
        if size is None:
            return _Refusal(411, "An upload must say its size (a Content-Length header); send it again with one.")
        wait = self.uploads.take(visitor, size)
        per_hour = f"{self.uploads.per_hour / MB:,.0f} MB"
        if wait is None:
            return None
        if math.isinf(wait):
            return _Refusal(413, f"This upload is {size / MB:,.0f} MB; one visitor may upload up to {per_hour} an "
                                 "hour. Send a smaller file, or ask the operator to raise --upload-mb-per-hour.")
        minutes = math.ceil(wait / 60)
        return _Refusal(429, f"This upload ({size / MB:,.1f} MB) is over what one visitor may upload in an hour "
                             f"({per_hour}): wait {minutes} min, or send smaller files.", math.ceil(wait))


@dataclass(frozen=True)
class _Refusal:
    status: int
    message: str
    retry_after_s: int | None = None
    validation: bool = False  # shaped as Gradio's own validation errors, which gradio_client shows as they are
    parameter: str = "files"  # the input a validation error is about

    async def __call__(self, send) -> None:
        detail = ([{"__type__": "validate", "is_valid": False, "parameter_name": self.parameter,
                    "message": self.message}] if self.validation else self.message)
        body = json.dumps({"detail": detail, "error": self.message}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if self.retry_after_s is not None:
            headers.append((b"retry-after", str(self.retry_after_s).encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _too_large(size: int, limit: int) -> _Refusal:
    return _Refusal(413, f"This request is {size / MB:,.1f} MB (or more); this server takes up to {limit / MB:,.1f} "
                         "MB in one request, files aside (upload those). Send a shorter question or history.")


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _read_body(receive, limit: int) -> bytes | int | None:
    """The whole body; its size so far (an int) once it passes ``limit``; None if the client went away."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return size
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive):
    """``receive`` for the app: the body read already, then the server's own messages (a disconnect)."""
    given = False

    async def replayed():
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None  # Gradio answers a body it cannot parse itself


def _file_problem(scope, body: bytes) -> str | None:
    """What is wrong with a file a JSON body names, before Gradio reads it: a URL (which Gradio would fetch), or a
    NUL character in its path (which no file has)."""
    if b"FileData" not in body and b"\\u" not in body:  # an escaped name is decoded before Gradio reads it
        return None
    content_type = next((value for name, value in scope.get("headers", ()) if name == b"content-type"), b"")
    if not content_type.startswith(b"application/json"):
        return None
    try:
        stack = [json.loads(body)]
    except (ValueError, RecursionError):
        return None  # Gradio answers a body it cannot parse itself
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            path, meta = item.get("path"), item.get("meta")
            if isinstance(meta, dict) and meta.get("_type") == "gradio.FileData" and isinstance(path, str):
                if path.lower().startswith(("http://", "https://")):
                    return (f"A file in the request is a URL ({shown(path)}): this server only reads files uploaded "
                            "to it, and fetches nothing. Download the file and pass its local path to "
                            "gradio_client's handle_file(), which uploads it.")
                if "\x00" in path:
                    return (f"A file in the request has a NUL character in its path ({shown(path)}), which no file "
                            "has. Pass each file through gradio_client's handle_file(), which uploads it.")
            stack.extend(item.values())
    return None
