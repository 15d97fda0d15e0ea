"""Load a MiniCPM-V 4.6 checkpoint once per process and share it.

The cache is keyed by (model id, revision, device, dtype); concurrent first requests wait for one load.
Every failure an operator can fix becomes a ``LoaderError`` whose message names the fix.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from minicpm_demo import gptq

log = logging.getLogger(__name__)

DEFAULT_MODEL_ID = "openbmb/MiniCPM-V-4.6-GPTQ"
BF16_MODEL_ID = "openbmb/MiniCPM-V-4.6"
EXPECTED_MODEL_TYPE = "minicpmv4_6"
DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("auto", "bfloat16", "float16", "float32")
# --compile-max-tokens' default: the static cache of a compiled model (ModelSpec.compile_tokens)
DEFAULT_COMPILE_TOKENS = 16384

_DTYPE_LABELS = {"torch.bfloat16": "BF16", "torch.float16": "FP16", "torch.float32": "FP32"}
# Optional kernels (import name: pip name) of the linear-attention layers; without them transformers uses
# its slow PyTorch reference implementations.
LINEAR_ATTENTION_KERNELS = {"causal_conv1d": "causal-conv1d", "fla": "flash-linear-attention"}


class LoaderError(RuntimeError):
    """A model that cannot be loaded, with a message that tells the operator what to change."""


@dataclass(frozen=True)
class ModelSpec:
    model_id: str = DEFAULT_MODEL_ID
    revision: str | None = None
    device: str = "auto"
    dtype: str = "auto"
    gptq_kernel: str = "auto"
    # > 0: decode with a torch.compile'd step and a static cache of this many tokens (engine/compiled.py); 0: eager
    compile_tokens: int = 0


@dataclass
class LoadedModel:
    spec: ModelSpec
    model: object
    processor: object
    device: str
    quantization: str
    load_seconds: float
    missing_kernels: list[str] = field(default_factory=list)
    # Our own state about this model, kept here rather than as attributes on the third-party model object:
    stops_mid_pass: bool = False  # the Stop hooks are registered on its layers (engine/stopping.py)
    compile_error: str | None = None  # why decoding is eager although --compile asked otherwise (engine/compiled.py)

    @property
    def name(self) -> str:
        model_id = self.spec.model_id
        return model_id.rstrip("/").split("/")[-1] if os.path.isdir(model_id) else model_id


_cache: dict[tuple, LoadedModel] = {}
_cache_lock = threading.Lock()
_key_locks: dict[tuple, threading.Lock] = {}


def resolve_device(device: str) -> str:
    import torch

    if device not in DEVICES:
        raise LoaderError(f"Unknown device {device!r}: use one of {', '.join(DEVICES)} (--device / DEVICE).")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise LoaderError(
            "CUDA was requested (--device cuda / DEVICE=cuda) but no CUDA GPU is visible to PyTorch. "
            "Run on a GPU machine, install a CUDA build of torch, or use --device cpu (or auto)."
        )
    return device


def _cache_key(spec: ModelSpec) -> tuple:
    # compile_tokens too: a compiled model carries its compiled step and warm-up state (engine/compiled.py)
    return (spec.model_id, spec.revision, resolve_device(spec.device), spec.dtype, spec.gptq_kernel,
            spec.compile_tokens)


def load(spec: ModelSpec, progress: Callable[[str], None] | None = None) -> LoadedModel:
    """Return the loaded model for ``spec``, loading it on first use; raises ``LoaderError``."""
    key = _cache_key(spec)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
        key_lock = _key_locks.setdefault(key, threading.Lock())
    with key_lock:
        with _cache_lock:
            if key in _cache:
                return _cache[key]
        loaded = _load_uncached(spec, key[2], progress or (lambda message: None))
        with _cache_lock:
            _cache[key] = loaded
        return loaded


def clear_cache() -> None:
    """Forget every loaded model (tests and benchmarks that load several checkpoints use it)."""
    with _cache_lock:
        _cache.clear()
        _key_locks.clear()


def _snapshot_dir(spec: ModelSpec) -> Path:
    """The local directory of the checkpoint (the hub snapshot for a hub id)."""
    if os.path.isdir(spec.model_id):
        return Path(spec.model_id)
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(spec.model_id, revision=spec.revision,
                                  allow_patterns=["*.json", "*.safetensors", "*.jinja", "*.txt"]))


def _unreachable_message(spec: ModelSpec, error: Exception) -> str:
    from huggingface_hub.constants import HF_HUB_OFFLINE

    where = f"{spec.model_id!r}" + (f" (revision {spec.revision!r})" if spec.revision else "")
    if os.path.isabs(spec.model_id) or spec.model_id.startswith((".", "~")):
        return (f"Model directory {where} does not exist or is not a checkpoint. "
                "Check the path given to --model / MODEL_ID.")
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    if isinstance(error, RevisionNotFoundError):
        return f"Revision {spec.revision!r} of {spec.model_id!r} does not exist. Check --revision / MODEL_REVISION."
    if isinstance(error, RepositoryNotFoundError):
        return (f"No model {where} on the Hugging Face Hub (or it is private/gated: log in with `hf auth login` "
                "or set HF_TOKEN). Check --model / MODEL_ID.")
    offline = "HF_HUB_OFFLINE=1 is set, so" if HF_HUB_OFFLINE else "the Hugging Face Hub could not be reached, and"
    return (
        f"Weights for {where} are unreachable: {offline} they are not in the local cache. "
        "Connect to the internet (unset HF_HUB_OFFLINE), download them first with "
        f"`hf download {spec.model_id}`, or point --model / MODEL_ID at a local checkpoint directory."
    )


def _torch_dtype(spec: ModelSpec, device: str, quantized: bool):
    import torch

    if spec.dtype not in DTYPES:
        raise LoaderError(f"Unknown dtype {spec.dtype!r}: use one of {', '.join(DTYPES)} (--dtype / DTYPE).")
    if spec.dtype != "auto":
        return getattr(torch, spec.dtype)
    if device == "cpu":
        return cpu_compute_dtype()
    if quantized:
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return "auto"


def cpu_compute_dtype():
    """BF16 where the CPU computes it natively (AVX512-BF16, AMX); elsewhere FP32: emulated BF16 is several times
    slower to prefill and decode, which is worth twice the memory (docs/PERFORMANCE.md, GPTQ 4-bit vs BF16)."""
    import torch

    return torch.bfloat16 if torch.ops.mkldnn._is_mkldnn_bf16_supported() else torch.float32


def installed_linear_attention_kernels() -> dict[str, bool]:
    """Whether each optional linear-attention kernel package is installed, by pip name.

    Importing gptqmodel (for a GPTQ checkpoint) puts its own PyTorch port under the name ``causal_conv1d``
    in ``sys.modules``; that is not the CUDA kernel, so only a module found under its own name counts."""
    def installed(module: str) -> bool:
        spec = importlib.util.find_spec(module)
        return spec is not None and spec.name == module

    return {package: installed(module) for module, package in LINEAR_ATTENTION_KERNELS.items()}


def _missing_kernels(device: str) -> list[str]:
    """Optional kernel packages whose absence makes the linear-attention layers slow on a GPU."""
    if device != "cuda":
        return []
    return [package for package, installed in installed_linear_attention_kernels().items() if not installed]


LOAD_STEPS = 3  # the calls to ``progress`` in a load: configuration (and download), processor, weights


def _load_uncached(spec: ModelSpec, device: str, progress: Callable[[str], None]) -> LoadedModel:
    from transformers import AutoConfig, AutoModelForImageTextToText, AutoProcessor

    started = time.perf_counter()
    progress(f"Reading the configuration of {spec.model_id}")
    try:
        checkpoint = _snapshot_dir(spec)
        config = AutoConfig.from_pretrained(checkpoint)
    except (OSError, ValueError) as error:
        if isinstance(error, ValueError) and "model type" in str(error):
            raise LoaderError(_wrong_model_type_message(spec, str(error))) from error
        raise LoaderError(_unreachable_message(spec, error)) from error
    if getattr(config, "model_type", None) != EXPECTED_MODEL_TYPE:
        raise LoaderError(_wrong_model_type_message(spec, getattr(config, "model_type", "unknown")))

    quantization = getattr(config, "quantization_config", None)
    quantized = bool(quantization)
    if quantized:
        _prepare_gptq_config(spec, checkpoint, config, device)

    progress("Loading the processor")
    processor = AutoProcessor.from_pretrained(checkpoint)
    progress(f"Loading the weights on {device}")
    load = partial(AutoModelForImageTextToText.from_pretrained, checkpoint, config=config,
                   dtype=_torch_dtype(spec, device, quantized), device_map=device)
    attention = "flash_attention_2" if device == "cuda" and importlib.util.find_spec("flash_attn") else "sdpa"
    try:
        try:
            model = load(attn_implementation=attention)
        except (ImportError, ValueError) as error:
            if attention == "sdpa":
                raise
            log.warning("flash-attention not usable here (%s); using PyTorch SDPA", error)
            attention = "sdpa"
            model = load(attn_implementation=attention)
    except (ImportError, ModuleNotFoundError) as error:
        raise LoaderError(f"Loading {spec.model_id} needs a package that is missing: {error}. "
                          "Install the project's requirements (`pip install -r requirements.txt`).") from error
    model.eval()
    dtype = str(model.dtype)
    label = f"GPTQ {gptq.setting(quantization, 'bits', 4)}-bit" if quantized else _DTYPE_LABELS.get(dtype, dtype)
    loaded = LoadedModel(spec=spec, model=model, processor=processor, device=device, quantization=label,
                         load_seconds=time.perf_counter() - started, missing_kernels=_missing_kernels(device))
    log.info("loaded %s (%s, %s attention) on %s in %.1f s", spec.model_id, label, attention, device,
             loaded.load_seconds)
    if loaded.missing_kernels:
        log.warning("linear-attention kernels missing (%s): decoding is slower; pip install them on the GPU",
                    ", ".join(loaded.missing_kernels))
    return loaded


def _wrong_model_type_message(spec: ModelSpec, found: str) -> str:
    return (f"{spec.model_id!r} is not a MiniCPM-V 4.6 checkpoint (model_type {found!r}, expected "
            f"{EXPECTED_MODEL_TYPE!r}). Point --model / MODEL_ID at {DEFAULT_MODEL_ID} or {BF16_MODEL_ID} "
            "or a fine-tune of them.")


def gptq_kernel(spec: ModelSpec, device: str) -> str:
    """The gptqmodel backend a GPTQ checkpoint loads with ("gptqmodel": gptqmodel's own choice)."""
    if spec.gptq_kernel not in gptq.KERNELS:
        raise LoaderError(f"Unknown GPTQ kernel {spec.gptq_kernel!r}: use one of {', '.join(gptq.KERNELS)} "
                          "(--gptq-kernel / GPTQ_KERNEL).")
    return gptq.NO_BUILD_KERNEL[device] if spec.gptq_kernel == "auto" else spec.gptq_kernel


def _prepare_gptq_config(spec: ModelSpec, checkpoint: Path, config, device: str) -> None:
    quantization = config.quantization_config
    method = gptq.setting(quantization, "quant_method", "gptq")
    if str(method).lower() != "gptq":
        return
    missing = [package for module, package in (("gptqmodel", "gptqmodel"), ("optimum", "optimum"))
               if importlib.util.find_spec(module) is None]
    if missing:
        raise LoaderError(
            f"{spec.model_id} is a GPTQ 4-bit checkpoint and needs {' and '.join(missing)}: "
            f"`pip install {' '.join(missing)}` (both are in requirements.txt), or use the BF16 checkpoint "
            f"--model {BF16_MODEL_ID}."
        )
    gptq.prepare_environment()
    if isinstance(quantization, dict):
        quantization = dict(quantization)
        if not quantization.get("modules_in_block_to_quantize"):
            # Without it, optimum would also quantize the linear-attention in_proj_a/in_proj_b layers
            # that gptqmodel keeps in full precision, and loading fails or reads garbage.
            quantization["modules_in_block_to_quantize"] = gptq.quantized_module_groups(checkpoint)
        kernel = gptq_kernel(spec, device)
        if kernel != "gptqmodel":
            quantization["backend"] = kernel
        config.quantization_config = quantization
