"""Playlist CSV import and Spotify genre mapping (no catalog needed)."""

from __future__ import annotations

import pytest

from moosic_core.config import Config
from moosic_core.errors import DataError
from moosic_core.taste.csv_import import (
    MAX_BYTES,
    read_playlist_csv,
    read_playlist_export,
    track_id_of,
)
from moosic_core.taste.genre_map import GenreMapper

CATALOG_GENRES = [
    "acoustic",
    "afrobeat",
    "alt-rock",
    "alternative",
    "ambient",
    "anime",
    "black-metal",
    "bluegrass",
    "blues",
    "brazil",
    "breakbeat",
    "british",
    "cantopop",
    "chicago-house",
    "children",
    "chill",
    "classical",
    "club",
    "comedy",
    "country",
    "dance",
    "dancehall",
    "death-metal",
    "deep-house",
    "detroit-techno",
    "disco",
    "disney",
    "drum-and-bass",
    "dub",
    "dubstep",
    "edm",
    "electro",
    "electronic",
    "emo",
    "folk",
    "forro",
    "french",
    "funk",
    "garage",
    "german",
    "gospel",
    "goth",
    "grindcore",
    "groove",
    "grunge",
    "guitar",
    "happy",
    "hard-rock",
    "hardcore",
    "hardstyle",
    "heavy-metal",
    "hip-hop",
    "honky-tonk",
    "house",
    "idm",
    "indian",
    "indie",
    "indie-pop",
    "industrial",
    "iranian",
    "j-dance",
    "j-idol",
    "j-pop",
    "j-rock",
    "jazz",
    "k-pop",
    "kids",
    "latin",
    "latino",
    "malay",
    "mandopop",
    "metal",
    "metalcore",
    "minimal-techno",
    "mpb",
    "new-age",
    "opera",
    "pagode",
    "party",
    "piano",
    "pop",
    "pop-film",
    "power-pop",
    "progressive-house",
    "psych-rock",
    "punk",
    "punk-rock",
    "r-n-b",
    "reggae",
    "reggaeton",
    "rock",
    "rock-n-roll",
    "rockabilly",
    "romance",
    "sad",
    "salsa",
    "samba",
    "sertanejo",
    "show-tunes",
    "singer-songwriter",
    "ska",
    "sleep",
    "songwriter",
    "soul",
    "spanish",
    "study",
    "swedish",
    "synth-pop",
    "tango",
    "techno",
    "trance",
    "trip-hop",
    "turkish",
    "world-music",
]


def read(config: Config, name: str):
    path = config.data.playlists_dir / name
    return read_playlist_csv(path.read_bytes(), name)


def test_exportify_format_with_features_and_genres(config: Config) -> None:
    export = read_playlist_export((config.data.playlists_dir / "liked_songs_a.csv").read_bytes())
    tracks = export.tracks
    # 3120 rows, each its own track ID; the same song saved twice (another release) counts once
    assert export.rows == 3120 and len(tracks) + export.duplicates == 3120
    assert 0 < export.duplicates < 200 and len({t.track_id for t in tracks}) == len(tracks)
    assert all(t.track_id and len(t.track_id) == 22 for t in tracks)
    with_features = [t for t in tracks if t.features and "valence" in t.features]
    assert len(with_features) >= len(tracks) - 20
    assert sum(1 for t in tracks if t.genres) > len(tracks) / 2
    multi = next(t for t in tracks if t.track_id == "5U6qKuophbw3B8jEFzrAs7")
    assert multi.artists == ("Dombóváry Roly", "DÖGÖS ROBI")
    assert 700 < len(read(config, "liked_songs_b.csv")) <= 720


def test_plain_format_without_features(config: Config) -> None:
    tracks = read(config, "liked_songs_c.csv")
    assert 730 < len(tracks) <= 746
    assert not any(t.features and "valence" in t.features for t in tracks)
    assert not any(t.genres for t in tracks)
    duo = next(t for t in tracks if t.track_id == "6K1kucHD9Qp6ZgxFdHY2wV")
    assert duo.artists == ("Anh Thơ", "Việt Hoàn")  # split by the artist URIs


def test_artist_names_with_commas_stay_whole() -> None:
    data = (
        b'"Track URI","Track Name","Artist URI(s)","Artist Name(s)"\n'
        b'"spotify:track:0123456789abcdefghijkl","Song","spotify:artist:x",'
        b'"Tyler, The Creator"\n'
    )
    (track,) = read_playlist_csv(data)
    assert track.artists == ("Tyler, The Creator",)
    assert track.track_id == "0123456789abcdefghijkl"


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "isn't a CSV"),
        (b"", "empty"),
        (b"Track Name,Artist Name(s)\n", "no tracks"),
        (b"song;year\nx;1999\n", "one with the artists \\(such as 'Artist Name\\(s\\)'\\)"),
        (b"a" * (MAX_BYTES + 1), "too large"),
    ],
)
def test_bad_files_are_clear_data_errors(data: bytes, message: str) -> None:
    with pytest.raises(DataError, match=message):
        read_playlist_csv(data, "upload.csv")


def test_track_ids_from_uris_and_urls() -> None:
    assert track_id_of("spotify:track:6Po7qkXgBkWoglCCdiB99l") == "6Po7qkXgBkWoglCCdiB99l"
    assert (
        track_id_of("https://open.spotify.com/track/6Po7qkXgBkWoglCCdiB99l?si=x")
        == "6Po7qkXgBkWoglCCdiB99l"
    )
    assert track_id_of("spotify:local:Artist:Album:Song:200") is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("indie pop", ("indie-pop",)),
        ("hip hop", ("hip-hop",)),
        ("german hip hop", ("hip-hop", "german")),
        ("east coast hip hop", ("hip-hop",)),
        ("r&b", ("r-n-b",)),
        ("rock and roll", ("rock-n-roll",)),
        ("hard rock", ("hard-rock",)),
        ("muzyka klasyczna", ("classical",)),
        ("fortepian klasyczny", ("classical", "piano")),
        ("rock psychodeliczny", ("psych-rock",)),
        ("son cubano", ("salsa",)),
        ("uk drill", ("hip-hop", "british")),
        ("boże narodzenie", ()),
    ],
)
def test_spotify_genres_map_onto_catalog_genres(text: str, expected: tuple[str, ...]) -> None:
    assert GenreMapper(CATALOG_GENRES).map_one(text) == expected


def test_genre_distribution_sums_to_one() -> None:
    dist = GenreMapper(CATALOG_GENRES).distribution(["german hip hop", "rap", "unknown thing"])
    assert dist == pytest.approx({"hip-hop": 0.75, "german": 0.25})
