"""Everything a user can tune, as one immutable value.

``Settings.to_processor_kwargs()`` and ``Settings.to_generate_kwargs()`` are the only places where
settings turn into keyword arguments, so ``downsample_mode`` always reaches both the processor and
``generate``. Each field carries what a UI needs to build a control for it (label, bounds, one-line info).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

MODALITIES = ("image", "multi-image", "video")


class SettingsError(ValueError):
    """Settings a user chose that cannot be used; the message says which and what is allowed."""


def _setting(default, label: str, info: str, *, choices=None, minimum=None, maximum=None, step=None, processor=False,
             generate=False):
    return field(default=default, metadata={
        "label": label, "info": info, "choices": choices, "minimum": minimum, "maximum": maximum, "step": step,
        "processor": processor, "generate": generate,
    })


@dataclass(frozen=True)
class Settings:
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
            raise SettingsError(f"Unknown modality {modality!r}: use one of {', '.join(MODALITIES)}.")
        return cls.from_dict(overrides, base=cls(**MODALITY_DEFAULTS[modality]))

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None, base: Settings | None = None) -> Settings:
        """``base`` (default: class defaults) with ``values`` applied; unknown names are refused."""
        values = dict(values or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise SettingsError(
                f"Unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}. "
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
            if meta["choices"] and value not in meta["choices"]:
                problems.append(f"{f.name} must be one of {', '.join(map(repr, meta['choices']))}, not {value!r}")
            elif meta["minimum"] is not None and not meta["minimum"] <= value <= meta["maximum"]:
                problems.append(f"{f.name} must be between {meta['minimum']} and {meta['maximum']}, not {value!r}")
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
        if kind is int:
            if isinstance(value, bool) or float(value) != int(float(value)):
                raise TypeError
            return int(float(value))
        if kind is float:
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise SettingsError(
            f"Invalid settings: {f.name} must be {'a whole number' if kind is int else kind.__name__}, "
            f"not {value!r}. Change it and send again."
        ) from None


# Model card defaults per modality; everything not named here uses the field default above.
MODALITY_DEFAULTS: dict[str, dict[str, Any]] = {
    "image": {"max_slice_nums": 36, "use_image_id": True},
    "multi-image": {"max_slice_nums": 9, "use_image_id": True},
    "video": {"max_slice_nums": 1, "use_image_id": False, "max_num_frames": 128, "stack_frames": 1},
}
