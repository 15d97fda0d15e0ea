"""The one configuration surface: command-line flags, each with an environment-variable twin.

Flags win over environment variables, which win over defaults. Spaces and containers set env vars;
people at a terminal pass flags. ``OPTIONS`` also feeds the README's configuration table.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minicpm_demo.config_rules import check_values
from minicpm_demo.engine.remote import RemoteSpec
from minicpm_demo.engine.servers import SERVER_CHOICES
from minicpm_demo.gptq import KERNELS as GPTQ_KERNELS
from minicpm_demo.loader import DEFAULT_COMPILE_TOKENS, DEFAULT_MODEL_ID, DEVICES, DTYPES, ModelSpec
from minicpm_demo.media import MB, MediaLimits
from minicpm_demo.session import UPDATE_INTERVAL_S
from minicpm_demo.settings import RequestLimits


@dataclass(frozen=True)
class Option:
    flag: str
    env: str
    default: Any
    help: str
    type: type = str
    choices: tuple | None = None
    repeat: bool = False  # the flag may be given several times; the env var holds comma-separated values

    @property
    def dest(self) -> str:
        """The option's name in the parsed values (and AppConfig's field)."""
        return self.flag.lstrip("-").replace("-", "_")


BACKENDS = ("local", "openai")
FORWARDED_FOR = ("auto", "first", "last", "ignore")

OPTIONS: tuple[Option, ...] = (
    Option("--backend", "BACKEND", "local", "local: run the model in this process; openai: use a model server "
           "(vLLM, SGLang, llama.cpp, transformers serve) at --api-base", choices=BACKENDS),
    Option("--model", "MODEL_ID", DEFAULT_MODEL_ID, "Hub id or local directory of a MiniCPM-V 4.6 checkpoint"),
    Option("--revision", "MODEL_REVISION", None, "Hub revision (branch, tag or commit) of --model"),
    Option("--compare-model", "COMPARE_MODEL", None, "A second checkpoint (hub id or directory) the Compare tab can "
           "run on either side, e.g. openbmb/MiniCPM-V-4.6 against the GPTQ default; loaded beside --model"),
    Option("--device", "DEVICE", "auto", "auto (CUDA if available, else CPU), cuda or cpu", choices=DEVICES),
    Option("--dtype", "DTYPE", "auto", "Compute dtype: auto (GPU: the checkpoint's; CPU: float32 unless it has "
           "native BF16), bfloat16, float16, float32", choices=DTYPES),
    Option("--gptq-kernel", "GPTQ_KERNEL", "auto", "gptqmodel kernel for a GPTQ checkpoint: auto (one that needs no "
           "build: gptq_triton on a GPU, gptq_torch_aten on a CPU), gptqmodel (its own pick: on a GPU, compiled at "
           "the first load, and on Hopper it downloads CUTLASS first), or a kernel by name", choices=GPTQ_KERNELS),
    Option("--compile", "COMPILE", False, "Decode with a torch.compile'd step and a static cache (on a GPU with "
           "CUDA graphs): compiled once at start-up, ~35 s on a GPU; much faster decoding where Python's per-op cost "
           "dominates, as on a GPU", type=bool),
    Option("--compile-max-tokens", "COMPILE_MAX_TOKENS", DEFAULT_COMPILE_TOKENS, "With --compile: the static "
           "cache's length; a reply whose prompt + max_new_tokens is longer decodes without the compiled step "
           "(MiniCPM-V 4.6 keeps 12 KB per token of it in BF16)", type=int),
    Option("--reuse-cache-mb", "REUSE_CACHE_MB", None, "Memory (MB, all conversations together) kept so that a "
           "follow-up question does not pay for its conversation's media and prompt again (default: a tenth of the "
           "device's free memory after loading, at most 4096; 0: off)", type=int),
    Option("--api-base", "API_BASE", None, "With --backend openai: the server's OpenAI API URL, e.g. "
           "http://gpu-box:8000/v1"),
    Option("--api-key", "API_KEY", None, "With --backend openai: the server's API key, if it wants one"),
    Option("--served-model", "SERVED_MODEL", None, "With --backend openai: the model name on the server "
           "(default: the first it lists)"),
    Option("--api-server", "API_SERVER", "auto", "With --backend openai: the server kind, which decides what "
           "settings can be sent (auto: ask the server)", choices=SERVER_CHOICES),
    Option("--api-timeout", "API_TIMEOUT", 300, "With --backend openai: seconds to wait for the server's next "
           "streamed piece", type=int),
    # Unset, Gradio decides: GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (what Spaces set), else 127.0.0.1:7860.
    Option("--host", "HOST", None, "Address to listen on (0.0.0.0 to accept other machines)"),
    Option("--port", "PORT", None, "Port to listen on", type=int),
    Option("--share", "SHARE", False, "Also serve on a temporary public gradio.live link (72 h)", type=bool),
    Option("--auth", "AUTH", (), "USER:PASSWORD allowed to use the page and API (repeat for more users)",
           repeat=True),
    Option("--auth-file", "AUTH_FILE", None, "File with one USER:PASSWORD per line (# comments allowed)"),
    Option("--hf-oauth", "HF_OAUTH", False, "On a Space: visitors sign in with Hugging Face to use the model (on "
           "by itself where the Space's README sets hf_oauth: true)", type=bool),
    Option("--hf-org", "HF_ORG", None, "With --hf-oauth: only this Hugging Face organization's members may use it"),
    Option("--mcp", "MCP", False, "Also serve the demo as an MCP server for agents, at /gradio_api/mcp/ (tools "
           "describe_image, compare_images, describe_video)", type=bool),
    Option("--root-path", "ROOT_PATH", None, "URL path the app is served under behind a reverse proxy, e.g. /demo"),
    Option("--concurrency", "CONCURRENCY", 1, "Replies generated at the same time (others wait in the queue)",
           type=int),
    Option("--queue-size", "QUEUE_SIZE", 64, "Most requests waiting in the queue; more are refused", type=int),
    Option("--queue-per-session", "QUEUE_PER_SESSION", 2, "Most requests one session (a page, "
           "a script's client) may have waiting for the model at once (0: no limit)", type=int),
    Option("--queue-per-visitor", "QUEUE_PER_VISITOR", 8, "Most requests one visitor (an "
           "address, see --forwarded-for) may have waiting for the model at once, all sessions together (0: no "
           "limit)", type=int),
    Option("--update-ms", "UPDATE_MS", round(UPDATE_INTERVAL_S * 1000), "How often a streaming reply is sent to "
           "the page, ms: lower looks smoother and costs decode speed (~10 %% at 100 ms on a 2-core CPU)", type=int),
    Option("--max-image-mb", "MAX_IMAGE_MB", MediaLimits.max_image_bytes // MB, "Largest image upload, MB",
           type=int),
    Option("--max-video-mb", "MAX_VIDEO_MB", MediaLimits.max_video_bytes // MB, "Largest video upload, MB",
           type=int),
    Option("--max-video-seconds", "MAX_VIDEO_SECONDS", int(MediaLimits.max_video_seconds),
           "Longest video accepted, seconds", type=int),
    Option("--max-video-frames-mb", "MAX_VIDEO_FRAMES_MB", MediaLimits.max_video_frames_bytes // MB,
           "Memory for one request's decoded video frames, MB: frames are scaled down to fit (the processor "
           "needs about twice as much again)", type=int),
    Option("--max-images", "MAX_IMAGES", MediaLimits.max_images, "Most images in one conversation (every question "
           "sends the earlier ones again)", type=int),
    Option("--max-pdf-pages", "MAX_PDF_PAGES", MediaLimits.max_pdf_pages, "Pages of a PDF given to the model, from "
           "the first (each counts as an image; the reply's stats say when a PDF had more)", type=int),
    Option("--max-request-megapixels", "MAX_REQUEST_MEGAPIXELS", MediaLimits.max_request_image_pixels // 10**6,
           "Most image pixels one request may decode, all its images together, megapixels", type=int),
    Option("--max-request-video-gigapixels", "MAX_REQUEST_VIDEO_GIGAPIXELS",
           MediaLimits.max_request_frame_pixels // 10**9, "Most video and animation pixels one request may decode "
           "(every frame decoded on the way to a sampled one counts), gigapixels", type=int),
    Option("--max-text-chars", "MAX_TEXT_CHARS", RequestLimits.max_text_chars, "Longest question, in characters",
           type=int),
    Option("--max-turns", "MAX_TURNS", RequestLimits.max_turns, "Most questions in one conversation", type=int),
    Option("--max-history-chars", "MAX_HISTORY_CHARS", RequestLimits.max_history_chars, "Most characters of text "
           "(questions and replies) in one conversation; also sizes the largest request body", type=int),
    Option("--max-prompt-tokens", "MAX_PROMPT_TOKENS", RequestLimits.max_prompt_tokens, "Longest prompt (text and "
           "media tokens, as the processor counts them) of one request (0: 16384 on a CPU, 65536 on a GPU)",
           type=int),
    Option("--load-wait-s", "LOAD_WAIT_S", int(RequestLimits.load_wait_s), "Seconds a question sent while the "
           "model loads waits for it (0: refused at once)", type=int),
    Option("--upload-mb-per-hour", "UPLOAD_MB_PER_HOUR", 1024, "MB one visitor may upload in an hour (0: no quota)",
           type=int),
    Option("--login-failures", "LOGIN_FAILURES", 5, "Wrong passwords one visitor may try before each further "
           "attempt waits (1 s, then twice as long each time, up to 15 min)", type=int),
    Option("--forwarded-for", "FORWARDED_FOR", "auto", "Which X-Forwarded-For entry names a visitor, for the upload "
           "quota and the login slow-down: auto (on a Space the first, elsewhere none), first, last (behind one "
           "reverse proxy of yours), ignore (the connection's address)", choices=FORWARDED_FOR),
)


@dataclass(frozen=True)
class AppConfig:
    backend: str
    model: str
    revision: str | None
    compare_model: str | None
    device: str
    reuse_cache_mb: int | None
    dtype: str
    gptq_kernel: str
    compile: bool
    compile_max_tokens: int
    api_base: str | None
    api_key: str | None
    served_model: str | None
    api_server: str
    api_timeout: int
    host: str | None
    port: int | None
    share: bool
    auth: tuple[str, ...]
    auth_file: str | None
    hf_oauth: bool
    hf_org: str | None
    mcp: bool
    root_path: str | None
    concurrency: int
    queue_size: int
    queue_per_session: int
    queue_per_visitor: int
    update_ms: int
    max_image_mb: int
    max_video_mb: int
    max_video_seconds: int
    max_video_frames_mb: int
    max_images: int
    max_pdf_pages: int
    max_request_megapixels: int
    max_request_video_gigapixels: int
    max_text_chars: int
    max_turns: int
    max_history_chars: int
    max_prompt_tokens: int
    load_wait_s: int
    upload_mb_per_hour: int
    login_failures: int
    forwarded_for: str

    @property
    def model_spec(self) -> ModelSpec:
        return ModelSpec(model_id=self.model, revision=self.revision, device=self.device, dtype=self.dtype,
                         gptq_kernel=self.gptq_kernel, compile_tokens=self.compile_max_tokens if self.compile else 0)

    @property
    def compare_model_spec(self) -> ModelSpec | None:
        """The --compare-model checkpoint, on --model's device and dtype (eager decoding); None without one."""
        if not self.compare_model or self.backend != "local":
            return None
        return ModelSpec(model_id=self.compare_model, device=self.device, dtype=self.dtype,
                         gptq_kernel=self.gptq_kernel)

    @property
    def remote_spec(self) -> RemoteSpec:
        return RemoteSpec(api_base=self.api_base, api_key=self.api_key, served_model=self.served_model,
                          server=self.api_server, timeout_s=float(self.api_timeout))

    @property
    def media_limits(self) -> MediaLimits:
        return MediaLimits(max_image_bytes=self.max_image_mb * MB, max_video_bytes=self.max_video_mb * MB,
                           max_video_seconds=float(self.max_video_seconds),
                           max_video_frames_bytes=self.max_video_frames_mb * MB, max_images=self.max_images,
                           max_pdf_pages=self.max_pdf_pages,
                           max_request_image_pixels=self.max_request_megapixels * 10**6,
                           max_request_frame_pixels=self.max_request_video_gigapixels * 10**9)

    @property
    def request_limits(self) -> RequestLimits:
        return RequestLimits(max_text_chars=self.max_text_chars, max_turns=self.max_turns,
                             max_history_chars=self.max_history_chars, max_prompt_tokens=self.max_prompt_tokens,
                             load_wait_s=float(self.load_wait_s))

    def credentials(self) -> list[tuple[str, str]]:
        """(user, password) pairs from --auth and --auth-file; raises ValueError for a malformed entry."""
        entries = [(f"--auth #{number}", entry) for number, entry in enumerate(self.auth, 1)]
        if self.auth_file:
            lines = Path(self.auth_file).read_text().splitlines()
            entries += [(f"{self.auth_file} line {number}", line.strip()) for number, line in enumerate(lines, 1)
                        if line.strip() and not line.lstrip().startswith("#")]
        pairs = []
        for where, entry in entries:
            user, separator, password = entry.partition(":")
            if not separator or not user or not password:
                raise ValueError(f"{where} is not USER:PASSWORD")  # never echo the entry: it may hold a password
            pairs.append((user, password))
        return pairs


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def build_parser() -> argparse.ArgumentParser:
    # prog: the command as it was run, `app.py` or `minicpm-demo`
    parser = argparse.ArgumentParser(description="MiniCPM-V 4.6 demo: image, multi-image and video chat.")
    for option in OPTIONS:
        described = f"{option.help} (env {option.env}; default {option.default})"
        if option.type is bool:
            parser.add_argument(option.flag, dest=option.dest, action="store_true", default=None, help=described)
        elif option.repeat:
            parser.add_argument(option.flag, dest=option.dest, action="append", default=None, help=described)
        else:
            parser.add_argument(option.flag, dest=option.dest, type=option.type, choices=option.choices,
                                default=None, help=described)
    return parser


def _from_environment(option: Option, raw: str, parser: argparse.ArgumentParser):
    if option.type is bool:
        if raw.lower() not in _TRUE + _FALSE:
            parser.error(f"environment variable {option.env}={raw!r}: use 1/0, true/false, yes/no")
        return raw.lower() in _TRUE
    if option.repeat:
        return tuple(value.strip() for value in raw.split(",") if value.strip())
    try:
        value = option.type(raw)
    except ValueError:
        parser.error(f"environment variable {option.env}={raw!r} is not a valid {option.type.__name__}")
    if option.choices and value not in option.choices:
        parser.error(f"environment variable {option.env}={raw!r}: choose from {', '.join(option.choices)}")
    return value


def parse_config(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> AppConfig:
    environ = os.environ if environ is None else environ
    parser = build_parser()
    args = parser.parse_args(argv)
    values = {}
    for option in OPTIONS:
        value = getattr(args, option.dest)
        if value is None and environ.get(option.env) not in (None, ""):
            value = _from_environment(option, environ[option.env], parser)
        if option.repeat and value is not None:
            value = tuple(value)
        values[option.dest] = option.default if value is None else value
    check_values(values, OPTIONS, environ, parser.error)
    return AppConfig(**values)
