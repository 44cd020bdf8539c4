"""Camera and screen-share frames -> JPEG images on the wire, at a rate the model can use.

The Live API looks at about one image a second; a 30 fps camera would spend bandwidth, tokens and
CPU for nothing. :class:`FramePacer` decides which frames go (more while the user speaks, fewer
when idle), :func:`encode_jpeg` resizes and encodes one (off the event loop: the service runs it
in a thread, and Pillow releases the GIL while it works).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from pipecat_gemini_live.errors import ConfigurationError

# Pipecat frame formats -> (Pillow mode, raw decoder mode).
_RAW_MODES = {
    "RGB": ("RGB", "RGB"),
    "RGBA": ("RGBA", "RGBA"),
    "RGBX": ("RGB", "RGBX"),
    "BGR": ("RGB", "BGR"),
    "BGRA": ("RGBA", "BGRA"),
    "BGRX": ("RGB", "BGRX"),
    "L": ("L", "L"),
    "GRAY": ("L", "L"),
}


class ImageFormatError(ValueError):
    """An image frame that cannot be turned into a picture (unknown format, wrong length)."""


@dataclass(frozen=True)
class VideoSettings:
    """How camera or screen frames reach the model.

    Attributes:
        speaking_fps: images per second while the user speaks (what they show as they talk).
        idle_fps: images per second otherwise (the scene still changes, but slowly matters less).
        max_size: longest side in pixels; larger frames are scaled down (the model works at 768).
        jpeg_quality: 1-95.
    """

    speaking_fps: float = 1.0
    idle_fps: float = 0.3
    max_size: int = 768
    jpeg_quality: int = 80

    def __post_init__(self) -> None:
        for name in ("speaking_fps", "idle_fps"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 < value <= 10):
                raise ConfigurationError(
                    f"VideoSettings.{name} must be above 0 and at most 10 frames per second "
                    f"(the model samples about 1), got {value!r}."
                )
        if not (isinstance(self.max_size, int) and 64 <= self.max_size <= 4096):
            raise ConfigurationError(
                f"VideoSettings.max_size must be 64-4096 pixels, got {self.max_size!r}."
            )
        if not (isinstance(self.jpeg_quality, int) and 1 <= self.jpeg_quality <= 95):
            raise ConfigurationError(
                f"VideoSettings.jpeg_quality must be 1-95, got {self.jpeg_quality!r}."
            )


class FramePacer:
    """Lets a frame through when enough time has passed for the current rate."""

    def __init__(self, settings: VideoSettings) -> None:
        self.settings = settings
        self._last_sent = -math.inf

    def should_send(self, now: float, *, user_speaking: bool) -> bool:
        fps = self.settings.speaking_fps if user_speaking else self.settings.idle_fps
        if now - self._last_sent >= 1.0 / fps:
            self._last_sent = now
            return True
        return False


def encode_jpeg(
    image: bytes, size: tuple[int, int], image_format: str | None, settings: VideoSettings
) -> bytes:
    """One frame -> a JPEG no larger than ``settings.max_size`` on its longest side.

    Raw pixel formats (RGB, RGBA, BGR, BGRA, L, ...) and already-encoded images (JPEG, PNG, ...)
    are accepted; anything else raises :class:`ImageFormatError` saying what was wrong.
    """
    from PIL import Image, UnidentifiedImageError

    name = (image_format or "RGB").upper()
    if name in _RAW_MODES:
        mode, raw_mode = _RAW_MODES[name]
        width, height = size
        expected = width * height * len(raw_mode)
        if width <= 0 or height <= 0 or len(image) != expected:
            raise ImageFormatError(
                f"a {name} frame of {width}x{height} needs {expected} bytes, got {len(image)}."
            )
        picture = Image.frombuffer(mode, (width, height), image, "raw", raw_mode, 0, 1)
    else:
        try:
            picture = Image.open(io.BytesIO(image))
            picture.load()
        except (UnidentifiedImageError, OSError) as error:
            raise ImageFormatError(
                f"image format {image_format!r} is neither raw pixels "
                f"({', '.join(_RAW_MODES)}) nor an encoded image Pillow can read: {error}"
            ) from None
    if picture.mode not in ("RGB", "L"):
        picture = picture.convert("RGB")
    if max(picture.size) > settings.max_size:
        picture.thumbnail((settings.max_size, settings.max_size), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=settings.jpeg_quality)
    return out.getvalue()
