"""Build a tiny random-weight MiniCPM-V 4.6 checkpoint that loads like the real one.

    python -m devtools.tiny OUT_DIR [--gptq]

The checkpoint uses the real architecture classes, the real special-token strings (the real tokenizer's added
tokens are copied into ``devtools.tiny_tokenizer.REFERENCE_ADDED_TOKENS``), a byte-level BPE tokenizer trained
here on a small built-in corpus, and a chat template with the structure of the real one. The real config and
preprocessor config, which the full-size shape twin uses, are copied in ``devtools/reference/``. Weights are
random, so it speaks nonsense — but every byte goes through the same
``AutoProcessor``/``AutoModelForImageTextToText`` calls a user's real checkpoint takes.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from devtools.tiny_tokenizer import CHAT_TEMPLATE, CORPUS, REFERENCE_ADDED_TOKENS, build_tokenizer, reference_token_ids


def tiny_config_dict(vocab_size: int, token_ids: dict[str, int]) -> dict:
    """The tiny model's config.json content (same keys as the real config.json, devtools/reference/)."""
    layer_types = ["linear_attention", "linear_attention", "linear_attention", "full_attention"]
    return {
        "architectures": ["MiniCPMV4_6ForConditionalGeneration"],
        "model_type": "minicpmv4_6",
        "image_size": 448,
        "drop_vision_last_layer": False,
        "insert_layer_id": 1,
        "image_token_id": token_ids["<|image_pad|>"],
        "video_token_id": token_ids["<|video_pad|>"],
        "eos_token_id": token_ids["<|endoftext|>"],
        "bos_token_id": None,
        "pad_token_id": None,
        "tie_word_embeddings": True,
        "use_cache": True,
        "vision_config": {
            "model_type": "minicpmv4_6_vision",
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 3,
            "num_attention_heads": 2,
            "num_channels": 3,
            "image_size": 980,
            "patch_size": 14,
            "hidden_act": "gelu_pytorch_tanh",
            "layer_norm_eps": 1e-6,
            "attention_dropout": 0.0,
        },
        "text_config": {
            "model_type": "qwen3_5_text",
            "vocab_size": vocab_size,
            "hidden_size": 128,
            "intermediate_size": 256,
            "num_hidden_layers": len(layer_types),
            "layer_types": layer_types,
            "full_attention_interval": 4,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 32,
            "attn_output_gate": True,
            "linear_conv_kernel_dim": 4,
            "linear_key_head_dim": 32,
            "linear_value_head_dim": 32,
            "linear_num_key_heads": 2,
            "linear_num_value_heads": 2,
            "hidden_act": "silu",
            "max_position_embeddings": 262144,
            "rms_norm_eps": 1e-6,
            "partial_rotary_factor": 0.25,
            "rope_parameters": {"rope_type": "default", "rope_theta": 10000000, "partial_rotary_factor": 0.25},
            "mamba_ssm_dtype": "float32",
            "mlp_only_layers": [],
            "mtp_num_hidden_layers": 0,
            "tie_word_embeddings": True,
            # Wider than the real 0.02 so that greedy decoding of random weights varies from token to token.
            "initializer_range": 0.1,
            "eos_token_id": token_ids["<|endoftext|>"],
        },
    }


# The real preprocessor_config.json values, except scale_resolution, which each builder chooses.
TINY_PROCESSOR_VALUES = {
    "max_slice_nums": 9,
    "patch_size": 14,
    "slice_mode": True,
    "use_image_id": True,
    "image_mean": [0.5, 0.5, 0.5],
    "image_std": [0.5, 0.5, 0.5],
}


def build_processor(tokenizer, processor_values: dict):
    """The MiniCPM-V 4.6 processor with ``processor_values`` for both its image and video processors."""
    from transformers.models.minicpmv4_6 import (
        MiniCPMV4_6ImageProcessor,
        MiniCPMV4_6Processor,
        MiniCPMV4_6VideoProcessor,
    )

    return MiniCPMV4_6Processor(
        image_processor=MiniCPMV4_6ImageProcessor(**processor_values),
        video_processor=MiniCPMV4_6VideoProcessor(**processor_values),
        tokenizer=tokenizer,
        chat_template=CHAT_TEMPLATE,
    )


def generation_config(token_ids: dict[str, int]):
    """The real generation_config.json, with the ids of this tokenizer."""
    from transformers import GenerationConfig

    return GenerationConfig(
        bos_token_id=token_ids["<|im_start|>"],
        eos_token_id=[token_ids["<|endoftext|>"], token_ids["<|im_end|>"]],
        pad_token_id=token_ids["<|endoftext|>"],
        do_sample=True,
        temperature=0.7,
        top_k=0,
        top_p=1.0,
        repetition_penalty=1.0,
    )


def _quiet_unprintable_tokens(model, tokenizer) -> None:
    """Shrink the (tied) embeddings of special, whitespace-only and partial-UTF-8 tokens.

    Random weights otherwise pick them as often as words; with them quiet, the tiny model streams
    readable word salad and rarely ends early, which is what the tests need to observe streaming and Stop.
    """
    import torch

    first_added = len(tokenizer) - len(REFERENCE_ADDED_TOKENS)
    quiet = []
    for token_id in range(len(tokenizer)):
        text = tokenizer.decode([token_id])
        if token_id >= first_added or not text.strip() or not text.isprintable() or "\ufffd" in text:
            quiet.append(token_id)
    with torch.no_grad():
        model.get_input_embeddings().weight[quiet] *= 0.05


def _snap_decoder_weights_to_int4_grid(model, group_size: int, step: float = 2.0 ** -5) -> None:
    """Give every decoder linear layer weights that 4-bit asymmetric GPTQ represents exactly.

    Each weight is ``step * k`` with integer k in [-7, 8], and each group of ``group_size`` inputs of a
    row holds both ends, so the quantizer's scale is exactly ``step`` and its zero point exactly 7. The
    GPTQ checkpoint then differs from the BF16 one only by kernel arithmetic — which is what lets the
    tests demand near-identical logits from two very different loading paths.
    """
    import torch

    generator = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for module in model.model.language_model.layers.modules():
            if not isinstance(module, torch.nn.Linear) or module.in_features % group_size:
                continue
            levels = torch.randint(-7, 9, module.weight.shape, generator=generator)
            levels[:, 0::group_size] = -7
            levels[:, 1::group_size] = 8
            module.weight.copy_(levels.to(module.weight.dtype) * step)


def _write_bf16(out: Path, seed: int, scale_resolution: int, group_size: int) -> None:
    import torch
    from transformers import MiniCPMV4_6Config, MiniCPMV4_6ForConditionalGeneration

    tokenizer = build_tokenizer()
    token_ids = reference_token_ids(tokenizer)
    config = MiniCPMV4_6Config(**tiny_config_dict(len(tokenizer), token_ids))

    torch.manual_seed(seed)
    model = MiniCPMV4_6ForConditionalGeneration(config).eval()
    _quiet_unprintable_tokens(model, tokenizer)
    _snap_decoder_weights_to_int4_grid(model, group_size)
    model = model.to(torch.bfloat16)
    model.generation_config = generation_config(token_ids)
    model.save_pretrained(out)
    build_processor(tokenizer, {**TINY_PROCESSOR_VALUES, "scale_resolution": scale_resolution}).save_pretrained(out)


def _quantize_gptq(src: Path, out: Path, group_size: int) -> None:
    """Quantize ``src`` to GPTQ W4A16 with gptqmodel on the CPU, writing a loadable checkpoint to ``out``."""
    from minicpm_demo.gptq import prepare_environment as prepare_gptq_environment

    prepare_gptq_environment()
    from gptqmodel import GPTQModel, QuantizeConfig

    calibration = [
        [{"role": "user", "content": [{"type": "text", "text": line}]},
         {"role": "assistant", "content": [{"type": "text", "text": CORPUS[(i + 1) % len(CORPUS)]}]}]
        for i, line in enumerate(CORPUS)
    ]
    quant_config = QuantizeConfig(bits=4, group_size=group_size, desc_act=False, sym=False, pack_impl="original")
    model = GPTQModel.load(str(src), quant_config, device="cpu")
    model.quantize(calibration, batch_size=1)
    model.save(str(out))
    # gptqmodel writes the quantized weights and config; keep the processor files of the source too.
    for name in os.listdir(src):
        if not (out / name).exists() and not name.endswith(".safetensors"):
            shutil.copy2(src / name, out / name)
    complete_quantization_config(out)


def complete_quantization_config(out: Path) -> None:
    """Write ``modules_in_block_to_quantize`` into config.json (gptqmodel leaves it out)."""
    from minicpm_demo.gptq import quantized_module_groups

    config_path = out / "config.json"
    config = json.loads(config_path.read_text())
    qconfig = config.setdefault("quantization_config", {})
    qconfig.setdefault("quant_method", "gptq")
    qconfig["modules_in_block_to_quantize"] = quantized_module_groups(out)
    config_path.write_text(json.dumps(config, indent=2) + "\n")


def build(out_dir: str | os.PathLike, *, gptq: bool = False, seed: int = 0, scale_resolution: int = 224,
          group_size: int = 32) -> Path:
    """Build the tiny checkpoint into ``out_dir`` (replaced if it exists) and return its path."""
    def write(scratch: Path) -> Path:
        bf16 = scratch / "bf16"
        _write_bf16(bf16, seed, scale_resolution, group_size)
        if not gptq:
            return bf16
        _quantize_gptq(bf16, scratch / "gptq", group_size)
        return scratch / "gptq"

    return build_in_scratch(out_dir, write)


def build_in_scratch(out_dir: str | os.PathLike, write: Callable[[Path], Path]) -> Path:
    """Run ``write(scratch)`` in a scratch folder beside ``out_dir``, then put the folder it returns in
    ``out_dir``'s place, so an interrupted build never leaves a half-written checkpoint there."""
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        written = write(scratch)
        if out.exists():
            shutil.rmtree(out)
        shutil.move(str(written), str(out))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.tiny",
        description="Build a tiny random-weight MiniCPM-V 4.6 checkpoint (offline, seconds on a CPU).",
    )
    parser.add_argument("out_dir", help="directory to write (replaced if it exists)")
    parser.add_argument("--gptq", action="store_true", help="quantize to GPTQ W4A16 with gptqmodel (CPU)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the weights (default 0)")
    parser.add_argument("--scale-resolution", type=int, default=224,
                        help="processor slice resolution (real model: 448; smaller is faster)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    start = time.perf_counter()
    out = build(args.out_dir, gptq=args.gptq, seed=args.seed, scale_resolution=args.scale_resolution)
    print(f"wrote {'GPTQ 4-bit' if args.gptq else 'BF16'} tiny checkpoint to {out} "
          f"in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
