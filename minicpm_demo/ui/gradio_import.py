"""Import Gradio without its type-stub rewriting, which is half of the app's start-up time.

Gradio 6 (checked up to the pinned 6.31) calls ``gradio.component_meta.create_or_modify_pyi`` for every component
class it defines at import: it re-reads and ``ast``-parses the component's source file and its ``.pyi`` stub, and
rewrites the stub in site-packages if they differ. That keeps editor type hints in step while Gradio itself
is developed; at run time it only costs: 2.0 of the 4.1 s ``import gradio`` takes on the 2-core development
machine (bench/startup.py, docs/PERFORMANCE.md). The stubs shipped in the wheel are already up to date.

``install()`` makes that function a no-op for this process, before Gradio is imported. It changes nothing
if Gradio is already imported or no longer has the function.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys

MODULE = "gradio.component_meta"
FUNCTION = "create_or_modify_pyi"


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


def install() -> None:
    if MODULE in sys.modules or any(isinstance(finder, _StubRewriteSkipper) for finder in sys.meta_path):
        return
    sys.meta_path.insert(0, _StubRewriteSkipper())


def uninstall() -> None:
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _StubRewriteSkipper)]
