"""Import Gradio without the work it does at import that this app never uses: most of the app's start-up time.

Two measures, installed by ``install()`` before the first ``import gradio`` (``minicpm_demo/ui/__init__.py``):

- **No type-stub rewriting.** Gradio 6 (checked up to the pinned 6.31) calls
  ``gradio.component_meta.create_or_modify_pyi`` for every component class it defines at import: it re-reads and
  ``ast``-parses the component's source file and its ``.pyi`` stub, and rewrites the stub in site-packages if
  they differ. That keeps editor type hints in step while Gradio itself is developed; at run time it only
  costs: 2.0 of the 4.1 s ``import gradio`` took on the 2-core development machine. The stubs shipped in the
  wheel are already up to date. That one function becomes a no-op for this process.
- **pandas later.** Gradio imports pandas (and with it pyarrow) at import, for ``gr.Cache`` hashing, the
  Dataframe component and its queue statistics, none of which the page needs before it is served: ~0.4 s of
  the remaining import. ``sys.modules["pandas"]`` starts as a stand-in that runs the real import the first
  time anything reads a pandas attribute; ``finish_deferred_imports()`` does that in the background once the
  page is up (``app.py``), so a later request never waits for it.

Each measure changes nothing if its module is already imported, or (stubs) the function is gone.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import threading
import types

MODULE = "gradio.component_meta"
FUNCTION = "create_or_modify_pyi"
DEFERRED = ("pandas",)


def _skip_stub_rewrite(*_args, **_kwargs) -> None:
    return None


class _StubRewriteSkipper(importlib.abc.MetaPathFinder):
    """Finds ``gradio.component_meta`` with the normal machinery, and swaps the function out once it has run."""

    def find_spec(self, name, path, target=None):
        if name != MODULE:
            return None
        uninstall()
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run_module = spec.loader.exec_module

        def exec_module(module) -> None:
            run_module(module)
            if hasattr(module, FUNCTION):
                setattr(module, FUNCTION, _skip_stub_rewrite)

        spec.loader.exec_module = exec_module
        return spec


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
    """Run the deferred imports now, in a background thread (returned, already started)."""

    def load_all() -> None:
        for name in DEFERRED:
            module = sys.modules.get(name)
            if isinstance(module, DeferredModule):
                module.load()

    thread = threading.Thread(target=load_all, name="deferred-imports", daemon=True)
    thread.start()
    return thread


def install() -> None:
    if "gradio" in sys.modules:
        return
    for name in DEFERRED:
        _defer(name)
    if MODULE in sys.modules or any(isinstance(finder, _StubRewriteSkipper) for finder in sys.meta_path):
        return
    sys.meta_path.insert(0, _StubRewriteSkipper())


def uninstall() -> None:
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _StubRewriteSkipper)]
