"""Open what users upload: images with Pillow, PDF pages with pdfium, videos with PyAV. Knows nothing of Gradio.

Every problem a user can cause raises ``MediaError`` with a message that says what was wrong and
what to do about it.
"""

from minicpm_demo.media.frames import SampledVideo
from minicpm_demo.media.images import LoadedImage, load_image
from minicpm_demo.media.kinds import detect_kind, load_readers
from minicpm_demo.media.limits import MB, MediaError, MediaLimits, RequestBudget, describe_duration
from minicpm_demo.media.pdf import RenderedPdf, is_pdf, pdf_pages, render_pdf
from minicpm_demo.media.video import VideoInfo, probe_video, sample_video

__all__ = ["MB", "LoadedImage", "MediaError", "MediaLimits", "RenderedPdf", "RequestBudget", "SampledVideo",
           "VideoInfo", "describe_duration", "detect_kind", "is_pdf", "load_image", "load_readers", "pdf_pages",
           "probe_video", "render_pdf", "sample_video"]
