"""A reply as code that gives it again outside the demo: a self-contained transformers script with the exact
``apply_chat_template`` and ``generate`` keyword arguments the app used (greedy: the same reply, token for token,
on the same checkpoint, dtype and device)."""

from __future__ import annotations

import json
import mimetypes
import os
import re
import shlex
from pprint import pformat
from typing import Any

# What the app hands the processor that a script lets the processor do itself: the frames it sampled (with the
# processor's own sampling rule, so the processor samples the same ones).
APP_ONLY_PROCESSOR_KWARGS = ("video_metadata", "do_sample_frames")


def _with_file_names(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The card's messages, each file by its name (the script expects the files beside it)."""
    named = []
    for message in messages:
        content = message["content"]
        if not isinstance(content, str):
            content = [{**item, "path": os.path.basename(item["path"])} if "path" in item else item
                       for item in content]
        named.append({**message, "content": content})
    return named


# The frames of each video as the demo gave them: decoded with PyAV (as the demo does), at the demo's sample.
READ_FRAMES = """import av
import numpy as np
from transformers.video_utils import VideoMetadata


def frames_of(path, indices):
    \"\"\"The video's frames at ``indices`` (the demo's sample, in its order), as (frames, height, width, 3).\"\"\"
    wanted, frames = set(indices), {}
    with av.open(path) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in wanted:
                frames[index] = frame.to_ndarray(format="rgb24")
            if len(frames) == len(wanted):
                break
    return np.stack([frames[index] for index in indices])

"""


def _metadata_code(metadata) -> str:
    values = {name: getattr(metadata, name) for name in ("total_num_frames", "fps", "duration", "width", "height")}
    arguments = ", ".join(f"{name}={value!r}" for name, value in values.items())
    return f"VideoMetadata({arguments}, frames_indices={list(metadata.frames_indices)!r})"


def transformers_script(model_id: str, revision: str | None, dtype: str, device: str,
                        messages: list[dict[str, Any]], calls: dict[str, dict[str, Any]]) -> str:
    template = dict(calls["apply_chat_template"])
    processor_kwargs = template.get("processor_kwargs", {})
    videos = list(processor_kwargs.get("video_metadata") or ())
    template["processor_kwargs"] = {name: value for name, value in processor_kwargs.items()
                                    if name not in APP_ONLY_PROCESSOR_KWARGS}
    named = _with_file_names(messages)
    calls_of_videos = []
    for message in named:  # each video item: its frames, read by the helper above
        for item in message["content"] if not isinstance(message["content"], str) else ():
            if item.get("type") == "video" and videos:
                metadata = videos[len(calls_of_videos)]
                calls_of_videos.append(f"frames_of({item.pop('path')!r}, {list(metadata.frames_indices)!r})")
                item["video"] = f"@@video{len(calls_of_videos) - 1}@@"
    messages_code = pformat(named, width=100, sort_dicts=False)
    for index, call in enumerate(calls_of_videos):
        messages_code = messages_code.replace(f"'@@video{index}@@'", call)
    template_code = pformat(template, width=100, sort_dicts=False)
    if videos:  # the frames are the demo's sample already: the processor stacks and slices them
        template_code = template_code.replace(
            "'processor_kwargs': {", "'processor_kwargs': {'video_metadata': [" +
            ", ".join(_metadata_code(metadata) for metadata in videos) + "], 'do_sample_frames': False, ", 1)
    dtype_name = dtype.removeprefix("torch.")
    generate = calls["generate"]
    sampled = generate.get("do_sample", False)
    seed = "torch.manual_seed(0)  # sampling: a reply drawn with the same settings, not the same one\n" if sampled \
        else ""
    # (no "coding:" in the first two lines: Python would read it as the file's encoding)
    return f'''# A reply of the MiniCPM-V 4.6 demo, reproduced with transformers.
# {"Sampling, seeded" if sampled else "Greedy: on the same checkpoint, dtype and device it prints the same reply"}.
# The files named in `messages` are expected beside this script.
import torch
from transformers import AutoModelForImageTextToText, AutoProcessor
{READ_FRAMES if videos else ""}
MODEL = {model_id!r}
REVISION = {revision!r}

messages = {messages_code}

processor = AutoProcessor.from_pretrained(MODEL, revision=REVISION)
model = AutoModelForImageTextToText.from_pretrained(MODEL, revision=REVISION, dtype=torch.{dtype_name},
                                                    device_map={device!r})
inputs = processor.apply_chat_template(messages, **{template_code}).to(model.device)
{seed}output = model.generate(**inputs, **{pformat(generate, width=100, sort_dicts=False)})
print(processor.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True))
'''


def _question(messages: list[dict[str, Any]]) -> tuple[str, list[str]]:
    """The last question's text and file names."""
    content = messages[-1]["content"]
    if isinstance(content, str):
        return content, []
    text = "\n".join(item["text"] for item in content if item.get("type") == "text")
    return text, [os.path.basename(item["path"]) for item in content if "path" in item]


def _settings(calls: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The ``/chat`` settings the calls were made with (their names are the settings')."""
    template = calls["apply_chat_template"]
    processor = {name: value for name, value in template.get("processor_kwargs", {}).items()
                 if name not in APP_ONLY_PROCESSOR_KWARGS}
    return {**processor, **calls["generate"], "enable_thinking": template.get("enable_thinking", False)}


def gradio_client_call(messages: list[dict[str, Any]], calls: dict[str, dict[str, Any]]) -> str:
    """The same question to this server's ``/chat`` (the files beside the script)."""
    text, files = _question(messages)
    kinds = [item["type"] for item in messages[-1]["content"] if "path" in item] if files else []
    modality = "video" if "video" in kinds else "multi-image" if len(files) > 1 else "image"
    system = [message["content"] for message in messages if message["role"] == "system"]
    turns = len(messages) - len(system)
    earlier = "" if turns == 1 else "\n# earlier turns: pass the `history` an earlier /chat reply returned"
    settings = {"system_prompt": system[0]} if system else {}
    return f'''from gradio_client import Client, handle_file

client = Client("http://127.0.0.1:7860/", verbose=False)  # this server's address{earlier}
settings = {pformat(settings | _settings(calls), width=100, sort_dicts=False)}
last = client.predict({text!r}, [{", ".join(f"handle_file({name!r})" for name in files)}], {modality!r}, None,
                      settings, api_name="/chat")
print(last["answer"])
'''


def vllm_curl(model_id: str, messages: list[dict[str, Any]], calls: dict[str, dict[str, Any]]) -> str:
    """The same request to a vLLM server's chat completions, the processor settings in ``mm_processor_kwargs``."""
    settings = _settings(calls)
    sent = []
    for message in messages:
        content = message["content"]
        if isinstance(content, str):
            sent.append({"role": message["role"], "content": content})
            continue
        parts = []
        for item in content:
            if item.get("type") == "text":
                parts.append({"type": "text", "text": item["text"]})
            elif "path" in item:
                kind = "video_url" if item["type"] == "video" else "image_url"
                name = os.path.basename(item["path"])
                parts.append({"type": kind, kind: {"url": f"@@{name}@@"}})
        sent.append({"role": message["role"], "content": parts})
    body = {"model": model_id, "messages": sent, "max_tokens": settings.pop("max_new_tokens"),
            "temperature": settings.pop("temperature") if settings.pop("do_sample") else 0.0,
            "chat_template_kwargs": {"enable_thinking": settings.pop("enable_thinking")},
            "mm_processor_kwargs": {name: settings.pop(name) for name in
                                    ("downsample_mode", "max_slice_nums", "use_image_id", "max_num_frames",
                                     "stack_frames") if name in settings}}
    body.update({name: value for name, value in settings.items() if name in ("top_p", "top_k",
                                                                            "repetition_penalty")})
    text = json.dumps(body, ensure_ascii=False, indent=1)
    # an unquoted here-document: the shell fills in each file as base64, and nothing else of the JSON
    text = text.replace("\\", "\\\\").replace("$", "\\$").replace("`", "\\`")
    names = list(dict.fromkeys(re.findall(r'"@@(.+?)@@"', text)))
    for index, name in enumerate(names):
        text = text.replace(f'"@@{name}@@"', f'"data:{_mime(name)};base64,${{FILE_{index}}}"')
    reads = "".join(f"FILE_{index}=$(base64 -w0 {shlex.quote(name)})\n" for index, name in enumerate(names))
    return (f"# the same request to a vLLM server (vllm serve {model_id}), the files beside this script\n{reads}"
            "curl http://localhost:8000/v1/chat/completions -H 'Content-Type: application/json' -d @- <<JSON\n"
            f"{text}\nJSON\n")


def _mime(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"
