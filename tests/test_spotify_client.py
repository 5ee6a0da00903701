"""The Spotify client against the fake 2026 Web API, driven by the real spotipy."""

from __future__ import annotations

import socket
import time

import pytest

from moosic_core.config import SpotifyConfig, load_config
from moosic_core.errors import (
    SpotifyFeatureUnavailable,
    SpotifyRateLimited,
    SpotifyUnavailable,
    SpotifyUserNotFound,
)
from moosic_core.spotify.client import AUDIO_FEATURES, USER_PLAYLISTS, SpotifyClient
from moosic_core.spotify.library import add_audio_features, parse_user_ref, read_public_playlists
from tests.fakes.spotify import FakePlaylist, FakeSpotify, FakeUser, make_track


def config_for(fake: FakeSpotify, **extra: str) -> SpotifyConfig:
    env = {**fake.env(), "MOOSIC_SPOTIFY_MAX_RETRY_WAIT_S": "2.5",
           "MOOSIC_SPOTIFY_REQUEST_TIMEOUT_S": "2", **extra}
    return load_config(env=env).spotify


def old_app_with_music(fake: FakeSpotify) -> None:
    fake.new_app = False
    fake.add_user(FakeUser("dj"))
    big = [make_track(f"t{i:03d}", f"Song {i}", ["Artist A"]) for i in range(120)]
    fake.add_playlist(FakePlaylist("p1", "dj", big[:70], entry_key="track"))
    fake.add_playlist(FakePlaylist("p2", "dj", [*big[60:120], None,
                                                {"type": "episode", "id": "e1", "name": "Pod"}]))
    fake.add_playlist(FakePlaylist("secret", "dj", big[:5], public=False))


@pytest.mark.parametrize("text", ["dj", " spotify:user:dj ", "https://open.spotify.com/user/dj",
                                  "https://open.spotify.com/intl-de/user/dj?si=abc"])
def test_user_references(text: str) -> None:
    assert parse_user_ref(text) == "dj"


def test_bad_user_reference() -> None:
    with pytest.raises(SpotifyUserNotFound, match="doesn't look like"):
        parse_user_ref("https://example.com/not a user")


async def test_public_playlists_of_an_old_app_paged_to_the_end(fake_spotify) -> None:
    old_app_with_music(fake_spotify)
    client = SpotifyClient(config_for(fake_spotify))
    library = await read_public_playlists(client, "dj", cap=3000)
    assert len(library.tracks) == 120  # 70 + 60, overlap of 10 deduplicated; gaps skipped
    assert library.playlists_read == 2
    assert {t.track_id for t in library.tracks} == {f"t{i:03d}" for i in range(120)}
    pages = [p for p in fake_spotify.api_calls() if p.endswith("/items")]
    assert len(pages) == 2 + 2  # 70 -> 2 pages, 62 entries -> 2 pages


async def test_track_cap_stops_reading(fake_spotify) -> None:
    old_app_with_music(fake_spotify)
    client = SpotifyClient(config_for(fake_spotify))
    library = await read_public_playlists(client, "dj", cap=30)
    assert len(library.tracks) == 30 and library.truncated
    assert len([p for p in fake_spotify.api_calls() if p.endswith("/items")]) == 1


async def test_new_app_gets_403_once_then_knows(fake_spotify) -> None:
    fake_spotify.add_user(FakeUser("dj"))
    client = SpotifyClient(config_for(fake_spotify))
    with pytest.raises(SpotifyFeatureUnavailable, match="can't read other users' playlists"):
        await read_public_playlists(client, "dj", cap=100)
    assert USER_PLAYLISTS in client.unavailable
    calls = len(fake_spotify.api_calls())
    with pytest.raises(SpotifyFeatureUnavailable):
        await read_public_playlists(client, "someone-else", cap=100)
    assert len(fake_spotify.api_calls()) == calls  # not asked again


async def test_unknown_user(fake_spotify) -> None:
    fake_spotify.new_app = False
    client = SpotifyClient(config_for(fake_spotify))
    with pytest.raises(SpotifyUserNotFound):
        await read_public_playlists(client, "nobody", cap=100)


async def test_short_429_is_waited_out_honouring_retry_after(fake_spotify) -> None:
    old_app_with_music(fake_spotify)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    client = SpotifyClient(config_for(fake_spotify, MOOSIC_SPOTIFY_MAX_RETRY_WAIT_S="10"),
                           sleep=sleep)
    fake_spotify.rate_limit(2, retry_after=3)
    library = await read_public_playlists(client, "dj", cap=3000)
    assert len(library.tracks) == 120
    assert waits == [3.0, 3.0]


async def test_429_storm_ends_in_a_clear_error_within_the_cap(fake_spotify) -> None:
    old_app_with_music(fake_spotify)
    client = SpotifyClient(config_for(fake_spotify))  # cap 2.5 s
    fake_spotify.rate_limit(10**6, retry_after=1)
    start = time.monotonic()
    with pytest.raises(SpotifyRateLimited) as info:
        await read_public_playlists(client, "dj", cap=3000)
    elapsed = time.monotonic() - start
    assert 1.9 <= elapsed < 2.5 + 1.0
    assert "rate-limiting" in info.value.user_message
    assert len(fake_spotify.api_calls()) == 3  # two waits of 1 s, the third would pass the cap


async def test_quota_exceeded_fails_at_once(fake_spotify) -> None:
    old_app_with_music(fake_spotify)
    client = SpotifyClient(config_for(fake_spotify))
    fake_spotify.rate_limit(10**6, retry_after=1, quota=True)
    start = time.monotonic()
    with pytest.raises(SpotifyRateLimited, match="quota"):
        await read_public_playlists(client, "dj", cap=3000)
    assert time.monotonic() - start < 0.9


async def test_server_errors_are_retryable_unavailability(fake_spotify) -> None:
    old_app_with_music(fake_spotify)
    client = SpotifyClient(config_for(fake_spotify))
    fake_spotify.fail_next(1, 503)
    with pytest.raises(SpotifyUnavailable) as info:
        await read_public_playlists(client, "dj", cap=3000)
    assert info.value.retryable and "503" in str(info.value)
    assert len((await read_public_playlists(client, "dj", cap=3000)).tracks) == 120


async def test_timeouts_are_retryable_unavailability() -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections, never answers
    port = silent.getsockname()[1]
    try:
        env = {"MOOSIC_SPOTIFY_API_URL": f"http://127.0.0.1:{port}/v1/",
               "MOOSIC_SPOTIFY_TOKEN_URL": f"http://127.0.0.1:{port}/api/token",
               "MOOSIC_SPOTIFY_CLIENT_ID": "c", "MOOSIC_SPOTIFY_CLIENT_SECRET": "s",
               "MOOSIC_SPOTIFY_REQUEST_TIMEOUT_S": "0.3"}
        client = SpotifyClient(load_config(env=env).spotify)
        start = time.monotonic()
        with pytest.raises(SpotifyUnavailable) as info:
            await read_public_playlists(client, "dj", cap=10)
        assert info.value.retryable and time.monotonic() - start < 2
    finally:
        silent.close()


async def test_wrong_app_credentials_are_not_retryable(fake_spotify) -> None:
    old_app_with_music(fake_spotify)
    client = SpotifyClient(config_for(fake_spotify, MOOSIC_SPOTIFY_CLIENT_SECRET="wrong"))
    with pytest.raises(SpotifyUnavailable) as info:
        await read_public_playlists(client, "dj", cap=10)
    assert not info.value.retryable and "credentials" in info.value.user_message


async def test_audio_features_403_is_remembered_and_harmless(fake_spotify) -> None:
    old_app_with_music(fake_spotify)
    client = SpotifyClient(config_for(fake_spotify))
    library = await read_public_playlists(client, "dj", cap=3000)
    fake_spotify.new_app = True
    tracks = await add_audio_features(client, client.app(), library.tracks)
    assert tracks == library.tracks and AUDIO_FEATURES in client.unavailable
    calls = len(fake_spotify.api_calls())
    await add_audio_features(client, client.app(), library.tracks)
    assert len(fake_spotify.api_calls()) == calls


async def test_audio_features_of_an_old_app_are_attached(fake_spotify) -> None:
    old_app_with_music(fake_spotify)
    fake_spotify.features["t001"] = {"id": "t001", "danceability": 0.5, "energy": 0.7,
                                     "valence": 0.2}
    client = SpotifyClient(config_for(fake_spotify))
    library = await read_public_playlists(client, "dj", cap=3000)
    tracks = await add_audio_features(client, client.app(), library.tracks)
    with_features = [t for t in tracks if t.features and "energy" in t.features]
    assert [t.track_id for t in with_features] == ["t001"]
    assert with_features[0].features is not None and with_features[0].features["valence"] == 0.2
