"""Build a random-weight checkpoint with the full dimensions of openbmb/MiniCPM-V-4.6 (its "shape twin").

    python -m devtools.shape_twin OUT_DIR [--gptq]

Text model, vision tower, merger, vocabulary size and processor settings come from the copies of the real
config.json and preprocessor_config.json in ``devtools/reference/``; weights are random BF16. Compute
and memory do not depend on weight values, so what the app costs on the twin is what it costs on the real
model — without downloading it. The tokenizer is the tiny one of ``devtools.tiny_tokenizer``: the config's
special-token ids point at its ids, while the embedding and ``lm_head`` keep the real 248 094 rows.

``--gptq`` writes the decoder's linear layers as 4-bit GPTQ tensors (``qweight``/``qzeros``/``scales``/``g_idx``,
the layout gptqmodel saves and transformers loads) filled with random 4-bit codes, in seconds: calibrating
1.3 B parameters with gptqmodel on a CPU would take far longer and change only the values, not the cost.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path

from devtools.tiny import build_in_scratch, build_processor, complete_quantization_config, generation_config
from devtools.tiny_tokenizer import build_tokenizer, reference_token_ids

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"

# Config keys that name tokens: the twin points them at the tiny tokenizer's ids; everything else is real.
TOKEN_ID_KEYS = {"image_token_id": "<|image_pad|>", "video_token_id": "<|video_pad|>",
                 "eos_token_id": "<|endoftext|>"}

# The decoder-layer linears gptqmodel 7.6 quantizes in this architecture (as in `devtools.tiny --gptq`);
# the linear-attention in_proj_a / in_proj_b (16 outputs each) stay BF16.
GPTQ_DECODER_MODULES = (
    "linear_attn.in_proj_qkv", "linear_attn.in_proj_z", "linear_attn.out_proj",
    "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj",
    "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
)
GPTQ_BITS = 4
# Zero point 8 for every group, stored minus one as the gptq (v1) checkpoint format does: nibbles of 7.
_GPTQ_V1_ZEROS_WORD = 0x77777777
# With codes uniform in 0..15 around zero point 8, this scale gives weights a standard deviation of about
# 0.02 (the model's initializer range), so activations stay finite through all 24 layers.
_GPTQ_SCALE = 0.0043


def reference_config() -> dict:
    """The real config.json (unchanged copy in devtools/reference/)."""
    return json.loads((REFERENCE_DIR / "minicpm_v46_config.json").read_text())


def reference_preprocessor_config() -> dict:
    """The real preprocessor_config.json (unchanged copy in devtools/reference/)."""
    return json.loads((REFERENCE_DIR / "minicpm_v46_preprocessor_config.json").read_text())


def reference_processor_values() -> dict:
    """The real preprocessor values, without the class names (those come from the classes themselves)."""
    return {key: value for key, value in reference_preprocessor_config().items()
            if key not in ("image_processor_type", "processor_class")}


def twin_config_dict(token_ids: dict[str, int]) -> dict:
    """The real config.json content, with its token ids replaced by those of the tokenizer in ``token_ids``."""
    config = copy.deepcopy(reference_config())
    config.pop("transformers_version", None)
    for key, token in TOKEN_ID_KEYS.items():
        config[key] = token_ids[token]
    return config


def random_model(config_dict: dict, seed: int = 0, device: str = "cpu"):
    """A BF16 MiniCPM-V 4.6 model with ``config_dict``'s shapes and the architecture's own random init, drawn on
    ``device`` and returned on the CPU."""
    import torch
    from transformers import MiniCPMV4_6Config, MiniCPMV4_6ForConditionalGeneration

    torch.manual_seed(seed)
    config = MiniCPMV4_6Config(**config_dict)
    with torch.device(device):
        model = MiniCPMV4_6ForConditionalGeneration._from_config(config, dtype=torch.bfloat16)
    return model.to("cpu").eval()


def random_gptq_tensors(in_features: int, out_features: int, group_size: int, generator) -> dict:
    """GPTQ tensors of one ``in_features`` → ``out_features`` linear layer, with random 4-bit codes.

    Shapes and dtypes are those gptqmodel writes (``pack_dtype`` int32, ``desc_act`` off): eight codes per
    int32 along the input dimension in ``qweight``, along the output dimension in ``qzeros``.
    """
    import torch

    if in_features % group_size or out_features % (32 // GPTQ_BITS):
        raise ValueError(f"a {in_features}→{out_features} layer does not pack into groups of {group_size}")
    per_word = 32 // GPTQ_BITS
    groups = in_features // group_size
    random_bytes = torch.randint(0, 256, (in_features // per_word, out_features * 4), dtype=torch.uint8,
                                 generator=generator)
    return {
        "qweight": random_bytes.view(torch.int32),
        "qzeros": torch.full((groups, out_features // per_word), _GPTQ_V1_ZEROS_WORD, dtype=torch.int32),
        "scales": torch.full((groups, out_features), _GPTQ_SCALE, dtype=torch.float16),
        "g_idx": torch.arange(in_features, dtype=torch.int32) // group_size,
    }


def pack_decoder_linears_as_gptq(model, group_size: int, seed: int = 0) -> int:
    """Replace, in place, each ``GPTQ_DECODER_MODULES`` linear of the decoder by its random GPTQ tensors.

    Each becomes a bare module holding the four tensors as buffers, so ``save_pretrained`` writes them under
    the layer's name. Returns how many layers were replaced.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    replaced = 0
    for layer in model.model.language_model.layers:
        for name in GPTQ_DECODER_MODULES:
            try:
                linear = layer.get_submodule(name)
            except AttributeError:
                continue  # a full-attention layer has no linear_attn, and the other way round
            packed = torch.nn.Module()
            for tensor_name, tensor in random_gptq_tensors(linear.in_features, linear.out_features, group_size,
                                                           generator).items():
                packed.register_buffer(tensor_name, tensor)
            if linear.bias is not None:
                packed.register_buffer("bias", linear.bias.detach().to(torch.float16))
            layer.set_submodule(name, packed)
            replaced += 1
    return replaced


def gptq_quantization_config(group_size: int) -> dict:
    """The ``quantization_config`` keys gptqmodel writes for W4A16 (asymmetric, no act-order)."""
    return {
        "bits": GPTQ_BITS,
        "group_size": group_size,
        "desc_act": False,
        "sym": False,
        "lm_head": False,
        "quant_method": "gptq",
        "method": "gptq",
        "format": "gptq",
        "checkpoint_format": "gptq",
        "pack_dtype": "int32",
    }


def write_checkpoint(model, processor, out: Path, *, gptq: bool = False, group_size: int = 128,
                     seed: int = 0) -> Path:
    """Save ``model`` and ``processor`` to ``out``; with ``gptq``, the decoder linears as random GPTQ tensors.

    With ``gptq`` the model is changed in place (its decoder linears are replaced) and cannot run afterwards.
    """
    if gptq:
        pack_decoder_linears_as_gptq(model, group_size, seed)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    if gptq:
        config_path = out / "config.json"
        config = json.loads(config_path.read_text())
        config["quantization_config"] = gptq_quantization_config(group_size)
        config_path.write_text(json.dumps(config, indent=2) + "\n")
        complete_quantization_config(out)
    return out


def build(out_dir: str | os.PathLike, *, gptq: bool = False, seed: int = 0, group_size: int = 128,
          device: str = "cpu") -> Path:
    """Build the shape twin into ``out_dir`` (replaced if it exists) and return its path; the random weights are
    drawn on ``device``."""
    def write(scratch: Path) -> Path:
        tokenizer = build_tokenizer()
        token_ids = reference_token_ids(tokenizer)
        model = random_model(twin_config_dict(token_ids), seed, device)
        model.generation_config = generation_config(token_ids)
        processor = build_processor(tokenizer, reference_processor_values())
        return write_checkpoint(model, processor, scratch / "twin", gptq=gptq, group_size=group_size, seed=seed)

    return build_in_scratch(out_dir, write)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.shape_twin",
        description="Build a random-weight checkpoint with the real MiniCPM-V 4.6 dimensions (1.3 B params).",
    )
    parser.add_argument("out_dir", help="directory to write (replaced if it exists)")
    parser.add_argument("--gptq", action="store_true",
                        help="decoder linears as 4-bit GPTQ tensors (random codes, no calibration)")
    parser.add_argument("--group-size", type=int, default=128, help="GPTQ group size (default 128)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the weights (default 0)")
    parser.add_argument("--device", default="cpu", help="where the random weights are drawn: cpu or cuda "
                        "(default cpu)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    out = build(args.out_dir, gptq=args.gptq, seed=args.seed, group_size=args.group_size, device=args.device)
    print(f"wrote {'GPTQ 4-bit' if args.gptq else 'BF16'} shape twin of MiniCPM-V 4.6 to {out} "
          f"in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
