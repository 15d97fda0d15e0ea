"""The benchmark scripts still run (tiny arguments, no timing assertions: figures come from bench/ itself)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_bench(*args: str, timeout: int = 600) -> str:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_video_sampling_bench_prints_its_ratio_table(tmp_path):
    out = run_bench("bench/video_sampling.py", "--short-seconds", "2", "--long-minutes", "0", "--repeats", "1",
                    "--max-num-frames", "4", "--stacks", "3", "--cache-dir", str(tmp_path))
    rows = [line for line in out.splitlines() if line.startswith("| 2 s")]
    assert len(rows) == 9, out  # camera-like, 1 s and 250-frame keyframes: ours, transformers and the floor each
    assert all("| ours |" in row or "×" in row for row in rows)
    cells = [[cell.strip() for cell in row.split("|")] for row in rows]
    ours = [row[6] for row in cells if row[3] == "ours"]
    floor = [row[6] for row in cells if row[3].startswith("decoding floor")]
    assert floor == ours and all(int(frames) > 0 for frames in ours), out  # the floor reaches every sample too


def test_app_overhead_bench_compares_the_app_with_raw_generate(tiny_checkpoint, tmp_path):
    out = run_bench("bench/app_overhead.py", "--model", str(tiny_checkpoint), "--new-tokens", "6", "--repeats", "1",
                    "--device", "cpu", "--update-ms", "200,0", "--cache-dir", str(tmp_path))
    rows = {line.split("|")[1].strip(): line for line in out.splitlines() if line.startswith("| ")}
    sides = ["app /chat via the browser's protocol (SSE)", "app /chat via gradio_client",
             "app /chat via the browser's protocol (SSE), updates every 0 ms"]
    assert "updates every 200 ms" in out
    assert "raw generate + streamer (the card's code)" in rows, out
    assert "raw, load and processor on short-lived threads" in rows and all(side in rows for side in sides), out
    assert all(f"- {side}: added TTFT" in out for side in sides), out
    assert all(rows[side].rstrip(" |").endswith("×") for side in sides)
    assert all(f"- {side}: engine TTFT" in out and "transport" in out for side in sides), out


def test_startup_bench_times_page_and_model(tiny_checkpoint, tmp_path):
    out = run_bench("bench/startup.py", "--model", str(tiny_checkpoint), "--repeats", "1", "--cache-dir", str(tmp_path))
    row = next(line for line in out.splitlines() if line.startswith(f"| {tiny_checkpoint.name} |"))
    page, ready, idle_cpu = (float(cell) for cell in (row.split("|")[index] for index in (2, 3, 5)))
    assert 0 < page <= ready and 0 <= idle_cpu < 100, row
    assert "| `import gradio` alone |" in out and "| `import gradio` as the app does it |" in out, out
    plain = next(line for line in out.splitlines() if line.startswith("| a one-textbox Gradio app"))
    assert float(plain.split("|")[2]) > 0 and float(plain.split("|")[5]) >= 0, plain


def test_abuse_bench_replays_every_case_and_prints_its_table(tiny_checkpoint, tmp_path):
    out = run_bench("bench/abuse.py", "--quick", "--model", str(tiny_checkpoint), "--cache-dir", str(tmp_path),
                    timeout=300)
    header, _, *rows = [line for line in out.splitlines() if line.startswith("|")]
    assert header.startswith("| case | what the client got |"), out
    cells = [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]
    assert all(len(row) == 7 and all(row) for row in cells), out
    cases = [row[0].replace("\\|", "|") for row in cells]
    expected = ["idle server", "`text` of 5 MB", "`text` of 1 MB", "refused 1 MB questions", "history of 5,000 turns",
                "`text` = 123", "`history` = 5", '"Infinity"', '"1e999"', "10**400", "`files` = 5", "`files` = [[1]]",
                '`files` = [{"x": 1}]', "NUL byte", "a file by URL", "/etc/passwd", "<|im_end|>", "<|image_pad|>",
                "a question of 20,000 CJK characters", "cancel during the prompt's pass",
                "client killed during the prompt's pass", "cancel while reading an animated PNG", "one session sends",
                "one visitor sends", "the queue full",
                "the same 0.5 MB image ×", "the same 0.5 MB image in each of", "megapixels", "6000² canvas",
                "4000² canvas", '"holiday.png"', "says it is 1,200 MB", "wrong passwords"]
    assert len(cases) == len(expected) and all(part in case for part, case in zip(expected, cases)), cases
    got = dict(zip(cases, (row[1] for row in cells)))
    assert got["a question of 20,000 CJK characters"].startswith("refused: This request is"), got
    assert all(row[6].startswith("yes") for row in cells[:-1]), "the next request is answered after every case"


def test_preflight_bench_compares_a_preflight_with_sampling_once(tiny_checkpoint, tmp_path):
    out = run_bench("bench/preflight.py", "--model", str(tiny_checkpoint), "--seconds", "2", "--repeats", "1",
                    "--cache-dir", str(tmp_path))
    assert "| video (2 s, 1280×720) |" in out and "| photo (1344×1008) |" in out and "×" in out


def test_memory_estimate_bench_sets_the_estimate_beside_the_measure(tiny_checkpoint, tmp_path):
    out = run_bench("bench/memory_estimate.py", "--model", str(tiny_checkpoint), "--device", "cpu",
                    "--clip-seconds", "2", "--cache-dir", str(tmp_path))
    rows = [line for line in out.splitlines() if line.startswith("| ") and "×" in line]
    assert [row.split("|")[1].strip() for row in rows] == ["text only", "photo 16x", "photo 4x", "clip 8 frames"], out
    estimates = [float(row.split("|")[3].replace(",", "")) for row in rows]
    assert estimates[1] < estimates[2], "4x holds more than 16x"


def test_follow_up_bench_sets_a_reused_follow_up_beside_the_first_question(tiny_checkpoint, tmp_path):
    out = run_bench("bench/follow_up.py", "--model", str(tiny_checkpoint), "--seconds", "3", "--frames", "4",
                    "--cache-dir", str(tmp_path))
    rows = [line for line in out.splitlines()
            if line.startswith("| ") and "×" in line and not line.startswith("| input |")]
    assert [row.split(" | ")[1] for row in rows] == ["first question", "follow-up, reuse", "follow-up, no reuse"] * 2
    assert all(row.rstrip(" |").endswith("yes") for row in rows), "reuse changed a greedy reply"
