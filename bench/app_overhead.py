"""What the app adds on top of the model: streamed through the launched app vs raw ``generate``, same run.

    python bench/app_overhead.py [--model PATH] [--new-tokens 128] [--repeats 9] [--update-ms 200,100,300]

Both sides get the same checkpoint, image and question, greedy decoding and exactly ``--new-tokens`` new
tokens (the benchmark copy of the checkpoint sets ``min_new_tokens``, so EOS cannot end a run early).

The raw side is ``processor.apply_chat_template`` + ``model.generate`` + ``TextIteratorStreamer`` in a worker
process, run two ways: as the model card writes it (the baseline), and with the model load and the processor
on short-lived threads, as the app does (on a CPU, torch's OpenMP runs ``generate`` faster when no other
living thread has used it: see ``engine.pipeline.prepared_unless_stopped``). The app side is ``python app.py`` in
another process, driven two ways: through ``gradio_client``'s ``/chat`` as a script would, and through the
protocol the page's JavaScript client speaks (file upload, then ``queue/join`` and the server-sent event
stream, read as events arrive; timed from the join, which the page sends when Send is pressed, as it uploads
a file when it is picked).

Each repeat runs every side once, each side first in turn, with a pause between; medians are shown, and the
added TTFT and the tokens/s ratio are medians of each repeat's app - raw and app / raw (this VM's speed drifts
over minutes; pairing cancels that). They are printed against both raw sides.
Goal: ≥ 0.97× the raw tokens/s and ≤ 50 ms added time to first token.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import OFFLINE_ENV, free_port, markdown_table, tiny_checkpoint, wait_for_url  # noqa: E402

QUESTION = "Describe this picture in detail."
NAN = float("nan")
PAUSE_S = 0.5
RAW = "raw generate + streamer (the card's code)"
RAW_THREADS = "raw, load and processor on short-lived threads"
APP_SSE = "app /chat via the browser's protocol (SSE)"


def fixed_length_copy(checkpoint: Path, new_tokens: int, cache: Path) -> Path:
    """The checkpoint with ``min_new_tokens = max_new_tokens`` in its generation config (weights linked)."""
    out = cache / f"{checkpoint.name}-fixed{new_tokens}"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for item in checkpoint.iterdir():
        (out / item.name).symlink_to(item.resolve())
    generation_path = out / "generation_config.json"
    generation = json.loads(generation_path.read_text())
    generation["min_new_tokens"] = new_tokens
    generation_path.unlink()
    generation_path.write_text(json.dumps(generation, indent=2))
    return out


def bench_image(cache: Path) -> Path:
    from PIL import Image, ImageDraw

    path = cache / "overhead-1344x1008.png"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        image = Image.new("RGB", (1344, 1008), (235, 235, 225))
        draw = ImageDraw.Draw(image)
        for index in range(12):
            left = 60 + index * 100
            draw.rectangle((left, 900 - index * 60, left + 70, 900), fill=(40, 90 + index * 12, 160))
        image.save(path)
    return path


# ---- the raw side, in its own process ---------------------------------------------------------------
def raw_worker(checkpoint: str, image: str, new_tokens: int, device: str, short_lived_threads: bool) -> None:
    """Answers "go" lines on stdin with one JSON measurement each (the model stays loaded between runs)."""
    import threading

    import torch
    from transformers import TextIteratorStreamer

    from minicpm_demo.loader import ModelSpec, load

    def call(function):
        """``function()``, on this thread or on one that ends right after it."""
        if not short_lived_threads:
            return function()
        result = {}
        worker = threading.Thread(target=lambda: result.update(value=function()))
        worker.start()
        worker.join()
        return result["value"]

    # The app's loader, so both sides run the same weights, dtype, device and kernels.
    loaded = call(lambda: load(ModelSpec(checkpoint, device=device)))
    model, processor = loaded.model, loaded.processor
    messages = [{"role": "user", "content": [{"type": "image", "path": image}, {"type": "text", "text": QUESTION}]}]
    print("ready", flush=True)
    for _ in sys.stdin:
        started = time.perf_counter()
        inputs = call(lambda: processor.apply_chat_template(
            messages, tokenize=True, add_generation_prompt=True, return_dict=True, return_tensors="pt",
            enable_thinking=False, processor_kwargs={"downsample_mode": "16x", "max_slice_nums": 36,
                                                     "use_image_id": True}).to(model.device))
        streamer = TextIteratorStreamer(processor.tokenizer, skip_prompt=True, skip_special_tokens=True)
        kwargs = dict(**inputs, max_new_tokens=new_tokens, do_sample=False, streamer=streamer,
                      downsample_mode="16x")

        def generate():
            with torch.inference_mode():
                model.generate(**kwargs)

        worker = threading.Thread(target=generate)
        worker.start()
        first = None
        for piece in streamer:
            if piece and first is None:
                first = time.perf_counter()
        worker.join()
        finished = time.perf_counter()
        print(json.dumps({"ttft_s": first - started, "tokens_per_s": (new_tokens - 1) / (finished - first),
                          "total_s": finished - started}), flush=True)


# ---- the app side -------------------------------------------------------------------------------------
def app_run(client, image: str, new_tokens: int) -> dict:
    from gradio_client import handle_file

    started = time.perf_counter()
    job = client.submit(QUESTION, [handle_file(image)], "image", None,
                        {"do_sample": False, "max_new_tokens": new_tokens}, api_name="/chat")
    first = None
    last = None
    text_updates = 0
    for update in job:
        if update["answer"]:
            first = first or time.perf_counter()
            text_updates += 1
        last = update
    finished = time.perf_counter()
    job.result()  # raises the app's error message, if any
    if first is None:
        raise RuntimeError("the app's reply had no text (a checkpoint whose tokenizer cannot spell what it generates, "
                           "as the shape twin's, streams none: use the tiny or a real checkpoint); its last update: "
                           f"{str(last)[:300]}")
    return app_measurement(started, first, finished, last["stats"], text_updates)


def app_measurement(started: float, first: float, finished: float, stats: dict, text_updates: int) -> dict:
    """One app-side run as the client saw it, with the app's own stats for the same reply.

    A reply whose text arrived in one update was not streamed to the client: it has no tokens/s (NaN)."""
    generated = stats["generated_tokens"]
    streamed = text_updates > 1 and finished > first
    return {"ttft_s": first - started, "tokens_per_s": (generated - 1) / (finished - first) if streamed else NAN,
            "total_s": finished - started, "generated": generated, "app_stats": stats}


def median(values) -> float:
    """The median of the values that are numbers (NaN: not measured), or NaN when none is."""
    numbers = [value for value in values if not math.isnan(value)]
    return statistics.median(numbers) if numbers else NAN


def shown(value: float, template: str) -> str:
    return "–" if math.isnan(value) else template.format(value)


class PageProtocol:
    """``/chat`` driven the way the page's JavaScript client drives an event: ``POST /upload`` for the file,
    ``POST queue/join``, then ``GET queue/data`` read as server-sent events as they arrive (no polling)."""

    def __init__(self, url: str):
        import httpx

        self.api = url.rstrip("/") + "/gradio_api"
        self.http = httpx.Client(timeout=httpx.Timeout(600.0))
        config = self.http.get(url.rstrip("/") + "/config").json()
        self.fn_index = next(dependency["id"] for dependency in config["dependencies"]
                             if dependency.get("api_name") == "chat")

    def run(self, image: str, new_tokens: int) -> dict:
        import uuid

        from gradio_client.utils import apply_diff

        with open(image, "rb") as file:
            uploaded = self.http.post(f"{self.api}/upload", files=[("files", (Path(image).name, file))])
        uploaded.raise_for_status()
        file_data = {"path": uploaded.json()[0], "orig_name": Path(image).name, "meta": {"_type": "gradio.FileData"}}
        session = uuid.uuid4().hex
        data = [QUESTION, [file_data], "image", None, {"do_sample": False, "max_new_tokens": new_tokens}]
        started = time.perf_counter()
        self.http.post(f"{self.api}/queue/join", json={"data": data, "fn_index": self.fn_index, "session_hash": session,
                                                        "event_data": None, "trigger_id": None}).raise_for_status()
        first, reply, text_updates = None, None, 0
        with self.http.stream("GET", f"{self.api}/queue/data", params={"session_hash": session}) as events:
            for line in events.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("msg") == "process_generating":
                    output = message["output"]["data"][0]
                    reply = output if reply is None else apply_diff(reply, output)
                    if reply.get("answer"):
                        first = first or time.perf_counter()
                        text_updates += 1
                elif message.get("msg") == "process_completed":
                    if not message.get("success", True):
                        raise RuntimeError(message["output"].get("error") or "the app failed")
                    reply = message["output"]["data"][0]
                    break
        if first is None:  # the whole reply came with the completion message
            first = time.perf_counter()
        return app_measurement(started, first, time.perf_counter(), reply["stats"], text_updates)


def paired(side: list[dict], baseline: list[dict]) -> tuple[float, float]:
    """Median added TTFT and tokens/s ratio of ``side`` against the ``baseline`` run of the same repeat.

    Each repeat runs every side back to back, so per-repeat differences cancel the VM's drift over minutes."""
    return (median(run["ttft_s"] - base["ttft_s"] for run, base in zip(side, baseline)),
            median(run["tokens_per_s"] / base["tokens_per_s"] for run, base in zip(side, baseline)))


def warm_up_app(client, image: str, new_tokens: int, timeout: float = 900) -> None:
    """One full run once the app's model has loaded (it loads in the background after the page is up)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            app_run(client, image, new_tokens)
            return
        except Exception as error:
            if "still loading" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="checkpoint directory (default: the tiny one, built if missing)")
    parser.add_argument("--new-tokens", type=int, default=128, help="tokens generated per run (default 128)")
    parser.add_argument("--repeats", type=int, default=9, help="runs per side; medians are shown (default 9)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--update-ms", default="",
                        help="the app's --update-ms (default: the app's own); a comma list also starts one more app "
                             "per further value, driven through the browser's protocol, e.g. 200,100,300")
    parser.add_argument("--baseline-app", type=Path,
                        help="another checkout of this app (e.g. `git worktree add /tmp/base HEAD~1`), started the "
                             "same way and driven through the browser's protocol in the same repeats: this app's "
                             "cost against that one's")
    parser.add_argument("--cache-dir", type=Path, default=CACHE)
    parser.add_argument("--raw-worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_worker:
        checkpoint, image, new_tokens, device, threads = args.raw_worker
        raw_worker(checkpoint, image, int(new_tokens), device, threads == "short-lived-threads")
        return

    from gradio_client import Client

    cache = args.cache_dir
    checkpoint = fixed_length_copy(args.model or tiny_checkpoint(cache), args.new_tokens, cache)
    image = str(bench_image(cache))
    env = {**os.environ, **OFFLINE_ENV, "GRADIO_TEMP_DIR": str(cache / "gradio")}
    raws = {side: subprocess.Popen(
        [sys.executable, __file__, "--raw-worker", str(checkpoint), image, str(args.new_tokens), args.device, threads],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        for side, threads in ((RAW, "this-thread"), (RAW_THREADS, "short-lived-threads"))}
    update_ms = [value.strip() for value in args.update_ms.split(",") if value.strip()] or [None]
    apps = {}
    baseline = f"baseline app ({args.baseline_app}) via the browser's protocol (SSE)" if args.baseline_app else None
    started_apps = [(value, ROOT) for value in update_ms] + ([(baseline, args.baseline_app)] if baseline else [])
    for value, directory in started_apps:
        port = free_port()
        command = [sys.executable, "app.py", "--model", str(checkpoint), "--device", args.device, "--port", str(port)]
        apps[value] = (f"http://127.0.0.1:{port}/", subprocess.Popen(
            command + (["--update-ms", value] if value and value != baseline else []), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env=env, cwd=directory))
    try:
        for raw in raws.values():
            assert raw.stdout.readline().strip() == "ready", "the raw worker did not start"
        sides = {}
        for value, (url, _) in apps.items():
            wait_for_url(url, timeout=600)
            client = Client(url, analytics_enabled=False, verbose=False)
            warm_up_app(client, image, args.new_tokens)
            page = PageProtocol(url)
            page.run(image, args.new_tokens)
            if value == update_ms[0]:
                sides[APP_SSE] = partial(page.run, image, args.new_tokens)
                sides["app /chat via gradio_client"] = partial(app_run, client, image, args.new_tokens)
            elif value == baseline:
                sides[baseline] = partial(page.run, image, args.new_tokens)
            else:
                sides[f"app /chat via the browser's protocol (SSE), updates every {value} ms"] = partial(
                    page.run, image, args.new_tokens)

        def run_raw(raw) -> dict:
            raw.stdin.write("go\n")
            raw.stdin.flush()
            return json.loads(raw.stdout.readline())

        for raw in raws.values():
            run_raw(raw)  # warm-up
        runs = {**{side: [] for side in raws}, **{side: [] for side in sides}}
        order = [*((side, partial(run_raw, raw)) for side, raw in raws.items()), *sides.items()]
        for repeat in range(args.repeats):
            # Each side goes first in turn, after a pause: a process that just finished generating keeps its
            # threads spinning for a moment, which would slow whichever side always came next.
            for side, run in order[repeat % len(order):] + order[:repeat % len(order)]:
                time.sleep(PAUSE_S)
                measured = run()
                if side not in raws and measured["generated"] != args.new_tokens:
                    sys.exit(f"the app generated {measured['generated']} tokens, not {args.new_tokens}")
                runs[side].append(measured)
    finally:
        for raw in raws.values():
            raw.kill()
        for _, app in apps.values():
            app.terminate()
            app.wait(timeout=30)

    medians = {side: {key: median(run[key] for run in measured) for key in ("ttft_s", "tokens_per_s", "total_s")}
               for side, measured in runs.items()}
    base = medians[RAW]
    rows = []
    for side, side_medians in medians.items():
        paired_ttft, paired_ratio = paired(runs[side], runs[RAW])
        rows.append([side, f"{side_medians['ttft_s'] * 1000:.0f}", shown(side_medians["tokens_per_s"], "{:.1f}"),
                     f"{side_medians['total_s']:.2f}", f"{paired_ttft * 1000:+.0f}", shown(paired_ratio, "{:.3f}×")])
    updates = f"updates every {update_ms[0]} ms" if update_ms[0] else "the app's default update interval"
    print(f"\n{checkpoint.name}: 1344×1008 image, {args.new_tokens} new tokens (greedy, EOS ignored), {updates}, "
          f"median of {args.repeats}; the last two columns are medians of per-repeat differences and ratios "
          "against the raw run of the same repeat\n")
    print(markdown_table(["side", "TTFT ms", "tokens/s", "total s", "added TTFT ms", "tokens/s ratio"], rows))
    print(f"\nagainst \"{RAW_THREADS}\" instead, the app's own cost with the threading effect set aside:")
    for side in sides:
        paired_ttft, paired_ratio = paired(runs[side], runs[RAW_THREADS])
        print(f"- {side}: added TTFT {paired_ttft * 1000:+.0f} ms, tokens/s {shown(paired_ratio, '{:.3f}×')}")
    print("\nwhere an app side's time goes: the app's own stats (measured inside the server, from the request "
          "reaching the engine to its first token) and the rest (HTTP and the client):")
    for side in sides:
        inside = runs[side]
        engine_ttft = statistics.median(run["app_stats"]["ttft_s"] for run in inside)
        transport = statistics.median(run["ttft_s"] - run["app_stats"]["ttft_s"] for run in inside)
        print(f"- {side}: engine TTFT {engine_ttft * 1000:.0f} ms (raw {base['ttft_s'] * 1000:.0f}, "
              f"{medians[RAW_THREADS]['ttft_s'] * 1000:.0f} on short-lived threads), "
              f"transport {transport * 1000:.0f} ms, engine tokens/s "
              f"{statistics.median(run['app_stats']['tokens_per_s'] for run in inside):.1f}")
    if baseline:
        paired_ttft, paired_ratio = paired(runs[APP_SSE], runs[baseline])
        print(f"\nthis app against the baseline app, both through the browser's protocol: added TTFT "
              f"{paired_ttft * 1000:+.0f} ms, tokens/s {shown(paired_ratio, '{:.3f}×')}")
    unstreamed = {side: sum(math.isnan(run["tokens_per_s"]) for run in runs[side]) for side in sides}
    for side, count in unstreamed.items():
        if count:
            print(f"- {side}: in {count} of {args.repeats} runs the reply reached the client in one update, not "
                  "streamed: no tokens/s for those runs (–)")


if __name__ == "__main__":
    main()
