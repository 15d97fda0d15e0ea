"""With --mcp, the demo is an MCP server: the official ``mcp`` client lists its tools over streamable HTTP,
calls each with a real file and gets an answer; a bad file gets the clear message; with --auth, a client
without a user's credentials is refused."""

from __future__ import annotations

import asyncio
import base64
import mimetypes
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from helpers import launched_app
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

TOOLS = {"describe_image", "compare_images", "describe_video"}


def data_url(path: Path) -> str:
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode()}"


def with_mcp(url: str, calls: list[tuple[str, dict]], headers: dict | None = None):
    """The server's tools, and the result of each call in ``calls``, over one MCP session."""

    async def session():
        async with httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(300, connect=10)) as http:
            async with streamable_http_client(url + "gradio_api/mcp/", http_client=http) as (read, write, _):
                async with ClientSession(read, write) as mcp:
                    await mcp.initialize()
                    tools = (await mcp.list_tools()).tools
                    return tools, [await mcp.call_tool(name, arguments) for name, arguments in calls]

    # A thread of its own: a browser test's Playwright may hold this thread's event loop.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, asyncio.wait_for(session(), timeout=300)).result()


def text_of(result) -> str:
    return "\n".join(item.text for item in result.content if getattr(item, "text", None))


@pytest.fixture(scope="module")
def mcp_app(tiny_checkpoint):
    with launched_app(tiny_checkpoint, "--mcp") as url:
        yield url


def test_the_tools_are_listed_with_their_descriptions_and_answer_real_files(mcp_app, red_image, three_images,
                                                                          short_video):
    tools, results = with_mcp(mcp_app, [
        ("describe_image", {"image": data_url(red_image), "question": "What colour is it?"}),
        ("compare_images", {"first_image": data_url(three_images[0]), "second_image": data_url(three_images[1]),
                            "third_image": data_url(three_images[2]), "question": "What differs?"}),
        ("describe_video", {"video": data_url(short_video), "question": "What happens?", "max_frames": 4}),
    ])
    by_name = {tool.name: tool for tool in tools}
    assert TOOLS <= set(by_name), sorted(by_name)
    assert "image" in by_name["describe_image"].inputSchema["properties"]
    assert "MiniCPM-V 4.6" in by_name["describe_video"].description
    assert "max_frames" in by_name["describe_video"].inputSchema["properties"]
    assert {"first_image", "second_image"} <= set(by_name["compare_images"].inputSchema["required"])
    for result in results:
        assert not result.isError and text_of(result).strip(), text_of(result)
        assert not text_of(result).startswith(("(", "[", "{")), "the answer alone, as text"


def test_the_tools_apply_the_pages_checks(mcp_app, red_image):
    _, (still, frames) = with_mcp(mcp_app, [
        ("describe_video", {"video": data_url(red_image), "question": "What happens?"}),
        ("describe_image", {"image": data_url(red_image), "question": "x" * 30_000}),
    ])
    assert still.isError and "is a still image, not a video" in text_of(still), text_of(still)
    assert frames.isError and "20,000" in text_of(frames), text_of(frames)


def test_a_bad_file_gets_the_clear_message_and_the_next_call_works(mcp_app, red_image, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a picture" * 10)
    _, (bad, inside, good) = with_mcp(mcp_app, [
        ("describe_image", {"image": data_url(broken), "question": "What is it?"}),
        # a URL into the server's own network: the server must not fetch it for an agent
        ("describe_image", {"image": mcp_app + "gradio_api/info", "question": "What is it?"}),
        ("describe_image", {"image": data_url(red_image), "question": "What is it?"}),
    ])
    assert bad.isError and "is damaged or incomplete" in text_of(bad), text_of(bad)
    assert inside.isError and "not on a public internet address" in text_of(inside), text_of(inside)
    assert not good.isError, text_of(good)


def test_with_auth_a_client_without_credentials_is_refused(tiny_checkpoint, red_image):
    with launched_app(tiny_checkpoint, "--mcp", "--auth", "alice:wonderland") as url:
        refused = httpx.post(url + "gradio_api/mcp/", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                             headers={"accept": "application/json, text/event-stream"})
        assert refused.status_code == 401 and "Basic" in refused.headers["www-authenticate"]
        wrong = "Basic " + base64.b64encode(b"alice:guess").decode()
        assert httpx.get(url + "gradio_api/mcp/schema", headers={"authorization": wrong}).status_code == 401
        signed_in = {"authorization": "Basic " + base64.b64encode(b"alice:wonderland").decode()}
        tools, (answer,) = with_mcp(url, [("describe_image", {"image": data_url(red_image),
                                                               "question": "What colour?"})], headers=signed_in)
    assert TOOLS <= {tool.name for tool in tools}
    assert not answer.isError, text_of(answer)


# ---- files named by URL (ui/mcp_files.py) ------------------------------------------------------------------
@pytest.fixture
def web_host(monkeypatch, red_image):
    """A web server with a picture, a redirect into the server's own network, a large file and a missing one; its
    host name passes the public-address check as a real site's would, loopback itself does not."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import safehttpx

    class Site(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/inside":
                self.send_response(302)
                self.send_header("Location", f"http://127.0.0.1:{port}/red.png")
                self.end_headers()
                return
            body = {"/red.png": red_image.read_bytes(), "/large.png": b"x" * 300_000}.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    check = safehttpx.async_validate_url

    async def public_test_host(host):
        return "127.0.0.1" if host == "pictures.test" else await check(host)

    monkeypatch.setattr(safehttpx, "async_validate_url", public_test_host)
    yield f"http://pictures.test:{port}"
    server.shutdown()


def test_a_file_named_by_url_is_fetched_within_the_limit_and_never_from_inside(web_host, red_image):
    from minicpm_demo.ui.errors import RequestError
    from minicpm_demo.ui.mcp_files import received_file

    path = Path(received_file(web_host + "/red.png", "the image", 100_000, "--max-image-mb"))
    assert path.read_bytes() == red_image.read_bytes() and path.name == "red.png"
    for url, message in [(web_host + "/inside", "not on a public internet address"),
                         (web_host + "/large.png", "larger than this demo takes"),
                         (web_host + "/missing.png", "answered 404"),
                         ("file:///etc/passwd", "as an https:// URL or as a data: URL"),
                         ("data:image/png;base64,***", "base64 content is damaged")]:
        with pytest.raises(RequestError, match=message):
            received_file(url, "the image", 100_000, "--max-image-mb")


def test_a_data_url_over_its_kinds_limit_gets_the_message_an_upload_gets(tiny_checkpoint, tmp_path):
    from PIL import Image

    noise = tmp_path / "noise.png"
    Image.effect_noise((1000, 800), 90).convert("RGB").save(noise)
    assert noise.stat().st_size > 2**20
    with launched_app(tiny_checkpoint, "--mcp", "--max-image-mb", "1") as url:
        _, (refused,) = with_mcp(url, [("describe_image", {"image": data_url(noise), "question": "What is it?"})])
    assert refused.isError and "this demo takes up to 1 MB" in text_of(refused), text_of(refused)
