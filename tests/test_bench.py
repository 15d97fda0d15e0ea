"""The benchmark scripts still run (tiny arguments, no timing assertions: figures come from bench/ itself)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_video_sampling_bench_prints_its_ratio_table(tmp_path):
    done = subprocess.run([sys.executable, "bench/video_sampling.py", "--short-seconds", "2", "--long-minutes", "0",
                           "--repeats", "1", "--max-num-frames", "4", "--stacks", "3", "--cache-dir", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| 2 s")]
    assert len(rows) == 4, done.stdout
    assert all("| ours |" in row or "×" in row for row in rows)
