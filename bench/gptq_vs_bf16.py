"""GPTQ 4-bit vs BF16 MiniCPM-V 4.6 on the device at hand (CUDA if available, else CPU), full-size shape twins.

    python bench/gptq_vs_bf16.py

Builds the shape twins it measures (real dimensions, random weights: ``python -m devtools.shape_twin
[--gptq]``) into bench/.cache when missing (the weights are drawn on the GPU when there is one). GPTQ layers use the
kernel the app would (``--gptq-kernel``, as the app's flag); the table names the layer class gptqmodel built.
Each variant runs in a fresh process: ``loader.load`` (the app's loader), a first short reply, then one
``generate`` of --new-tokens tokens after a --prompt-tokens text prompt with ``min_new_tokens =
max_new_tokens`` (random weights may pick EOS; it must not end the run).
Prefill tokens/s comes from the time to the first new token, decode tokens/s from the tokens after it.
Memory is the process's peak RSS on a CPU and ``torch.cuda.max_memory_allocated`` on a GPU. Prints medians and
ratios against BF16 measured in this run, and which linear-attention code each variant ran: the optional
kernels (causal-conv1d, flash-linear-attention) where installed, else transformers' PyTorch reference code.
On a GPU with either kernel installed, ``bf16-reference`` runs BF16 with them hidden, to show what they bring.
``bf16-compiled`` decodes as the app with ``--compile`` does (a compiled step and a static cache; on a GPU, CUDA
graphs); its load time includes the compile. It runs by default on a GPU; on a CPU, ask for it.

On a CPU two FP32 variants run too (``--variants``): the BF16 checkpoint loaded with ``--dtype float32``, and
GPTQ with float32 activations — what the app's ``--dtype auto`` picks on CPUs without AVX-512 BF16 / AMX,
which run BF16 matmuls far slower than FP32.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import OFFLINE_ENV, markdown_table, ratio, shape_twin_checkpoint  # noqa: E402

from minicpm_demo.gptq import KERNELS as GPTQ_KERNELS  # noqa: E402
from minicpm_demo.loader import DEFAULT_COMPILE_TOKENS  # noqa: E402

# name: (checkpoint, dtype passed to the loader as --dtype would, how it runs: "-" as the app does by default,
# "hide-kernels" with the linear-attention kernels hidden, "compiled" as the app does with --compile)
VARIANTS = {
    "bf16": ("bf16", "bfloat16", "-"),
    "gptq": ("gptq", "bfloat16", "-"),
    "fp32": ("bf16", "float32", "-"),
    "gptq-fp32": ("gptq", "float32", "-"),
    "bf16-reference": ("bf16", "bfloat16", "hide-kernels"),
    "bf16-compiled": ("bf16", "bfloat16", "compiled"),
}
VARIANT_LABELS = {"bf16": "BF16", "gptq": "GPTQ 4-bit", "fp32": "BF16 checkpoint as FP32",
                  "gptq-fp32": "GPTQ 4-bit, FP32 activations",
                  "bf16-reference": "BF16, kernels hidden", "bf16-compiled": "BF16, --compile"}
FIRST_REPLY_PROMPT_TOKENS = 16


class TokenClock:
    """A ``generate`` streamer that only notes when each new token arrives (the first ``put`` is the prompt)."""

    def __init__(self, synchronize=None):
        self.synchronize = synchronize or (lambda: None)
        self.prompt_seen = False
        self.token_times: list[float] = []

    def put(self, value) -> None:
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        self.synchronize()
        self.token_times.append(time.perf_counter())

    def end(self) -> None:
        pass


def peak_memory_mb(device: str) -> float:
    import torch

    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2 ** 20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def hide_linear_attention_kernels() -> None:
    """Make the optional kernel packages unimportable in this process, as if they were not installed: transformers
    then runs its PyTorch reference code for the linear-attention layers (must run before it is imported)."""
    from minicpm_demo.loader import LINEAR_ATTENTION_KERNELS

    for module in LINEAR_ATTENTION_KERNELS:
        sys.modules[module] = None  # import raises ImportError; importlib.util.find_spec returns None


def kernels_in_use() -> str:
    from minicpm_demo import loader

    installed = [package for package, present in loader.installed_linear_attention_kernels().items() if present]
    return " + ".join(installed) or "reference PyTorch"


def run_variant(checkpoint: str, dtype: str, prompt_tokens: int, new_tokens: int, gptq_kernel: str,
                compiled: bool = False) -> dict:
    """One measurement, in this (fresh) process. ``compiled``: as the app with --compile, whose load time includes
    compiling the decoding step, and whose ``generate`` calls run on its compiled-generate thread."""
    import torch

    from devtools.tiny_tokenizer import REFERENCE_ADDED_TOKENS
    from minicpm_demo import loader
    from minicpm_demo.engine import compiled as compiled_decoding

    started = time.perf_counter()
    loaded = loader.load(loader.ModelSpec(checkpoint, device="auto", dtype=dtype, gptq_kernel=gptq_kernel,
                                          compile_tokens=DEFAULT_COMPILE_TOKENS if compiled else 0))
    if compiled:
        compiled_decoding.warm_up(loaded)
        if loaded.compile_error:
            raise RuntimeError(f"--compile failed: {loaded.compile_error}")
    load_s = time.perf_counter() - started
    device = loaded.device
    synchronize = torch.cuda.synchronize if device == "cuda" else None
    load_memory_mb = peak_memory_mb(device)

    # Ordinary vocabulary only: ids past the tokenizer exist in the embedding but not as text.
    ordinary_ids = len(loaded.processor.tokenizer) - len(REFERENCE_ADDED_TOKENS)
    prompt = torch.randint(0, ordinary_ids, (1, prompt_tokens), generator=torch.Generator().manual_seed(0))

    def generate(input_ids, count: int, streamer=None) -> None:
        input_ids = input_ids.to(device)
        extra = compiled_decoding.generate_kwargs(loaded, input_ids.shape[1], count) if compiled else {}

        def run() -> None:
            with torch.inference_mode():
                loaded.model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                                      max_new_tokens=count, min_new_tokens=count, do_sample=False, streamer=streamer,
                                      **extra)

        compiled_decoding.run_on_compiled_thread(run) if compiled else run()

    started = time.perf_counter()
    generate(prompt[:, :FIRST_REPLY_PROMPT_TOKENS], 2)
    first_reply_s = time.perf_counter() - started

    clock = TokenClock(synchronize)
    started = time.perf_counter()
    generate(prompt, new_tokens, clock)
    prefill_s = clock.token_times[0] - started
    decode_s = clock.token_times[-1] - clock.token_times[0]
    return {
        "quantization": loaded.quantization,
        "kernel": next((type(module).__name__ for module in loaded.model.modules()
                        if type(module).__module__.startswith("gptqmodel.")), "torch.nn.Linear"),
        "dtype": str(loaded.model.dtype).removeprefix("torch."),
        "linear_attention": kernels_in_use() if device == "cuda" else "reference PyTorch",
        "device": torch.cuda.get_device_name() if device == "cuda" else f"CPU ({os.cpu_count()} cores)",
        "load_s": load_s,
        "first_reply_s": first_reply_s,
        "load_memory_mb": load_memory_mb,
        "peak_memory_mb": peak_memory_mb(device),
        "prefill_tok_s": prompt_tokens / prefill_s,
        "decode_tok_s": (len(clock.token_times) - 1) / decode_s if decode_s > 0 else float("nan"),
        "new_tokens": len(clock.token_times),
        "missing_kernels": loaded.missing_kernels,
    }


def measure(variant: str, checkpoint: Path, prompt_tokens: int, new_tokens: int, repeats: int,
            gptq_kernel: str) -> dict:
    runs = []
    _, dtype, how = VARIANTS[variant]
    for _ in range(repeats):
        done = subprocess.run([sys.executable, __file__, "--worker", str(checkpoint), dtype, str(prompt_tokens),
                               str(new_tokens), gptq_kernel, how],
                              capture_output=True, text=True, timeout=1800,
                              env={**os.environ, **OFFLINE_ENV})
        if done.returncode != 0:
            print(done.stderr[-4000:], file=sys.stderr, flush=True)
            return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        last = runs[-1]
        print(f"  {variant}: prefill {last['prefill_tok_s']:.1f} tok/s, decode {last['decode_tok_s']:.2f} tok/s",
              file=sys.stderr, flush=True)
    numeric = ("load_s", "first_reply_s", "load_memory_mb", "peak_memory_mb", "prefill_tok_s", "decode_tok_s")
    return {**runs[0], **{key: statistics.median(run[key] for run in runs) for key in numeric}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bf16-model", type=Path, help="BF16 checkpoint (default: the shape twin in --cache-dir)")
    parser.add_argument("--gptq-model", type=Path, help="GPTQ checkpoint (default: the GPTQ shape twin)")
    parser.add_argument("--variants", help="comma-separated, from " + ", ".join(VARIANTS)
                        + " (default: bf16,gptq,bf16-compiled on CUDA, plus bf16-reference where a linear-attention"
                        " kernel is installed; bf16,gptq,fp32,gptq-fp32 on CPU)")
    parser.add_argument("--prompt-tokens", type=int, default=128, help="prompt length (default 128)")
    parser.add_argument("--new-tokens", type=int, default=8, help="tokens generated, EOS ignored (default 8)")
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per variant; medians (default 3)")
    parser.add_argument("--cache-dir", type=Path, default=CACHE, help="where the shape twins are kept")
    parser.add_argument("--gptq-kernel", default="auto", choices=GPTQ_KERNELS,
                        help="gptqmodel kernel for the GPTQ variants, as the app's flag (default auto)")
    parser.add_argument("--worker", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)
    if args.worker:
        checkpoint, dtype, prompt_tokens, new_tokens, gptq_kernel, how = args.worker
        if how == "hide-kernels":
            hide_linear_attention_kernels()
        print(json.dumps(run_variant(checkpoint, dtype, int(prompt_tokens), int(new_tokens), gptq_kernel,
                                     compiled=how == "compiled")))
        return

    import torch

    from minicpm_demo import loader

    on_cuda = torch.cuda.is_available()
    kernels_installed = any(loader.installed_linear_attention_kernels().values())
    default = ("bf16,gptq,bf16-compiled" + (",bf16-reference" if kernels_installed else "") if on_cuda
               else "bf16,gptq,fp32,gptq-fp32")
    variants = (args.variants or default).split(",")
    unknown = [variant for variant in variants if variant not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}: choose from {', '.join(VARIANTS)}")
    given = {"bf16": args.bf16_model, "gptq": args.gptq_model}
    checkpoints: dict[str, Path] = {}
    results = {}
    for variant in variants:
        kind = VARIANTS[variant][0]
        if kind not in checkpoints:  # only the twins this run measures are built
            checkpoints[kind] = given[kind] or shape_twin_checkpoint(args.cache_dir, gptq=kind == "gptq")
        print(f"measuring {variant} …", file=sys.stderr, flush=True)
        results[variant] = measure(variant, checkpoints[kind], args.prompt_tokens, args.new_tokens,
                                   args.repeats, args.gptq_kernel)
    base = results.get("bf16", {})
    memory_kind = "max_memory_allocated" if on_cuda else "peak RSS"
    rows = []
    for variant, result in results.items():
        if "error" in result:
            rows.append([VARIANT_LABELS[variant], f"failed: {result['error'][:80]}"] + [""] * 11)
            continue
        rows.append([
            VARIANT_LABELS[variant], result["dtype"], result["kernel"], result["linear_attention"],
            f"{result['load_s']:.1f}",
            f"{result['first_reply_s']:.1f}",
            f"{result['peak_memory_mb'] / 1024:.2f}", f"{result['prefill_tok_s']:.1f}", f"{result['decode_tok_s']:.2f}",
            *(ratio(result[key], base[key]) if "load_s" in base else "–"
              for key in ("load_s", "peak_memory_mb", "prefill_tok_s", "decode_tok_s")),
        ])
    device = next((r["device"] for r in results.values() if "device" in r), "?")
    installed = loader.installed_linear_attention_kernels()
    kernels = ", ".join(f"{package} {'installed' if present else 'not installed'}"
                        for package, present in installed.items())
    print(f"\nMiniCPM-V 4.6 shape twins on {device}, torch {torch.__version__}; prompt {args.prompt_tokens} tokens, "
          f"{args.new_tokens} new tokens (EOS ignored), median of {args.repeats} fresh process(es); "
          f"ratios vs BF16, measured in this run\n")
    print(markdown_table(["variant", "compute dtype", "linear layers", "linear attention", "load s", "first reply s",
                          f"{memory_kind} GiB", "prefill tok/s", "decode tok/s", "load ×", "memory ×", "prefill ×",
                          "decode ×"], rows))
    print(f"\nlinear-attention kernels: {kernels}"
          + ("" if all(installed.values()) else
             " — the linear-attention layers ran transformers' slower PyTorch reference code"))


if __name__ == "__main__":
    main()
