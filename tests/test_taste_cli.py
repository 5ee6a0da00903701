"""``moosic taste`` on the real playlist CSVs and against the fake Spotify API."""

from __future__ import annotations

import pytest

from moosic_core.config import Config
from tests.fakes.spotify import FakePlaylist, FakeUser, make_track


@pytest.mark.parametrize("name, minimum", [("liked_songs_a.csv", 0.75),
                                           ("liked_songs_b.csv", 0.6),
                                           ("liked_songs_c.csv", 0.3)])
def test_taste_from_each_real_csv(moosic, config: Config, name: str, minimum: float) -> None:
    code, data, stderr = moosic("taste", "--playlist", str(config.data.playlists_dir / name),
                                "--json")
    assert code == 0, stderr
    assert data["coverage"] >= minimum
    assert data["coverage"] == pytest.approx(data["tracks_understood"] / data["tracks_total"],
                                             abs=1e-4)
    assert sum(data["sources"].values()) == data["tracks_understood"]
    assert sum(data["genres"].values()) == pytest.approx(1.0, abs=1e-3)
    assert data["top_genres"] == list(data["genres"])[:5]
    assert data["sources"]["track_id"] > 0 and data["sources"]["artist"] > 0


def test_taste_of_a_spotify_user_on_an_old_app(moosic, fake_spotify, catalog) -> None:
    rows = [r for r, gs in enumerate(catalog.genres) if gs == ("salsa",)][:30]
    tracks = [make_track(str(catalog.track_ids[r]), str(catalog.frame["track_name"].iloc[r]),
                         str(catalog.frame["artists"].iloc[r]).split(";")) for r in rows]
    fake_spotify.new_app = False
    fake_spotify.add_user(FakeUser("salsero"))
    fake_spotify.add_playlist(FakePlaylist("mix", "salsero", tracks))
    code, data, stderr = moosic("taste", "--spotify-user", "spotify:user:salsero", "--json",
                                env=fake_spotify.env())
    assert code == 0, stderr
    assert data["top_genres"][0] == "salsa" and data["tracks_total"] == 30


def test_taste_errors_are_json(moosic, fake_spotify, tmp_path) -> None:
    code, data, _ = moosic("taste", "--spotify-user", "someone", "--json", env=fake_spotify.env())
    assert code == 2 and data["kind"] == "SpotifyFeatureUnavailable"
    bad = tmp_path / "notes.txt"
    bad.write_text("just some text\n")
    code, data, _ = moosic("taste", "--playlist", str(bad), "--json")
    assert code == 2 and data["kind"] == "DataError"
