"""Playlist exports as people send them: every Exportify language, the exportify.net fork,
duplicates, spreadsheet dialects and encodings. Every file is generated here."""

from __future__ import annotations

import csv
import io

import pytest

from moosic_core.catalog.store import Catalog
from moosic_core.errors import DataError
from moosic_core.taste.csv_import import read_playlist_export, split_artists
from moosic_core.taste.export_columns import (
    EXPORTIFY_HEADERS,
    HEADER_INDEX,
    LANGUAGES,
    OTHER_HEADERS,
    normalize_header,
)
from moosic_core.taste.profile import ProfileBuilder
from moosic_core.text import split_artists as catalog_split

FEATURES = ["0.584", "0.976", "8", "-4.805", "0", "0.047", "0.066", "0", "0.112", "0.67",
            "120.369", "4"]
FEATURE_MEANINGS = ["danceability", "energy", "key", "loudness", "mode", "speechiness",
                    "acousticness", "instrumentalness", "liveness", "valence", "tempo",
                    "time_signature"]
ROWS = [("spotify:track:5U6qKuophbw3B8jEFzrAs7", "Accalari Bomba", "spotify:artist:a",
         "Dombóváry Roly;DÖGÖS ROBI", "hungarian pop"),
        ("spotify:track:6Po7qkXgBkWoglCCdiB99l", "Bafana Bafana", "spotify:artist:b",
         "Eddy Grant", "reggae,soca"),
        ("spotify:track:34m26K64fX2OtUVov3z1Ej", "Everywhere", "spotify:artist:c",
         "Fleetwood Mac", "rock,soft rock")]


def to_csv(header: list[str], rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def exportify_file(language: str, delimiter: str = ",") -> str:
    i = LANGUAGES.index(language)
    meanings = ["track_uri", "track_name", "artist_uris", "artist_names", "genres",
                "duration_ms", "popularity", "explicit", *FEATURE_MEANINGS]
    header = [EXPORTIFY_HEADERS[m][i] for m in meanings]
    rows = [[uri, name, artist_uri, artists, genres, "215040", "38", "false", *FEATURES]
            for uri, name, artist_uri, artists, genres in ROWS]
    return to_csv(header, rows, delimiter)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_exportify_language_is_read(language: str) -> None:
    export = read_playlist_export(exportify_file(language).encode("utf-8-sig"),
                                  f"liked_{language}.csv")
    assert export.language == language or language in ("zh-Hant", "yue-Hant-HK")
    assert [t.name for t in export.tracks] == [r[1] for r in ROWS]
    assert export.tracks[0].artists == ("Dombóváry Roly", "DÖGÖS ROBI")
    assert export.tracks[1].genres == ("reggae", "soca")
    assert export.tracks[0].track_id == "5U6qKuophbw3B8jEFzrAs7"
    features = export.tracks[0].features or {}
    assert features["valence"] == 0.67 and features["duration_ms"] == 215040


def test_the_header_table_never_gives_one_name_two_meanings() -> None:
    seen: dict[str, str] = {}
    for meaning, headers in [*EXPORTIFY_HEADERS.items(), *OTHER_HEADERS.items()]:
        for header in headers:
            key = normalize_header(header)
            assert seen.setdefault(key, meaning) == meaning, header
    assert all(len(h) == len(LANGUAGES) for h in EXPORTIFY_HEADERS.values())
    assert normalize_header("album artist name(s)") not in HEADER_INDEX  # not the artists


def test_headers_are_matched_whatever_their_case_spacing_or_marks() -> None:
    header = ["\ufeff TRACK_URI ", "track-name", "  artist   name(s)", "トラックの長さ(ミリ秒)"]
    data = to_csv(header, [["spotify:track:6Po7qkXgBkWoglCCdiB99l", "Song", "Band", "1000"]])
    export = read_playlist_export(data.encode())
    assert export.tracks[0].track_id == "6Po7qkXgBkWoglCCdiB99l"
    assert (export.tracks[0].features or {})["duration_ms"] == 1000


# --- the exportify.net fork ------------------------------------------------------------------
FORK_HEADER = ["Spotify ID", "Artist IDs", "Track Name", "Album Name", "Artist Name(s)",
               "Release Date", "Duration (ms)", "Popularity", "Added By", "Added At", "Genres"]


def fork_row(track_id: str, artists: list[str], name: str) -> list[str]:
    ids = ",".join(f"{i:022d}" for i in range(len(artists)))
    return [track_id, ids, name, "Album", ",".join(artists), "2020-01-01", "200000", "50",
            "", "2026-01-01T00:00:00Z", "pop,rock"]


def test_fork_artists_with_commas_are_split_by_the_artist_ids() -> None:
    data = to_csv(FORK_HEADER, [
        fork_row("1" * 22, ["Tyler, The Creator"], "See You Again"),
        fork_row("2" * 22, ["Tyler, The Creator", "Kali Uchis"], "Find Your Wings"),
        fork_row("3" * 22, ["Crosby, Stills, Nash & Young", "Neil Young"], "Ohio"),
        fork_row("4" * 22, ["Daft Punk", "Pharrell Williams", "Nile Rodgers"], "Get Lucky")])
    tracks = read_playlist_export(data.encode()).tracks
    assert [t.artists for t in tracks] == [
        ("Tyler, The Creator",), ("Tyler, The Creator", "Kali Uchis"),
        ("Crosby, Stills, Nash & Young", "Neil Young"),
        ("Daft Punk", "Pharrell Williams", "Nile Rodgers")]
    assert tracks[0].genres == ("pop", "rock")


def test_known_names_settle_commas_without_spaces() -> None:
    known = {"ILLENIUM", "nothing,nowhere."}.__contains__
    assert split_artists("ILLENIUM,nothing,nowhere.", "a,b", known) == (
        "ILLENIUM", "nothing,nowhere.")
    # the plain export joins with ", ": names with ", " need the known names too
    assert split_artists("Tyler, The Creator, Kali Uchis", "a, b") == (
        "Tyler, The Creator", "Kali Uchis")
    assert split_artists("Anh Thơ, Việt Hoàn", "a, b") == ("Anh Thơ", "Việt Hoàn")


def test_fork_file_of_seven_catalog_songs_is_understood_seven_of_seven(catalog: Catalog) -> None:
    wanted = ["Crosby, Stills & Nash", "Earth, Wind & Fire;The Emotions",
              "ILLENIUM;nothing,nowhere.", "Defiance, Ohio", "Crosby, Stills, Nash & Young",
              "Earth, Wind & Fire", "Tyler Ward"]
    frame = catalog.frame
    rows, expected = [], []
    for artists in wanted:
        hit = frame[frame["artists"] == artists].iloc[0]
        names = catalog_split(artists)
        rows.append(fork_row(str(hit["track_id"]), names, str(hit["track_name"])))
        expected.append(tuple(names))
    data = to_csv(FORK_HEADER, rows).encode()

    def known(name: str) -> bool:
        return catalog.rows_by_artist(name).size > 0

    export = read_playlist_export(data, "fork.csv", known_artist=known)
    assert [t.artists for t in export.tracks] == expected
    profile = ProfileBuilder(catalog).build(export.tracks)
    assert profile.tracks_total == 7 and profile.tracks_understood == 7


# --- duplicates ------------------------------------------------------------------------------
def test_the_same_track_thirty_times_counts_once(catalog: Catalog) -> None:
    frame = catalog.frame
    picks = frame.iloc[:: len(frame) // 10].head(10)  # the catalog is grouped by genre
    songs = [[str(r.track_id), str(r.track_name), "spotify:artist:x", str(r.artists)]
             for r in picks.itertuples()]
    rows = [songs[0]] * 30 + songs[1:]
    header = ["Track URI", "Track Name", "Artist URI(s)", "Artist Name(s)"]
    export = read_playlist_export(to_csv(header, rows).encode())
    assert export.rows == 39 and export.duplicates == 29 and len(export.tracks) == 10
    profile = ProfileBuilder(catalog).build(export.tracks)
    assert profile.tracks_total == 10
    assert max(profile.genres.values()) < 0.5


def test_same_song_without_ids_is_collapsed_but_versions_are_not() -> None:
    header = ["Title", "Artist"]
    rows = [["Little Lies", "Fleetwood Mac"], ["little lies ", "FLEETWOOD MAC"],
            ["Little Lies - Live", "Fleetwood Mac"], ["Everywhere", "Fleetwood Mac"]]
    export = read_playlist_export(to_csv(header, rows).encode())
    assert [t.name for t in export.tracks] == ["Little Lies", "Little Lies - Live", "Everywhere"]
    assert export.duplicates == 1


# --- dialects and encodings ------------------------------------------------------------------
@pytest.mark.parametrize("delimiter", [";", "\t", "|", ","])
def test_separators(delimiter: str) -> None:
    export = read_playlist_export(exportify_file("de", delimiter).encode("utf-8"), "x.csv")
    assert export.delimiter == delimiter and len(export.tracks) == 3
    assert export.tracks[0].artists == ("Dombóváry Roly", "DÖGÖS ROBI")


def test_excel_european_semicolons_with_decimal_commas() -> None:
    text = exportify_file("fr", ";").replace("0.67", "0,67").replace("120.369", "120,369")
    export = read_playlist_export(text.encode("utf-8"))
    features = export.tracks[0].features or {}
    assert features["valence"] == 0.67 and features["tempo"] == 120.369


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_unicode_encodings(encoding: str) -> None:
    export = read_playlist_export(exportify_file("es").encode(encoding), "x.csv")
    assert export.tracks[0].artists == ("Dombóváry Roly", "DÖGÖS ROBI")
    assert export.language == "es"


@pytest.mark.parametrize("language, encoding, artists", [
    ("ja", "cp932", ("宇多田ヒカル", "椎名林檎")),
    ("fr", "cp1252", ("Françoise Hardy", "Noël Coward", "Beyoncé")),
    ("de", "cp1252", ("Mötley Crüe", "Die Ärzte", "Herbert Grönemeyer"))])
def test_legacy_excel_code_pages(language: str, encoding: str, artists: tuple[str, ...]) -> None:
    text = exportify_file(language).replace("Dombóváry Roly;DÖGÖS ROBI", ";".join(artists))
    export = read_playlist_export(text.encode(encoding), "x.csv")
    assert export.language == language
    assert export.tracks[0].artists == artists
    assert [t.name for t in export.tracks] == [r[1] for r in ROWS]


def test_quoted_fields_with_separators_and_line_breaks() -> None:
    header = ["Track Name", "Artist Name(s)", "Album Name"]
    rows = [['Hello; "World"', "Earth, Wind & Fire", "Line one\nline two"],
            ["Plain", "Band", "A;B"]]
    export = read_playlist_export(to_csv(header, rows, ";").encode(),
                                  known_artist={"Earth, Wind & Fire"}.__contains__)
    assert [t.name for t in export.tracks] == ['Hello; "World"', "Plain"]
    assert export.tracks[0].artists == ("Earth, Wind & Fire",)


# --- bad files -------------------------------------------------------------------------------
def test_missing_columns_are_named_in_the_files_language() -> None:
    i = LANGUAGES.index("es")
    header = [EXPORTIFY_HEADERS["track_uri"][i], EXPORTIFY_HEADERS["track_name"][i], "Álbum"]
    data = to_csv(header, [["spotify:track:" + "1" * 22, "Canción", "Disco"]]).encode()
    with pytest.raises(DataError) as caught:
        read_playlist_export(data, "mis_canciones.csv")
    message = caught.value.user_message
    assert "Nombre(s) del artista" in message and "mis_canciones.csv" in message
    assert "'URI de la canción', 'Nombre de la canción', 'Álbum'" in message


def test_rows_without_a_name_or_artist_are_counted_not_lost() -> None:
    data = to_csv(["Track Name", "Artist Name(s)"], [["A", "X"], ["", "Y"], ["B", ""],
                                                     ["C", "Z"]]).encode()
    export = read_playlist_export(data)
    assert [t.name for t in export.tracks] == ["A", "C"] and export.skipped == 2
