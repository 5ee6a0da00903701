"""Reading an exported playlist file (an Exportify CSV and its relatives) into library tracks.

What people send, and how each is read:

- Columns are matched by meaning, in every language Exportify writes them and in the spellings of
  other exporters (:mod:`moosic_core.taste.export_columns`). Only a track name and the artist
  names are required; the track URI, artist URIs, genres and audio features are used when there.
- Dialects: comma-, semicolon- (Excel in European locales), tab- or pipe-separated, quoted or not.
  The stdlib :mod:`csv` module parses; :class:`csv.Sniffer` proposes the dialect and the header is
  checked under each candidate delimiter, keeping the one where the required columns are found.
  (No pandas: serving must stay small, and ``csv`` already handles quoting and dialects.)
- Encodings: UTF-8 with or without a byte-order mark, UTF-16 (Excel's "Unicode text"), and legacy
  code pages (Excel's default on Windows: cp1252, cp932 ...) through ``charset-normalizer``.
- Artists: Exportify joins several with ``;``; the plain export with ``", "``; the exportify.net
  fork with ``","`` and no space. Names may hold commas ("Tyler, The Creator"): the artist URI/ID
  column says how many artists there are, and a piece that starts with a space continues the
  name before it; ``known_artist`` (the catalog) settles what is left.
- The same track twice (same track ID, or the same title and first artist once normalised,
  versions kept apart) is kept once, as the Spotify path does;
  :attr:`PlaylistExport.duplicates` counts the rest.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import logging
import math
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from moosic_core.errors import DataError
from moosic_core.taste.export_columns import (
    AUDIO_FEATURES,
    REQUIRED,
    expected_headers,
    meaning_of,
)
from moosic_core.text import normalize_artist
from moosic_core.types import LibraryTrack

log = logging.getLogger(__name__)

MAX_BYTES = 8 * 1024 * 1024
#: The most different songs read from one file; a larger library is read in part (the first
#: this many, in file order) rather than refused.
MAX_TRACKS = 20_000
#: The most data rows read (repeats included): with :data:`MAX_BYTES` it keeps the time and
#: memory of one file bounded however many repeats it holds.
MAX_ROWS = 200_000
DELIMITERS = (",", ";", "\t", "|")
SNIFF_CHARS = 16_384
#: Code pages Excel writes CSV in (Western, Japanese, Cyrillic, Simplified and Traditional
#: Chinese, Greek, Turkish, Arabic), tried when a file is not UTF-8 or UTF-16.
LEGACY_ENCODINGS = ("cp1252", "cp932", "cp1251", "gb18030", "big5", "cp1253", "cp1254",
                    "cp1256")
#: At most this many ways to rejoin comma-split artist names are tried per row.
MAX_SEGMENTATIONS = 512

# meaning (export_columns) -> the feature name profiles use.
FEATURE_NAMES = {name: name for name in AUDIO_FEATURES}
META_NAMES = {"duration_ms": "duration_ms", "popularity": "popularity", "explicit": "explicit"}

_TRACK_ID = re.compile(r"(?:spotify:track:|open\.spotify\.com/(?:intl-[\w-]+/)?track/)?"
                       r"([0-9A-Za-z]{22})(?:\?.*)?$")
_NOT_WORD = re.compile(r"[\W_]+")
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)

KnownArtist = Callable[[str], bool]
#: A word that usually continues an artist name rather than starting one.
_CONTINUES = re.compile(r"^(?:[Tt]he\b|[Aa]nd\b|&|[JS]r\b|Inc\b|Ltd\b|[a-z])")


@dataclass(frozen=True)
class PlaylistExport:
    """A playlist file as read: its unique tracks and what was set aside.

    ``tracks`` are unique (the first of each duplicate is kept, in file order); ``rows`` counts
    the data rows read, ``duplicates`` the rows dropped as repeats and ``skipped`` the rows
    without a track name or artist. ``columns`` maps each understood meaning to the header it
    was found under; ``language`` is the Exportify language of the headers ("" when unknown).
    ``partial`` is True when reading stopped at :data:`MAX_TRACKS` different songs or
    :data:`MAX_ROWS` rows with more left in the file (:attr:`note` says so in user words).
    """

    tracks: list[LibraryTrack]
    rows: int
    duplicates: int
    skipped: int
    columns: dict[str, str] = field(default_factory=dict)
    language: str = ""
    delimiter: str = ","
    encoding: str = "utf-8"
    partial: bool = False
    filename: str = "playlist.csv"

    @property
    def note(self) -> str | None:
        """What was left unread, in user words; None when the whole file was read."""
        if not self.partial:
            return None
        return (f"{self.filename} is bigger than I read at once: I used its first "
                f"{len(self.tracks):,} different songs ({self.rows:,} rows) and left the rest.")


def _decode(data: bytes, filename: str) -> tuple[str, str]:
    """(text, encoding name); :class:`DataError` for binary or unreadable files."""
    if len(data) > MAX_BYTES:
        raise DataError(f"{filename} is too large ({len(data) / 1e6:.1f} MB; the limit is "
                        f"{MAX_BYTES // (1024 * 1024)} MB).")
    if data.startswith(codecs.BOM_UTF8):
        encodings: tuple[str, ...] = ("utf-8-sig",)
    elif data.startswith(_UTF16_BOMS):
        encodings = ("utf-16",)
    elif b"\x00" in data[:4096]:
        # UTF-16 without a byte-order mark: every other byte of ASCII text is NUL
        head = data[:4096]
        if head[1::2].count(0) > len(head) // 4:
            encodings = ("utf-16-le",)
        elif head[0::2].count(0) > len(head) // 4:
            encodings = ("utf-16-be",)
        else:
            raise DataError(f"{filename} isn't a CSV file. Send the playlist as a .csv export "
                            "(e.g. from exportify.app).")
    else:
        encodings = ("utf-8",)
    for encoding in encodings:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    if encodings == ("utf-8",):
        legacy = _legacy_decode(data)
        if legacy is not None:
            return legacy
    raise DataError(f"{filename} isn't a readable text (CSV) file.")


def _legacy_decode(data: bytes) -> tuple[str, str] | None:
    """Text in a legacy code page (Excel on Windows saves CSV in the system's one): the
    candidates of ``charset-normalizer`` and :data:`LEGACY_ENCODINGS`, the one whose header
    names the most columns we know winning (short files fool byte statistics alone)."""
    from charset_normalizer import from_bytes

    guesses = [m.encoding for m in from_bytes(data[:65_536])][:3]
    head = data[:SNIFF_CHARS]
    best: tuple[int, str] | None = None
    for encoding in dict.fromkeys([*guesses, *LEGACY_ENCODINGS]):
        try:
            sample = head.decode(encoding, errors="ignore")
        except LookupError:
            continue
        known = max(len(_header_meanings(next(csv.reader(io.StringIO(sample), dialect), []))[0])
                    for dialect in _dialects(sample))
        if best is None or known > best[0]:
            best = (known, encoding)
    for encoding in ([best[1]] if best else []) + list(LEGACY_ENCODINGS):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return None


def track_id_of(value: str) -> str | None:
    """The 22-character Spotify track ID in a URI, URL or bare ID (None for local files)."""
    match = _TRACK_ID.search(value.strip())
    return match.group(1) if match else None


def _header_meanings(header: list[str]) -> tuple[dict[str, int], dict[str, str], str]:
    """(meaning -> column index, meaning -> header, the headers' Exportify language)."""
    columns: dict[str, int] = {}
    names: dict[str, str] = {}
    votes: dict[str, int] = {}
    for i, cell in enumerate(header):
        found = meaning_of(cell)
        if found is None or found[0] in columns:
            continue
        meaning, language = found
        columns[meaning], names[meaning] = i, cell.strip()
        if language:
            votes[language] = votes.get(language, 0) + 1
    language = max(votes, key=lambda lang: (votes[lang], lang == "en")) if votes else ""
    return columns, names, language


def _dialects(sample: str) -> Iterator[type[csv.Dialect] | csv.Dialect]:
    """The sniffed dialect first, then plain dialects for every other delimiter."""
    try:
        sniffed: type[csv.Dialect] | csv.Dialect | None = csv.Sniffer().sniff(
            sample, delimiters="".join(DELIMITERS))
    except csv.Error:
        sniffed = None
    if sniffed is not None:
        yield sniffed
    for delimiter in DELIMITERS:
        if sniffed is None or delimiter != sniffed.delimiter:
            yield type(f"excel_{ord(delimiter)}", (csv.excel,), {"delimiter": delimiter})


def _open(text: str, filename: str) -> tuple[Iterator[list[str]], list[str], str]:
    """(rows after the header, the header, the delimiter) under the dialect whose header names
    the most columns we know; the required ones decide first."""
    sample = text[:SNIFF_CHARS]
    best: tuple[tuple[int, int], type[csv.Dialect] | csv.Dialect, list[str]] | None = None
    for dialect in _dialects(sample):
        try:
            header = next(csv.reader(io.StringIO(sample), dialect), [])
        except csv.Error:
            continue
        columns, _, _ = _header_meanings(header)
        score = (sum(m in columns for m in REQUIRED), len(columns))
        if best is None or score > best[0]:
            best = (score, dialect, header)
    if best is None or not any(cell.strip() for cell in best[2]):
        raise DataError(f"{filename} is empty.")
    _, dialect, header = best
    reader = csv.reader(io.StringIO(text), dialect)
    next(reader)
    return reader, header, dialect.delimiter


def _rejoin(parts: list[str], count: int, sep: str, known: KnownArtist | None) -> list[str]:
    """``parts`` (a name list split at every ``sep``) joined back into ``count`` names.

    A part starting with a space cannot begin a name when the exporter's separator has no space
    (``","``). Among the joinings left, the one with the most names ``known`` wins; then the one
    that starts fewest names with a word that usually continues one ("The Creator", "and the
    Waves", a lower-case word); then the first in order.
    """
    if count <= 0 or len(parts) <= count:
        return parts
    if count == 1:
        return [sep.join(parts)]
    allowed = [g for g in range(1, len(parts)) if sep != "," or not parts[g].startswith(" ")]
    if len(allowed) < count - 1 or math.comb(len(allowed), count - 1) > MAX_SEGMENTATIONS:
        return parts
    best, best_score = parts, (-1, 0)
    for cuts in itertools.combinations(allowed, count - 1):
        bounds = (0, *cuts, len(parts))
        names = [sep.join(parts[a:b]) for a, b in itertools.pairwise(bounds)]
        known_names = sum(bool(known(n.strip())) for n in names) if known is not None else 0
        continuations = sum(bool(_CONTINUES.match(parts[c].strip())) for c in cuts)
        score = (known_names, -continuations)
        if score > best_score:
            best, best_score = names, score
    return best


def split_artists(names: str, ids: str | None, known: KnownArtist | None = None
                  ) -> tuple[str, ...]:
    """The artists of one row: ``names`` as exported, ``ids`` the artist URI/ID cell (or None).

    ``;`` separates artists wherever it appears (Exportify). Otherwise the ID count says how
    many artists the names hold; without IDs, ``", "`` separates them unless ``known`` knows
    the whole name.
    """
    names = names.strip()
    if not names:
        return ()
    if ";" in names:
        return tuple(a.strip() for a in names.split(";") if a.strip())
    if ids is not None and ids.strip():
        count = len([i for i in re.split(r"[,;]", ids) if i.strip()])
        sep = ", " if ", " in ids or ";" in ids else ","  # names are joined as the IDs are
        parts = [p for p in names.split(sep) if p.strip()]
        if count <= 1:
            return (names,)
        joined = _rejoin(parts, count, sep, known)
        return tuple(a.strip() for a in joined if a.strip())
    if known is not None and known(names):
        return (names,)
    return tuple(a.strip() for a in names.split(", ") if a.strip())


def _number(value: str) -> float | None:
    """A number cell: ``true``/``false``, ``0.58``, or ``0,58`` (a decimal comma, as Excel writes
    in European locales)."""
    value = value.strip().lower()
    if value in ("true", "false"):
        return 1.0 if value == "true" else 0.0
    if value.count(",") == 1 and "." not in value:
        value = value.replace(",", ".")
    try:
        return float(value)
    except ValueError:
        return None


def _words_key(text: str) -> str:
    """Letters and digits only, case-folded (NFKC): ``"Little Lies "`` -> ``"littlelies"``."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).casefold())


def _song_key(track: LibraryTrack) -> str:
    """The same recording under another ID (a single and its album): the first artist and the
    whole title, normalised. Versions stay apart ("Layla - Live" is not "Layla"): they sound
    different, and each ID is one the user already knows."""
    artist = normalize_artist(track.artists[0]) or track.artists[0].casefold()
    return f"{artist}|{_words_key(track.name) or track.name.casefold()}"


def _missing_columns_error(filename: str, header: list[str], language: str) -> DataError:
    name, artists = expected_headers(language)
    found = ", ".join(f"'{h.strip()}'" for h in header[:8] if h.strip())
    more = ", …" if len(header) > 8 else ""
    seen = f" Its columns are {found}{more}." if found else ""
    return DataError(
        f"{filename} doesn't look like a playlist export: I need a column with the song "
        f"titles (such as '{name}') and one with the artists (such as '{artists}').{seen} "
        "An export from exportify.app has both, in any of its languages.")


def read_playlist_export(data: bytes, filename: str = "playlist.csv", *,
                         known_artist: KnownArtist | None = None) -> PlaylistExport:
    """Read a playlist file into unique tracks; :class:`DataError` with the reason otherwise.

    ``data``: the file's bytes (at most :data:`MAX_BYTES`); ``filename`` names it in messages;
    ``known_artist(name)`` tells whether an artist is known (the catalog), used to rejoin names
    that hold commas. Raises :class:`DataError` for a binary, empty, too large or unreadable
    file, one without title and artist columns (the message names them in the file's language),
    or no track at all. A file with more than :data:`MAX_TRACKS` different songs (or
    :data:`MAX_ROWS` rows) is read in part: see :attr:`PlaylistExport.partial`.
    """
    text, encoding = _decode(data, filename)
    reader, header, delimiter = _open(text, filename)
    columns, names, language = _header_meanings(header)
    if any(m not in columns for m in REQUIRED):
        raise _missing_columns_error(filename, header, language)
    feature_cols = {columns[m]: f for m, f in FEATURE_NAMES.items() if m in columns}
    meta_cols = {columns[m]: f for m, f in META_NAMES.items() if m in columns}
    tracks: list[LibraryTrack] = []
    seen: set[str] = set()
    rows = duplicates = skipped = 0
    partial = False

    def cell(row: list[str], meaning: str) -> str:
        i = columns.get(meaning)
        return row[i] if i is not None and i < len(row) else ""

    try:
        for row in reader:
            if not any(c.strip() for c in row):
                continue
            if rows == MAX_ROWS:
                partial = True
                break
            rows += 1
            name = cell(row, "track_name").strip()
            artists = split_artists(cell(row, "artist_names"),
                                    cell(row, "artist_uris") if "artist_uris" in columns
                                    else None, known_artist)
            if not name or not artists:
                skipped += 1
                continue
            genres = tuple(g.strip() for g in cell(row, "genres").split(",") if g.strip())
            values = {f: _number(row[i]) for i, f in feature_cols.items() if i < len(row)}
            features = {f: v for f, v in values.items() if v is not None}
            if len(features) < len(AUDIO_FEATURES):
                features = {}  # partial audio features are not used
            for i, f in meta_cols.items():
                value = _number(row[i]) if i < len(row) else None
                if value is not None:
                    features[f] = value
            track = LibraryTrack(name=name, artists=artists,
                                 track_id=track_id_of(cell(row, "track_uri")), genres=genres,
                                 features=features or None)
            keys = [_song_key(track)] + ([track.track_id] if track.track_id else [])
            if any(k in seen for k in keys):
                duplicates += 1
                continue
            if len(tracks) == MAX_TRACKS:
                partial = True
                rows -= 1  # this row is left unread
                break
            seen.update(keys)
            tracks.append(track)
    except csv.Error as exc:
        raise DataError(f"{filename} isn't a well-formed CSV file ({exc}).") from None
    if not tracks:
        raise DataError(f"{filename} has no tracks in it.")
    if duplicates:
        log.info("playlist file: %d rows, %d duplicates dropped", rows, duplicates)
    if partial:
        log.info("playlist file read in part: the first %d songs (%d rows)", len(tracks), rows)
    return PlaylistExport(tracks=tracks, rows=rows, duplicates=duplicates, skipped=skipped,
                          columns=names, language=language, delimiter=delimiter,
                          encoding=encoding, partial=partial, filename=filename)


def read_playlist_csv(data: bytes, filename: str = "playlist.csv", *,
                      known_artist: KnownArtist | None = None) -> list[LibraryTrack]:
    """The unique library tracks of a playlist file (see :func:`read_playlist_export`)."""
    return read_playlist_export(data, filename, known_artist=known_artist).tracks
