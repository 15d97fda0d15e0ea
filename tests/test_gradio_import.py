"""The app starts Gradio without work it never uses (type-stub rewriting, pandas before the page is up, three
throw-away builds of the web server), and everything still works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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


def printed_by(code: str) -> list[str]:
    """The words ``python -c code`` prints, run from the repository root; it must succeed."""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


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
    assert printed_by(code) == ["create_or_modify_pyi", "False"]


PANDAS_STATE = ("import sys; state = lambda: (type(sys.modules['pandas']).__name__, 'pandas.core.frame' in sys.modules); ")


def test_pandas_is_not_imported_while_the_page_is_built():
    code = PANDAS_STATE + (
        "import app; from minicpm_demo.config import parse_config; "
        "app.create_app(parse_config(['--model', 'no-such-checkpoint'], environ={})); print(*state())")
    assert printed_by(code) == ["DeferredModule", "False"]


def test_deferred_pandas_works_however_it_is_reached():
    code = PANDAS_STATE + (
        "import minicpm_demo.ui, gradio.caching as caching; bound_early = caching.pd; "
        "import pandas.api.types as types; import pandas; "
        "print(*state(), pandas is sys.modules['pandas'], types is pandas.api.types, "
        "caching.pd.DataFrame is pandas.DataFrame, bound_early.DataFrame({'a': [1, 2]}).shape == (2, 1), "
        "caching.cache_hash(pandas.DataFrame({'a': [1]})) == caching.cache_hash(pandas.DataFrame({'a': [1]})))")
    assert printed_by(code) == ["module", "True", "True", "True", "True", "True", "True"]


def test_finish_deferred_imports_loads_pandas_in_the_background():
    code = PANDAS_STATE + (
        "from minicpm_demo.ui import finish_deferred_imports; print(*state()); "
        "thread = finish_deferred_imports(); thread.join(60); print(thread.name, *state())")
    assert printed_by(code) == ["DeferredModule", "False", "deferred-imports", "module", "True"]


def test_the_web_server_is_built_once_at_launch(monkeypatch):
    import gradio as gr
    from gradio.routes import App
    from gradio_client import Client
    from helpers import free_port

    from minicpm_demo.ui import server_app_built_at_launch

    builds = []
    build = App.create_app
    monkeypatch.setattr(App, "create_app", staticmethod(lambda *args, **kwargs: builds.append(1) or build(*args, **kwargs)))
    with server_app_built_at_launch():
        with gr.Blocks() as demo:
            name = gr.Textbox()
            greeting = gr.Textbox()
            name.submit(lambda text: f"Hello {text}", name, greeting, api_name="greet")
        demo.queue(max_size=4)
    assert builds == [] and demo.app is None
    port = free_port()
    demo.launch(server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        assert len(builds) == 1
        client = Client(f"http://127.0.0.1:{port}/", analytics_enabled=False, verbose=False)
        assert client.predict("Ada", api_name="/greet") == "Hello Ada"
    finally:
        demo.close()


def test_the_first_event_does_not_wait_for_matplotlib_backend_detection():
    """Gradio switches matplotlib to "agg" and back around every event call; with the backend left to
    auto-detection, the first switch detects it (~0.45 s). The app chooses "agg" before Gradio can ask."""
    pytest.importorskip("matplotlib")
    code = ("import os; os.environ.pop('MPLBACKEND', None); import minicpm_demo.ui, matplotlib; "
            "print(matplotlib.rcParams._get_backend_or_none())")  # None: not chosen yet, detected when asked
    assert printed_by(code) == ["agg"]
