"""What the parsed options must satisfy together, each refusal naming the flag, its env twin and what to use."""

from __future__ import annotations

from collections.abc import Callable


def check_values(values: dict, options, environ, error: Callable[[str], None]) -> None:
    """``error`` (argparse's: it exits) for the first of ``values`` (of ``options``) out of range or at odds
    with another."""
    if values["backend"] == "openai" and not values["api_base"]:
        error("--backend openai needs --api-base (env API_BASE), e.g. http://127.0.0.1:8000/v1")
    if values["update_ms"] < 0:
        error(f"--update-ms (env UPDATE_MS) is {values['update_ms']}: use 0 (every token) or more")
    for option in options:
        if option.flag.startswith("--max-") and option.flag != "--max-prompt-tokens" and values[option.dest] < 1:
            error(f"{option.flag} (env {option.env}) is {values[option.dest]}: use 1 or more")
    if values["queue_size"] < 1:
        error(f"--queue-size (env QUEUE_SIZE) is {values['queue_size']}: use 1 or more")
    for name in ("upload_mb_per_hour", "login_failures", "queue_per_session", "queue_per_visitor",
                 "max_prompt_tokens", "load_wait_s"):
        if values[name] < 0:
            option = next(option for option in options if option.dest == name)
            error(f"{option.flag} (env {option.env}) is {values[name]}: use 0 or more")
    if values["reuse_cache_mb"] is not None and values["reuse_cache_mb"] < 0:
        error(f"--reuse-cache-mb (env REUSE_CACHE_MB) is {values['reuse_cache_mb']}: use 0 (off) or more")
    _check_sign_in(values, environ, error)
    if values["compile_max_tokens"] < 64:
        error(f"--compile-max-tokens (env COMPILE_MAX_TOKENS) is {values['compile_max_tokens']}: use 64 or "
              "more (the prompt and the reply must fit)")


def _check_sign_in(values: dict, environ, error: Callable[[str], None]) -> None:
    """--hf-oauth needs a Space (Hugging Face's sign-in reaches only those), and replaces --auth; MCP clients
    cannot sign in with it, so it leaves --mcp off. A Space whose README sets ``hf_oauth: true`` gets
    OAUTH_CLIENT_ID, which turns it on."""
    on_space = environ.get("SYSTEM") == "spaces" and bool(environ.get("SPACE_ID"))  # as Gradio's OAuth tells
    if not values["hf_oauth"] and on_space and environ.get("OAUTH_CLIENT_ID") and environ.get("HF_OAUTH") is None:
        values["hf_oauth"] = True
    if values["hf_org"] and not values["hf_oauth"]:
        error("--hf-org (env HF_ORG) needs --hf-oauth: only signed-in visitors have an organization")
    if not values["hf_oauth"]:
        return
    if not on_space:
        error("--hf-oauth (env HF_OAUTH) works on a Hugging Face Space (hf_oauth: true in its README); "
              "to share a demo run elsewhere, use --auth")
    if values["auth"] or values["auth_file"]:
        error("--hf-oauth and --auth both decide who may use the demo: choose one")
    if values["mcp"]:
        error("--mcp with --hf-oauth: MCP clients cannot sign in with Hugging Face, so they would bypass it")
