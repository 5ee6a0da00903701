"""Photos a user might send, good and bad: each bad one gets its own clear, typed error."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from moosic_core.config import load_config
from moosic_core.errors import (
    AnimatedImage,
    CorruptImage,
    EmptyImage,
    FaceTooSmall,
    ImageRejected,
    ImageTooLarge,
    NoFaceFound,
    NotAnImage,
)
from moosic_core.mood.image import decode_image
from moosic_core.mood.reader import FaceMoodReader, model_path


@pytest.fixture(scope="module")
def reader() -> FaceMoodReader:
    return FaceMoodReader(model_path(load_config(env={}).paths.models_dir))


def jpeg(img: np.ndarray, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=90, **kwargs)
    return buf.getvalue()


def astronaut(width: int) -> np.ndarray:
    return cv2.resize(data.astronaut(), (width, width), interpolation=cv2.INTER_AREA)


def texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(90, 170, (h // 20 + 1, w // 20 + 1, 3)).astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height but which holds almost no data (a bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def test_selfie_is_read(reader: FaceMoodReader) -> None:
    faces = reader.read(jpeg(astronaut(512)))
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    # the astronaut's face is in the upper middle of the picture
    assert 150 <= x + w / 2 <= 300 and 60 <= y + h / 2 <= 200 and 80 <= w <= 200
    assert 0.0 <= faces[0].mood_score <= 1.0
    assert set(faces[0].emotions) == {"angry", "disgust", "fear", "happy", "neutral", "sad",
                                      "surprise"}
    assert sum(faces[0].emotions.values()) == pytest.approx(1.0, abs=1e-3)
    assert faces[0].valence is not None and -1 <= faces[0].valence <= 1


def test_smiling_astronaut_reads_happy(reader: FaceMoodReader) -> None:
    face = reader.read(jpeg(astronaut(512)))[0]
    assert face.mood_score > 0.5
    assert max(face.emotions, key=lambda e: face.emotions[e]) == "happy"


def test_grey_png_works_too(reader: FaceMoodReader) -> None:
    grey = cv2.cvtColor(astronaut(600), cv2.COLOR_RGB2GRAY)
    buf = io.BytesIO()
    Image.fromarray(grey).save(buf, format="PNG")
    assert len(reader.read(buf.getvalue())) == 1


def test_empty_file() -> None:
    with pytest.raises(EmptyImage) as info:
        decode_image(b"")
    assert "empty" in info.value.user_message


def test_not_an_image() -> None:
    with pytest.raises(NotAnImage):
        decode_image(b"%PDF-1.7 this is a document, not a photo\n" * 20)


def test_truncated_jpeg() -> None:
    whole = jpeg(astronaut(512))
    with pytest.raises(CorruptImage):
        decode_image(whole[: len(whole) // 2])


def test_corrupt_jpeg_body() -> None:
    whole = bytearray(jpeg(astronaut(512)))
    body = bytes(whole[:600]) + bytes(np.random.default_rng(1).integers(0, 256, 4000,
                                                                         dtype=np.uint8))
    with pytest.raises(ImageRejected):
        decode_image(body)


def test_animated_gif() -> None:
    frames = [Image.fromarray(astronaut(128)), Image.fromarray(astronaut(128)[::-1].copy())]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    with pytest.raises(AnimatedImage):
        decode_image(buf.getvalue())


def test_still_gif_is_fine(reader: FaceMoodReader) -> None:
    buf = io.BytesIO()
    Image.fromarray(astronaut(512)).save(buf, format="GIF")
    assert len(reader.read(buf.getvalue())) == 1


def test_decompression_bomb_rejected_from_header_without_memory() -> None:
    bomb = png_header_only(40_000, 40_000)  # 1.6 gigapixels, 4.8 GB decoded
    assert len(bomb) < 200
    tracemalloc.start()
    try:
        with pytest.raises(ImageTooLarge):
            decode_image(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


def test_oversized_file_rejected() -> None:
    with pytest.raises(ImageTooLarge):
        decode_image(b"\xff\xd8\xff" + b"\x00" * 100, max_bytes=50)


def test_no_face(reader: FaceMoodReader) -> None:
    with pytest.raises(NoFaceFound) as info:
        reader.read(jpeg(data.coffee()))
    assert not isinstance(info.value, FaceTooSmall)


def test_face_too_small(reader: FaceMoodReader) -> None:
    canvas = texture(480, 640)
    canvas[100:240, 300:440] = astronaut(140)  # face about 30 px wide
    with pytest.raises(FaceTooSmall) as info:
        reader.read(jpeg(canvas))
    assert "too small" in info.value.user_message


def test_exif_rotation_is_applied(reader: FaceMoodReader) -> None:
    upright = astronaut(512)
    stored = np.ascontiguousarray(np.rot90(upright))  # camera stored it on its side
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    buf = io.BytesIO()
    Image.fromarray(stored).save(buf, format="JPEG", exif=exif, quality=90)
    faces = reader.read(buf.getvalue())  # EXIF honoured: boxes in the upright photo's pixels
    direct = reader.read(jpeg(upright))
    assert len(faces) == 1
    assert np.allclose(faces[0].box, direct[0].box, atol=12)
    assert abs(faces[0].mood_score - direct[0].mood_score) < 0.1


def test_large_photo_boxes_in_original_pixels(reader: FaceMoodReader) -> None:
    small = reader.read(jpeg(cv2.resize(astronaut(512), (640, 480))))[0]
    big = reader.read(jpeg(cv2.resize(astronaut(512), (4000, 3000))))[0]
    ratio = 4000 / 640
    assert np.allclose(np.array(big.box) / ratio, small.box, atol=8)
    assert abs(big.mood_score - small.mood_score) < 0.15


def test_several_faces_largest_first(reader: FaceMoodReader) -> None:
    canvas = texture(700, 1100, seed=3)
    canvas[250:700, 0:450] = astronaut(450)  # smaller person, bottom left
    canvas[50:650, 500:1100] = astronaut(600)  # larger person, top right
    faces = reader.read(jpeg(canvas))
    assert len(faces) == 2
    assert faces[0].box[2] > faces[1].box[2]
    assert faces[0].box[0] > 500 and faces[1].box[0] < 450


def test_photo_never_touches_disk(reader: FaceMoodReader, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    written: list[str] = []
    real_open = open

    def spy_open(file: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        if any(m in mode for m in "wax+"):
            written.append(str(file))
        return real_open(file, mode, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", spy_open)
    reader.read(jpeg(astronaut(512)))
    assert written == []
    assert list(tmp_path.iterdir()) == []
