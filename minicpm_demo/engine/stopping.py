"""How Stop reaches a running ``generate``: after each token, and between two layers of a forward pass."""

from __future__ import annotations

import threading

from minicpm_demo import loader


class StopSwitch:
    """What ends one ``generate`` run: the user's Stop, or its consumer going away (``abandon``).

    The two are kept apart so that a reply's ``stopped`` means the user pressed Stop, and nothing else."""

    def __init__(self, stop: threading.Event | None = None):
        self.stop = stop or threading.Event()
        self._abandoned = threading.Event()

    def abandon(self) -> None:
        self._abandoned.set()

    def is_set(self) -> bool:
        return self.stop.is_set() or self._abandoned.is_set()


class StopOnSwitch:
    """A ``StoppingCriteria`` that ends ``generate`` at the next token once the switch is set."""

    def __init__(self, switch: StopSwitch):
        self.switch = switch

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        return torch.full((input_ids.shape[0],), self.switch.is_set(), dtype=torch.bool, device=input_ids.device)


class Stopped(Exception):
    """Raised inside a forward pass once its request's switch is set."""


# The switch of the request whose ``generate`` runs in this thread (each request has its own thread, or takes its
# turn on the compiled-generate thread).
_this_thread = threading.local()
_hooks_lock = threading.Lock()  # two first requests at once must not hook every layer twice


def run_under(switch: StopSwitch) -> None:
    """Make ``switch`` the one the layer hooks consult on this thread (call it first on a generate thread)."""
    _this_thread.switch = switch


def _raise_if_stopped(module, args) -> None:
    import torch

    if torch.compiler.is_compiling():  # a compiled decoding step is one graph; Stop acts between tokens there
        return
    switch = getattr(_this_thread, "switch", None)
    if switch is not None and switch.is_set():
        raise Stopped


def make_stoppable_mid_pass(loaded: loader.LoadedModel) -> None:
    """Let Stop end a forward pass between two layers, not only after a token.

    A ``StoppingCriteria`` is consulted once per token, after the pass; on a CPU the prompt's pass (vision tower
    and prefill) takes from seconds to minutes, and Stop would wait for all of it. A check before each layer of
    every stack (vision encoder, language model) is a thread-local read and an Event check, negligible beside
    a layer's work.
    """
    import torch

    with _hooks_lock:
        if loaded.stops_mid_pass:
            return
        for module in loaded.model.modules():
            if isinstance(module, torch.nn.ModuleList):
                for layer in module:
                    layer.register_forward_pre_hook(_raise_if_stopped)
        loaded.stops_mid_pass = True
