"""Hugging Face sign-in (--hf-oauth, --hf-org): the gate, the flags' rules, and a launched app that Gradio sets up
as on a Space (its real OAuth routes; the sign-in itself, which only Hugging Face can do, stands in as the session
cookie Gradio writes after it)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from gradio_client import Client, handle_file
from helpers import ARTIFACTS, CHROMIUM, ROOT, fetch, free_port, wait_for

from minicpm_demo.config import parse_config
from minicpm_demo.ui import sign_in
from minicpm_demo.ui.sign_in import HfSignIn, signed_in

# What a Space whose README sets hf_oauth: true has in its environment (the provider's URL is set per test).
SPACE = {"SYSTEM": "spaces", "SPACE_ID": "someone/minicpm-demo", "SPACE_HOST": "someone-minicpm-demo.hf.space",
         "OAUTH_CLIENT_ID": "client-id", "OAUTH_CLIENT_SECRET": "client-secret", "OAUTH_SCOPES": "openid profile",
         "OPENID_PROVIDER_URL": "http://127.0.0.1:9"}


def session_of(profile: dict | None, expires_in: float = 3600) -> dict:
    if profile is None:
        return {"session": {}}
    return {"session": {"oauth_info": {"userinfo": profile, "access_token": "token",
                                       "expires_at": time.time() + expires_in}}}


ALICE = {"name": "Alice", "preferred_username": "alice", "orgs": [{"preferred_username": "wonderland"}]}


def test_a_visitor_is_signed_in_only_with_an_unexpired_sign_in():
    assert signed_in(None) is None and signed_in({}) is None and signed_in(session_of(None)) is None
    assert signed_in(session_of(ALICE, expires_in=-1)) is None
    assert signed_in(session_of(ALICE))["preferred_username"] == "alice"


def test_the_gate_asks_for_a_sign_in_then_for_membership():
    assert "Sign in with Hugging Face" in str(HfSignIn().refusal(session_of(None)))
    assert HfSignIn().refusal(session_of(ALICE)) is None
    assert HfSignIn("wonderland").refusal(session_of(ALICE)) is None
    refused = str(HfSignIn("looking-glass").refusal(session_of(ALICE)))
    assert "members of the looking-glass organization" in refused and "alice" in refused


def test_membership_not_in_the_profile_is_asked_once_with_the_visitors_token(monkeypatch):
    asked = []

    def whoami(token):
        asked.append(token)
        return {"orgs": [{"name": "wonderland"}]}

    monkeypatch.setattr("huggingface_hub.whoami", whoami)
    scope = session_of({"name": "Bob", "preferred_username": "bob"})
    assert HfSignIn("wonderland").refusal(scope) is None and HfSignIn("wonderland").refusal(scope) is None
    assert asked == ["token"], "looked up once, kept in the visitor's session"
    assert scope["session"][sign_in.ORGS_KEY] == ["wonderland"]


@pytest.mark.parametrize(("argv", "environ", "message"), [
    (["--hf-oauth"], {}, "works on a Hugging Face Space"),
    (["--hf-org", "wonderland"], {"SPACE_ID": "someone/demo"}, "--hf-org (env HF_ORG) needs --hf-oauth"),
    (["--hf-oauth", "--auth", "alice:pw"], SPACE, "choose one"),
    (["--hf-oauth", "--mcp"], SPACE, "MCP clients cannot sign in"),
])
def test_the_sign_in_flags_refuse_what_would_not_work(argv, environ, message, capsys):
    with pytest.raises(SystemExit):
        parse_config(argv, environ=environ)
    assert message in capsys.readouterr().err


def test_a_space_whose_readme_asks_for_sign_in_has_it():
    assert parse_config([], environ=SPACE).hf_oauth
    assert not parse_config([], environ={**SPACE, "HF_OAUTH": "0"}).hf_oauth
    assert not parse_config([], environ={"SPACE_ID": "someone/demo"}).hf_oauth


def session_cookie(profile: dict) -> str:
    """The cookie Gradio's session middleware writes once Hugging Face has signed ``profile`` in."""
    from itsdangerous import TimestampSigner

    secret = hashlib.sha256((SPACE["OAUTH_CLIENT_SECRET"] + "-v4").encode()).hexdigest()
    data = {"oauth_info": {"userinfo": profile, "access_token": "t", "expires_at": time.time() + 3600}}
    return TimestampSigner(secret).sign(base64.b64encode(json.dumps(data).encode())).decode()


@pytest.fixture
def openid_provider():
    """Hugging Face's OpenID metadata, as far as the Sign in button's first step reads it."""
    class Metadata(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"issuer": base, "authorization_endpoint": base + "/oauth/authorize",
                               "token_endpoint": base + "/oauth/token"}).encode()
            self.send_response(200 if self.path == "/.well-known/openid-configuration" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Metadata)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield base
    server.shutdown()


def test_on_a_space_chat_needs_a_signed_in_member(tiny_checkpoint, red_image, tmp_path, openid_provider, request):
    browser_factory = lambda: request.getfixturevalue("browser")  # noqa: E731 (only where Chromium is)
    port = free_port()
    env = {**os.environ, **SPACE, "OPENID_PROVIDER_URL": openid_provider, "GRADIO_TEMP_DIR": str(tmp_path)}
    log = open(tmp_path / "app.log", "w")
    process = subprocess.Popen([sys.executable, "app.py", "--model", str(tiny_checkpoint), "--device", "cpu",
                                "--port", str(port), "--hf-org", "wonderland"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        assert wait_for(lambda: fetch(url + "healthz"), timeout=300), \
            (tmp_path / "app.log").read_text()[-3000:]
        # the Sign in button's route is Gradio's real one, sending the visitor to Hugging Face for this Space
        login = httpx.get(url + "login/huggingface", follow_redirects=False)
        assert login.status_code in (302, 307), login.text[:500]
        assert login.headers["location"].startswith(openid_provider + "/oauth/authorize?")
        assert "client_id=client-id" in login.headers["location"]
        assert "someone-minicpm-demo.hf.space%2Flogin%2Fcallback" in login.headers["location"]

        def ask(profile: dict | None):
            headers = {"Cookie": f"session={session_cookie(profile)}"} if profile else None
            client = Client(url, analytics_enabled=False, verbose=False, headers=headers)
            return client.predict("What colour?", [handle_file(str(red_image))], "image", None,
                                  {"do_sample": False, "max_new_tokens": 3}, api_name="/chat")

        with pytest.raises(Exception, match="Sign in with Hugging Face"):
            ask(None)
        with pytest.raises(Exception, match="members of the wonderland organization"):
            ask({"name": "Bob", "preferred_username": "bob", "orgs": []})
        assert ask(ALICE)["done"]
        if CHROMIUM.exists() or os.environ.get("CI"):
            _the_page_asks_for_a_sign_in(browser_factory(), url, red_image)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _the_page_asks_for_a_sign_in(browser, url: str, red_image) -> None:
    """The page shows the Sign in button; a question asked signed out is refused where the visitor looks, kept in
    its box; signed in, the status line names the visitor and the question is answered."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    try:
        page.goto(url)
        expect(page.locator("#sign_in")).to_contain_text("Sign in with Hugging Face", timeout=60_000)
        expect(page.locator("#model_status")).to_contain_text("Ready", timeout=60_000)
        page.locator("#input_image input[type=file]").set_input_files(str(red_image))
        page.locator("#input_image textarea").fill("What colour is it?")
        page.locator("#send_image").click()
        expect(page.locator(".toast-body").last).to_contain_text("Sign in with Hugging Face", timeout=30_000)
        expect(page.locator("#input_image textarea")).to_have_value("What colour is it?")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "sign-in-needed.png"))

        context.add_cookies([{"name": "session", "value": session_cookie(ALICE), "url": url}])
        page.reload()
        expect(page.locator("#model_status")).to_contain_text("Signed in as alice", timeout=60_000)
        expect(page.locator("#sign_in")).to_contain_text("Logout (alice)")
        page.locator("#input_image input[type=file]").set_input_files(str(red_image))
        page.locator("#input_image textarea").fill("What colour is it?")
        page.locator("#send_image").click()
        expect(page.locator("#chatbot_image .bot").last).to_contain_text("tokens/s", timeout=120_000)
        expect(page.locator(".toast-body")).to_have_count(0)  # no error from the page's own events either
        page.screenshot(path=str(ARTIFACTS / "signed-in.png"))
    finally:
        context.close()
