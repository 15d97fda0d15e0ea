"""The patches of Gradio's start-up: no type-stub rewriting, pandas later, the web server built once, and
matplotlib's backend chosen up front (this package's docstring says why)."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager

from minicpm_demo.ui.gradio_patches.version import enabled

STUB_MODULE = "gradio.component_meta"
STUB_FUNCTION = "create_or_modify_pyi"
DEFERRED = ("pandas",)


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
