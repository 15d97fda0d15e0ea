"""The Gradio the patches are written for, and whether it is the one installed."""

from __future__ import annotations

import logging
from functools import cache
from importlib import metadata

PATCHED_GRADIO = "6.31.0"

log = logging.getLogger("minicpm_demo.ui.gradio_patches")


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
                found or "(not installed)", log.name, PATCHED_GRADIO)
    return False
