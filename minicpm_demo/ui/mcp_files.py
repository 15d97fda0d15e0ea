"""The files an MCP client names (ui/mcp_tools.py): a ``data:`` URL, or an ``http(s)`` URL of a public host,
fetched within its kind's size limit into Gradio's upload folder, where ``/chat``'s checks then take it as an
upload.

A URL is fetched only from a public address (``safehttpx``, which Gradio itself uses: the host is resolved once,
checked, and connected to at that address), each redirect checked again, the body counted as it arrives and
dropped past the limit, the whole fetch given a deadline: an agent cannot make the server reach into its own
network, fill its memory or disk, or hold a worker with a slow answer.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import mimetypes
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import httpx
import safehttpx
from gradio.utils import get_upload_folder

from minicpm_demo.settings import shown
from minicpm_demo.ui.errors import RequestError

MAX_REDIRECTS = 5
FETCH_DEADLINE_S = 120  # the whole download: a large video from a slow host still fits
TIMEOUT = httpx.Timeout(30, connect=10)  # between two pieces of it


def received_file(value, what: str, max_bytes: int, flag: str) -> str:
    """The path of ``value`` (a ``data:`` or ``http(s)`` URL naming ``what``, e.g. "the image") in the upload
    folder; a RequestError that says what to send when it cannot be had."""
    text = value.strip() if isinstance(value, str) else ""
    if text.startswith("data:"):
        return _saved_data_url(text, what)
    if text.lower().startswith(("https://", "http://")):
        try:
            return _on_a_loop_of_its_own(asyncio.wait_for(_fetched(text, what, max_bytes, flag), FETCH_DEADLINE_S))
        except TimeoutError:
            raise RequestError(f"{shown(text)} took longer than {FETCH_DEADLINE_S} s to download. Pass {what} as a "
                               "data: URL, or a URL of a faster host.") from None
        except httpx.HTTPError as error:
            raise RequestError(f"{shown(text)} could not be downloaded ({type(error).__name__}). Check the URL, or "
                               f"pass {what} as a data: URL.") from None
    raise RequestError(f"Pass {what} as an https:// URL or as a data: URL (base64), not {shown(text or value)}.")


def _on_a_loop_of_its_own(coroutine):
    """Gradio runs a tool in a worker thread, which has no event loop; a caller that has one gets a thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _new_path(name: str) -> Path:
    folder = Path(get_upload_folder()) / f"mcp-{secrets.token_hex(12)}"
    folder.mkdir(parents=True)
    stem = re.sub(r"[^\w.\-]+", "_", name).strip("._")[:100] or "file"
    return folder / stem


def _discard(path: Path) -> None:
    with suppress(OSError):
        path.unlink()
    with suppress(OSError):
        path.parent.rmdir()


def _too_large(what: str, max_bytes: int, flag: str) -> RequestError:
    return RequestError(f"{what[0].upper()}{what[1:]} is larger than this demo takes ({max_bytes // 2**20} MB, "
                        f"{flag}). Send a smaller file.")


def _saved_data_url(text: str, what: str) -> str:
    # Its size is bounded by the request body's (ui/http_guard.py); /chat's checks then hold the file to its kind's
    # limit, with the message an upload gets, and delete it when it is over.
    header, comma, payload = text.partition(",")
    if not comma or not header.endswith(";base64"):
        raise RequestError(f"{what[0].upper()}{what[1:]} is a data: URL without base64 content "
                           "(data:image/png;base64,...).")
    try:
        content = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(f"{what[0].upper()}{what[1:]} is a data: URL whose base64 content is damaged.") from None
    kind = header[len("data:"):-len(";base64")]
    path = _new_path("file" + (mimetypes.guess_extension(kind) or ""))
    path.write_bytes(content)
    return str(path)


async def _fetched(url: str, what: str, max_bytes: int, flag: str) -> str:
    for _ in range(MAX_REDIRECTS + 1):
        host = urlparse(url).hostname
        try:
            address = await safehttpx.async_validate_url(host or "")
        except ValueError:
            raise RequestError(f"{shown(url)} is not on a public internet address, and this server fetches only "
                               f"from those. Pass {what} as a data: URL instead.") from None
        transport = safehttpx.AsyncSecureTransport(address)
        async with httpx.AsyncClient(transport=transport, timeout=TIMEOUT) as client:
            async with client.stream("GET", url, follow_redirects=False) as response:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise RequestError(f"{shown(url)} answered {response.status_code}, not the file. Check the URL, "
                                       f"or pass {what} as a data: URL.")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise _too_large(what, max_bytes, flag)
                return await _saved_body(response, unquote(Path(urlparse(url).path).name), what, max_bytes, flag)
    raise RequestError(f"{shown(url)} redirects more than {MAX_REDIRECTS} times. Pass the file's own URL.")


async def _saved_body(response: httpx.Response, name: str, what: str, max_bytes: int, flag: str) -> str:
    path, size = _new_path(name or "file"), 0
    try:
        with path.open("wb") as file:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise _too_large(what, max_bytes, flag)
                file.write(chunk)
    except BaseException:
        _discard(path)
        raise
    return str(path)
