"""What a request will hold in the device's memory, estimated before it runs, and what the device has free.

The estimate is the model's own weights (counted once it is loaded) plus what a request adds, from the
checkpoint's config: the cache of every full-attention layer for each prompt and reply token, the recurrent and
convolution states of the linear-attention layers, the largest transient of the prompt's pass (one decoder
layer's MLP over every prompt token, and the vision tower's over every patch it encodes), and one token's
logits. docs/INSPECT.md says how close it comes to what was measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Patches the vision tower encodes per visual token the language model gets, per downsample_mode.
PATCHES_PER_VISUAL_TOKEN = {"16x": 16, "4x": 4}


@dataclass(frozen=True)
class MemoryModel:
    weights: int  # bytes of the loaded parameters and buffers
    per_token: int  # bytes kept for each prompt and reply token (full-attention layers' keys and values)
    per_prompt_token: int  # transient bytes for each prompt token during its pass (one MLP's activations)
    per_patch: int  # transient bytes for each patch the vision tower encodes
    fixed: int  # the linear-attention layers' states and one token's logits

    def request_bytes(self, prompt_tokens: int, reply_tokens: int, visual_tokens: int, downsample_mode: str) -> int:
        """Bytes the request adds to the weights at its peak."""
        patches = visual_tokens * PATCHES_PER_VISUAL_TOKEN.get(downsample_mode, 16)
        transient = max(prompt_tokens * self.per_prompt_token, patches * self.per_patch)
        return self.fixed + (prompt_tokens + reply_tokens) * self.per_token + transient

    def total_bytes(self, prompt_tokens: int, reply_tokens: int, visual_tokens: int, downsample_mode: str) -> int:
        return self.weights + self.request_bytes(prompt_tokens, reply_tokens, visual_tokens, downsample_mode)


def memory_model(model) -> MemoryModel:
    """``model``'s figures, from its loaded tensors and its config."""
    weights = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
    size = next(model.parameters()).element_size() if next(model.parameters(), None) is not None else 2
    size = max(size, 2)  # GPTQ packs weights in integers; activations are in the compute dtype
    text = model.config.get_text_config()
    layer_types = list(getattr(text, "layer_types", None) or ["full_attention"] * text.num_hidden_layers)
    full = layer_types.count("full_attention")
    linear = len(layer_types) - full
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
    kv_heads = getattr(text, "num_key_value_heads", None) or text.num_attention_heads
    per_token = full * 2 * kv_heads * head_dim * size
    # gate and up projections, their product, and the layer's input and output
    per_prompt_token = (3 * text.intermediate_size + 2 * text.hidden_size) * size
    heads = getattr(text, "linear_num_value_heads", 0) or 0
    state = heads * (getattr(text, "linear_key_head_dim", 0) or 0) * (getattr(text, "linear_value_head_dim", 0) or 0)
    conv = (getattr(text, "linear_conv_kernel_dim", 0) or 0) * heads * (
        2 * (getattr(text, "linear_key_head_dim", 0) or 0) + (getattr(text, "linear_value_head_dim", 0) or 0))
    fixed = linear * (state * 4 + conv * size) + text.vocab_size * 4
    vision = getattr(model.config, "vision_config", None)
    per_patch = (3 * vision.intermediate_size + 2 * vision.hidden_size) * size if vision is not None else 0
    return MemoryModel(weights=weights, per_token=per_token, per_prompt_token=per_prompt_token,
                       per_patch=per_patch, fixed=fixed)


def free_bytes(device: str) -> int | None:
    """Memory a request may still take on ``device``: the GPU's free memory plus what torch holds unused; the
    machine's available memory on the CPU. None where it is not known."""
    if device.split(":")[0] == "cuda":
        import torch

        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return free + torch.cuda.memory_reserved(torch.device(device)) - torch.cuda.memory_allocated(
            torch.device(device))
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def gigabytes(size: int) -> str:
    """``size`` bytes for people: in GB from 1 GB, else in MB."""
    return f"{size / 2**30:.1f} GB" if size >= 2**30 else f"{max(1, round(size / 2**20))} MB"
