"""Time from ``python app.py`` to the page being served, and to the model being ready, per checkpoint.

    python bench/startup.py [--model PATH ...] [--repeats 3]

Default checkpoints: the tiny one and, when it has been built (``python -m devtools.shape_twin
bench/.cache/shape-twin``), the full-size shape twin. Each start is a fresh process; medians are shown.
The page should not wait for the model (it loads in the background), so "page served" should be the
same for every model size: the ratio column compares each with the first checkpoint. The floor rows are how
long it takes to start Python and ``import gradio`` on this machine, as is and the way the app imports it
(without Gradio's type-stub rewriting and with pandas deferred: ``minicpm_demo/ui/gradio_patches.py``; this
also imports the app's UI modules), measured in the same run. A one-textbox Gradio app with Gradio's defaults
is started the same way, for comparison, and again with ``MPLBACKEND=agg`` as the app sets it: its first and
second event are timed (join the queue → reply, the page's protocol), since Gradio switches matplotlib's backend
around every event and, where matplotlib is installed and no backend is chosen, the first switch detects one.
Once the model is ready, each process's CPU use while nobody uses it is measured (Gradio's queue polls for
work every 1 ms by default; the app paces it, minicpm_demo/ui/pacing.py).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
sys.path.insert(0, str(ROOT / "bench"))

from common import OFFLINE_ENV, free_port, markdown_table, tiny_checkpoint, wait_for_url  # noqa: E402

READY_LINE = re.compile(r"loaded .* in [\d.]+ s")


PLAIN_GRADIO_APP = """
import sys, gradio as gr
with gr.Blocks() as demo:
    name, greeting = gr.Textbox(), gr.Textbox()
    name.submit(lambda text: "Hello " + text, name, greeting)
demo.launch(server_port=int(sys.argv[1]))
"""


def start_once(command: list[str], port: int, timeout: float, idle_seconds: float, has_model: bool = True,
               mpl_backend: str | None = None, events: int = 0) -> dict:
    """One fresh start: seconds to page served and to model ready, the first ``events`` events (the plain app's),
    then the idle process's CPU use. ``mpl_backend``: MPLBACKEND for the process (None: unset)."""
    env = {**os.environ, **OFFLINE_ENV, "GRADIO_TEMP_DIR": str(CACHE / "gradio")}
    env.pop("MPLBACKEND", None)
    if mpl_backend:
        env["MPLBACKEND"] = mpl_backend
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ready = threading.Event()
    ready_at: list[float] = []

    def watch_log():
        for line in process.stdout:
            if not ready_at and READY_LINE.search(line):
                ready_at.append(time.monotonic() - started)
                ready.set()

    threading.Thread(target=watch_log, daemon=True).start()
    try:
        wait_for_url(f"http://127.0.0.1:{port}/", timeout)
        page_s = time.monotonic() - started
        if has_model and not ready.wait(timeout):
            raise TimeoutError(f"{command[-1]}: the model was not ready within {timeout:.0f} s")
        event_s = [event_seconds(f"http://127.0.0.1:{port}/", f"visitor {n}") for n in range(events)]
        time.sleep(1)
        return {"page_s": page_s, "ready_s": ready_at[0] if has_model else None, "event_s": event_s,
                "idle_cpu": idle_cpu_percent(process.pid, idle_seconds)}
    finally:
        process.terminate()
        process.wait(timeout=30)


def event_seconds(url: str, text: str) -> float:
    """Join the queue for the plain app's one event and read its event stream until the reply, as the page does."""
    import httpx

    api, session = url + "gradio_api", uuid.uuid4().hex
    with httpx.Client(timeout=60) as http:
        started = time.perf_counter()
        http.post(f"{api}/queue/join", json={"data": [text], "fn_index": 0, "session_hash": session,
                                             "event_data": None, "trigger_id": None}).raise_for_status()
        with http.stream("GET", f"{api}/queue/data", params={"session_hash": session}) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:") and json.loads(line[5:]).get("msg") == "process_completed":
                    return time.perf_counter() - started
    raise RuntimeError(f"{url}: the event stream ended before the reply")


def idle_cpu_percent(pid: int, seconds: float) -> float:
    """Percent of one core the process (all its threads) used over ``seconds`` (Linux /proc)."""
    def cpu_seconds() -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    before = cpu_seconds()
    time.sleep(seconds)
    return (cpu_seconds() - before) / seconds * 100


def import_gradio_seconds(as_the_app_does: bool) -> float:
    """Process start to ``import gradio`` done (the child reports the moment; its exit is not counted)."""
    code = "import minicpm_demo.ui; " if as_the_app_does else ""
    started = time.time()
    done = subprocess.run([sys.executable, "-c", code + "import gradio, time; print(time.time())"], check=True,
                          cwd=ROOT, env={**os.environ, **OFFLINE_ENV}, capture_output=True, text=True)
    return float(done.stdout.split()[-1]) - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, action="append", help="checkpoint directory (repeatable)")
    parser.add_argument("--repeats", type=int, default=3, help="starts per checkpoint; medians are shown")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for page / model")
    parser.add_argument("--idle-seconds", type=float, default=5, help="how long idle CPU use is measured (default 5)")
    parser.add_argument("--cache-dir", type=Path, default=CACHE)
    args = parser.parse_args()

    checkpoints = args.model or [tiny_checkpoint(args.cache_dir)]
    twin = args.cache_dir / "shape-twin"
    if not args.model and (twin / "config.json").exists():
        checkpoints.append(twin)
    rows, first_page = [], None
    for label, as_the_app_does in (("`import gradio` alone", False), ("`import gradio` as the app does it", True)):
        floor = statistics.median(import_gradio_seconds(as_the_app_does) for _ in range(args.repeats))
        rows.append([label, f"{floor:.2f}", "", "", "", ""])
    matplotlib = "" if importlib.util.find_spec("matplotlib") else " (matplotlib is not installed)"
    for label, mpl_backend in (("a one-textbox Gradio app, Gradio's defaults", None),
                               ("the same app with MPLBACKEND=agg, as the app sets it", "agg")):
        plain = []
        for _ in range(args.repeats):
            port = free_port()
            plain.append(start_once([sys.executable, "-c", PLAIN_GRADIO_APP, str(port)], port, args.timeout,
                                    args.idle_seconds, has_model=False, mpl_backend=mpl_backend, events=2))
        first, second = (statistics.median(r["event_s"][n] for r in plain) for n in (0, 1))
        rows.append([label + matplotlib, f"{statistics.median(r['page_s'] for r in plain):.2f}", "", "",
                     f"{statistics.median(r['idle_cpu'] for r in plain):.1f}", f"{first:.2f} / {second:.2f}"])
    for checkpoint in checkpoints:
        runs = []
        for _ in range(args.repeats):
            port = free_port()
            command = [sys.executable, "app.py", "--model", str(checkpoint), "--port", str(port)]
            runs.append(start_once(command, port, args.timeout, args.idle_seconds))
        page = statistics.median(run["page_s"] for run in runs)
        ready = statistics.median(run["ready_s"] for run in runs)
        first_page = first_page or page
        rows.append([checkpoint.name, f"{page:.2f}", f"{ready:.2f}", f"{page / first_page:.2f}×",
                     f"{statistics.median(run['idle_cpu'] for run in runs):.1f}", ""])
        print(f"measured {checkpoint.name}", file=sys.stderr, flush=True)
    print(f"\nprocess start → page served / model ready, then the idle app's CPU use over {args.idle_seconds:g} s "
          f"and (the one-textbox apps) join → reply of its first two events; median of {args.repeats} fresh starts\n")
    print(markdown_table(["checkpoint", "page served s", "model ready s", "page time vs first",
                          "idle CPU, % of a core", "first / second event s"], rows))


if __name__ == "__main__":
    main()
