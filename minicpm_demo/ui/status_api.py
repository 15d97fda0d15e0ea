"""``/status`` (api_name ``status``), for scripts and agents: whether the model is loading, ready or failed, what is
loaded, and how many requests are in its queue; and ``GET /healthz``, for a load balancer or a Space's health
check, which says only the state.

``/status`` is an API endpoint like ``/chat``, behind ``--auth`` as everything is, and outside the queue: a
queue full of requests still gets its answer at once. ``/healthz`` answers before authentication, so it says
the state and nothing else (docs/SECURITY.md).
"""

from __future__ import annotations

import json
from typing import Any

import gradio as gr

from minicpm_demo.engine.waiting import loading_progress
from minicpm_demo.ui.gradio_patches import waiting_requests

HEALTHZ = "/healthz"
HEALTHY = {"ready": 200}  # every other state is 503: a balancer sends no visitor to a replica still loading


def engine_status(engine, demo=None, concurrency_id: str | None = None) -> dict[str, Any]:
    """What ``/status`` answers: ``state`` ("loading" | "ready" | "error"), ``progress`` while loading,
    ``error`` when the load failed, the model, quantization, device, decoding mode, warnings, and the
    ``queue_length`` (requests for the model waiting or being answered)."""
    status = engine.status()
    details = status.details
    spec = getattr(engine, "spec", None)
    queue = waiting_requests(demo, concurrency_id) if demo is not None and concurrency_id else None
    return {
        "state": status.state,
        "progress": loading_progress(details) if status.state == "loading" else None,
        "error": status.message if status.state == "error" else None,
        "model": details.get("model") or getattr(spec, "model_id", None) or getattr(spec, "served_model", None),
        "quantization": details.get("quantization"),
        "device": details.get("device"),
        "server": details.get("server"),  # with --backend openai: the server's kind
        "decoding": details.get("decoding"),
        "warnings": list(details.get("warnings") or ()),
        "queue_length": None if queue is None else len(queue),
    }


def add_status_endpoint(engine, demo, concurrency_id: str) -> None:
    def status() -> dict:
        """The demo's state: "loading" (with the loader's progress), "ready" or "error" (with the cause); the
        model, its quantization, device and decoding mode; warnings; and how many requests wait for the model."""
        return engine_status(engine, demo, concurrency_id)

    gr.api(status, api_name="status", queue=False)


class Healthz:
    """ASGI middleware: ``GET /healthz`` answers ``{"state": ...}``, 200 when ready and 503 otherwise, before
    anything else (authentication included) sees the request."""

    def __init__(self, app, engine):
        self.app = app
        self.engine = engine

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("path") != HEALTHZ or scope.get("method") not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        state = self.engine.status().state
        body = json.dumps({"state": state}).encode()
        await send({"type": "http.response.start", "status": HEALTHY.get(state, 503),
                    "headers": [(b"content-type", b"application/json"), (b"cache-control", b"no-store"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
