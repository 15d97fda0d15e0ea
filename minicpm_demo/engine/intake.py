"""One request's media, read the same way by every engine: each file under the request's limits, with the
message a user understands when it cannot be used, and a record of what each attachment became."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from minicpm_demo.cancel import never
from minicpm_demo.engine.base import MediaGiven
from minicpm_demo.engine.reuse import ReuseCache
from minicpm_demo.media import (
    MediaLimits,
    RequestBudget,
    SampledVideo,
    describe_duration,
    is_pdf,
    load_image,
    pdf_pages,
    probe_video,
    render_pdf,
    sample_video,
)
from minicpm_demo.phrases import Phrase
from minicpm_demo.text import MINICPM_CONTROL_TOKENS, neutralize_control_tokens


def media_counts(messages: list[dict[str, Any]], pictures: Callable[[str], int] = lambda path: 1) -> tuple[int, int]:
    """How many images and how many videos the model-card ``messages`` carry, each image file counted as the
    ``pictures(path)`` it gives the model (a PDF its pages)."""
    items = [item for message in messages if not isinstance(message["content"], str)
             for item in message["content"] if "path" in item]
    return (sum(pictures(item["path"]) for item in items if item["type"] == "image"),
            sum(item["type"] == "video" for item in items))


def map_media(messages: list[dict[str, Any]], convert: Callable[[dict[str, Any]], list[dict[str, Any]]],
              control_tokens: re.Pattern = MINICPM_CONTROL_TOKENS) -> list[dict[str, Any]]:
    """``messages`` with each media item (``{"type": "image"|"video", "path": …}``) replaced by the items
    ``convert(item)`` returns, in order, and every text (the user's, and earlier replies sent back as history)
    unable to spell a ``control_tokens`` match: a typed token stays text for the tokenizer."""
    resolved = []
    for message in messages:
        content = message["content"]
        if isinstance(content, str):
            resolved.append({**message, "content": neutralize_control_tokens(content, control_tokens)})
            continue
        items: list[dict[str, Any]] = []
        for item in content:
            if "path" in item:
                items.extend(convert(item))
            elif item.get("type") == "text":
                items.append({**item, "text": neutralize_control_tokens(item["text"], control_tokens)})
            else:
                items.append(item)
        resolved.append({**message, "content": items})
    return resolved


def _each_file_once(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """``messages`` with a file attached more than once to one message kept once (the model gains nothing from a
    copy, and each copy costs the processor and the vision tower in full), and a note for each such file."""
    kept, notes = [], []
    for message in messages:
        content = message["content"]
        if isinstance(content, str):
            kept.append(message)
            continue
        items, times = [], {}
        for item in content:
            if "path" in item:
                times[item["path"]] = times.get(item["path"], 0) + 1
                if times[item["path"]] > 1:
                    continue
            items.append(item)
        notes += [Phrase("note.given_once", name=os.path.basename(path), count=count)
                  for path, count in times.items() if count > 1]
        kept.append({**message, "content": items})
    return kept, notes


@dataclass
class Intake:
    """Reads the files of one request and collects what was done to them.

    A file is read once per request however many turns name it, and charged once to the request's budget of
    decoded pixels and frames, which is checked before each file's pixels are decoded. With ``kept`` (the
    process's reuse cache and this conversation's key in it), a file an earlier question of the conversation
    read is taken from there, unchanged on disk and read with the same settings, and charged as it was."""

    messages: list[dict[str, Any]]  # the request's, each file once per message
    limits: MediaLimits
    budget: RequestBudget
    cancelled: Callable[[], bool] = never
    notes: list[str] = field(default_factory=list)
    media: list[MediaGiven] = field(default_factory=list)
    kept: tuple[ReuseCache, str] | None = None
    reused: list[str] = field(default_factory=list)  # the kinds of the files taken from ``kept``
    _read: dict[tuple[str, str], Any] = field(default_factory=dict)

    @classmethod
    def for_messages(cls, messages: list[dict[str, Any]], limits: MediaLimits,
                     cancelled: Callable[[], bool] = never, kept: tuple[ReuseCache, str] | None = None) -> Intake:
        """Refuses more images than one request may hold; the request's videos share the frame memory."""
        messages, notes = _each_file_once(messages)

        def pictures(path: str) -> int:  # a PDF is opened here to count the pages it gives, before any is read
            return pdf_pages(path, limits) if is_pdf(path) else 1

        request = limits.for_request(*media_counts(messages, pictures))
        return cls(messages, request, request.budget(), cancelled, notes, kept=kept)

    def _read_once(self, kind: str, path: str, read: Callable[[], Any], charge: Callable[[Any], None],
                   settings: tuple = ()) -> Any:
        """``read()``'s value for this file, read once per request and, with ``kept``, once per conversation;
        ``read`` returns ``(value, notes)``."""
        if (kind, path) in self._read:
            return self._read[kind, path]
        key = None
        if self.kept is not None:
            try:
                stat = os.stat(path)
                key = ("media", kind, os.path.realpath(path), stat.st_size, stat.st_mtime_ns, settings)
            except OSError:  # the reader says what is wrong with the file
                key = None
        held = self.kept[0].get(self.kept[1], key) if key is not None else None
        if held is not None:
            value, notes = held
            charge(value)
            self.reused.append(kind)
        else:
            value, notes = read()
            if key is not None:
                self.kept[0].put(self.kept[1], key, (value, notes))
        self.notes.extend(notes)
        self._read[kind, path] = value
        return value

    def resolve(self, convert: Callable[[dict[str, Any]], list[dict[str, Any]]],
                control_tokens: re.Pattern = MINICPM_CONTROL_TOKENS) -> list[dict[str, Any]]:
        """The request's messages as ``map_media`` makes them with ``convert``."""
        return map_media(self.messages, convert, control_tokens)

    def images(self, path: str) -> list:
        """The pictures an image file gives the model: the image, or a PDF's first pages."""
        if not is_pdf(path):
            return [self.image(path)]

        def read():
            rendered = render_pdf(path, self.limits, budget=self.budget, cancelled=self.cancelled)
            return rendered, list(rendered.notes)

        def charge(rendered) -> None:
            for page in rendered.pages:
                self.budget.charge_image(os.path.basename(path), *page.size)

        rendered = self._read_once("pdf", path, read, charge)
        name = os.path.basename(path)
        self.media.extend(MediaGiven("image", name, size=page.size, page=number, scale=scale)
                          for number, (page, scale) in enumerate(zip(rendered.pages, rendered.scales), 1))
        return list(rendered.pages)

    def image(self, path: str):
        def read():
            loaded = load_image(path, self.limits, budget=self.budget)
            return loaded.image, list(loaded.notes)

        image = self._read_once("image", path, read,
                                lambda image: self.budget.charge_image(os.path.basename(path), *image.size))
        self.media.append(MediaGiven("image", os.path.basename(path), size=image.size))
        return image

    def video(self, path: str, indices_for: Callable[[object], Sequence[int]], rule: tuple = ()) -> SampledVideo:
        """The frames ``indices_for(metadata)`` picks (the video processor's own sampling rule; one rule for all
        the videos of a request, as they share its settings); ``rule`` names the settings ``indices_for`` takes,
        so that frames kept for the conversation are reused only under the same rule."""
        name = os.path.basename(path)

        def read():
            sampled = sample_video(path, indices_for, self.limits, self.cancelled, budget=self.budget)
            # how many frames the model saw, so the frame settings' effect is visible in the stats
            frames = len(set(sampled.metadata.frames_indices))
            return sampled, [*sampled.notes, Phrase("note.one_frame" if frames == 1 else "note.frames", name=name,
                                                    frames=frames,
                                                    duration=describe_duration(sampled.metadata.duration))]

        def charge(sampled) -> None:
            count, height, width = sampled.frames.shape[:3]
            self.budget.charge_frames(name, width, height, count)

        sampled = self._read_once("video", path, read, charge, rule)
        metadata = sampled.metadata
        height, width = sampled.frames.shape[1:3]
        self.media.append(MediaGiven("video", name, size=(width, height),
                                     frames_s=tuple(index / metadata.fps for index in metadata.frames_indices)))
        return sampled

    def whole_video(self, path: str) -> None:
        """A video sent as it is (a server samples it): its size, length and decodability checked here."""
        info = probe_video(path, self.limits)
        self.media.append(MediaGiven("video", os.path.basename(path), size=(info.width, info.height)))
