"""The one configuration surface: command-line flags, each with an environment-variable twin.

Flags win over environment variables, which win over defaults. Spaces and containers set env vars;
people at a terminal pass flags. ``OPTIONS`` also feeds the README's configuration table.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Any

from minicpm_demo.loader import DEFAULT_MODEL_ID, DEVICES, DTYPES, ModelSpec
from minicpm_demo.media import MB, MediaLimits


@dataclass(frozen=True)
class Option:
    flag: str
    env: str
    default: Any
    help: str
    type: type = str
    choices: tuple | None = None


OPTIONS: tuple[Option, ...] = (
    Option("--model", "MODEL_ID", DEFAULT_MODEL_ID, "Hub id or local directory of a MiniCPM-V 4.6 checkpoint"),
    Option("--revision", "MODEL_REVISION", None, "Hub revision (branch, tag or commit) of --model"),
    Option("--device", "DEVICE", "auto", "auto (CUDA if available, else CPU), cuda or cpu", choices=DEVICES),
    Option("--dtype", "DTYPE", "auto", "Weights dtype: auto (checkpoint's), bfloat16, float16, float32",
           choices=DTYPES),
    Option("--host", "HOST", "127.0.0.1", "Address to listen on (0.0.0.0 to accept other machines)"),
    Option("--port", "PORT", 7860, "Port to listen on", type=int),
    Option("--concurrency", "CONCURRENCY", 1, "Replies generated at the same time (others wait in the queue)",
           type=int),
    Option("--queue-size", "QUEUE_SIZE", 64, "Most requests waiting in the queue; more are refused", type=int),
    Option("--max-image-mb", "MAX_IMAGE_MB", MediaLimits.max_image_bytes // MB, "Largest image upload, MB",
           type=int),
    Option("--max-video-mb", "MAX_VIDEO_MB", MediaLimits.max_video_bytes // MB, "Largest video upload, MB",
           type=int),
    Option("--max-video-seconds", "MAX_VIDEO_SECONDS", int(MediaLimits.max_video_seconds),
           "Longest video accepted, seconds", type=int),
)


@dataclass(frozen=True)
class AppConfig:
    model: str
    revision: str | None
    device: str
    dtype: str
    host: str
    port: int
    concurrency: int
    queue_size: int
    max_image_mb: int
    max_video_mb: int
    max_video_seconds: int

    @property
    def model_spec(self) -> ModelSpec:
        return ModelSpec(model_id=self.model, revision=self.revision, device=self.device, dtype=self.dtype)

    @property
    def media_limits(self) -> MediaLimits:
        return MediaLimits(max_image_bytes=self.max_image_mb * MB, max_video_bytes=self.max_video_mb * MB,
                           max_video_seconds=float(self.max_video_seconds))


def _dest(option: Option) -> str:
    return option.flag.lstrip("-").replace("-", "_")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="app.py", description="MiniCPM-V 4.6 demo: image, multi-image and video chat.")
    for option in OPTIONS:
        parser.add_argument(option.flag, dest=_dest(option), type=option.type, choices=option.choices, default=None,
                            help=f"{option.help} (env {option.env}; default {option.default})")
    return parser


def parse_config(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> AppConfig:
    environ = os.environ if environ is None else environ
    parser = build_parser()
    args = parser.parse_args(argv)
    values = {}
    for option in OPTIONS:
        value = getattr(args, _dest(option))
        if value is None and environ.get(option.env) not in (None, ""):
            raw = environ[option.env]
            try:
                value = option.type(raw)
            except ValueError:
                parser.error(f"environment variable {option.env}={raw!r} is not a valid {option.type.__name__}")
            if option.choices and value not in option.choices:
                parser.error(f"environment variable {option.env}={raw!r}: choose from {', '.join(option.choices)}")
        values[_dest(option)] = option.default if value is None else value
    return AppConfig(**values)
