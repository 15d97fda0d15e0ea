"""ui/gradio_patches.py: the app starts Gradio without work it never uses (type-stub rewriting, pandas before the
page is up, three throw-away builds of the web server, matplotlib backend detection at the first event) and
paces its queue, and everything still works; with another Gradio installed nothing is patched.

The tests named ``test_gradio_...`` check plain Gradio: each fails when the thing a patch reaches into has moved,
which is what tells a Gradio upgrade broke (or made pointless) a patch."""

from __future__ import annotations

import inspect
import os
import re
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
    code = prelude + ("import shout, gradio.component_meta as meta, gradio.blocks_events as events; "
                      "print(meta.create_or_modify_pyi.__name__, events.create_or_modify_pyi.__name__)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)


def run_python(code: str) -> subprocess.CompletedProcess:
    """``python -c code`` from the repository root, without a chosen matplotlib backend; it must succeed."""
    env = {key: value for key, value in os.environ.items() if key != "MPLBACKEND"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def printed_by(code: str) -> list[str]:
    """The words ``python -c code`` prints."""
    return run_python(code).stdout.split()


def test_the_patched_gradio_is_the_pinned_one():
    from minicpm_demo.ui.gradio_patches import PATCHED_GRADIO, installed_gradio_version

    pins = re.findall(r"^gradio(?:\[[\w,]+\])?==(\S+)", (ROOT / "requirements.txt").read_text(), flags=re.MULTILINE)
    assert pins == [PATCHED_GRADIO], "move PATCHED_GRADIO with the pin, once tests/test_gradio_patches.py passes"
    assert installed_gradio_version() == PATCHED_GRADIO, "the tests below check the pinned Gradio"


# ---- no type-stub rewriting ------------------------------------------------------------------------------------

def test_plain_gradio_rewrites_stubs_for_each_component_class(tmp_path):
    # The cost the app avoids: Gradio writes (or re-parses) a .pyi stub for every component class it defines.
    done = import_component(tmp_path, "")
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "shout.pyi").exists()
    assert done.stdout.split() == ["create_or_modify_pyi"] * 2


def test_gradio_rewrites_stubs_through_the_module_function_the_patch_replaces():
    import gradio.blocks_events
    import gradio.component_meta as meta

    assert callable(getattr(meta, "create_or_modify_pyi", None)), "Gradio moved create_or_modify_pyi"
    for metaclass in (meta.ComponentMeta, gradio.blocks_events.BlocksMeta):
        # looked up as a global at class creation, so replacing the module's attribute takes effect
        assert "create_or_modify_pyi" in metaclass.__new__.__code__.co_names, metaclass


def test_the_app_imports_gradio_without_rewriting_stubs(tmp_path):
    done = import_component(tmp_path, "import minicpm_demo.ui; ")
    assert done.returncode == 0, done.stderr[-2000:]
    assert not (tmp_path / "shout.pyi").exists()
    assert done.stdout.split() == ["_skip_stub_rewrite"] * 2


def test_applying_after_gradio_was_imported_changes_nothing():
    code = ("import gradio, gradio.component_meta as meta, sys; from minicpm_demo.ui import gradio_patches; "
            "gradio_patches.apply(); print(meta.create_or_modify_pyi.__name__, "
            "any(type(f).__name__ == '_StubRewriteSkipper' for f in sys.meta_path))")
    assert printed_by(code) == ["create_or_modify_pyi", "False"]


# ---- pandas later ----------------------------------------------------------------------------------------------

PANDAS_STATE = ("import sys; "
                "state = lambda: (type(sys.modules['pandas']).__name__, 'pandas.core.frame' in sys.modules); ")


def test_gradio_imports_pandas_at_import():
    # What the deferral saves; were it no longer so, the patch would be pointless.
    assert printed_by(PANDAS_STATE + "import gradio; print(*state())") == ["module", "True"]


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


# ---- the web server built once ---------------------------------------------------------------------------------

def greeting_page():
    import gradio as gr

    with gr.Blocks() as demo:
        name = gr.Textbox()
        greeting = gr.Textbox()
        name.submit(lambda text: f"Hello {text}", name, greeting, api_name="greet")
    demo.queue(max_size=4)
    return demo


@pytest.fixture
def server_builds(monkeypatch):
    """Each build of Gradio's web server, counted."""
    from gradio.routes import App

    builds = []
    build = App.create_app
    counted = staticmethod(lambda *args, **kwargs: builds.append(1) or build(*args, **kwargs))
    monkeypatch.setattr(App, "create_app", counted)
    return builds


def test_gradio_builds_its_web_server_three_times_before_launch(server_builds):
    from gradio.routes import App

    assert isinstance(inspect.getattr_static(App, "create_app"), staticmethod), "the patch swaps a staticmethod"
    demo = greeting_page()
    assert len(server_builds) == 3 and demo.app is not None, "re-measure the patch (bench/startup.py)"


def test_the_web_server_is_built_once_at_launch(server_builds):
    from gradio_client import Client
    from helpers import free_port

    from minicpm_demo.ui import server_app_built_at_launch

    with server_app_built_at_launch():
        demo = greeting_page()
    assert server_builds == [] and demo.app is None
    port = free_port()
    demo.launch(server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        assert len(server_builds) == 1
        client = Client(f"http://127.0.0.1:{port}/", analytics_enabled=False, verbose=False)
        assert client.predict("Ada", api_name="/greet") == "Hello Ada"
    finally:
        demo.close()


# ---- queue polling (the launched app's CPU use: tests/test_app.py) ---------------------------------------------

def test_gradio_s_queue_polls_at_the_intervals_the_patch_sets():
    from gradio.queueing import Queue

    from minicpm_demo.ui.gradio_patches import QueuePolling, queue_polling, set_queue_polling

    for loop, interval in ((Queue.start_processing, "sleep_when_free"),
                           (Queue.start_progress_updates, "progress_update_sleep_when_free")):
        assert f"asyncio.sleep(self.{interval})" in inspect.getsource(loop), f"{loop.__name__} moved"
    demo = greeting_page()
    gradio_s = queue_polling(demo)
    assert isinstance(gradio_s, QueuePolling), "Blocks._queue or its intervals moved"
    assert (demo._queue.sleep_when_free, demo._queue.progress_update_sleep_when_free) == (
        gradio_s.new_work_s, gradio_s.progress_s)
    set_queue_polling(demo, QueuePolling(new_work_s=0.2, progress_s=0.3))
    assert (demo._queue.sleep_when_free, demo._queue.progress_update_sleep_when_free) == (0.2, 0.3)
    set_queue_polling(demo, None)
    assert queue_polling(demo) == gradio_s


# ---- matplotlib's backend chosen up front ----------------------------------------------------------------------

def test_gradio_switches_matplotlib_backends_around_each_event():
    pytest.importorskip("matplotlib")
    code = ("import inspect, matplotlib, gradio.utils as utils, gradio.route_utils as route_utils; "
            "backend = matplotlib.rcParams._get_backend_or_none; print(backend()); "  # None: not chosen yet
            "switch = utils.MatplotlibBackendMananger(); switch.__enter__(); print(matplotlib.get_backend()); "
            "switch.__exit__(None, None, None); print(backend() is not None, "  # detected by the switch
            "'MatplotlibBackendMananger()' in inspect.getsource(route_utils.call_process_api))")
    assert printed_by(code) == ["None", "agg", "True", "True"]


def test_the_first_event_does_not_wait_for_matplotlib_backend_detection():
    """The app chooses "agg" before Gradio's switch around the first event has to detect a backend."""
    pytest.importorskip("matplotlib")
    code = ("import minicpm_demo.ui, matplotlib; "
            "print(matplotlib.rcParams._get_backend_or_none())")  # None: not chosen yet, detected when asked
    assert printed_by(code) == ["agg"]


# ---- another Gradio installed ----------------------------------------------------------------------------------

ANOTHER_GRADIO = """
import importlib.metadata, logging, os, sys
logging.basicConfig(format="LOG %(name)s: %(message)s")
version = importlib.metadata.version
importlib.metadata.version = lambda name: "9.9.9" if name == "gradio" else version(name)

import app
from minicpm_demo.config import parse_config
from minicpm_demo.ui import gradio_patches, server_app_built_at_launch
from minicpm_demo.ui.pacing import QueuePacer
import gradio as gr, gradio.component_meta as meta
from gradio_client import Client

app.create_app(parse_config(["--model", "no-such-checkpoint"], environ={}))
with server_app_built_at_launch():
    with gr.Blocks() as demo:
        name, greeting = gr.Textbox(), gr.Textbox()
        pacer = QueuePacer(demo)
        name.submit(lambda text: (yield from pacer.paced(iter(["Hello " + text]))), name, greeting, api_name="greet")
    demo.queue()
pacer.settle()
print(meta.create_or_modify_pyi.__name__, type(sys.modules["pandas"]).__name__, os.environ.get("MPLBACKEND"),
      demo.app is not None, gradio_patches.queue_polling(demo))
demo.launch(server_port=int(sys.argv[1]), prevent_thread_lock=True, quiet=True)
print(Client(f"http://127.0.0.1:{sys.argv[1]}/", verbose=False).predict("Ada", api_name="/greet").replace(" ", "_"))
demo.close(verbose=False)
"""


def test_with_another_gradio_nothing_is_patched_one_line_says_so_and_the_app_works():
    from helpers import free_port

    done = run_python(ANOTHER_GRADIO.replace("sys.argv[1]", str(free_port())))
    assert done.stdout.split() == ["create_or_modify_pyi", "module", "None", "True", "None", "Hello_Ada"]
    said = [line for line in done.stderr.splitlines() if line.startswith("LOG minicpm_demo.ui.gradio_patches")]
    assert len(said) == 1 and "gradio 9.9.9 found" in said[0] and "patches" in said[0] and "off" in said[0], said


# ---- MCP behind --auth (the end-to-end check: tests/test_mcp.py) ------------------------------------------------
def test_gradios_mcp_server_calls_through_the_client_it_holds():
    """sign_in_mcp_loopback sets the client Gradio's MCP server makes only when it holds none."""
    import inspect

    from gradio.mcp import GradioMCPServer

    source = inspect.getsource(GradioMCPServer._get_or_create_client)
    assert "if self._client_instance is None:" in source and "return self._client_instance" in source


# ---- the Sign in button's label (the browser check: tests/test_sign_in.py) -----------------------------------
def _request_with_session(session: dict):
    import gradio as gr
    from starlette.requests import Request

    return gr.Request(request=Request({"type": "http", "headers": [], "session": session}))


ORG = {"sub": "1", "name": "Wonderland", "preferred_username": "wonderland", "isEnterprise": False}
PROFILE = {"oauth_info": {"userinfo": {"preferred_username": "alice", "orgs": [ORG]}}}


def test_gradios_request_cannot_read_a_session_holding_a_list():
    with pytest.raises((ValueError, AttributeError)):
        _request_with_session(PROFILE).session


def test_the_sign_in_button_names_a_visitor_of_an_organization():
    from gradio.components.login_button import LoginButton

    from minicpm_demo.ui.gradio_patches import sign_in_button_reads_the_session

    assert sign_in_button_reads_the_session()
    button = LoginButton()  # outside Blocks: outside a Space, one inside would ask Hugging Face who is signed in
    assert button._check_login_status(_request_with_session(PROFILE)).value == "Logout (alice)"
    assert button._check_login_status(_request_with_session({})).value == "Sign in with Hugging Face"
