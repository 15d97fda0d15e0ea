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


def pdf_renders(media) -> dict[str, list[tuple[int, float]]]:
    """Each PDF's pages given to the model, by file name: (page number from 1, the scale it was rendered at)."""
    renders: dict[str, list[tuple[int, float]]] = {}
    for given in media:
        if given.page is not None and (given.page, given.scale) not in renders.setdefault(given.name, []):
            renders[given.name].append((given.page, given.scale))
    return renders


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

# The pages of each PDF as the demo gave them: rendered with pdfium, as the demo does, at the demo's scale.
READ_PAGES = """import pypdfium2


def pages_of(path, renders):
    \"\"\"The PDF's pages as the demo rendered them: for each (page number from 1, pixels per point), the page on white
    with its forms filled in, as an RGB picture.\"\"\"
    document = pypdfium2.PdfDocument(path)
    document.init_forms()
    return [document[number - 1].render(scale=scale).to_pil() for number, scale in renders]

"""


def _metadata_code(metadata) -> str:
    values = {name: getattr(metadata, name) for name in ("total_num_frames", "fps", "duration", "width", "height")}
    arguments = ", ".join(f"{name}={value!r}" for name, value in values.items())
    return f"VideoMetadata({arguments}, frames_indices={list(metadata.frames_indices)!r})"


def transformers_script(model_id: str, revision: str | None, dtype: str, device: str,
                        messages: list[dict[str, Any]], calls: dict[str, dict[str, Any]], media=()) -> str:
    """The script; ``media`` (``Prepared.media``) says which pages of each PDF were rendered, and how."""
    template = dict(calls["apply_chat_template"])
    processor_kwargs = template.get("processor_kwargs", {})
    videos = list(processor_kwargs.get("video_metadata") or ())
    template["processor_kwargs"] = {name: value for name, value in processor_kwargs.items()
                                    if name not in APP_ONLY_PROCESSOR_KWARGS}
    named = _with_file_names(messages)
    pdfs = pdf_renders(media)
    calls_of_videos = []
    for message in named:  # each video item: its frames; each PDF: its pages; read by the helpers above
        if isinstance(message["content"], str):
            continue
        content = []
        for item in message["content"]:
            if item.get("type") == "video" and videos:
                metadata = videos[len(calls_of_videos)]
                calls_of_videos.append(f"frames_of({item.pop('path')!r}, {list(metadata.frames_indices)!r})")
                item["video"] = f"@@video{len(calls_of_videos) - 1}@@"
            if item.get("type") == "image" and item.get("path") in pdfs:
                number = list(pdfs).index(item["path"])
                content += [{"type": "image", "image": f"@@pdf{number}-{page}@@"}
                            for page in range(len(pdfs[item["path"]]))]
                continue
            content.append(item)
        message["content"] = content
    messages_code = pformat(named, width=100, sort_dicts=False)
    for index, call in enumerate(calls_of_videos):
        messages_code = messages_code.replace(f"'@@video{index}@@'", call)
    pages_code = ""
    for number, (name, renders) in enumerate(pdfs.items()):
        for page in range(len(renders)):
            messages_code = messages_code.replace(f"'@@pdf{number}-{page}@@'", f"PAGES_{number}[{page}]")
        pages_code += f"PAGES_{number} = pages_of({name!r}, {renders!r})\n"
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
{READ_FRAMES if videos else ""}{READ_PAGES if pdfs else ""}
MODEL = {model_id!r}
REVISION = {revision!r}

{pages_code}messages = {messages_code}

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


def vllm_curl(model_id: str, messages: list[dict[str, Any]], calls: dict[str, dict[str, Any]], media=()) -> str:
    """The same request to a vLLM server's chat completions, the processor settings in ``mm_processor_kwargs``; a
    PDF's pages as the PNG pictures the script renders first (``media`` says which, and how)."""
    settings = _settings(calls)
    pdfs = pdf_renders(media)
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
                names = [f"{name}.page-{page}.png" for page, _ in pdfs[name]] if name in pdfs else [name]
                parts += [{"type": kind, kind: {"url": f"@@{each}@@"}} for each in names]
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
    return (f"# the same request to a vLLM server (vllm serve {model_id}), the files beside this script\n"
            f"{_pages_as_png(pdfs)}{reads}"
            "curl http://localhost:8000/v1/chat/completions -H 'Content-Type: application/json' -d @- <<JSON\n"
            f"{text}\nJSON\n")


def _pages_as_png(pdfs: dict[str, list[tuple[int, float]]]) -> str:
    """Shell lines that write each PDF page given as a PNG file beside the script, rendered as the demo did."""
    if not pdfs:
        return ""
    return ("python3 - <<'PY'  # the PDF pages the demo gave, as it rendered them (pip install pypdfium2)\n"
            "import pypdfium2\n\n"
            f"for name, renders in {pdfs!r}.items():\n"
            "    document = pypdfium2.PdfDocument(name)\n"
            "    document.init_forms()\n"
            "    for number, scale in renders:\n"
            "        document[number - 1].render(scale=scale).to_pil().save(f'{name}.page-{number}.png')\n"
            "PY\n")


def _mime(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"
