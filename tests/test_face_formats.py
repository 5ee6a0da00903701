"""Photo formats beyond 8-bit JPEG/PNG: high bit depth (scaled, not clipped), AVIF and HEIC,
each through the same header-first size checks."""

from __future__ import annotations

import io
import tracemalloc

import cv2
import numpy as np
import pytest
from PIL import Image, features
from skimage import data

from moosic_core.config import load_config
from moosic_core.errors import ImageRejected, ImageTooLarge
from moosic_core.mood.image import decode_image
from moosic_core.mood.reader import FaceMoodReader, model_path


@pytest.fixture(scope="module")
def reader() -> FaceMoodReader:
    return FaceMoodReader(model_path(load_config(env={}).paths.models_dir))


def astronaut_rgb(width: int = 512) -> np.ndarray:
    return cv2.resize(data.astronaut(), (width, width), interpolation=cv2.INTER_AREA)


def astronaut_grey(width: int = 512) -> np.ndarray:
    return cv2.cvtColor(astronaut_rgb(width), cv2.COLOR_RGB2GRAY)


def encode(img: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def png_8bit() -> bytes:
    return encode(Image.fromarray(astronaut_grey()), "PNG")


def test_16bit_grey_png_reads_like_the_8bit_one(reader: FaceMoodReader) -> None:
    grey = astronaut_grey()
    sixteen = Image.fromarray(grey.astype(np.uint16) * 257)  # full 16-bit range
    assert sixteen.mode == "I;16"
    blob = encode(sixteen, "PNG")
    assert Image.open(io.BytesIO(blob)).mode == "I;16"
    decoded = decode_image(blob).grey
    assert np.abs(decoded.astype(int) - grey.astype(int)).max() <= 1  # not clipped to white
    want, got = reader.read(png_8bit()), reader.read(blob)
    assert len(got) == len(want) == 1
    assert got[0].box == want[0].box
    assert got[0].mood_score == pytest.approx(want[0].mood_score, abs=0.02)


def test_12bit_values_in_16bit_png_use_their_own_range(reader: FaceMoodReader) -> None:
    grey = astronaut_grey()
    twelve = Image.fromarray(grey.astype(np.uint16) * 16 + 7)  # a 12-bit sensor: 7..4087
    decoded = decode_image(encode(twelve, "PNG")).grey
    assert decoded.min() <= 1
    assert decoded.max() >= 254  # stretched to the full range, not left dark
    assert len(reader.read(encode(twelve, "PNG"))) == 1


@pytest.mark.parametrize("mode", ["I", "F"])
def test_32bit_integer_and_float_tiff(mode: str, reader: FaceMoodReader) -> None:
    grey = astronaut_grey().astype(np.float64)
    values = grey * 1000.0 - 50_000.0 if mode == "I" else grey / 255.0  # negative / 0..1
    img = Image.fromarray(values.astype(np.int32 if mode == "I" else np.float32), mode=mode)
    decoded = decode_image(encode(img, "TIFF")).grey
    assert np.abs(decoded.astype(int) - astronaut_grey().astype(int)).max() <= 1
    assert len(reader.read(encode(img, "TIFF"))) == 1


def test_16bit_rgb_tiff(reader: FaceMoodReader) -> None:
    """Pillow reads 48-bit RGB TIFFs as 8-bit RGB (the high byte of each channel)."""
    rgb16 = astronaut_rgb().astype(np.uint16) * 257
    ok, blob = cv2.imencode(".tiff", cv2.cvtColor(rgb16, cv2.COLOR_RGB2BGR))
    assert ok
    decoded = decode_image(blob.tobytes()).grey
    assert np.abs(decoded.astype(int) - astronaut_grey().astype(int)).max() <= 2
    assert len(reader.read(blob.tobytes())) == 1


def test_flat_16bit_image_is_black_not_an_error() -> None:
    flat = Image.fromarray(np.full((64, 64), 40_000, np.uint16))
    assert decode_image(encode(flat, "PNG")).grey.max() == 0


def avif_bytes(img: Image.Image) -> bytes:
    if not features.check("avif"):
        pytest.fail("this Pillow has no AVIF codec: pyproject asks for pillow>=11.3")
    return encode(img, "AVIF", quality=85)


def heic_bytes(img: Image.Image) -> bytes:
    import pillow_heif

    buf = io.BytesIO()
    pillow_heif.from_pillow(img).save(buf, format="HEIF", quality=85)
    return buf.getvalue()


@pytest.mark.parametrize("encoder", [avif_bytes, heic_bytes], ids=["avif", "heic"])
def test_avif_and_heic_round_trip_read_the_face(encoder: object, reader: FaceMoodReader
                                                ) -> None:
    assert callable(encoder)
    blob = encoder(Image.fromarray(astronaut_rgb()))
    face = reader.read(blob)
    assert len(face) == 1
    want = reader.read(encode(Image.fromarray(astronaut_rgb()), "PNG"))[0]
    assert face[0].mood_score == pytest.approx(want.mood_score, abs=0.1)
    assert max(face[0].emotions, key=lambda e: face[0].emotions[e]) == "happy"


def _claim_size(blob: bytes, width: int, height: int) -> bytes:
    """The HEIF/AVIF file with every image-size ('ispe') box claiming width x height: the header
    of a decompression bomb over real (small) image data."""
    out = bytearray(blob)
    start = out.find(b"ispe")
    assert start > 0
    while start > 0:
        out[start + 8:start + 16] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
        start = out.find(b"ispe", start + 4)
    return bytes(out)


@pytest.mark.parametrize("encoder", [avif_bytes, heic_bytes], ids=["avif", "heic"])
def test_avif_and_heic_bombs_rejected_from_the_header(encoder: object) -> None:
    assert callable(encoder)
    small = encoder(Image.fromarray(astronaut_rgb(64)))
    with pytest.raises(ImageTooLarge):  # the pixel limit applies to these formats too
        decode_image(small, max_pixels=64 * 64 - 1)
    # 100 MP: over our limit, within libavif's own (which refuses 40,000 px sides when it
    # parses the header: a refusal too, as "not a photo")
    for side, refusal in ((10_000, ImageTooLarge), (40_000, ImageRejected)):
        tracemalloc.start()
        try:
            with pytest.raises(refusal):
                decode_image(_claim_size(small, side, side))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 5_000_000
