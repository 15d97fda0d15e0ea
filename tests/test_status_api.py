"""``/status`` and ``GET /healthz`` answer while the model loads and once it is ready or failed; with --auth,
``/status`` only to a signed-in client, ``/healthz`` to anyone but with the state alone."""

from __future__ import annotations

import httpx
import pytest
from gradio_client import Client
from helpers import served_before_loading, slower_load, wait_for


def status_of(url: str, **client) -> dict:
    return Client(url, analytics_enabled=False, verbose=False, **client).predict(api_name="/status")


def test_status_and_healthz_while_loading_and_once_ready(tiny_checkpoint, monkeypatch):
    slower_load(monkeypatch, seconds=4.0)
    with served_before_loading(str(tiny_checkpoint)) as (url, engine):
        engine.start_loading()
        loading = status_of(url)
        assert loading["state"] == "loading" and loading["progress"]["steps"] >= 3, loading
        assert loading["model"] == str(tiny_checkpoint)
        health = httpx.get(url + "healthz")
        assert (health.status_code, health.json()) == (503, {"state": "loading"})
        assert health.headers["cache-control"] == "no-store"
        assert wait_for(lambda: httpx.get(url + "healthz").status_code == 200, timeout=300)
        ready = status_of(url)
    assert ready["state"] == "ready" and ready["progress"] is None and ready["error"] is None
    assert ready["device"] == "cpu" and ready["decoding"] == "eager" and ready["quantization"]
    assert ready["queue_length"] == 0 and isinstance(ready["warnings"], list)


def test_a_failed_load_reads_error_with_its_cause(tmp_path):
    with served_before_loading(str(tmp_path / "no-such-checkpoint")) as (url, engine):
        engine.wait_until_loaded(timeout=120)
        failed = status_of(url)
        health = httpx.get(url + "healthz")
    assert failed["state"] == "error" and "no-such-checkpoint" in failed["error"]
    assert (health.status_code, health.json()) == (503, {"state": "error"})


def test_with_auth_status_needs_a_signed_in_client_and_healthz_says_only_the_state(tiny_checkpoint):
    with served_before_loading(str(tiny_checkpoint), "--auth", "alice:wonderland") as (url, engine):
        engine.wait_until_loaded(timeout=300)
        with pytest.raises(Exception, match="credentials|login|Login|401"):
            status_of(url)
        assert httpx.post(url + "gradio_api/call/status", json={"data": []}).status_code in (401, 403)
        assert status_of(url, auth=("alice", "wonderland"))["state"] == "ready"
        health = httpx.get(url + "healthz")
    assert (health.status_code, health.json()) == (200, {"state": "ready"})
