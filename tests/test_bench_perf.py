"""The performance benches run (tiny arguments, no timing assertions) and the shape twin has the real shapes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from devtools import shape_twin, tiny
from devtools.tiny_tokenizer import build_tokenizer, reference_token_ids

ROOT = Path(__file__).resolve().parent.parent
SHARED_REFERENCE = ROOT.parent / "shared" / "reference"


@pytest.fixture(scope="module")
def tiny_tokenizer():
    return build_tokenizer()


@pytest.fixture(scope="module")
def direct_gptq_tiny(tmp_path_factory, tiny_tokenizer) -> Path:
    """A tiny GPTQ checkpoint written the shape twin's way (random 4-bit codes, no calibration)."""
    token_ids = reference_token_ids(tiny_tokenizer)
    model = shape_twin.random_model(tiny.tiny_config_dict(len(tiny_tokenizer), token_ids))
    model.generation_config = tiny.generation_config(token_ids)
    processor = tiny.build_processor(tiny_tokenizer, {**tiny.TINY_PROCESSOR_VALUES, "scale_resolution": 224})
    return shape_twin.write_checkpoint(model, processor, tmp_path_factory.mktemp("direct-gptq") / "tiny",
                                       gptq=True, group_size=32)


def _without(config: dict, keys) -> dict:
    return {key: value for key, value in config.items() if key not in keys}


def test_shape_twin_config_is_the_real_one_but_for_token_ids(tiny_tokenizer):
    token_ids = reference_token_ids(tiny_tokenizer)
    config = shape_twin.twin_config_dict(token_ids)
    reference = shape_twin.reference_config()
    ignored = set(shape_twin.TOKEN_ID_KEYS) | {"transformers_version"}
    assert _without(config, ignored) == _without(reference, ignored)
    assert config["text_config"]["vocab_size"] == 248094
    for key, token in shape_twin.TOKEN_ID_KEYS.items():
        assert config[key] == tiny_tokenizer.convert_tokens_to_ids(token)


def test_shape_twin_builds_the_full_size_model(tiny_tokenizer):
    from transformers import MiniCPMV4_6Config, MiniCPMV4_6ForConditionalGeneration

    config = MiniCPMV4_6Config(**shape_twin.twin_config_dict(reference_token_ids(tiny_tokenizer)))
    with torch.device("meta"):
        model = MiniCPMV4_6ForConditionalGeneration(config)
    text, vision = shape_twin.reference_config()["text_config"], shape_twin.reference_config()["vision_config"]
    assert tuple(model.get_input_embeddings().weight.shape) == (text["vocab_size"], text["hidden_size"])
    assert len(model.model.language_model.layers) == text["num_hidden_layers"]
    assert len(model.model.vision_tower.encoder.layers) == vision["num_hidden_layers"]
    assert model.model.language_model.layers[0].mlp.up_proj.weight.shape == (text["intermediate_size"],
                                                                              text["hidden_size"])
    assert model.model.vision_tower.encoder.layers[0].mlp.fc1.weight.shape == (vision["intermediate_size"],
                                                                               vision["hidden_size"])
    assert round(sum(p.numel() for p in model.parameters()) / 1e9, 2) == 1.30  # "1.3B", as the model card says


def test_shape_twin_processor_uses_the_real_preprocessor_values(tiny_tokenizer):
    values = shape_twin.reference_processor_values()
    processor = tiny.build_processor(tiny_tokenizer, values)
    assert processor.image_processor.scale_resolution == 448
    for key, value in values.items():
        for part in (processor.image_processor, processor.video_processor):
            assert json.loads(json.dumps(getattr(part, key))) == value, key  # tuples come back as JSON lists


@pytest.mark.parametrize(("shipped", "source"), [("minicpm_v46_config.json", "config.json"),
                                                 ("minicpm_v46_preprocessor_config.json", "preprocessor_config.json")])
def test_shipped_reference_copies_match_shared_reference(shipped, source):
    if not (SHARED_REFERENCE / source).exists():
        pytest.skip("shared/reference is not beside this checkout")
    assert (json.loads((shape_twin.REFERENCE_DIR / shipped).read_text())
            == json.loads((SHARED_REFERENCE / source).read_text()))


def _tensor_layout(checkpoint: Path) -> dict[str, tuple]:
    from safetensors import safe_open

    layout = {}
    for shard in checkpoint.glob("*.safetensors"):
        with safe_open(str(shard), framework="pt") as handle:
            for name in handle.keys():
                tensor = handle.get_slice(name)
                layout[name] = (tensor.get_dtype(), tuple(tensor.get_shape()))
    return layout


def test_direct_gptq_writer_matches_gptqmodel_layout(direct_gptq_tiny, tiny_gptq_checkpoint):
    assert _tensor_layout(direct_gptq_tiny) == _tensor_layout(tiny_gptq_checkpoint)
    ours = json.loads((direct_gptq_tiny / "config.json").read_text())["quantization_config"]
    theirs = json.loads((tiny_gptq_checkpoint / "config.json").read_text())["quantization_config"]
    assert ours == {key: theirs[key] for key in ours}


def _run_bench(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_visual_tokens_bench_prints_its_table_and_plot(tiny_checkpoint, tmp_path):
    plot = tmp_path / "tradeoff.png"
    done = _run_bench("bench/visual_tokens.py", "--model", str(tiny_checkpoint), "--image-cases", "16x:1,16x:9,4x:9",
                      "--video-cases", "16x:4:1,16x:8:1", "--count-only-video-cases", "16x:4:3", "--video-seconds", "2",
                      "--cache-dir", str(tmp_path), "--plot", str(plot))
    image_rows = [line for line in done.stdout.splitlines() if line.startswith("| image")]
    video_rows = [line for line in done.stdout.splitlines() if line.startswith("| video")]
    assert len(image_rows) == 3 and len(video_rows) == 3, done.stdout
    assert "| 16x, max_slice_nums 9 |" in image_rows[1] and image_rows[1].endswith("| 1.00× | 1.00× |")
    # a 2 s clip gives the same two frames whether 4 or 8 may be taken: the second row reuses the first's timing
    assert "same inputs as 16x, 4 frames, stack 1" in video_rows[1]
    # counted, not timed: stacking 3 frames per second gives more visual tokens than 1
    assert "| 16x, 4 frames, stack 3 |" in video_rows[2] and "not timed" in video_rows[2]
    counts = [int(row.split("|")[3]) for row in video_rows]
    assert counts[2] > counts[0]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_gptq_vs_bf16_bench_prints_its_table(tiny_checkpoint, direct_gptq_tiny, tmp_path):
    done = _run_bench("bench/gptq_vs_bf16.py", "--bf16-model", str(tiny_checkpoint), "--gptq-model",
                      str(direct_gptq_tiny), "--variants", "bf16,gptq,bf16-compiled", "--repeats", "1",
                      "--prompt-tokens", "16", "--new-tokens", "3", "--cache-dir", str(tmp_path))
    rows = [line for line in done.stdout.splitlines() if line.startswith(("| BF16", "| GPTQ"))]
    assert len(rows) == 3, done.stdout
    assert "failed" not in done.stdout
    assert rows[0].endswith("| 1.00× | 1.00× | 1.00× | 1.00× |")
    assert "| torch.nn.Linear | reference PyTorch |" in rows[0]
    assert "| TorchAtenLinear |" in rows[1]  # the app's CPU kernel
    assert rows[2].startswith("| BF16, --compile | ")
    assert "linear-attention kernels: causal-conv1d" in done.stdout
    assert not (tmp_path / "shape-twin").exists()  # given checkpoints: no shape twin is built


def test_hidden_linear_attention_kernels_are_not_found_by_transformers_or_the_loader(tmp_path):
    """bench/gptq_vs_bf16.py's bf16-reference variant: an installed kernel package, then hidden."""
    (tmp_path / "fla").mkdir()
    (tmp_path / "fla" / "__init__.py").write_text("__version__ = '0.6.0'\n")
    script = (
        "import sys; sys.path.insert(0, 'bench'); import importlib, gptq_vs_bf16\n"
        "from minicpm_demo import loader\n"
        "print(loader.installed_linear_attention_kernels()['flash-linear-attention'])\n"
        "gptq_vs_bf16.hide_linear_attention_kernels()\n"
        "print(loader.installed_linear_attention_kernels()['flash-linear-attention'])\n"
        "try:\n    importlib.import_module('fla')\nexcept ImportError:\n    print('ImportError')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": f"{tmp_path}:{ROOT}"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "False", "ImportError"]
