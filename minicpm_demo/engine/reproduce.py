"""A reply as code that gives it again outside the demo: a self-contained transformers script with the exact
``apply_chat_template`` and ``generate`` keyword arguments the app used (greedy: the same reply, token for token,
on the same checkpoint, dtype and device)."""

from __future__ import annotations

import os
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
