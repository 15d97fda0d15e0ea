"""A follow-up question that does not pay for what its conversation already gave the model.

Two things are kept per conversation (engine/reuse.py holds them):

- **Vision-tower outputs, per visual unit** (an image's whole view or one of its slices; a video frame or one of
  its stacked composites). The vision tower encodes each unit on its own (block-diagonal attention over the
  packed patches), so a unit's features depend only on its pixels, its patch grid and ``downsample_mode``: that
  is the key, with the pixels hashed. A setting that changes a unit's pixels (16x→4x, fewer slices, other
  frames) misses only the units it changed.
- **Snapshots of the language model's cache** at the end of a prompt's conversation part: every token before the
  generation prompt's own suffix (``<think>…`` and such), which the next question's prompt repeats exactly when
  the chat template renders the history as it rendered the question. MiniCPM-V 4.6's text model mixes full
  attention with linear attention, whose recurrent and conv states cannot be rewound, so a snapshot is used only
  where its tokens are, token for token, a prefix of the new prompt; the model then reads only the rest.

``plan`` runs where the request is prepared (no model work: hashes and a comparison of token ids); ``Plan.run``
runs on the generate thread, under the same Stop switch as ``generate``, and returns what ``generate`` is given.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from typing import Any

from minicpm_demo.engine.reuse import ReuseCache
from minicpm_demo.phrases import Phrase

LINEAR_ATTENTION_CHUNK = 64  # tokens: transformers' chunk_gated_delta_rule's chunk_size
SNAPSHOTS_KEPT = 2  # per conversation: the last question's, and the one before (undo, then ask again)
KINDS = (("image", "pixel_values", "target_sizes"), ("video", "pixel_values_videos", "target_sizes_videos"))


@dataclass
class Units:
    """The visual units of one kind (images or videos) in a prompt, in prompt order."""

    kind: str
    token_id: int
    pixels: Any  # the processor's packed patches, (1, channels, patch, patches × patch)
    sizes: list[tuple[int, int]]  # each unit's patch grid (rows, columns)
    keys: list[tuple]  # each unit's features key
    tokens: list[int]  # each unit's token count in the prompt

    def pixel_slices(self, patch: int) -> list[tuple[int, int]]:
        """Each unit's columns in ``pixels``."""
        slices, start = [], 0
        for rows, columns in self.sizes:
            slices.append((start, start + rows * columns * patch))
            start += rows * columns * patch
        return slices


@dataclass
class Plan:
    """How one request reuses its conversation's cache: from which snapshot, and which units' features."""

    kept: ReuseCache
    owner: str
    ids: Any  # the prompt's token ids, (1, n)
    prefix_end: int  # tokens [0, prefix_end) are the conversation part, snapshotted after this request's pass
    start: int = 0  # tokens [0, start) come from the snapshot below
    snapshot: Any = None
    units: list[Units] = field(default_factory=list)
    downsample_mode: str = "16x"
    files: int = 0  # the files read from what the conversation kept (not decoded again)
    reused: dict[str, Any] = field(default_factory=dict)  # filled by run(): what the reply did not pay for

    def release(self) -> None:
        """Drop the request's tensors (the reply is done); what ``run`` kept stays in the cache."""
        self.ids, self.snapshot, self.units = None, None, []

    def run(self, model) -> dict[str, Any]:
        """Read tokens [start, prefix_end) into the cache, snapshot it, and return ``generate``'s inputs: the whole
        prompt with its embeddings (kept features scattered where the model's own pass would put them) and the
        cache that holds all but its last tokens."""
        import torch
        from transformers import DynamicCache

        device = model.device
        ids = self.ids.to(device)
        cache = (copy.deepcopy(self.snapshot) if self.snapshot is not None
                 else DynamicCache(config=model.config.get_text_config()))
        embeds = model.get_input_embeddings()(ids)
        counts = {}
        for units in self.units:
            features, encoded, read = self._features(model, units, ids)
            counts[units.kind] = (len(units.keys) - encoded, len(units.keys))
            if features is not None:
                where = (ids == units.token_id) & (torch.arange(ids.shape[1], device=device) >= self.start)
                embeds = embeds.masked_scatter(where.unsqueeze(-1).expand_as(embeds),
                                               features.to(device=device, dtype=embeds.dtype))
        if self.prefix_end > self.start:
            model(inputs_embeds=embeds[:, self.start:self.prefix_end],
                  attention_mask=torch.ones((1, self.prefix_end), dtype=torch.long, device=device),
                  cache=cache, use_cache=True)
        self._keep_snapshot(ids, cache)
        self.reused = {"prefix_tokens": self.start, "files": self.files,
                       **{f"{kind}_units": list(count) for kind, count in counts.items()}}
        return {"input_ids": ids, "inputs_embeds": embeds, "attention_mask": torch.ones_like(ids), "cache": cache}

    def _features(self, model, units: Units, ids):
        """The features of this kind's tokens after ``start`` (kept ones reused, the others encoded in one batch
        and kept), as one tensor in prompt order; how many units were encoded; and how many were read at all.
        Units inside the snapshot count as reused: the model does not read them again."""
        import torch

        skipped = int((ids[0, :self.start] == units.token_id).sum())  # this kind's tokens inside the snapshot
        wanted, first_offset, offset = [], 0, 0
        for index, count in enumerate(units.tokens):
            if offset + count > skipped:
                if not wanted:
                    first_offset = offset
                wanted.append(index)
            offset += count
        if not wanted:
            return None, 0, 0
        features = {index: self.kept.get(self.owner, units.keys[index]) for index in wanted}
        missing = [index for index, value in features.items() if value is None]
        if missing:
            slices = units.pixel_slices(units.pixels.shape[2])
            pixels = torch.cat([units.pixels[..., slices[i][0]:slices[i][1]] for i in missing], dim=-1)
            sizes = torch.tensor([units.sizes[i] for i in missing], dtype=torch.int32)
            encode = model.model.get_video_features if units.kind == "video" else model.model.get_image_features
            encoded = encode(pixels.to(model.device), sizes.to(model.device),
                             downsample_mode=self.downsample_mode).pooler_output
            for index, value in zip(missing, encoded, strict=True):
                features[index] = value
                self.kept.put(self.owner, units.keys[index], value)
        joined = torch.cat([features[index] for index in wanted], dim=0)
        return joined[skipped - first_offset:], len(missing), len(wanted)

    def _keep_snapshot(self, ids, cache) -> None:
        tokens = ids[0, :self.prefix_end].cpu()
        self.kept.put(self.owner, ("prefix", len(tokens), _digest(tokens.numpy())),
                      Snapshot(tokens, copy.deepcopy(cache)))
        snapshots = [key for key in self.kept.keys(self.owner) if key[0] == "prefix"]
        for key in snapshots[:-SNAPSHOTS_KEPT]:
            self.kept.drop(self.owner, key)


@dataclass
class Snapshot:
    tokens: Any  # the token ids the cache holds, (n,)
    cache: Any


def plan(kept: ReuseCache, owner: str | None, processor, config, resolved: list[dict[str, Any]], inputs,
         template_kwargs: dict[str, Any], downsample_mode: str, files: int = 0) -> Plan | None:
    """How the request of ``inputs`` (built from ``resolved`` with ``template_kwargs``) can reuse what its
    conversation kept; None where nothing can be (no conversation, the cache off, a prompt it cannot split)."""
    if owner is None or not kept.enabled:
        return None
    ids = inputs["input_ids"]
    end = conversation_end(processor, resolved, ids[0].tolist(), template_kwargs)
    if end is None:
        return None
    units = []
    for kind, pixels_name, sizes_name in KINDS:
        if pixels_name not in inputs:
            continue
        token_id = config.image_token_id if kind == "image" else config.video_token_id
        found = _units(kind, token_id, inputs[pixels_name], inputs[sizes_name], ids, downsample_mode)
        if found is None:
            return None
        units.append(found)
    made = Plan(kept, owner, ids, end, units=units, downsample_mode=downsample_mode, files=files)
    best = None
    for key in kept.keys(owner):
        if key[0] != "prefix" or key[1] > end or (best is not None and key[1] <= len(best.tokens)):
            continue
        snapshot = kept.get(owner, key)
        if snapshot is not None and ids.shape[1] > len(snapshot.tokens) and bool(
                (ids[0, :len(snapshot.tokens)] == snapshot.tokens).all()):
            best = snapshot
    if best is not None:
        made.start, made.snapshot = len(best.tokens), best.cache
    return made


def conversation_end(processor, resolved: list[dict[str, Any]], ids: list[int],
                     template_kwargs: dict[str, Any]) -> int | None:
    """Where the prompt ``ids`` stops being what the next question's prompt repeats: before the generation
    prompt's suffix that the template does not keep in the history (an empty ``<think></think>``, …). Found by
    rendering the conversation with a reply after it, and checked against ``ids``; None where they disagree."""
    enable_thinking = template_kwargs.get("enable_thinking", False)
    asked = processor.apply_chat_template(resolved, tokenize=False, add_generation_prompt=True,
                                          enable_thinking=enable_thinking)
    answered = processor.apply_chat_template(
        [*resolved, {"role": "assistant", "content": [{"type": "text", "text": "x"}]}], tokenize=False,
        enable_thinking=enable_thinking)
    common = 0
    for ours, theirs in zip(asked, answered):
        if ours != theirs:
            break
        common += 1
    suffix = processor.tokenizer(asked[common:], add_special_tokens=False)["input_ids"] if common < len(asked) else []
    # the model must read one token at least in generate: a snapshot of the whole prompt would leave it none
    suffix = suffix or ids[-1:]
    if len(suffix) >= len(ids) or ids[len(ids) - len(suffix):] != list(suffix):
        return None
    # The linear-attention layers read a prompt in chunks counted from its first token: a snapshot that ends on a
    # chunk's border makes the follow-up's pass the same sums in the same order as reading the prompt whole.
    end = (len(ids) - len(suffix)) // LINEAR_ATTENTION_CHUNK * LINEAR_ATTENTION_CHUNK
    return end or None


def _units(kind: str, token_id: int, pixels, sizes, ids, downsample_mode: str) -> Units | None:
    sizes = [tuple(int(value) for value in size) for size in sizes.tolist()]
    divisor = 4 if downsample_mode == "4x" else 16
    tokens = [rows * columns // divisor for rows, columns in sizes]
    if sum(tokens) != int((ids[0] == token_id).sum()):  # the prompt is not laid out as expected: reuse nothing
        return None
    units = Units(kind, token_id, pixels, sizes, [], tokens)
    patch = pixels.shape[2]
    for (start, end), size in zip(units.pixel_slices(patch), sizes, strict=True):
        units.keys.append(("features", kind, downsample_mode, size, _digest(pixels[..., start:end].numpy())))
    return units


def _digest(array) -> str:
    import numpy

    return hashlib.blake2b(numpy.ascontiguousarray(array).data, digest_size=16).hexdigest()


def reuse_notes(reused: dict[str, Any]) -> list[Phrase]:
    """What the stats line says was reused."""
    notes = []
    for kind in ("image", "video"):
        done, total = reused.get(f"{kind}_units", (0, 0))
        if total and done == total:
            notes.append(Phrase(f"reuse.{kind}"))
        elif done:
            notes.append(Phrase(f"reuse.{kind}_part", done=done, total=total))
    if reused.get("prefix_tokens"):
        notes.append(Phrase("reuse.prefix", tokens=f"{reused['prefix_tokens']:,}"))
    return notes
