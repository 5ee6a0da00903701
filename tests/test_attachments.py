"""Telling photos from playlists by name, declared type and first bytes."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from moosic_core.attachments import claimed_kind, image_format, kind_of, looks_like_text


def encoded(fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 120, 40)).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def heif_bytes() -> bytes:
    import pillow_heif

    buffer = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (64, 64), (10, 200, 30))).save(buffer, quality=50)
    return buffer.getvalue()


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + b"\x00\x00\x00\x08meta"


@pytest.mark.parametrize("fmt, expected", [
    ("JPEG", "jpeg"), ("PNG", "png"), ("GIF", "gif"), ("WEBP", "webp"), ("BMP", "bmp"),
    ("TIFF", "tiff"), ("AVIF", "heif")])
def test_real_encoded_images_are_recognised_by_their_bytes(fmt: str, expected: str) -> None:
    data = encoded(fmt)
    assert image_format(data) == expected
    for name, mime in [("image0", None), ("", "application/octet-stream"),
                       ("photo.dat", ""), ("upload", "text/plain")]:
        assert kind_of(data, name, mime) == "image"


def test_a_real_heic_from_pillow_heif_is_an_image() -> None:
    data = heif_bytes()
    assert image_format(data) == "heif"
    assert kind_of(data, "IMG_0001", "application/octet-stream") == "image"


@pytest.mark.parametrize("brands", [
    (b"heic", b"mif1"), (b"mif1", b"heix"), (b"msf1", b"hevc"), (b"heix",), (b"avif", b"mif1"),
    (b"avis",), (b"mif1",)])
def test_heif_family_brands(brands: tuple[bytes, ...]) -> None:
    assert image_format(ftyp(*brands)) == "heif"


def test_video_and_text_that_look_alike_are_not_images() -> None:
    assert image_format(ftyp(b"isom", b"mp42")) is None  # an MP4 video
    assert image_format(b"BMI,Track Name,Artist Name(s)\nx,y,z\n") is None  # not a bitmap
    assert image_format(b"%PDF-1.7\n") is None
    assert image_format(b"") is None


def test_claims_before_download() -> None:
    assert claimed_kind("selfie.JPG", "application/octet-stream") == "image"
    assert claimed_kind("IMG_1234.HEIC", None) == "image"
    assert claimed_kind("liked.csv", "application/octet-stream") == "playlist"
    assert claimed_kind("image0", None) == "unknown"
    assert claimed_kind("image0", "application/octet-stream") == "unknown"
    assert claimed_kind("", "") == "unknown"
    assert claimed_kind("export", "text/csv; charset=utf-8") == "playlist"
    assert claimed_kind("photo", "image/png") == "image"
    assert claimed_kind("me.jpg", "application/pdf") == "image"  # a wrong type: the name wins
    assert claimed_kind("cv.pdf", "application/pdf") == "other"
    assert claimed_kind("clip", "video/mp4") == "other"


def test_text_is_a_playlist_unless_it_claims_to_be_a_photo() -> None:
    csv = b"Track Name,Artist Name(s)\nSong,Band\n"
    assert kind_of(csv, "export", "application/octet-stream") == "playlist"
    assert kind_of("\ufeffTrack Name;Artist Name(s)\n".encode("utf-16"), "x", None) == "playlist"
    assert kind_of(csv, "me.jpg", "image/jpeg") is None  # text called a photo: neither
    assert kind_of(b"\x00\x01\x02binary", "blob", None) is None
    assert not looks_like_text(b"   \n")


def test_an_empty_file_is_what_it_claims_so_the_answer_says_it_is_empty() -> None:
    assert kind_of(b"", "liked.csv", None) == "playlist"
    assert kind_of(b"  \r\n", "export", "text/csv") == "playlist"
    assert kind_of(b"", "me.jpg", None) == "image"
    assert kind_of(b"", "blob", "application/octet-stream") is None
    assert kind_of(b"", "clip.mp4", "video/mp4") is None
