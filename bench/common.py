"""Small pieces the bench scripts share: offline env, ports, the tiny checkpoint, markdown tables."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OFFLINE_ENV = {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
               "NO_PROXY": "127.0.0.1,localhost", "TOKENIZERS_PARALLELISM": "false"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tiny_checkpoint(cache: Path) -> Path:
    """The tiny random-weight checkpoint, built into ``cache`` the first time."""
    out = cache / "tiny"
    if not (out / "config.json").exists():
        subprocess.run([sys.executable, "-m", "devtools.tiny", str(out)], cwd=ROOT, check=True,
                       capture_output=True)
    return out


def shape_twin_checkpoint(cache: Path, gptq: bool = False) -> Path:
    """The full-size shape twin (BF16, or GPTQ 4-bit), built into ``cache`` the first time (~1 min)."""
    from devtools import shape_twin
    from minicpm_demo.loader import resolve_device

    out = cache / ("shape-twin-gptq" if gptq else "shape-twin")
    if not (out / "config.json").exists():
        print(f"building the {'GPTQ' if gptq else 'BF16'} shape twin into {out} (once, ~1 min) …",
              file=sys.stderr, flush=True)
        shape_twin.build(out, gptq=gptq, device=resolve_device("auto"))
    return out


def ratio(value: float, base: float | None) -> str:
    return f"{value / base:.2f}×" if base else "–"


def url_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def wait_for_url(url: str, timeout: float, poll_s: float = 0.02) -> float:
    """Seconds until ``url`` answers 200; raises TimeoutError after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if url_answers(url):
            return time.monotonic() - started
        time.sleep(poll_s)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
