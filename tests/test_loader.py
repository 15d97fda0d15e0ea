"""The loader loads once, shares, and explains every failure an operator can fix."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import torch

from minicpm_demo import gptq, loader
from minicpm_demo.loader import LoaderError, ModelSpec

ROOT = Path(__file__).resolve().parent.parent


def test_second_load_returns_the_same_objects(tiny_checkpoint):
    spec = ModelSpec(str(tiny_checkpoint), device="cpu")
    first = loader.load(spec)
    second = loader.load(ModelSpec(str(tiny_checkpoint), device="auto" if not torch.cuda.is_available() else "cpu"))
    assert second is first
    assert second.model is first.model and second.processor is first.processor


def test_concurrent_first_loads_load_once(tiny_checkpoint, monkeypatch):
    calls = []
    original = loader._load_uncached

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(loader, "_load_uncached", counting)
    spec = ModelSpec(str(tiny_checkpoint), device="cpu", dtype="float32")  # a key no other test loads
    results = []
    threads = [threading.Thread(target=lambda: results.append(loader.load(spec))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert len(results) == 4 and all(r is results[0] for r in results)
    assert results[0].model.dtype == torch.float32 and results[0].quantization == "FP32"


def test_default_model_is_the_gptq_checkpoint():
    assert ModelSpec().model_id == "openbmb/MiniCPM-V-4.6-GPTQ"


def test_offline_hub_model_says_weights_are_unreachable_and_how_to_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))  # an empty cache, whatever this machine has
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(LoaderError) as caught:
        loader.load(ModelSpec("openbmb/MiniCPM-V-4.6-GPTQ", device="cpu"))
    message = str(caught.value)
    assert "unreachable" in message and "HF_HUB_OFFLINE" in message
    assert "--model" in message and "MODEL_ID" in message


def test_missing_local_directory_names_the_flag():
    with pytest.raises(LoaderError, match="--model"):
        loader.load(ModelSpec("/nonexistent/checkpoint", device="cpu"))


def test_a_checkpoint_of_another_model_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama", "architectures": ["LlamaForCausalLM"]}))
    with pytest.raises(LoaderError) as caught:
        loader.load(ModelSpec(str(tmp_path), device="cpu"))
    assert "not a MiniCPM-V 4.6 checkpoint" in str(caught.value) and "'llama'" in str(caught.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_requested_without_a_gpu(tiny_checkpoint):
    with pytest.raises(LoaderError) as caught:
        loader.load(ModelSpec(str(tiny_checkpoint), device="cuda"))
    assert "--device cpu" in str(caught.value)


def test_gptq_checkpoint_without_gptqmodel_names_the_package(tiny_gptq_checkpoint):
    code = textwrap.dedent(f"""
        import importlib.abc, sys
        class Hide(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "gptqmodel":
                    raise ModuleNotFoundError("No module named 'gptqmodel'")
        sys.meta_path.insert(0, Hide())
        import importlib.util
        real_find_spec = importlib.util.find_spec
        importlib.util.find_spec = lambda name, *a: None if name == "gptqmodel" else real_find_spec(name, *a)
        from minicpm_demo import loader
        try:
            loader.load(loader.ModelSpec({str(tiny_gptq_checkpoint)!r}, device="cpu"))
        except loader.LoaderError as error:
            print("MESSAGE", error)
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    message = next(line for line in done.stdout.splitlines() if line.startswith("MESSAGE"))
    assert "pip install gptqmodel" in message and "GPTQ" in message


def test_quantized_module_groups_reads_the_checkpoint(tiny_gptq_checkpoint):
    groups = gptq.quantized_module_groups(tiny_gptq_checkpoint)
    assert len(groups) == 1
    assert "self_attn.q_proj" in groups[0] and "linear_attn.in_proj_b" not in groups[0]


def test_auto_dtype_on_cpu_is_bf16_only_where_the_cpu_computes_it_natively(tiny_checkpoint):
    from minicpm_demo.loader import ModelSpec, _torch_dtype

    native = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    for quantized in (False, True):
        chosen = _torch_dtype(ModelSpec(str(tiny_checkpoint), device="cpu"), "cpu", quantized)
        assert chosen == (torch.bfloat16 if native else torch.float32)
    assert _torch_dtype(ModelSpec(str(tiny_checkpoint), dtype="bfloat16"), "cpu", False) == torch.bfloat16


def test_gptq_kernel_setting_reaches_gptqmodel(tiny_gptq_checkpoint):
    """--gptq-kernel picks the layers gptqmodel builds: auto is the CPU kernel that needs no compiling, a name
    is that kernel."""
    code = textwrap.dedent(f"""
        from minicpm_demo import loader
        for kernel in ("auto", "gptq_torch"):
            model = loader.load(loader.ModelSpec({str(tiny_gptq_checkpoint)!r}, device="cpu", gptq_kernel=kernel)).model
            print("KERNEL", kernel, sorted({{type(m).__name__ for m in model.modules()
                                            if type(m).__module__.startswith("gptqmodel.")}}))
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    kernels = dict(line.split(" ", 2)[1:] for line in done.stdout.splitlines() if line.startswith("KERNEL"))
    assert kernels == {"auto": "['TorchAtenLinear']", "gptq_torch": "['TorchLinear']"}, done.stderr[-2000:]


def test_gptq_kernel_auto_needs_no_build_and_unknown_names_are_explained():
    # gptqmodel's own pick on a GPU is compiled at the first load (Machete on Hopper also downloads CUTLASS).
    assert loader.gptq_kernel(ModelSpec(), "cuda") == "gptq_triton"
    assert loader.gptq_kernel(ModelSpec(gptq_kernel="gptqmodel"), "cuda") == "gptqmodel"
    with pytest.raises(LoaderError, match="--gptq-kernel"):
        loader.gptq_kernel(ModelSpec(gptq_kernel="marlin2"), "cuda")


def test_gptqmodels_causal_conv1d_stand_in_is_not_reported_as_the_kernel():
    """Importing gptqmodel aliases its PyTorch port as ``causal_conv1d``; the status must still say the CUDA
    kernel is missing."""
    import importlib.metadata

    try:
        importlib.metadata.distribution("causal-conv1d")
        pytest.skip("causal-conv1d is really installed here")
    except importlib.metadata.PackageNotFoundError:
        pass
    code = textwrap.dedent("""
        import gptqmodel, importlib.util
        from minicpm_demo import loader
        print("ALIASED", importlib.util.find_spec("causal_conv1d") is not None)
        print("REPORTED", loader.installed_linear_attention_kernels()["causal-conv1d"])
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines()
                 if line.split(" ")[0] in ("ALIASED", "REPORTED"))
    assert lines == {"ALIASED": "True", "REPORTED": "False"}, done.stderr[-2000:]
