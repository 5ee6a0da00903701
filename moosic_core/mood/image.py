"""Decode and validate a photo held in memory (bytes -> grey numpy image).

Checks happen in the cheapest order: size of the bytes, the header (format, frames, pixel
count: Pillow's ``Image.open`` reads only the header, so a decompression bomb is refused before
any pixel is decoded), then the decode itself (truncated or corrupt data). EXIF orientation is
applied. Large JPEGs are decoded at a reduced scale by libjpeg (``draft``), which is both faster
and lighter; the scale back to original pixels is kept so that face boxes are reported in the
coordinates of the upright original. Nothing is written to disk.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from moosic_core.errors import (
    AnimatedImage,
    CorruptImage,
    EmptyImage,
    ImageTooLarge,
    NotAnImage,
)

log = logging.getLogger(__name__)

# HEIC/HEIF (iPhone photos) through the pillow-heif plug-in; it reads the header on open and
# decodes on load, like Pillow's own formats, so the header checks below apply before decoding.
# AVIF is Pillow's own (Pillow >= 11.2 built with libavif).
register_heif_opener()

MAX_BYTES = 25 * 1024 * 1024  # Telegram bots download at most 20 MB; a little headroom
MAX_PIXELS = 50_000_000  # 50 MP: every phone's default photo size, well under a bomb
MAX_SIDE = 20_000
ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "BMP", "GIF", "TIFF", "AVIF",
                              "HEIF"})
# Formats whose first frame is the photo although the file holds more images: MPO (a phone JPEG
# with an embedded preview) and HEIF (an iPhone HEIC: the primary image first, burst or edited
# variants after it).
PRIMARY_FIRST_FORMATS = frozenset({"MPO", "HEIF"})
# Modes with more than 8 bits per pixel (16-bit grey PNG/TIFF "I;16*", 32-bit integer "I",
# 32-bit float "F"): scaled to 8 bits by their own range (Pillow's convert("L") would clip).
HIGH_BIT_DEPTH_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})
#: JPEGs are decoded at no less than this many pixels on the long side (then 1/2, 1/4, 1/8).
DECODE_LONG_SIDE = 1280


@dataclass(frozen=True)
class DecodedImage:
    """An upright grey image and how it maps back to the original photo's pixels."""

    grey: npt.NDArray[np.uint8]
    original_size: tuple[int, int]  # (width, height) of the upright original

    @property
    def scale(self) -> float:
        """Original pixels per decoded pixel (>= 1 when decoded at a reduced scale)."""
        return self.original_size[0] / self.grey.shape[1]


def decode_image(data: bytes, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS,
                 decode_long_side: int = DECODE_LONG_SIDE) -> DecodedImage:
    """Validate and decode a photo; raises an :class:`ImageRejected` subclass when unusable."""
    if not data:
        raise EmptyImage()
    if len(data) > max_bytes:
        raise ImageTooLarge(detail=f"{len(data)} bytes > {max_bytes}")
    try:
        im = Image.open(io.BytesIO(data))  # reads the header only
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        if isinstance(exc, UnidentifiedImageError):
            raise NotAnImage() from None
        raise ImageTooLarge(detail=str(exc)) from None
    except (OSError, ValueError, SyntaxError) as exc:  # header present but malformed
        raise CorruptImage(detail=type(exc).__name__) from None
    with im:
        if im.format not in ACCEPTED_FORMATS:
            raise NotAnImage(detail=f"format {im.format}")
        # MPO = a phone JPEG with an embedded preview: frame 0 is the photo
        if im.format not in PRIMARY_FIRST_FORMATS and (getattr(im, "is_animated", False)
                                   or getattr(im, "n_frames", 1) > 1):
            raise AnimatedImage()
        width, height = im.size
        if width <= 0 or height <= 0:
            raise CorruptImage(detail="zero size")
        if width * height > max_pixels or max(width, height) > MAX_SIDE:
            raise ImageTooLarge(detail=f"{width}x{height}")
        if im.format in {"JPEG", "MPO"} and max(width, height) > decode_long_side:
            ratio = max(width, height) / decode_long_side
            im.draft("L", (int(width / ratio), int(height / ratio)))
        try:
            im.load()
            upright = _upright(im)
            grey = _to_grey(upright)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise CorruptImage(detail=f"{type(exc).__name__}: {exc}") from None
    arr = np.asarray(grey, dtype=np.uint8)
    if arr.ndim != 2 or arr.size == 0:
        raise CorruptImage(detail="no pixels")
    if upright.size != im.size:  # EXIF orientation 5-8 turned it a quarter
        width, height = height, width
    return DecodedImage(grey=np.ascontiguousarray(arr), original_size=(width, height))


def _to_grey(im: Image.Image) -> Image.Image:
    """8-bit grey ("L") of any mode. High-bit-depth modes (:data:`HIGH_BIT_DEPTH_MODES`) are
    scaled linearly from their own darkest to brightest pixel to 0..255, so a 16-bit photo (or
    a 12-bit one stored in 16 bits) keeps its contrast instead of being clipped to white; a
    flat image becomes black."""
    if im.mode not in HIGH_BIT_DEPTH_MODES:
        return im.convert("L")
    values = np.asarray(im, dtype=np.float64)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    span = high - low
    scaled = (np.nan_to_num(values, nan=low, posinf=high, neginf=low) - low) * (
        255.0 / span if span > 0 else 0.0)
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), mode="L")


def _upright(im: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a broken EXIF block must not lose an otherwise good photo."""
    try:
        return ImageOps.exif_transpose(im)
    except Exception:
        log.debug("unreadable EXIF orientation; using the image as stored", exc_info=True)
        return im
