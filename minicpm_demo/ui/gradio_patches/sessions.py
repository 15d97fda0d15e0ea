"""Sessions that keep no copy of the page's config nor of what their events sent and showed."""

from __future__ import annotations

import copy
import os
import weakref

from minicpm_demo.ui.gradio_patches.version import enabled, log

SESSION_ATTRIBUTES = {"blocks_config", "config_values", "state_data", "_state_ttl", "is_closed",
                      "STATE_TTL_WHEN_CLOSED"}
_lean_demos: weakref.WeakSet = weakref.WeakSet()
_valueless: set[int] = set()  # ids of the components whose values sessions do not keep


def _lean_init(init):
    def __init__(self, blocks):
        if blocks not in _lean_demos:
            init(self, blocks)
            return
        self.blocks_config = copy.copy(blocks.default_config)
        self.config_values = {}  # an entry is made for a block when Gradio writes one for it
        self.state_data = {}
        self._state_ttl = {}
        self.is_closed = False
        self.STATE_TTL_WHEN_CLOSED = 1 if os.getenv("GRADIO_IS_E2E_TEST", None) else 3600

    __init__.lean = True
    return __init__


def _skipping_valueless(update):
    def update_value_in_config(self, key, value):
        if key not in _valueless:
            update(self, key, value)

    update_value_in_config.lean = True
    return update_value_in_config


def lean_sessions(demo) -> bool:
    """``demo``'s sessions keep no copy of its components' configs nor of their values; whether that is on."""
    if not enabled():
        return False
    from gradio.components import State
    from gradio.state_holder import SessionState

    init, update = SessionState.__dict__.get("__init__"), SessionState.__dict__.get("_update_value_in_config")
    if not callable(init) or not callable(update):
        return False
    if not getattr(init, "lean", False):
        if set(vars(SessionState(demo))) != SESSION_ATTRIBUTES:
            log.warning("gradio's SessionState is not the one %s knows: sessions keep their config copies", __name__)
            return False
        SessionState.__init__ = _lean_init(init)
        SessionState._update_value_in_config = _skipping_valueless(update)
    _lean_demos.add(demo)
    _valueless.update(key for key, block in demo.blocks.items() if not isinstance(block, State))
    return True
