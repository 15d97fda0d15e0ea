"""Open what users upload: images with Pillow, videos with PyAV. Knows nothing of Gradio.

Every problem a user can cause raises ``MediaError`` with a message that says what was wrong and
what to do about it.
"""

from minicpm_demo.media.images import LoadedImage, load_image
from minicpm_demo.media.kinds import detect_kind, load_readers
from minicpm_demo.media.limits import MB, Cancelled, MediaError, MediaLimits, describe_duration, never
from minicpm_demo.media.sampling import SampledVideo
from minicpm_demo.media.video import VideoInfo, probe_video, sample_video

__all__ = ["MB", "Cancelled", "LoadedImage", "MediaError", "MediaLimits", "SampledVideo", "VideoInfo",
           "describe_duration", "detect_kind", "load_image", "load_readers", "never", "probe_video", "sample_video"]
