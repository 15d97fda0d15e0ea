"""What a conversation keeps for its follow-up questions: decoded media, vision-tower outputs and snapshots of the
language model's cache, in one byte budget for the process.

Every entry belongs to one conversation (its ``owner``, a key the server made and never showed a client) and is
found only by that conversation: a follow-up of one user is never faster because of another's upload, so the
cache reveals nothing across conversations. Entries are evicted least recently used first, across all
conversations, and dropped at once with ``forget(owner)`` (Clear, a chat opened, a browser session ended).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

MB = 1024 * 1024


def nbytes(value: Any) -> int:
    """The memory ``value`` holds in tensors and arrays (a cache's layers, a list of frames, …), roughly."""
    if hasattr(value, "nbytes") and not callable(value.nbytes):  # a numpy array, or a torch tensor (≥ 2.1)
        return int(value.nbytes)
    if hasattr(value, "layers"):  # a transformers Cache: its layers' tensors
        return sum(nbytes(vars(layer)) for layer in value.layers)
    if isinstance(value, dict):
        return sum(nbytes(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return sum(nbytes(item) for item in value)
    if hasattr(value, "__dataclass_fields__"):
        return sum(nbytes(getattr(value, name)) for name in value.__dataclass_fields__)
    if hasattr(value, "width") and hasattr(value, "height") and hasattr(value, "mode"):  # a PIL image
        return value.width * value.height * len(value.getbands())
    return 0


@dataclass(frozen=True)
class Hit:
    value: Any
    nbytes: int


class ReuseCache:
    """A least-recently-used map from ``(owner, key)`` to values, within ``budget_bytes`` over all owners."""

    def __init__(self, budget_bytes: int):
        self.budget_bytes = max(0, int(budget_bytes))
        self._entries: OrderedDict[tuple[str, Any], Hit] = OrderedDict()
        self._used = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.budget_bytes > 0

    @property
    def used_bytes(self) -> int:
        return self._used

    def get(self, owner: str | None, key: Any) -> Any | None:
        if owner is None or not self.enabled:
            return None
        with self._lock:
            hit = self._entries.get((owner, key))
            if hit is None:
                return None
            self._entries.move_to_end((owner, key))
            return hit.value

    def put(self, owner: str | None, key: Any, value: Any, size: int | None = None) -> bool:
        """Keep ``value`` for ``owner``; False where it is larger than the whole budget (then it is not kept)."""
        if owner is None or not self.enabled:
            return False
        size = nbytes(value) if size is None else size
        if size > self.budget_bytes:
            return False
        with self._lock:
            old = self._entries.pop((owner, key), None)
            if old is not None:
                self._used -= old.nbytes
            while self._entries and self._used + size > self.budget_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._used -= evicted.nbytes
            self._entries[owner, key] = Hit(value, size)
            self._used += size
        return True

    def keys(self, owner: str | None) -> list[Any]:
        """``owner``'s keys, least recently used first."""
        with self._lock:
            return [key for entry_owner, key in self._entries if entry_owner == owner]

    def drop(self, owner: str | None, key: Any) -> None:
        with self._lock:
            hit = self._entries.pop((owner, key), None)
            if hit is not None:
                self._used -= hit.nbytes

    def forget(self, owner: str | None) -> None:
        """Drop everything ``owner`` kept."""
        with self._lock:
            for entry in [entry for entry in self._entries if entry[0] == owner]:
                self._used -= self._entries.pop(entry).nbytes

    def owners(self) -> set[str]:
        with self._lock:
            return {owner for owner, _ in self._entries}
