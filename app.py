"""MiniCPM-V 4.6 demo — `python app.py --help` lists every option (each has an environment-variable twin)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from minicpm_demo.config import AppConfig, parse_config
from minicpm_demo.engine import LocalEngine

ASSETS = Path(__file__).resolve().parent / "assets"
EXAMPLES = {
    "image": ({"text": "What does this chart show? Which day had the most visitors?",
               "files": [str(ASSETS / "chart.png")]},),
    "multi-image": ({"text": "What is different between these two signs?",
                     "files": [str(ASSETS / "sign-stop.png"), str(ASSETS / "sign-go.png")]},),
    "video": ({"text": "Describe how the ball moves.", "files": [str(ASSETS / "ball.mp4")]},),
}


def create_app(config: AppConfig):
    from minicpm_demo.ui import build_demo

    engine = LocalEngine(config.model_spec, config.media_limits)
    engine.start_loading()  # the page is served while the weights load
    demo = build_demo(engine, generation_limit=config.concurrency, examples=EXAMPLES)
    demo.queue(max_size=config.queue_size, default_concurrency_limit=config.concurrency)
    return demo, engine


def launch_kwargs(config: AppConfig) -> dict:
    from minicpm_demo.ui.i18n import I18N

    largest_upload_mb = max(config.max_image_mb, config.max_video_mb)
    return {"server_name": config.host, "server_port": config.port, "max_file_size": f"{largest_upload_mb}mb",
            "i18n": I18N, "allowed_paths": [str(ASSETS)], "show_error": True}


def main(argv: list[str] | None = None) -> None:
    config = parse_config(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    demo, _ = create_app(config)
    demo.launch(**launch_kwargs(config))


if __name__ == "__main__":
    main(sys.argv[1:])
