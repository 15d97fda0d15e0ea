"""Shared fixtures: the generated tiny checkpoints (built once, cached by generator version) and media files.

Everything runs offline: the hub is switched off before any Hugging Face library is imported.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

OFFLINE_ENV = {
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "NO_PROXY": "127.0.0.1,localhost",
    "TOKENIZERS_PARALLELISM": "false",
}
os.environ.update(OFFLINE_ENV)

import pytest  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _generator_fingerprint() -> str:
    sources = (ROOT / "devtools" / "tiny.py", ROOT / "devtools" / "tiny_tokenizer.py")
    return hashlib.sha256(b"".join(source.read_bytes() for source in sources)).hexdigest()[:12]


def _build_checkpoint(cache_root: Path, gptq: bool) -> Path:
    """Build (or reuse) a tiny checkpoint; a subprocess keeps gptqmodel's global side effects out of the tests."""
    out = cache_root / f"tiny-{'gptq' if gptq else 'bf16'}-{_generator_fingerprint()}"
    if (out / "config.json").exists():
        return out
    command = [sys.executable, "-m", "devtools.tiny", str(out)] + (["--gptq"] if gptq else [])
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"building the tiny checkpoint failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return out


@pytest.fixture(scope="session")
def checkpoint_cache(request) -> Path:
    return Path(request.config.cache.mkdir("tiny-checkpoints"))


@pytest.fixture(scope="session")
def tiny_checkpoint(checkpoint_cache) -> Path:
    return _build_checkpoint(checkpoint_cache, gptq=False)


@pytest.fixture(scope="session")
def tiny_gptq_checkpoint(checkpoint_cache) -> Path:
    return _build_checkpoint(checkpoint_cache, gptq=True)


@pytest.fixture(scope="session")
def app(tiny_checkpoint, tmp_path_factory):
    os.environ["GRADIO_TEMP_DIR"] = str(tmp_path_factory.mktemp("gradio"))
    sys.path.insert(0, str(ROOT))
    from helpers import free_port

    import app as app_module
    from minicpm_demo.config import parse_config

    port = free_port()
    config = parse_config(["--model", str(tiny_checkpoint), "--device", "cpu", "--port", str(port)], environ={})
    demo, engine = app_module.create_app(config)
    assert engine.wait_until_loaded(timeout=300).state == "ready"
    demo.launch(prevent_thread_lock=True, quiet=True, **app_module.launch_kwargs(config, demo))
    try:
        yield {"url": f"http://127.0.0.1:{port}/", "engine": engine, "demo": demo}
    finally:
        demo.close()


@pytest.fixture(scope="session")
def engine(tiny_checkpoint):
    from minicpm_demo.engine import LocalEngine
    from minicpm_demo.loader import ModelSpec

    engine = LocalEngine(ModelSpec(str(tiny_checkpoint), device="cpu"))
    status = engine.wait_until_loaded(timeout=300)
    assert status.state == "ready", status.message
    return engine


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (never Playwright's own browser download)."""
    from helpers import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# ---- media files ---------------------------------------------------------------------------------
@pytest.fixture
def png_decodes(monkeypatch):
    """One entry each time Pillow decodes a PNG picture (an APNG frame included)."""
    from PIL import PngImagePlugin

    decodes = []
    real = PngImagePlugin.PngImageFile.load_prepare
    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load_prepare", lambda self: decodes.append(1) or real(self))
    return decodes


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def red_image(media_dir) -> Path:
    path = media_dir / "red.png"
    Image.new("RGB", (640, 480), (200, 30, 30)).save(path)
    return path


@pytest.fixture(scope="session")
def three_images(media_dir) -> list[Path]:
    paths = []
    for index, (colour, size) in enumerate([((10, 120, 200), (300, 200)), ((240, 200, 20), (200, 300)),
                                            ((30, 160, 60), (900, 600))]):
        path = media_dir / f"image-{index}.jpg"
        Image.new("RGB", size, colour).save(path, quality=92)
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def short_video(media_dir) -> Path:
    from media_corpus import encode_clip

    return encode_clip(media_dir / "clip.mp4", seconds=4.0, fps=10)
