"""The small pictures of what the model was given for each reply (video frames, images with their slices), kept on
disk per conversation, within one bound for the process, and removed with the conversation."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import threading
from collections import OrderedDict
from typing import Any

ROOT = os.path.join(tempfile.gettempdir(), "minicpm-demo-seen")
MOST_PICTURES = 4000  # about 40 MB of small JPEGs for the whole process; the oldest conversations' go first

_sweeps = 0  # folders removed so far: a reply rendered before a sweep may show pictures that are gone


def sweeps() -> int:
    """How many times pictures were removed; a rendering of a reply made at another count may be out of date."""
    return _sweeps


def _swept(folder: str) -> None:
    global _sweeps
    shutil.rmtree(folder, ignore_errors=True)
    _sweeps += 1


class SeenPictures:
    def __init__(self, root: str = ROOT, most: int = MOST_PICTURES):
        self.root, self.most = root, most
        self._folders: OrderedDict[str, int] = OrderedDict()  # folder → pictures in it, least recent first
        self._lock = threading.Lock()

    def keep(self, session, seen: tuple[tuple[float | None, Any], ...]) -> list[dict[str, Any]]:
        """Write ``seen`` into ``session``'s folder; each picture as {"t": seconds or None, "path": file}."""
        folder = session.seen_folder
        if folder is None:
            folder = session.seen_folder = os.path.join(self.root, secrets.token_hex(12))
        os.makedirs(folder, exist_ok=True)
        kept = []
        for t, picture in seen[:self.most]:
            path = os.path.join(folder, f"{secrets.token_hex(6)}.jpg")
            picture.convert("RGB").save(path, quality=80)
            kept.append({"t": None if t is None else round(t, 3), "path": path})
        with self._lock:
            self._folders[folder] = self._folders.pop(folder, 0) + len(kept)
            while sum(self._folders.values()) > self.most and len(self._folders) > 1:
                old, _ = self._folders.popitem(last=False)
                _swept(old)
        return kept


def forget(folder: str | None) -> None:
    """Remove a conversation's pictures (it was cleared, deleted, or replaced by another)."""
    if folder and os.path.dirname(folder) == ROOT:
        _swept(folder)
