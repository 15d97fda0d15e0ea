"""Regenerate the page's example files in minicpm_demo/assets/ (all drawn here; no third-party content).

    python -m devtools.make_assets
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

# Inside the package, so an installed app serves the same examples as a checkout.
OUT = Path(__file__).resolve().parents[1] / "minicpm_demo" / "assets"


def bar_chart(path: Path) -> None:
    image = Image.new("RGB", (640, 420), "white")
    draw = ImageDraw.Draw(image)
    draw.text((20, 12), "Visitors per weekday", fill="black")
    values = {"Mon": 120, "Tue": 180, "Wed": 90, "Thu": 240, "Fri": 300}
    for index, (label, value) in enumerate(values.items()):
        left = 60 + index * 110
        draw.rectangle([left, 380 - value, left + 70, 380], fill=(40 + index * 40, 110, 200 - index * 30))
        draw.text((left + 20, 386), label, fill="black")
        draw.text((left + 22, 362 - value), str(value), fill="black")
    draw.line([50, 380, 620, 380], fill="black", width=2)
    image.save(path, optimize=True)


def street_sign(path: Path, text: str, colour: tuple[int, int, int]) -> None:
    image = Image.new("RGB", (480, 360), (150, 200, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 260, 480, 360], fill=(90, 160, 80))
    draw.rectangle([232, 140, 248, 300], fill=(90, 90, 90))
    draw.rounded_rectangle([120, 60, 360, 150], radius=12, fill=colour, outline="white", width=4)
    draw.text((150, 95), text, fill="white")
    image.save(path, optimize=True)


def bouncing_ball(path: Path, seconds: int = 4, fps: int = 12) -> None:
    width, height = 320, 240
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"crf": "30"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(seconds * fps):
            progress = index / (seconds * fps)
            image = Image.new("RGB", (width, height), (235, 235, 220))
            draw = ImageDraw.Draw(image)
            x = int(20 + progress * (width - 80))
            y = int(height - 60 - abs(np.sin(progress * 3 * np.pi)) * 150)
            draw.ellipse([x, y, x + 40, y + 40], fill=(220, 60, 40))
            draw.text((10, 10), f"t = {index / fps:.1f} s", fill="black")
            for packet in stream.encode(av.VideoFrame.from_image(image)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


if __name__ == "__main__":
    bar_chart(OUT / "chart.png")
    street_sign(OUT / "sign-stop.png", "STOP HERE", (200, 30, 30))
    street_sign(OUT / "sign-go.png", "GO AHEAD", (30, 140, 60))
    bouncing_ball(OUT / "ball.mp4")
