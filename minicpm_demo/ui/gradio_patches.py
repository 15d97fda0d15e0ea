"""Every reach into Gradio's private API or import-time behaviour, applied only to the Gradio version it was written
for (``PATCHED_GRADIO``, the pin in requirements.txt).

Each patch skips work Gradio does that this app never uses; docs/PERFORMANCE.md ("Startup", "What the app adds")
has the bench figure for each, and tests/test_gradio_patches.py has a test per patch that fails when the thing it
patches moves in Gradio. ``apply()`` runs before the first ``import gradio`` (``minicpm_demo/ui/__init__.py``).
With any other Gradio installed it patches nothing and logs one line: the app works the same, it only starts
slower and its queue polls at Gradio's own pace.

- **No type-stub rewriting.** For every component class it defines at import, Gradio calls
  ``gradio.component_meta.create_or_modify_pyi``, which re-parses the component's source and ``.pyi`` and rewrites
  the stub in site-packages when they differ. That keeps editor hints in step while Gradio itself is developed;
  the wheel's stubs are already up to date, so for this process that one function becomes a no-op.
- **pandas later.** Gradio imports pandas (and pyarrow) at import for ``gr.Cache`` hashing, the Dataframe
  component and queue statistics, none of which the page needs before it is served. ``sys.modules["pandas"]``
  starts as a stand-in that runs the real import the first time a pandas attribute is read;
  ``finish_deferred_imports()`` runs it in the background once the page is up, so no request waits for it.
- **The web server built once.** ``gr.Blocks()``, the end of its ``with`` block and ``.queue()`` each build a
  complete FastAPI app so that ``demo.app`` exists before launch; ``launch()`` then builds the one that serves.
  Inside ``server_app_built_at_launch()`` the first three are skipped (``demo.app`` stays None until launch).
- **Queue polling.** Gradio's queue wakes up at short fixed intervals to look for new work and for progress
  updates; ``set_queue_polling()`` sets those intervals (``ui/pacing.py`` decides them).
- **matplotlib's backend chosen up front.** Gradio switches matplotlib to "agg" and back around every event when
  matplotlib is installed; with the backend left to auto-detection, the first switch runs the detection, which
  delays the first event. ``MPLBACKEND=agg`` (unless set) spares it: a server never needs an interactive backend.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import logging
import numbers
import os
import sys
import threading
import types
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import metadata

PATCHED_GRADIO = "6.31.0"

STUB_MODULE = "gradio.component_meta"
STUB_FUNCTION = "create_or_modify_pyi"
DEFERRED = ("pandas",)

log = logging.getLogger(__name__)


def installed_gradio_version() -> str | None:
    """Read from the installed distribution's metadata: importing gradio would run the work the patches skip."""
    try:
        return metadata.version("gradio")
    except metadata.PackageNotFoundError:
        return None


@cache
def enabled() -> bool:
    """Whether the installed Gradio is the one the patches were written for; says so once when it is not."""
    found = installed_gradio_version()
    if found == PATCHED_GRADIO:
        return True
    log.warning("gradio %s found, the patches in %s are written for %s: its start-up and queue patches are off",
                found or "(not installed)", __name__, PATCHED_GRADIO)
    return False


def apply() -> bool:
    """Install the import-time patches (a no-op once gradio is imported); whether the patches are on."""
    if not enabled():
        return False
    os.environ.setdefault("MPLBACKEND", "agg")
    if "gradio" in sys.modules:
        return True
    for name in DEFERRED:
        _defer(name)
    if STUB_MODULE not in sys.modules and not any(isinstance(f, _StubRewriteSkipper) for f in sys.meta_path):
        sys.meta_path.insert(0, _StubRewriteSkipper())
    return True


# ---- no type-stub rewriting ------------------------------------------------------------------------------------

def _skip_stub_rewrite(*_args, **_kwargs) -> None:
    return None


class _StubRewriteSkipper(importlib.abc.MetaPathFinder):
    """Finds ``gradio.component_meta`` with the normal machinery, and swaps the function out once it has run."""

    def find_spec(self, name, path, target=None):
        if name != STUB_MODULE:
            return None
        sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _StubRewriteSkipper)]
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run_module = spec.loader.exec_module

        def exec_module(module) -> None:
            run_module(module)
            if hasattr(module, STUB_FUNCTION):
                setattr(module, STUB_FUNCTION, _skip_stub_rewrite)

        spec.loader.exec_module = exec_module
        return spec


# ---- pandas later ----------------------------------------------------------------------------------------------

class DeferredModule(types.ModuleType):
    """Stands in for a module in ``sys.modules`` until one of its attributes is read, then imports it for real.

    ``import x`` statements and scans of ``sys.modules`` (``inspect.getmodule`` reads ``__file__``) see the
    stand-in without triggering the import. Once loaded, the stand-in carries the real module's attributes, so
    a module that bound it early (``import pandas as pd`` inside Gradio) keeps working at full speed.
    """

    def __init__(self, spec):
        super().__init__(spec.name)
        self.__spec__, self.__loader__, self.__file__ = spec, spec.loader, spec.origin
        self.__package__ = spec.parent
        self._deferred_lock = threading.Lock()

    def __getattr__(self, attribute: str):
        return getattr(self.load(), attribute)

    def load(self) -> types.ModuleType:
        with self._deferred_lock:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            real = importlib.import_module(self.__name__)
            self.__dict__.update(vars(real))
        return real


def _defer(name: str) -> None:
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is not None:
        sys.modules[name] = DeferredModule(spec)


def finish_deferred_imports() -> threading.Thread:
    """Run the deferred imports now, in a background thread (returned, already started; idle when none wait)."""

    def load_all() -> None:
        for name in DEFERRED:
            module = sys.modules.get(name)
            if isinstance(module, DeferredModule):
                module.load()

    thread = threading.Thread(target=load_all, name="deferred-imports", daemon=True)
    thread.start()
    return thread


# ---- the web server built once ---------------------------------------------------------------------------------

def _not_yet(*_args, **_kwargs) -> None:
    return None


@contextmanager
def server_app_built_at_launch() -> Iterator[None]:
    """Build a page inside this block: Gradio's builds of its web server before ``launch()`` are skipped."""
    build = None
    if enabled():
        from gradio.routes import App

        build = App.__dict__.get("create_app")
    if not isinstance(build, staticmethod):
        yield
        return
    App.create_app = staticmethod(_not_yet)
    try:
        yield
    finally:
        App.create_app = build


# ---- queue polling ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QueuePolling:
    new_work_s: float  # how often the queue looks for a request to start
    progress_s: float  # how often it looks for progress updates to send


_gradio_polling: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # queue -> Gradio's own intervals


def _queue(demo):
    queue = getattr(demo, "_queue", None)
    if not enabled() or not all(isinstance(getattr(queue, name, None), numbers.Real)
                                for name in ("sleep_when_free", "progress_update_sleep_when_free")):
        return None
    return queue


def queue_polling(demo) -> QueuePolling | None:
    """The intervals ``demo``'s queue polls at now; None where they are not ours to set."""
    queue = _queue(demo)
    return None if queue is None else QueuePolling(queue.sleep_when_free, queue.progress_update_sleep_when_free)


def set_queue_polling(demo, polling: QueuePolling | None) -> None:
    """Make ``demo``'s queue poll at ``polling`` (None: Gradio's own intervals); the loop reads them each turn.

    ``demo.queue()`` makes a new queue: set them after it. Does nothing where they are not ours to set.
    """
    queue = _queue(demo)
    if queue is None:
        return
    current = queue_polling(demo)
    polling = polling or _gradio_polling.get(queue, current)
    _gradio_polling.setdefault(queue, current)
    queue.sleep_when_free, queue.progress_update_sleep_when_free = polling.new_work_s, polling.progress_s
