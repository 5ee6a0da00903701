"""A song list as a playlist CSV that Exportify's "Import playlist" reads (and so do we).

Exportify (exportify.app) imports a CSV by its ``Track URI`` column and names the new playlist
after the file; its own exports start with ``Track URI, Track Name, Artist Name(s), Album Name``
(English headers, :data:`moosic_core.taste.export_columns.EXPORTIFY_HEADERS`), so the file has
exactly those columns, with several artists joined by ``;`` as Exportify joins them. The catalog
keeps no album names, so that column is empty. UTF-8 without a byte-order mark (a BOM would
become part of the first header for a plain CSV parser); the stdlib :mod:`csv` writer quotes
names that hold commas or quotes.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Sequence

from moosic_core.taste.export_columns import EXPORTIFY_HEADERS
from moosic_core.types import Track

#: The columns written, in Exportify's English spelling and order.
COLUMNS = (*(EXPORTIFY_HEADERS[m][0] for m in ("track_uri", "track_name", "artist_names")),
           "Album Name")
IMPORT_HINT = ("To make it a Spotify playlist: open exportify.app, sign in, choose "
               "\"Import playlist\" and pick this file (the playlist takes the file's name).")
_UNSAFE = re.compile(r"[^\w\-]+")


def playlist_csv(tracks: Sequence[Track]) -> bytes:
    """The tracks, in order, as CSV bytes (UTF-8, ``\\r\\n`` rows, a header row first)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for track in tracks:
        writer.writerow((f"spotify:track:{track.track_id}", track.name,
                         ";".join(track.artists), ""))
    return out.getvalue().encode("utf-8")


def csv_filename(title: str) -> str:
    """A portable file name for a list title: ``"Moo-Sic · calm · 29 Nov"`` ->
    ``"Moo-Sic-calm-29-Nov.csv"`` (ASCII letters, digits, ``-`` and ``_`` only)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    stem = _UNSAFE.sub("-", ascii_title).strip("-")[:80] or "Moo-Sic"
    return f"{stem}.csv"
