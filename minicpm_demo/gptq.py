"""GPTQ 4-bit checkpoints: what gptqmodel needs to load one here, read off the checkpoint and the machine."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

# gptqmodel's kernels for GPTQ layers. "auto" is ours: one that loads without building anything (on a GPU,
# gptqmodel's own pick — Machete on Hopper, Marlin or ExLlama elsewhere — is compiled at the first load, and
# Machete downloads CUTLASS from GitHub first, so it fails offline); "gptqmodel" leaves the pick to gptqmodel.
KERNELS = ("auto", "gptqmodel", "gptq_triton", "gptq_torch", "gptq_torch_aten", "gptq_marlin", "gptq_machete",
           "gptq_exllama_v2")
NO_BUILD_KERNEL = {"cuda": "gptq_triton", "cpu": "gptq_torch_aten"}
# Environment variables that importing gptqmodel (through tokenicer) points at a temp folder when unset.
_HF_CACHE_VARIABLES = ("HF_HOME", "HF_HUB_CACHE", "TRANSFORMERS_CACHE", "HF_MODULES_CACHE")


@contextlib.contextmanager
def _keep_hf_cache_environment():
    saved = {name: os.environ.get(name) for name in _HF_CACHE_VARIABLES}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def prepare_environment() -> None:
    """Import gptqmodel without letting it move the user's Hugging Face cache, sized for small CPUs."""
    os.environ.setdefault("GPTQMODEL_CPU_WORKERS", str(max(1, min(os.cpu_count() or 1, 2))))
    with _keep_hf_cache_environment():
        import gptqmodel  # noqa: F401


def quantized_module_groups(checkpoint_dir: str | os.PathLike) -> list[list[str]]:
    """The names, relative to a decoder layer, of the modules that carry ``qweight`` in a checkpoint."""
    names = sorted({
        _block_relative_name(key[: -len(".qweight")])
        for key in _checkpoint_tensor_names(Path(checkpoint_dir))
        if key.endswith(".qweight")
    })
    return [names] if names else []


def _block_relative_name(module: str) -> str:
    # "model.language_model.layers.3.self_attn.q_proj" -> "self_attn.q_proj"
    parts = module.split(".")
    for index, part in enumerate(parts[:-1]):
        if part == "layers" and parts[index + 1].isdigit():
            return ".".join(parts[index + 2:])
    return module


def _checkpoint_tensor_names(checkpoint_dir: Path) -> list[str]:
    index = checkpoint_dir / "model.safetensors.index.json"
    if index.exists():
        return list(json.loads(index.read_text())["weight_map"])
    from safetensors import safe_open

    names: list[str] = []
    for shard in sorted(checkpoint_dir.glob("*.safetensors")):
        with safe_open(str(shard), framework="pt") as handle:
            names.extend(handle.keys())
    return names


def setting(quantization, name: str, default):
    """One value of a checkpoint's ``quantization_config``, which transformers gives as a dict or an object."""
    if isinstance(quantization, dict):
        return quantization.get(name, default)
    return getattr(quantization, name, default)
