"""One configuration surface: flags with env twins, all documented; the README is a valid Space card."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from minicpm_demo.config import OPTIONS, parse_config

ROOT = Path(__file__).resolve().parent.parent


def test_flags_win_over_env_which_win_over_defaults():
    config = parse_config(["--port", "9000", "--auth", "a:b", "--auth", "c:d"],
                          environ={"PORT": "8000", "MODEL_ID": "/models/tiny", "SHARE": "true"})
    assert config.port == 9000 and config.model == "/models/tiny" and config.share is True
    assert config.auth == ("a:b", "c:d")
    assert parse_config([], environ={}).model == "openbmb/MiniCPM-V-4.6-GPTQ"
    assert parse_config([], environ={"AUTH": "a:b, c:d"}).credentials() == [("a", "b"), ("c", "d")]
    assert parse_config([], environ={"GPTQ_KERNEL": "gptqmodel"}).model_spec.gptq_kernel == "gptqmodel"


def test_auth_file_and_malformed_entries_never_echo_a_password(tmp_path):
    auth_file = tmp_path / "users.txt"
    auth_file.write_text("# team\nalice:pa:ss\n\nbob:x\n")
    assert parse_config(["--auth-file", str(auth_file)], environ={}).credentials() == [("alice", "pa:ss"), ("bob", "x")]
    with pytest.raises(ValueError) as caught:
        parse_config(["--auth", "secretwithoutcolon"], environ={}).credentials()
    assert "secretwithoutcolon" not in str(caught.value) and "--auth #1" in str(caught.value)


def test_bad_env_values_are_refused(capsys):
    with pytest.raises(SystemExit):
        parse_config([], environ={"PORT": "eighty"})
    assert "PORT='eighty'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_config([], environ={"UPDATE_MS": "-1"})
    assert "--update-ms (env UPDATE_MS) is -1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_config(["--max-video-frames-mb", "0"], environ={})
    assert "--max-video-frames-mb (env MAX_VIDEO_FRAMES_MB) is 0: use 1 or more" in capsys.readouterr().err


def test_compile_reaches_the_model_spec_as_the_static_cache_length(capsys):
    assert parse_config([], environ={}).model_spec.compile_tokens == 0  # eager unless asked
    assert parse_config(["--compile"], environ={}).model_spec.compile_tokens == 16384
    spec = parse_config([], environ={"COMPILE": "1", "COMPILE_MAX_TOKENS": "4096"}).model_spec
    assert spec.compile_tokens == 4096
    assert parse_config(["--compile-max-tokens", "8192"], environ={}).model_spec.compile_tokens == 0
    with pytest.raises(SystemExit):
        parse_config(["--compile", "--compile-max-tokens", "10"], environ={})
    assert "--compile-max-tokens (env COMPILE_MAX_TOKENS) is 10: use 64 or more" in capsys.readouterr().err


def test_media_limits_come_from_their_flags():
    limits = parse_config(["--max-video-frames-mb", "300", "--max-video-seconds", "60"], environ={}).media_limits
    assert limits.max_video_frames_bytes == 300 * 1024 * 1024 and limits.max_video_seconds == 60


def test_the_pdf_page_limit_comes_from_its_flag_or_its_environment_variable():
    assert parse_config([], environ={}).media_limits.max_pdf_pages == 8
    assert parse_config([], environ={"MAX_PDF_PAGES": "3"}).media_limits.max_pdf_pages == 3
    assert parse_config(["--max-pdf-pages", "20"], environ={"MAX_PDF_PAGES": "3"}).media_limits.max_pdf_pages == 20
    with pytest.raises(SystemExit):
        parse_config(["--max-pdf-pages", "0"], environ={})


def test_every_option_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text()
    for option in OPTIONS:
        assert re.search(rf"^\| `{option.flag}` \| `{option.env}` \|", readme, re.MULTILINE), option.flag


def test_readme_front_matter_is_a_valid_space_card():
    text = (ROOT / "README.md").read_text()
    assert text.startswith("---\n")
    card = yaml.safe_load(text.split("---\n")[1])
    for key in ("title", "emoji", "colorFrom", "colorTo", "sdk", "sdk_version", "app_file", "python_version",
                "license", "models", "short_description"):
        assert card.get(key), key
    requirements = (ROOT / "requirements.txt").read_text()
    pinned = re.search(r"^gradio(?:\[[\w,]+\])?==(\S+?)(?:\s+#.*)?$", requirements, re.MULTILINE).group(1)
    assert card["sdk"] == "gradio" and card["sdk_version"] == pinned
    assert (ROOT / card["app_file"]).exists()
    assert "openbmb/MiniCPM-V-4.6-GPTQ" in card["models"]
    assert len(card["short_description"]) <= 60


def _anchor(heading: str) -> str:
    """GitHub's id for a markdown heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_relative_link_in_the_docs_points_at_a_file_and_heading():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.MULTILINE | re.DOTALL)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            path, _, fragment = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            assert linked.exists(), f"{page.name}: {target}"
            if fragment and linked.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", re.sub(r"^```.*?^```", "", linked.read_text(),
                                                            flags=re.MULTILINE | re.DOTALL), re.MULTILINE)
                assert fragment in {_anchor(heading) for heading in headings}, f"{page.name}: {target}"


def test_request_limits_and_the_http_bounds_come_from_their_flags(capsys):
    defaults = parse_config([], environ={})
    assert defaults.request_limits.max_turns == 50
    # the prompt's bound follows the device unless set: a CPU's keeps Stop within a layer's time
    assert defaults.request_limits.for_device("cpu").max_prompt_tokens == 16384
    assert defaults.request_limits.for_device("cuda:0").max_prompt_tokens == 65536
    assert (defaults.upload_mb_per_hour, defaults.login_failures, defaults.forwarded_for) == (1024, 5, "auto")
    config = parse_config(["--max-text-chars", "100", "--max-prompt-tokens", "4096", "--forwarded-for", "last"],
                          environ={"MAX_TURNS": "3", "MAX_HISTORY_CHARS": "1000", "UPLOAD_MB_PER_HOUR": "0"})
    limits = config.request_limits
    assert (limits.max_text_chars, limits.max_turns, limits.max_history_chars, limits.max_prompt_tokens) == (
        100, 3, 1000, 4096)
    assert config.upload_mb_per_hour == 0 and config.forwarded_for == "last"
    assert limits.max_body_bytes == 12 * 1000 + 1024 * 1024
    assert limits.for_device("cpu").max_prompt_tokens == 4096
    with pytest.raises(SystemExit):
        parse_config(["--max-turns", "0"], environ={})
    assert "--max-turns (env MAX_TURNS) is 0: use 1 or more" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_config([], environ={"LOGIN_FAILURES": "-1"})
    assert "--login-failures (env LOGIN_FAILURES) is -1: use 0 or more" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # Gradio's queue of size 0 would refuse every request
        parse_config(["--queue-size", "0"], environ={})
    assert "--queue-size (env QUEUE_SIZE) is 0: use 1 or more" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_config([], environ={"FORWARDED_FOR": "always"})


def test_a_password_on_the_command_line_is_warned_of_once(caplog):
    import logging
    import sys

    sys.path.insert(0, str(ROOT))
    import app as app_module

    with caplog.at_level(logging.INFO, logger="app"):
        app_module.log_auth(["--auth", "alice:s3cret", "--port", "1"], ["alice"])
        app_module.log_auth(["--auth-file", "users.txt"], ["alice"])
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1 and "ps" in warnings[0] and "--auth-file" in warnings[0] and "AUTH" in warnings[0]
    assert all("s3cret" not in record.getMessage() for record in caplog.records)
