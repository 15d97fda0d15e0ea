"""The generated tiny checkpoint loads with the model card's own calls and looks like the real one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForImageTextToText, AutoProcessor

from devtools.tiny_tokenizer import PROCESSOR_TOKENS, REFERENCE_ADDED_TOKENS

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "reference" / "special_tokens.json"


@pytest.fixture(scope="module")
def card_loaded(tiny_checkpoint):
    processor = AutoProcessor.from_pretrained(tiny_checkpoint)
    model = AutoModelForImageTextToText.from_pretrained(tiny_checkpoint, torch_dtype="auto", device_map="cpu")
    return processor, model


def test_reference_token_list_matches_shared_reference():
    if not REFERENCE.exists():
        pytest.skip("shared/reference is not beside this checkout")
    reference = json.loads(REFERENCE.read_text())["added_tokens"]
    assert [(t["content"], t["special"]) for t in reference] == REFERENCE_ADDED_TOKENS


def test_card_calls_load_the_real_classes(card_loaded):
    processor, model = card_loaded
    assert type(model).__name__ == "MiniCPMV4_6ForConditionalGeneration"
    assert type(processor).__name__ == "MiniCPMV4_6Processor"
    assert model.dtype == torch.bfloat16
    text = model.config.text_config
    assert {"linear_attention", "full_attention"} <= set(text.layer_types)
    assert 0 < model.config.insert_layer_id < model.config.vision_config.num_hidden_layers


def test_special_tokens_and_config_ids_agree(card_loaded):
    processor, model = card_loaded
    tokenizer = processor.tokenizer
    ids = [tokenizer.convert_tokens_to_ids(content) for content, _ in REFERENCE_ADDED_TOKENS]
    assert ids == list(range(ids[0], ids[0] + len(ids))), "added tokens keep the real order"
    for attribute, content in PROCESSOR_TOKENS.items():
        assert getattr(tokenizer, attribute) == content
        # each special string is one token, never split by the BPE
        assert tokenizer(content, add_special_tokens=False)["input_ids"] == [tokenizer.convert_tokens_to_ids(content)]
    assert model.config.image_token_id == tokenizer.image_token_id == tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert model.config.video_token_id == tokenizer.video_token_id == tokenizer.convert_tokens_to_ids("<|video_pad|>")
    eos = model.generation_config.eos_token_id
    assert set(eos) == {tokenizer.convert_tokens_to_ids("<|endoftext|>"), tokenizer.convert_tokens_to_ids("<|im_end|>")}
    assert tokenizer.eos_token == "<|im_end|>"


def test_chat_template_has_the_real_structure(card_loaded):
    processor, _ = card_loaded
    messages = [
        {"role": "user", "content": [{"type": "image"}, {"type": "video"}, {"type": "text", "text": "Hi"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "<think>\nhmm\n</think>\n\nHello"}]},
        {"role": "user", "content": "And now?"},
    ]
    off = processor.apply_chat_template(messages, add_generation_prompt=True, enable_thinking=False)
    on = processor.apply_chat_template(messages, add_generation_prompt=True, enable_thinking=True)
    assert off.startswith("<|im_start|>user\n<|image_pad|>\n<|video_pad|>\nHi<|im_end|>\n")
    assert "<|im_start|>assistant\nHello<|im_end|>\n" in off, "earlier reasoning is dropped"
    assert off.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert on.endswith("<|im_start|>assistant\n<think>\n")
    no_prompt = processor.apply_chat_template(messages, add_generation_prompt=False)
    assert no_prompt.endswith("And now?<|im_end|>\n")


def test_default_processor_resolution_also_works(tiny_checkpoint, red_image):
    from PIL import Image

    processor = AutoProcessor.from_pretrained(tiny_checkpoint, scale_resolution=448)
    assert processor.image_processor.scale_resolution == 448
    messages = [{"role": "user", "content": [{"type": "image", "image": Image.open(red_image)},
                                             {"type": "text", "text": "?"}]}]
    inputs = processor.apply_chat_template(messages, tokenize=True, add_generation_prompt=True, return_dict=True,
                                           return_tensors="pt")
    model = AutoModelForImageTextToText.from_pretrained(tiny_checkpoint, torch_dtype="auto", device_map="cpu")
    output = model.generate(**inputs, max_new_tokens=3, do_sample=False)
    assert output.shape[1] == inputs["input_ids"].shape[1] + 3


def test_gptq_checkpoint_has_a_complete_quantization_config(tiny_gptq_checkpoint):
    config = json.loads((tiny_gptq_checkpoint / "config.json").read_text())
    quantization = config["quantization_config"]
    assert quantization["quant_method"] == "gptq" and quantization["bits"] == 4
    modules = sum(quantization["modules_in_block_to_quantize"], [])
    assert "mlp.down_proj" in modules and "linear_attn.in_proj_qkv" in modules
    assert not {"linear_attn.in_proj_a", "linear_attn.in_proj_b"} & set(modules)


def _run_python(code: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HOME", "HF_HUB_CACHE", "HF_MODULES_CACHE")}
    env.update(extra_env or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


def test_card_plain_from_pretrained_loads_the_gptq_checkpoint(tiny_gptq_checkpoint):
    done = _run_python(f"""
        import os
        os.environ["GPTQMODEL_CPU_WORKERS"] = "2"
        from transformers import AutoModelForImageTextToText
        model = AutoModelForImageTextToText.from_pretrained({str(tiny_gptq_checkpoint)!r}, torch_dtype="auto",
                                                            device_map="cpu")
        layer = model.model.language_model.layers[0]
        print("QUANTIZED", type(layer.mlp.down_proj).__name__, type(layer.linear_attn.in_proj_a).__name__)
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    quantized_line = next(line for line in done.stdout.splitlines() if line.startswith("QUANTIZED"))
    _, down_proj, in_proj_a = quantized_line.split()
    assert down_proj != "Linear" and in_proj_a == "Linear"


def test_loader_keeps_the_hub_cache_where_it_was_and_gptq_matches_bf16(tiny_checkpoint, tiny_gptq_checkpoint):
    done = _run_python(f"""
        import os, torch
        from PIL import Image
        from minicpm_demo import loader
        # BF16 on both sides, as on a GPU (on CPUs without native BF16, "auto" picks FP32 for speed)
        quantized = loader.load(loader.ModelSpec({str(tiny_gptq_checkpoint)!r}, device="cpu", dtype="bfloat16"))
        print("HF_HOME", os.environ.get("HF_HOME", "unset"))
        reference = loader.load(loader.ModelSpec({str(tiny_checkpoint)!r}, device="cpu", dtype="bfloat16"))
        print("LABELS", quantized.quantization.replace(" ", "_"), reference.quantization)
        messages = [{{"role": "user", "content": [{{"type": "image", "image": Image.new("RGB", (320, 240), (20, 130, 30))}},
                                                  {{"type": "text", "text": "What is in this image?"}}]}}]
        inputs = reference.processor.apply_chat_template(messages, tokenize=True, add_generation_prompt=True,
                                                         return_dict=True, return_tensors="pt")
        with torch.inference_mode():
            a = quantized.model(**inputs).logits[0].float()
            b = reference.model(**inputs).logits[0].float()
        print("COSINE", torch.nn.functional.cosine_similarity(a, b, dim=-1).min().item())
        out = quantized.model.generate(**inputs, max_new_tokens=8, do_sample=False)
        print("GENERATED", out.shape[1] - inputs["input_ids"].shape[1])
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if line.split(" ")[0].isupper())
    assert lines["HF_HOME"] == "unset", "importing gptqmodel must not move the user's hub cache"
    assert lines["LABELS"] == "GPTQ_4-bit BF16"
    assert float(lines["COSINE"]) > 0.99
    assert lines["GENERATED"] == "8"
