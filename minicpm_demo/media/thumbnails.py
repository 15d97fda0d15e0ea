"""Small pictures of what the model was given: each video frame, and each image with the grid its slices were cut
along. Made from the frames and pictures already prepared (never a second decode), by striding, not resampling."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

FRAME_SIDE = 160  # a filmstrip's frames
IMAGE_SIDE = 320  # an image with its slices


def _strided(array: np.ndarray, side: int) -> Image.Image:
    """``array`` (height, width, 3) shrunk to at most ``side`` pixels on its longer side by keeping every n-th."""
    step = max(1, -(-max(array.shape[:2]) // side))
    return Image.fromarray(np.ascontiguousarray(array[::step, ::step]))


def frame_thumbnails(frames: np.ndarray) -> list[Image.Image]:
    """One small picture per frame of ``frames`` (frames, height, width, 3), in their order."""
    return [_strided(frame, FRAME_SIDE) for frame in frames]


def sliced_view(image: Image.Image, grid: tuple[int, int] | None) -> Image.Image:
    """``image`` small, with the lines of a ``grid`` of (rows, columns) slices drawn over it."""
    view = image.copy()
    view.thumbnail((IMAGE_SIDE, IMAGE_SIDE))
    if grid:
        rows, columns = grid
        draw = ImageDraw.Draw(view)
        width, height = view.size
        for column in range(1, columns):
            draw.line([(column * width // columns, 0), (column * width // columns, height)], fill="#facc15", width=2)
        for row in range(1, rows):
            draw.line([(0, row * height // rows), (width, row * height // rows)], fill="#facc15", width=2)
    return view
