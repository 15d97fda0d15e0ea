"""The app imports Gradio without its per-import type-stub rewriting (half the start-up time), and still works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

COMPONENT = '''
import gradio as gr


class Shout(gr.Textbox):
    EVENTS = ["change"]
'''


def import_component(tmp_path: Path, prelude: str) -> subprocess.CompletedProcess:
    (tmp_path / "shout.py").write_text(COMPONENT)
    code = prelude + "import shout, gradio.component_meta as meta; print(meta.create_or_modify_pyi.__name__)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)


def test_plain_gradio_rewrites_stubs_for_each_component_class(tmp_path):
    # The cost the app avoids: Gradio writes (or re-parses) a .pyi stub for every component class it defines.
    done = import_component(tmp_path, "")
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "shout.pyi").exists()


def test_the_app_imports_gradio_without_rewriting_stubs(tmp_path):
    done = import_component(tmp_path, "import minicpm_demo.ui; ")
    assert done.returncode == 0, done.stderr[-2000:]
    assert not (tmp_path / "shout.pyi").exists()
    assert done.stdout.strip() == "_skip_stub_rewrite"


def test_install_after_gradio_was_imported_changes_nothing():
    code = ("import gradio, gradio.component_meta as meta, sys; from minicpm_demo.ui import gradio_import; "
            "gradio_import.install(); print(meta.create_or_modify_pyi.__name__, "
            "any(type(f).__name__ == '_StubRewriteSkipper' for f in sys.meta_path))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["create_or_modify_pyi", "False"]
