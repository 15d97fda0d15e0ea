"""Everything a user can tune, as one immutable value, and the limits the operator puts on one request.

``Settings.to_processor_kwargs()`` and ``Settings.to_generate_kwargs()`` are the only places where
settings turn into keyword arguments, so ``downsample_mode`` always reaches both the processor and
``generate``. Each field carries what a UI needs to build a control for it (label, bounds, one-line info).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from minicpm_demo.phrases import Phrase

MODALITIES = ("image", "multi-image", "video")


class SettingsError(ValueError):
    """Settings a user chose that cannot be used; the message says which and what is allowed."""


class LimitError(ValueError):
    """A request over one of the operator's limits; the message names the limit, the request's value and what to do."""


# A quarter of the model's context (docs/CONFIGURATION.md, "Limits"); a CPU's is what it prefills in seconds.
GPU_PROMPT_TOKENS = 65_536
PROMPT_TOKENS_BY_DEVICE = {"cpu": 16_384}


@dataclass(frozen=True)
class RequestLimits:
    """What one request's text may hold, checked before any tokenizing or media work (``check``), and its prompt,
    checked once the processor has counted it (``check_prompt_tokens``).

    Characters are the cheap bound: they cap the tokenizer's work before it runs. Tokens are the exact one,
    known only after the processor, which is where ``max_prompt_tokens`` is checked (docs/CONFIGURATION.md,
    "Limits", says why each default is what it is).
    """

    max_text_chars: int = 20_000  # one question
    max_turns: int = 50  # questions in one conversation, the new one included
    max_history_chars: int = 200_000  # every question and reply of one conversation, the new question included
    max_prompt_tokens: int = 0  # text and visual tokens of one request, as the processor counts them; 0: by device
    load_wait_s: float = 600  # how long a request sent while the model loads waits for it (0: refused at once)

    def check(self, question: str, earlier_turns: int = 0, earlier_chars: int = 0) -> None:
        """Refuse ``question`` asked after ``earlier_turns`` turns holding ``earlier_chars`` characters of text."""
        if len(question) > self.max_text_chars:
            raise LimitError(Phrase("limit.question", chars=len(question), most=self.max_text_chars))
        if earlier_turns + 1 > self.max_turns:
            raise LimitError(Phrase("limit.turns", turns=earlier_turns + 1, most=self.max_turns))
        if earlier_chars + len(question) > self.max_history_chars:
            raise LimitError(Phrase("limit.history", chars=earlier_chars + len(question), most=self.max_history_chars))

    def for_device(self, device: str) -> "RequestLimits":
        """These limits with the prompt's bound for ``device`` where none was set: Stop acts between layers, and on
        a CPU one full-attention layer over a prompt as long as a GPU takes outlasts any wait for Stop
        (docs/SECURITY.md)."""
        if self.max_prompt_tokens:
            return self
        return replace(self, max_prompt_tokens=PROMPT_TOKENS_BY_DEVICE.get(device.split(":")[0], GPU_PROMPT_TOKENS))

    def check_prompt_tokens(self, tokens: int) -> None:
        """Refuse a prompt the processor counted at ``tokens`` (text and visual), before the model reads it."""
        limit = self.max_prompt_tokens or GPU_PROMPT_TOKENS
        if tokens > limit:
            raise LimitError(Phrase("limit.tokens", tokens=tokens, most=limit))

    @property
    def max_body_bytes(self) -> int:
        """The largest HTTP request body (uploads aside) that a conversation within these limits needs: JSON may
        spend up to 12 bytes on one character (an escaped surrogate pair), plus room for its structure."""
        return 12 * self.max_history_chars + 1024 * 1024


def _setting(default, label: str, info: str, *, choices=None, minimum=None, maximum=None, step=None, processor=False,
             generate=False, most_chars=None):
    return field(default=default, metadata={
        "label": label, "info": info, "choices": choices, "minimum": minimum, "maximum": maximum, "step": step,
        "processor": processor, "generate": generate, "most_chars": most_chars,
    })


# The characters a system prompt may hold: room for a page of instructions, a small share of a request's text.
SYSTEM_PROMPT_CHARS = 4000


@dataclass(frozen=True)
class Settings:
    system_prompt: str = _setting(
        "", "System prompt",
        "Instructions sent before the conversation, as the chat template's system message (empty: none).",
        most_chars=SYSTEM_PROMPT_CHARS)
    downsample_mode: str = _setting(
        "16x", "Visual token compression",
        "16x: fewest visual tokens, fastest. 4x: finer detail (small text, charts) at 4× the visual tokens.",
        choices=("16x", "4x"), processor=True, generate=True)
    max_slice_nums: int = _setting(
        36, "Max image slices",
        "High-resolution images are cut into up to this many slices: more = more detail, more tokens.",
        minimum=1, maximum=36, step=1, processor=True)
    max_num_frames: int = _setting(
        128, "Max video frames",
        "At most this many frames (about one per second) are sampled: more = better coverage, slower.",
        minimum=1, maximum=256, step=1, processor=True)
    stack_frames: int = _setting(
        1, "Frames stacked per second",
        "1 = one frame per second. 3 or 5 add sub-second frames as a composite: better motion, more tokens.",
        minimum=1, maximum=8, step=1, processor=True)
    use_image_id: bool = _setting(
        True, "Number the images",
        "Prefix each image with an <image_id> tag so the model can refer to image 1, 2, …",
        processor=True)
    max_new_tokens: int = _setting(
        1024, "Max new tokens", "Longest reply, in tokens. Thinking needs more.",
        minimum=1, maximum=8192, step=1, generate=True)
    do_sample: bool = _setting(
        True, "Sampling", "On: varied replies (temperature, top-p, top-k apply). Off: greedy, repeatable.",
        generate=True)
    temperature: float = _setting(
        0.7, "Temperature", "Higher = more varied, lower = more focused. Used when sampling.",
        minimum=0.01, maximum=2.0, step=0.05, generate=True)
    top_p: float = _setting(
        1.0, "Top-p", "Sample only from the most likely tokens whose probabilities add up to this.",
        minimum=0.01, maximum=1.0, step=0.01, generate=True)
    top_k: int = _setting(
        0, "Top-k", "Sample only from this many most likely tokens (0 = no limit).",
        minimum=0, maximum=1000, step=1, generate=True)
    repetition_penalty: float = _setting(
        1.0, "Repetition penalty", "Above 1 discourages repeating the same words.",
        minimum=0.5, maximum=2.0, step=0.01, generate=True)
    enable_thinking: bool = _setting(
        False, "Thinking mode", "Let the model reason step by step before answering (slower, shown collapsed).")

    @classmethod
    def for_modality(cls, modality: str, **overrides: Any) -> Settings:
        """The model card's defaults for ``modality``, with ``overrides`` applied and validated."""
        if modality not in MODALITIES:
            raise SettingsError(f"Unknown modality {shown(modality)}: use one of {', '.join(MODALITIES)}.")
        return cls.from_dict(overrides, base=cls(**MODALITY_DEFAULTS[modality]))

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None, base: Settings | None = None) -> Settings:
        """``base`` (default: class defaults) with ``values`` applied; unknown names are refused."""
        values = dict(values or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            named = ", ".join(name if len(name) <= 40 else shown(name, 40) for name in unknown[:5])
            more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            raise SettingsError(
                f"Unknown setting{'s' if len(unknown) > 1 else ''} {named}{more}. "
                f"Known settings: {', '.join(sorted(known))}."
            )
        coerced = {name: _coerce(cls.field(name), value) for name, value in values.items()}
        return replace(base or cls(), **coerced).validate()

    @staticmethod
    def field(name: str):
        return next(f for f in fields(Settings) if f.name == name)

    def validate(self) -> Settings:
        problems = []
        for f in fields(self):
            value, meta = getattr(self, f.name), f.metadata
            if meta["most_chars"] is not None and len(value) > meta["most_chars"]:
                # a phrase of its own, so that the page says it in the visitor's language
                raise SettingsError(Phrase(f"settings.{f.name}", chars=len(value), most=meta["most_chars"]))
            if meta["choices"] and value not in meta["choices"]:
                problems.append(f"{f.name} must be one of {', '.join(map(repr, meta['choices']))}, not {shown(value)}")
            elif meta["minimum"] is not None and not meta["minimum"] <= value <= meta["maximum"]:
                problems.append(f"{f.name} must be between {meta['minimum']} and {meta['maximum']}, not {shown(value)}")
        if problems:
            raise SettingsError("Invalid settings: " + "; ".join(problems) + ". Change them and send again.")
        return self

    def to_processor_kwargs(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.metadata["processor"]}

    def to_generate_kwargs(self) -> dict[str, Any]:
        kwargs = {f.name: getattr(self, f.name) for f in fields(self) if f.metadata["generate"]}
        if not self.do_sample:
            # Sampling knobs would only trigger transformers' "ignored when do_sample=False" warnings.
            for name in ("temperature", "top_p", "top_k"):
                kwargs.pop(name)
        return kwargs

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _coerce(f, value: Any) -> Any:
    """Accept what JSON clients and UI widgets send (e.g. 4.0 for 4, "true"), refuse the rest."""
    kind = f.type if isinstance(f.type, type) else {"str": str, "int": int, "float": float, "bool": bool}[f.type]
    try:
        if kind is bool:
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            if isinstance(value, (bool, int)) and value in (0, 1):
                return bool(value)
            raise TypeError
        if kind in (int, float):
            return _number(value, kind)
        if not isinstance(value, str):
            raise TypeError
        return value
    except (TypeError, ValueError, OverflowError):
        wanted = {int: "a whole number", float: "a finite number"}.get(kind, kind.__name__)
        raise SettingsError(f"Invalid settings: {f.name} must be {wanted}, not {shown(value)}. "
                            "Change it and send again.") from None


def _number(value: Any, kind: type) -> int | float:
    """A finite number from a JSON number or a numeric string; infinities, NaN and overflow raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError
    if isinstance(value, int):
        number = value
    else:
        number = float(value)  # "1e999" and "Infinity" become inf, refused below
        if not math.isfinite(number):
            raise ValueError
    if kind is int:
        if number != int(number):
            raise ValueError
        return int(number)
    return float(number) + 0.0  # float() of a huge int raises OverflowError; + 0.0 turns -0.0 into 0.0


def shown(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters: messages quote what was sent, never all of a huge value."""
    try:
        text = repr(value)
    except ValueError:  # an int past Python's limit on digits
        return "a number too long to show"
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


# Model card defaults per modality; everything not named here uses the field default above.
MODALITY_DEFAULTS: dict[str, dict[str, Any]] = {
    "image": {"max_slice_nums": 36, "use_image_id": True},
    "multi-image": {"max_slice_nums": 9, "use_image_id": True},
    "video": {"max_slice_nums": 1, "use_image_id": False, "max_num_frames": 128, "stack_frames": 1},
}
