"""The app: its page and engine built from the configuration, and launched (``app.py`` and ``minicpm-demo``)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from minicpm_demo.config import AppConfig, parse_config
from minicpm_demo.engine import LocalEngine, RemoteEngine

log = logging.getLogger("app")
# Package data, so an installed minicpm-demo has the examples as a checkout does.
ASSETS = Path(__file__).resolve().parents[1] / "assets"
EXAMPLES = {
    "image": ({"text": "What does this chart show? Which day had the most visitors?",
               "text_zh": "这张图表展示了什么？哪一天的访客最多？", "files": [str(ASSETS / "chart.png")]},),
    "multi-image": ({"text": "What is different between these two signs?", "text_zh": "这两个标志有什么不同？",
                     "files": [str(ASSETS / "sign-stop.png"), str(ASSETS / "sign-go.png")]},),
    "video": ({"text": "Describe how the ball moves.", "text_zh": "描述一下球是怎样运动的。",
               "files": [str(ASSETS / "ball.mp4")]},),
}


def create_app(config: AppConfig):
    """The page and its engine. A local model is not loaded yet: ``main`` starts that once the page is served."""
    from minicpm_demo.ui import build_demo, server_app_built_at_launch
    from minicpm_demo.ui.gradio_patches import lean_sessions

    if config.backend == "openai":
        engine = RemoteEngine(config.remote_spec, config.media_limits, config.request_limits)
        engine.start_loading()  # one short GET: which server it is decides which settings the page offers
    else:
        # The question's bounds are checked before the engine sees it (ui), the prompt's token count by the engine.
        engine = LocalEngine(config.model_spec, config.media_limits, config.request_limits,
                             reuse_cache_mb=config.reuse_cache_mb)
    # --compare-model: a second checkpoint for the Compare tab, loaded beside the first (main starts both)
    compare = config.compare_model_spec
    compare_engine = None if compare is None else LocalEngine(compare, config.media_limits, config.request_limits)
    with server_app_built_at_launch():  # launch() builds the web server; Gradio would also build it 3 times here
        demo = build_demo(engine, generation_limit=config.concurrency, queue_size=config.queue_size,
                          update_interval_s=config.update_ms / 1000, examples=EXAMPLES,
                          queue_share=queue_share(config), compare_engine=compare_engine, mcp=config.mcp,
                          sign_in=sign_in(config))
    demo.engine, demo.compare_engine = engine, compare_engine
    lean_sessions(demo)  # a session holds its ChatSession, not a copy of the page and of what it sent
    return demo, engine


def sign_in(config: AppConfig):
    """With --hf-oauth, who may use the model: signed-in visitors, of --hf-org if given (ui/sign_in.py)."""
    from minicpm_demo.ui.sign_in import HfSignIn

    return HfSignIn(config.hf_org) if config.hf_oauth else None


def queue_share(config: AppConfig):
    from minicpm_demo.ui.fairness import QueueShare

    return QueueShare(config.queue_per_session, config.queue_per_visitor, config.forwarded_for)


def launch_kwargs(config: AppConfig, demo=None) -> dict:
    """Everything ``demo.launch`` needs; raises ValueError for malformed credentials. With ``demo``, requests to
    ``/chat`` beyond a session's or visitor's share of the queue are refused as they join."""
    from starlette.middleware import Middleware

    from minicpm_demo.seen import ROOT as SEEN_ROOT
    from minicpm_demo.ui.blocks import MODEL_CONCURRENCY_ID, PICKERS
    from minicpm_demo.ui.boxes import FOLDER as BOXES_FOLDER
    from minicpm_demo.ui.fairness import join_admission, queue_rooms
    from minicpm_demo.ui.http_guard import HttpLimits, RequestGuard
    from minicpm_demo.ui.i18n import I18N
    from minicpm_demo.ui.mcp_tools import McpGate
    from minicpm_demo.ui.status_api import Healthz
    from minicpm_demo.ui.style import PAGE_CSS, page_js

    # Gradio takes each file up to this size whatever it is for; /chat then holds it to its own kind's limit.
    largest_upload_mb = max(config.max_image_mb, config.max_video_mb)
    credentials = config.credentials()
    admission = None if demo is None else join_admission(demo, queue_share(config), MODEL_CONCURRENCY_ID,
                                                         queue_rooms(MODEL_CONCURRENCY_ID, config.queue_size),
                                                         sign_in(config))
    # /healthz first: it answers before the request guard and authentication (ui/status_api.py)
    health = [] if demo is None else [Middleware(Healthz, engine=demo.engine)]
    # Gradio's MCP route checks no sign-in: with --auth, McpGate asks an MCP client for a user's credentials
    mcp_gate = [Middleware(McpGate, credentials=credentials, root_path=config.root_path)] if config.mcp else []
    http_limits = HttpLimits(max_body_bytes=config.request_limits.max_body_bytes,
                             upload_bytes_per_hour=config.upload_mb_per_hour * 1024 * 1024,
                             login_failures=config.login_failures, forwarded_for=config.forwarded_for)
    return {"server_name": config.host, "server_port": config.port, "max_file_size": f"{largest_upload_mb}mb",
            "i18n": I18N, "css": PAGE_CSS, "js": page_js(PICKERS),
            "allowed_paths": [str(ASSETS), SEEN_ROOT, BOXES_FOLDER],  # examples; what the model saw; drawn boxes
            "show_error": True, "share": config.share,
            "root_path": config.root_path, "auth": credentials or None,
            "auth_message": "This MiniCPM-V 4.6 demo is shared with a team: sign in with the name and password "
                            "you were given." if credentials else None,
            "mcp_server": config.mcp,
            "app_kwargs": {"middleware": [*health, *mcp_gate, Middleware(RequestGuard, limits=http_limits,
                                                                         admission=admission)]}}


def after_launch(config: AppConfig, demo) -> None:
    """What needs the launched server: behind --auth, the MCP server's own calls signed in."""
    from minicpm_demo.ui.gradio_patches import sign_in_mcp_loopback

    if config.mcp and config.credentials() and not sign_in_mcp_loopback(demo, config.credentials()):
        log.warning("--mcp with --auth: this Gradio's MCP tools cannot sign in; their calls will be refused")


def log_auth(argv: list[str], users: list[str]) -> None:
    """Say whether the page is protected, and for whom — never the passwords; and warn of a password in ``argv``."""
    if any(arg == "--auth" or arg.startswith("--auth=") for arg in argv):
        # Every user of this machine can read a process's command line (ps): a password there is not a secret.
        log.warning("--auth on the command line is visible to every user of this machine (ps): prefer "
                    "--auth-file, or the AUTH environment variable (on a Space, a secret)")
    log.info("auth: %s", f"on for {len(users)} user(s): {', '.join(users)}" if users
             else "off (anyone who can reach it)")


def main(argv: list[str] | None = None) -> None:
    config = parse_config(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        options = launch_kwargs(config)
    except (OSError, ValueError) as error:
        sys.exit(f"{Path(sys.argv[0]).name}: bad credentials: {error}")
    log_auth(sys.argv[1:] if argv is None else argv, [user for user, _ in options["auth"] or ()])
    demo, engine = create_app(config)
    from minicpm_demo.ui import finish_deferred_imports

    demo.launch(**launch_kwargs(config, demo), prevent_thread_lock=True)
    after_launch(config, demo)
    # Loading after the page is up keeps the imports of torch, transformers and pandas from competing with it.
    finish_deferred_imports()
    engine.start_loading()
    if demo.compare_engine is not None:
        demo.compare_engine.start_loading()
    demo.block_thread()
