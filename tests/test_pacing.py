"""The queue's pace: an idle app leaves the CPU alone, and a reply being generated is not slowed by polling."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from helpers import fetch, free_port, generate_threads_alive, wait_for

ROOT = Path(__file__).resolve().parent.parent

# The same app with Gradio's own polling: told another Gradio version is installed, the patches are off.
UNPATCHED_APP = """
import importlib.metadata as metadata, runpy, sys
real_version = metadata.version
metadata.version = lambda name: "0.0" if name == "gradio" else real_version(name)
sys.argv[0] = "app.py"
runpy.run_path("app.py", run_name="__main__")
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads process CPU time from /proc")
def test_an_idle_app_uses_clearly_less_cpu_than_at_gradios_own_polling(tiny_checkpoint, tmp_path):
    env = {**os.environ, "GRADIO_TEMP_DIR": str(tmp_path)}
    model = ["--model", str(tiny_checkpoint), "--device", "cpu", "--port"]
    ports = {"paced": free_port(), "unpatched": free_port()}
    commands = {"paced": [sys.executable, "app.py", *model, str(ports["paced"])],
                "unpatched": [sys.executable, "-c", UNPATCHED_APP, *model, str(ports["unpatched"])]}
    logs = {name: tmp_path / f"{name}.log" for name in commands}
    processes = {}
    for name, command in commands.items():
        with open(logs[name], "w") as log_file:
            processes[name] = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        for name, port in ports.items():  # both serve the page and load the model: the app works either way
            assert wait_for(lambda: fetch(f"http://127.0.0.1:{port}/"), timeout=180), logs[name].read_text()[-2000:]
            assert wait_for(lambda: " loaded " in logs[name].read_text(), timeout=300), logs[name].read_text()[-2000:]
        assert "patches are off" in logs["unpatched"].read_text() and "patches" not in logs["paced"].read_text()
        time.sleep(3)  # the model's load and the deferred imports settle
        before = {name: cpu_seconds(process.pid) for name, process in processes.items()}
        time.sleep(5)  # both measured over the same seconds, so the machine's other work weighs on both
        used = {name: cpu_seconds(process.pid) - before[name] for name, process in processes.items()}
    finally:
        for process in processes.values():
            process.terminate()
            process.wait(timeout=30)
    # Gradio's own polling keeps the same idle app nearly twice as busy (docs/PERFORMANCE.md, "Startup")
    assert used["paced"] < 0.8 * used["unpatched"], used


def test_a_reply_being_generated_slows_the_queue_and_the_idle_pace_comes_back(app, red_image):
    from minicpm_demo.ui.gradio_patches import queue_polling
    from minicpm_demo.ui.pacing import BUSY, IDLE

    demo = app["demo"]
    assert queue_polling(demo) == IDLE
    client = Client(app["url"], analytics_enabled=False, verbose=False)
    job = client.submit("Talk.", [handle_file(str(red_image))], "image", None,
                        {"do_sample": False, "max_new_tokens": 40}, api_name="/chat")
    paces_while_generating = set()
    while not job.done():  # sampled while the model generates, however soon the reply ends
        if generate_threads_alive():
            paces_while_generating.add(queue_polling(demo))
        time.sleep(0.002)
    job.result()
    assert paces_while_generating == {BUSY}, "Gradio's fast polling would slow generation down"
    assert wait_for(lambda: queue_polling(demo) == IDLE, timeout=10), "idle requests must start at once again"
