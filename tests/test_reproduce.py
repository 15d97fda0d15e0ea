"""Copy as Python: the script in a reply's stats gives the same reply outside the demo, in a fresh process."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from gradio_client import Client, handle_file


@pytest.mark.parametrize("settings", [{"downsample_mode": "16x"}, {"downsample_mode": "4x", "max_slice_nums": 4,
                                                                    "system_prompt": "Name the colours only."}])
def test_the_script_prints_the_reply_the_app_gave(app, three_images, tmp_path, settings):
    client = Client(app["url"], analytics_enabled=False, verbose=False)
    settings = {"do_sample": False, "max_new_tokens": 12, **settings}
    images = three_images[:2]
    last = client.predict("Compare them.", [handle_file(str(path)) for path in images], "multi-image", None,
                          settings, api_name="/chat")
    script = last["stats"]["python"]
    system = settings.pop("system_prompt", None)
    for name, value in settings.items():
        assert f"{name!r}: {value!r}" in script, name  # the settings' kwargs, as the app passed them
    if system:  # the first of the messages, as the app gave them to the processor
        assert f"messages = [{{'role': 'system', 'content': {system!r}}}," in script
    for path in images:
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "reply.py").write_text(script)
    ran = subprocess.run([sys.executable, "reply.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.rstrip("\n") == last["answer"]


def test_a_video_reply_is_reproduced_too(app, short_video, tmp_path):
    """The script lets the processor sample the frames itself: by the rule the app sampled them with."""
    client = Client(app["url"], analytics_enabled=False, verbose=False)
    last = client.predict("What happens?", [handle_file(str(short_video))], "video", None,
                          {"do_sample": False, "max_new_tokens": 12, "stack_frames": 2}, api_name="/chat")
    shutil.copy(short_video, tmp_path / short_video.name)
    (tmp_path / "reply.py").write_text(last["stats"]["python"])
    ran = subprocess.run([sys.executable, "reply.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.rstrip("\n") == last["answer"]


def test_the_gradio_client_call_and_the_vllm_request_carry_the_same_question(app, red_image, tmp_path):
    import base64
    import json

    client = Client(app["url"], analytics_enabled=False, verbose=False)
    question = "What's in it? $HOME `date` \\n"  # nothing here may be read by the shell
    system = "Be brief; never run `date` or read $HOME."
    settings = {"do_sample": False, "max_new_tokens": 8, "downsample_mode": "4x", "max_slice_nums": 4,
                "system_prompt": system}
    last = client.predict(question, [handle_file(str(red_image))], "image", None, settings, api_name="/chat")
    stats = last["stats"]
    assert f"'system_prompt': {system!r}" in stats["gradio_client"]
    shutil.copy(red_image, tmp_path / red_image.name)
    (tmp_path / "ask.py").write_text(stats["gradio_client"].replace("http://127.0.0.1:7860/", app["url"], 1))
    ran = subprocess.run([sys.executable, "ask.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "GRADIO_ANALYTICS_ENABLED": "False"})
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.rstrip("\n") == last["answer"], "greedy: the same reply from this server"
    # the vLLM request, with curl's part played by cat: the JSON it would send
    (tmp_path / "request.sh").write_text(stats["curl"].replace("curl http://localhost:8000/v1/chat/completions "
                                                               "-H 'Content-Type: application/json' -d @-", "cat"))
    sent = json.loads(subprocess.run(["bash", "request.sh"], cwd=tmp_path, capture_output=True, text=True,
                                     check=True).stdout)
    assert sent["messages"][0] == {"role": "system", "content": system}
    content = sent["messages"][1]["content"]
    assert content[1] == {"type": "text", "text": question}
    assert base64.b64decode(content[0]["image_url"]["url"].split(",", 1)[1]) == red_image.read_bytes()
    processor = sent["mm_processor_kwargs"]
    assert processor["downsample_mode"] == "4x" and processor["max_slice_nums"] == 4
    assert sent["max_tokens"] == 8 and sent["temperature"] == 0.0
    assert sent["chat_template_kwargs"] == {"enable_thinking": False}


def test_a_pdf_reply_is_reproduced_with_its_pages_rendered_as_the_app_rendered_them(app, tmp_path):
    import base64
    import io
    import json
    import os

    from media_corpus import pdf_of_pages
    from PIL import Image

    from minicpm_demo.media import render_pdf

    (tmp_path / "upload").mkdir()
    pdf = pdf_of_pages(tmp_path / "upload", 2)
    client = Client(app["url"], analytics_enabled=False, verbose=False)
    last = client.predict("Read it.", [handle_file(str(pdf))], "multi-image", None,
                          {"do_sample": False, "max_new_tokens": 12}, api_name="/chat")
    stats = last["stats"]
    assert "PAGES_0 = pages_of('report.pdf', [(1, " in stats["python"]
    shutil.copy(pdf, tmp_path / pdf.name)
    (tmp_path / "reply.py").write_text(stats["python"])
    ran = subprocess.run([sys.executable, "reply.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.rstrip("\n") == last["answer"]
    # the vLLM request: the pages rendered beside it first, then sent as PNG pictures (cat plays curl's part)
    request = stats["curl"].replace("curl http://localhost:8000/v1/chat/completions -H 'Content-Type: "
                                    "application/json' -d @-", "cat").replace("python3 -", f"{sys.executable} -")
    (tmp_path / "request.sh").write_text(request)
    sent = json.loads(subprocess.run(["bash", "request.sh"], cwd=tmp_path, capture_output=True, text=True,
                                     check=True, env=os.environ).stdout)
    parts = sent["messages"][0]["content"]
    assert [part["type"] for part in parts] == ["image_url", "image_url", "text"]
    for part, page in zip(parts, render_pdf(pdf).pages):
        data = base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
        assert Image.open(io.BytesIO(data)).tobytes() == page.tobytes(), "the very pixels the model was given"
