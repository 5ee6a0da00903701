"""Reading an exported playlist file (Exportify CSV, or the plainer export) into library tracks.

Formats are told apart by their columns: the Exportify export has ``Genres`` and audio-feature
columns (``Danceability`` ... ``Time Signature``); the plainer one has ``Artist URI(s)`` and
``Track Duration (ms)``. Both need a track name and artist names; the track URI is optional.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable

from moosic_core.errors import DataError
from moosic_core.types import LibraryTrack

MAX_BYTES = 8 * 1024 * 1024
MAX_ROWS = 20_000

# CSV column (lower-case) -> the catalog's feature name.
FEATURE_COLUMNS = {
    "danceability": "danceability", "energy": "energy", "key": "key", "loudness": "loudness",
    "mode": "mode", "speechiness": "speechiness", "acousticness": "acousticness",
    "instrumentalness": "instrumentalness", "liveness": "liveness", "valence": "valence",
    "tempo": "tempo", "time signature": "time_signature",
}
META_COLUMNS = {"duration (ms)": "duration_ms", "track duration (ms)": "duration_ms",
                "popularity": "popularity", "explicit": "explicit"}
NAME_COLUMNS = ("track name", "name", "title", "track")
ARTIST_COLUMNS = ("artist name(s)", "artist names", "artists", "artist", "artist name")
URI_COLUMNS = ("track uri", "uri", "spotify uri", "track id", "spotify id")

_TRACK_ID = re.compile(r"(?:spotify:track:|open\.spotify\.com/(?:intl-[\w-]+/)?track/)?"
                       r"([0-9A-Za-z]{22})(?:\?.*)?$")


def _decode(data: bytes, filename: str) -> str:
    if len(data) > MAX_BYTES:
        raise DataError(f"{filename} is too large ({len(data) / 1e6:.1f} MB; the limit is "
                        f"{MAX_BYTES // (1024 * 1024)} MB).")
    if b"\x00" in data[:4096]:
        raise DataError(f"{filename} isn't a CSV file. Send the playlist as a .csv export "
                        "(e.g. from exportify.app).")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DataError(f"{filename} isn't a readable text (CSV) file.")


def _pick(columns: dict[str, int], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in columns:
            return columns[name]
    return None


def track_id_of(value: str) -> str | None:
    """The 22-character Spotify track ID in a URI, URL or bare ID (None for local files)."""
    match = _TRACK_ID.search(value.strip())
    return match.group(1) if match else None


def _split_artists(names: str, uris: str | None) -> tuple[str, ...]:
    """Exportify separates artists with ';'; the plain export with ', ' (one per artist URI)."""
    if ";" in names:
        return tuple(a.strip() for a in names.split(";") if a.strip())
    if uris is not None:
        count = len([u for u in uris.split(",") if u.strip()])
        parts = [a.strip() for a in names.split(", ") if a.strip()]
        if count > 1 and len(parts) == count:
            return tuple(parts)
        return (names.strip(),) if names.strip() else ()
    return tuple(a.strip() for a in names.split(", ") if a.strip())


def _number(value: str) -> float | None:
    value = value.strip().lower()
    if value in ("true", "false"):
        return 1.0 if value == "true" else 0.0
    try:
        return float(value)
    except ValueError:
        return None


def _cells(row: list[str]) -> Callable[[int | None], str]:
    return lambda i: row[i] if i is not None and i < len(row) else ""


def read_playlist_csv(data: bytes, filename: str = "playlist.csv") -> list[LibraryTrack]:
    """Library tracks from a playlist CSV; :class:`DataError` with a clear reason otherwise."""
    text = _decode(data, filename)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise DataError(f"{filename} is empty.") from None
    columns = {h.strip().lower(): i for i, h in enumerate(header)}
    name_col, artist_col = _pick(columns, NAME_COLUMNS), _pick(columns, ARTIST_COLUMNS)
    if name_col is None or artist_col is None:
        raise DataError(f"{filename} doesn't look like a playlist export: it needs 'Track Name' "
                        "and 'Artist Name(s)' columns (the Exportify format).")
    uri_col = _pick(columns, URI_COLUMNS)
    artist_uri_col = columns.get("artist uri(s)")
    genre_col = columns.get("genres")
    feature_cols = {columns[c]: f for c, f in FEATURE_COLUMNS.items() if c in columns}
    meta_cols = {columns[c]: f for c, f in META_COLUMNS.items() if c in columns}
    tracks: list[LibraryTrack] = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(tracks) >= MAX_ROWS:
                raise DataError(f"{filename} has more than {MAX_ROWS} tracks; send a smaller "
                                "playlist.")
            cell = _cells(row)
            name = cell(name_col).strip()
            artists = _split_artists(cell(artist_col), cell(artist_uri_col)
                                     if artist_uri_col is not None else None)
            if not name or not artists:
                continue
            genres = tuple(g.strip() for g in cell(genre_col).split(",") if g.strip())
            values = {f: _number(cell(i)) for i, f in feature_cols.items()}
            features = {f: v for f, v in values.items() if v is not None}
            if len(features) < len(FEATURE_COLUMNS):
                features = {}  # partial audio features are not used
            for i, f in meta_cols.items():
                value = _number(cell(i))
                if value is not None:
                    features[f] = value
            tracks.append(LibraryTrack(name=name, artists=artists,
                                       track_id=track_id_of(cell(uri_col)), genres=genres,
                                       features=features or None))
    except csv.Error as exc:
        raise DataError(f"{filename} isn't a well-formed CSV file ({exc}).") from None
    if not tracks:
        raise DataError(f"{filename} has no tracks in it.")
    return tracks
