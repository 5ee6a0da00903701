"""What a file sent in a chat is: a photo, a playlist export, or neither.

One place for every adapter (Telegram documents, Discord attachments, the console): chat apps
often send a photo "as a file" with no type, ``application/octet-stream`` or a wrong one, and a
name without a suffix (``image0``, ``IMG_1234``). Two steps:

1. :func:`claimed_kind` -- before downloading: what the file's name and declared type say.
   ``"unknown"`` means neither says anything useful, so the file must be downloaded and looked at;
   ``"other"`` means they agree it is something else (a PDF, a video), so it is not downloaded.
2. :func:`kind_of` -- after downloading: the first bytes decide (magic numbers), then the claim.

The magic numbers are a small table of their own rather than a library: ``filetype`` 1.2 (the
common pure-Python choice) recognises HEIF only with the ``heic``/``mif1`` brands (not ``heix``,
``hevc``, ``heim`` ... that cameras write) and takes any file starting with ``BM`` for a bitmap,
which a CSV can. Sources, per format:

- JPEG: SOI marker ``FF D8`` followed by a marker ``FF`` (ITU-T T.81, B.1.1.3).
- PNG: the 8-byte signature ``89 50 4E 47 0D 0A 1A 0A`` (PNG spec, 3rd ed., 5.2).
- GIF: ``GIF87a`` / ``GIF89a`` (GIF89a spec, section 17).
- WebP: ``RIFF`` <size> ``WEBP`` (RFC 9649, 2.5).
- BMP: ``BM`` and a DIB header size of 12, 40, 52, 56, 64, 108 or 124 at offset 14
  (Microsoft BITMAPCOREHEADER ... BITMAPV5HEADER; 64 = OS/2 2.x).
- TIFF: ``II*\\0`` or ``MM\\0*`` (TIFF 6.0, section 2).
- HEIF / HEIC / AVIF: an ISO base media ``ftyp`` box at offset 4 (ISO/IEC 14496-12, 4.3) whose
  major or compatible brands include an image brand of ISO/IEC 23008-12 (``mif1``, ``msf1``,
  ``heic``, ``heix``, ``hevc``, ``hevx``, ``heim``, ``heis``, ``hevm``, ``hevs``) or of the AV1
  Image File Format (``avif``, ``avis``).
"""

from __future__ import annotations

import codecs
from typing import Literal

#: The largest file a Telegram bot may download (Bot API ``getFile``); the project's limit for
#: every chat attachment, checked on the declared size before anything is downloaded.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".bmp", ".tif",
                  ".tiff", ".heic", ".heif", ".hif", ".avif")
PLAYLIST_SUFFIXES = (".csv", ".tsv", ".txt")
PLAYLIST_MIME_TYPES = ("text/csv", "text/comma-separated-values", "application/csv",
                       "text/plain", "text/tab-separated-values", "application/vnd.ms-excel",
                       "text/x-csv", "application/x-csv")
#: Declared types that say nothing about the content.
UNKNOWN_MIME_TYPES = ("", "application/octet-stream", "binary/octet-stream",
                      "application/unknown", "application/x-unknown", "application/binary",
                      "application/x-binary")

Kind = Literal["image", "playlist"]
Claim = Literal["image", "playlist", "unknown", "other"]

_BMP_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1", b"heic", b"heix", b"hevc", b"hevx", b"heim",
                          b"heis", b"hevm", b"hevs", b"avif", b"avis"})
_TEXT_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
#: Bytes read to tell a file's kind (every signature above fits; a CSV header line too).
HEAD_BYTES = 4096


def _mime(mime: str | None) -> str:
    return (mime or "").split(";")[0].strip().lower()


def _suffix_kind(name: str) -> Kind | None:
    lowered = name.strip().lower()
    if lowered.endswith(IMAGE_SUFFIXES):
        return "image"
    if lowered.endswith(PLAYLIST_SUFFIXES):
        return "playlist"
    return None


def claimed_kind(name: str | None, mime: str | None) -> Claim:
    """What a file's name and declared MIME type say it is, before it is downloaded.

    The name's suffix wins over the type (chat apps guess types from the suffix, or send none);
    ``"unknown"`` when neither says anything (no suffix we know, and no type, or
    ``application/octet-stream``): download it and ask :func:`kind_of`. ``"other"`` when they
    name something that is neither a photo nor a playlist (``report.pdf``, ``video/mp4``).
    """
    by_name = _suffix_kind(name or "")
    if by_name is not None:
        return by_name
    declared = _mime(mime)
    if declared.startswith("image/"):
        return "image"
    if declared in PLAYLIST_MIME_TYPES:
        return "playlist"
    if declared in UNKNOWN_MIME_TYPES:
        return "unknown"
    return "other"


def image_format(data: bytes) -> str | None:
    """The image format named by the first bytes (``"jpeg"``, ``"png"``, ``"gif"``, ``"webp"``,
    ``"bmp"``, ``"tiff"``, ``"heif"``), or None. Looks at most at the first 4 KB; never decodes."""
    head = data[:HEAD_BYTES]
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:2] == b"BM" and len(head) >= 18 and \
            int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[4:8] == b"ftyp":
        box_size = int.from_bytes(head[:4], "big")
        box = head[8:min(max(box_size, 16), len(head))]
        brands = {box[i:i + 4] for i in range(0, len(box) - 3, 4)} - {b"\x00\x00\x00\x00"}
        if brands & _HEIF_BRANDS:
            return "heif"
    return None


def looks_like_text(data: bytes) -> bool:
    """Whether the first bytes are text (a byte-order mark, or no NUL byte and no image
    signature): what a CSV or TSV export is."""
    head = data[:HEAD_BYTES]
    if head.startswith(_TEXT_BOMS):
        return True
    return bool(head.strip()) and b"\x00" not in head and image_format(head) is None


def kind_of(data: bytes, name: str | None = None, mime: str | None = None) -> Kind | None:
    """What a downloaded file is: ``"image"``, ``"playlist"``, or None (neither).

    The bytes decide: an image signature makes it a photo whatever its name or type; text makes
    it a playlist unless the name or type claimed a photo (text called ``me.jpg`` is neither).
    An empty (or blank) file is what its name or type claims, so the user hears that their
    playlist or photo is empty rather than that it is neither.
    """
    if image_format(data) is not None:
        return "image"
    if not data[:HEAD_BYTES].strip():
        claim = claimed_kind(name, mime)
        return claim if claim in ("image", "playlist") else None
    if looks_like_text(data) and claimed_kind(name, mime) != "image":
        return "playlist"
    return None
