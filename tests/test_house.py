"""The house rules a newcomer relies on when reading ``minicpm_demo/`` (shared/DESIGN.md, shared/STYLE.md):
small modules, one-way imports, Gradio only in ``ui/``, no test tooling in the runtime package, one request
skeleton, and comments that give reasons rather than benchmark logs or history."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "minicpm_demo"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_LINES = 300

# What each layer may import from the package (ui → session/chat → engine → media, settings, text, cancel).
LAYERS = {
    "__init__": set(),
    "ui": None,  # the top: anything
    "config": {"engine", "gptq", "loader", "media", "session", "settings", "cancel", "config_rules"},
    "config_rules": set(),  # what the options must satisfy together
    "session": {"chat", "engine", "settings", "text", "media", "cancel", "phrases", "seen"},
    "seen": set(),  # the pictures of what the model saw, on disk: beside the session
    "chat": set(),
    "saved": {"chat", "phrases"},  # chats read back from the browser: the session/chat layer
    "engine": {"loader", "media", "settings", "text", "cancel", "phrases"},
    "loader": {"gptq"},
    "gptq": set(),
    "media": {"cancel", "phrases"},
    "settings": {"phrases"},
    "text": set(),
    "cancel": set(),
    "phrases": {"phrasebook"},  # what the demo says to people, in each language: the bottom
    "phrasebook": set(),  # its words
    "grounding": set(),  # boxes in a reply's text
}

HISTORY = re.compile(r"\b(no longer|used to|the former|instead of the old|formerly|previously)\b", re.IGNORECASE)
# A measured time, a percentage, a speed-up or an "a -> b" change: benchmark figures belong in docs/PERFORMANCE.md.
FIGURE = re.compile(r"~\s?\d|\d\.\d+\s?m?s\b|\d\s?(µs|%)|\d(\.\d+)?\s?× (faster|slower)|\d\s?(->|→)\s?\d")


def layer(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if node.module == "minicpm_demo":  # from minicpm_demo import loader
                names.update(f"minicpm_demo.{alias.name}" for alias in node.names)
    return names


def commentary(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every comment and docstring of a module."""
    source = path.read_text()
    found = [(token.start[0], token.string) for token in tokenize.generate_tokens(io.StringIO(source).readline)
             if token.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            docstring = ast.get_docstring(node, clean=False)
            if docstring:
                found.append((getattr(node, "lineno", 1), docstring))
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_modules_are_small_and_import_one_way(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES, f"{path.name}: split it by what it holds"
    imports = imported_modules(path)
    ours = {name.split(".")[1] for name in imports if name.startswith("minicpm_demo.")} - {layer(path)}
    assert not {name for name in imports if name.split(".")[0] == "devtools"}, "test tooling stays out of the app"
    if layer(path) != "ui":
        assert not {name for name in imports if name.split(".")[0] == "gradio"}, "only ui/ imports gradio"
    allowed = LAYERS[layer(path)]
    if allowed is not None:
        assert ours <= allowed, f"{path.name} imports {sorted(ours - allowed)} against the one-way flow"


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_comments_give_reasons_not_benchmark_logs_or_history(path):
    for line, text in commentary(path):
        assert not HISTORY.search(text), f"{path.name}:{line} narrates history: {text[:120]!r}"
        figure = FIGURE.search(text)
        assert not figure, f"{path.name}:{line} quotes a figure ({figure.group(0)!r}); it belongs in docs/"


def test_reply_stats_are_built_in_one_place():
    builders = [(path.name, line) for path in MODULES
                for line, text in enumerate(path.read_text().splitlines(), 1) if "ReplyStats(" in text
                and not text.lstrip().startswith(("class ", "#"))]
    assert builders == [("pipeline.py", builders[0][1])] if builders else False, builders


def test_no_engine_writes_the_request_skeleton_itself():
    for name in ("local.py", "remote.py"):
        source = (PACKAGE / "engine" / name).read_text()
        for skeleton in ("ReasoningSplitter", "perf_counter", "prepared_unless_stopped", "stop.set()",
                         "stop_event.set()"):
            assert skeleton not in source, f"engine/{name} has {skeleton}: the pipeline owns it"


def test_every_word_the_page_and_the_messages_say_exists_in_english_and_chinese():
    from minicpm_demo import phrasebook
    from minicpm_demo.ui import i18n

    for catalogue in (phrasebook, i18n):
        assert set(catalogue.EN) == set(catalogue.ZH), set(catalogue.EN) ^ set(catalogue.ZH)
