"""TasteService end to end: real store file, real catalog, fake Spotify, real spotipy."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

from moosic_core.catalog.store import Catalog
from moosic_core.config import Config, load_config
from moosic_core.errors import (
    EmptyLibrary,
    OAuthFailed,
    SpotifyAuthExpired,
    SpotifyFeatureUnavailable,
    SpotifyLinkingUnavailable,
    SpotifyNotConfigured,
    SpotifyUserNotFound,
)
from moosic_core.store import Store
from moosic_core.store.migrations import USER_TABLES
from moosic_core.taste.callback import OAuthCallbackServer
from moosic_core.taste.service import TasteService
from moosic_core.text import normalize_artist
from moosic_core.types import UserRef
from tests.fakes.spotify import FakePlaylist, FakeSpotify, FakeUser, make_track

ALICE = UserRef("telegram", "42")
BOB = UserRef("discord", "77")
KEY = Fernet.generate_key().decode()


def genre_tracks(catalog: Catalog, genre: str, n: int, skip: int = 0) -> list[dict]:
    """Spotify track objects for catalog tracks listed only under ``genre``."""
    rows = [r for r, gs in enumerate(catalog.genres) if gs == (genre,)][skip:skip + n]
    return [make_track(str(catalog.track_ids[r]), str(catalog.frame["track_name"].iloc[r]),
                       str(catalog.frame["artists"].iloc[r]).split(";")) for r in rows]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_config(fake: FakeSpotify, tmp_path: Path, **extra: str) -> Config:
    env = {**fake.env(), "MOOSIC_SECURITY_TOKEN_KEY": KEY,
           "MOOSIC_PATHS_DATABASE": str(tmp_path / "moosic.sqlite3"),
           "MOOSIC_SPOTIFY_MAX_RETRY_WAIT_S": "2", "MOOSIC_SPOTIFY_REQUEST_TIMEOUT_S": "3",
           **extra}
    return load_config(env=env)


class Clock:
    def __init__(self) -> None:
        import time
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def music(fake_spotify: FakeSpotify, catalog: Catalog) -> FakeSpotify:
    """Alice likes jazz (top + saved + own playlists), Bob likes metal; playlists by others."""
    jazz = genre_tracks(catalog, "jazz", 80)
    metal = genre_tracks(catalog, "heavy-metal", 60)
    fake = fake_spotify
    fake.add_user(FakeUser("alice", "Alice", saved=jazz[:55], top=jazz[50:60],
                           followed=["alicePrivate", "collab", "bobsPublic"]))
    fake.add_user(FakeUser("bob", "Bob", saved=metal[:40], top=metal[:5],
                           followed=["bobsPublic"]))
    fake.add_user(FakeUser("empty", "Nobody Yet"))
    fake.add_playlist(FakePlaylist("alicePrivate", "alice", jazz[60:70], public=False))
    fake.add_playlist(FakePlaylist("collab", "carol", jazz[70:80], collaborative=True,
                                   entry_key="track"))
    fake.add_playlist(FakePlaylist("bobsPublic", "bob", metal[40:60]))
    return fake


@pytest.fixture
async def service(music: FakeSpotify, catalog: Catalog, tmp_path: Path):
    config = make_config(music, tmp_path)
    async with Store(config.paths.database) as store:
        yield TasteService(config, store, catalog, clock=Clock())


def approve(url: str, fake_user: str) -> str:
    """The user opens the link and approves: the Location Spotify redirects to."""
    response = requests.get(f"{url}&fake_user={fake_user}", allow_redirects=False, timeout=5)
    assert response.status_code == 302
    return str(response.headers["Location"])


async def sign_in(service: TasteService, user: UserRef, fake_user: str) -> str:
    url = await service.start_oauth(user)
    location = await asyncio.to_thread(approve, url, fake_user)
    return await service.complete_oauth(user, location)


def db_bytes(service: TasteService) -> bytes:
    folder = service.config.paths.database.parent
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.name.startswith("moosic"))


async def test_oauth_by_pasting_the_redirect(service: TasteService, music: FakeSpotify) -> None:
    message = await sign_in(service, ALICE, "alice")
    assert "Signed in to Spotify as Alice" in message
    assert "jazz" in message
    assert "1 playlist you follow but don't own" in message  # bobsPublic: 2026 rule
    profile = await service.profile(ALICE)
    assert profile is not None
    assert profile.top_genres(1) == ["jazz"]
    assert profile.tracks_total == 80  # 55 saved + 10 top (5 overlap) + 10 private + 10 collab
    assert profile.sources["track_id"] == 80 and profile.coverage == 1.0
    # Artist-level taste from the Spotify path too: shares of listening, similar artists.
    assert abs(sum(profile.artist_weights.values()) - 1.0) < 1e-9
    assert profile.similar_artists and not set(profile.similar_artists) & {
        normalize_artist(a) for a in profile.artist_weights}
    assert not any("bobsPublic" in p for p in music.api_calls())  # never asked: not readable
    link = await service.store.get_link(ALICE)
    assert link is not None and link.kind == "spotify_oauth" and link.spotify_user_id == "alice"


async def test_tokens_never_stored_or_logged_in_plaintext(
        service: TasteService, music: FakeSpotify, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await sign_in(service, ALICE, "alice")
    await service.store.close()  # flush the WAL into the file
    secrets_issued = list(music.access) + list(music.refresh)
    assert secrets_issued
    data = db_bytes(service)
    for secret in secrets_issued:
        assert secret.encode() not in data
        assert secret not in caplog.text
    assert "code=" not in caplog.text and KEY not in caplog.text


async def test_oauth_through_the_callback_endpoint(music: FakeSpotify, catalog: Catalog,
                                                   tmp_path: Path) -> None:
    port = free_port()
    config = make_config(music, tmp_path, MOOSIC_SPOTIFY_CALLBACK_PORT=str(port),
                         MOOSIC_SPOTIFY_REDIRECT_URI=f"http://127.0.0.1:{port}/callback")
    told: list[tuple[UserRef, str]] = []

    async def on_linked(user: UserRef, message: str) -> None:
        told.append((user, message))

    async with Store(config.paths.database) as store:
        service = TasteService(config, store, catalog)
        server = OAuthCallbackServer(service, on_linked=on_linked)
        await server.start()
        try:
            url = await service.start_oauth(ALICE)
            location = await asyncio.to_thread(approve, url, "alice")
            page = await asyncio.to_thread(requests.get, location, timeout=10)
            assert page.status_code == 200 and "Spotify linked" in page.text
            again = await asyncio.to_thread(requests.get, location, timeout=10)
            assert again.status_code == 400  # a code and state work once
        finally:
            await server.stop()
        assert told and told[0][0] == ALICE and "Alice" in told[0][1]
        assert (await service.profile(ALICE)) is not None


async def test_two_chats_sign_in_at_once(service: TasteService) -> None:
    alice_msg, bob_msg = await asyncio.gather(sign_in(service, ALICE, "alice"),
                                              sign_in(service, BOB, "bob"))
    assert "Alice" in alice_msg and "Bob" in bob_msg
    alice, bob = await service.profile(ALICE), await service.profile(BOB)
    assert alice is not None and bob is not None
    assert alice.top_genres(1) == ["jazz"] and bob.top_genres(1) == ["heavy-metal"]
    assert not alice.known_track_ids & bob.known_track_ids


async def test_expired_access_token_is_refreshed_and_rotated(
        service: TasteService, music: FakeSpotify) -> None:
    await sign_in(service, ALICE, "alice")
    before = await service.store.get_link(ALICE)
    music.revoke_access_tokens()  # Spotify answers 401 to the stored access token
    assert isinstance(service._clock, Clock)
    service._clock.now += service.config.spotify.cache_ttl_s + 1  # the cached library is stale
    profile = await service.profile(ALICE)
    assert profile is not None and profile.top_genres(1) == ["jazz"]
    after = await service.store.get_link(ALICE)
    assert before is not None and after is not None and after.refresh_token is not None
    assert after.refresh_token != before.refresh_token
    assert service.cipher.decrypt(after.refresh_token) in music.refresh  # the rotated one
    assert music.requests.count(("POST", "/api/token")) == 2  # code exchange + one refresh


async def test_revoked_sign_in_says_link_again(service: TasteService,
                                               music: FakeSpotify) -> None:
    await sign_in(service, ALICE, "alice")
    music.revoke_access_tokens()
    music.refresh.clear()
    assert isinstance(service._clock, Clock)
    service._clock.now += service.config.spotify.cache_ttl_s + 1
    with pytest.raises(SpotifyAuthExpired, match="/link spotify"):
        await service.profile(ALICE)


async def test_stale_profile_served_while_spotify_is_down(service: TasteService,
                                                          music: FakeSpotify) -> None:
    await sign_in(service, ALICE, "alice")
    music.fail_next(5, 503)
    assert isinstance(service._clock, Clock)
    service._clock.now += service.config.spotify.cache_ttl_s + 1
    profile = await service.profile(ALICE)
    assert profile is not None and profile.top_genres(1) == ["jazz"]


async def test_pasted_link_of_someone_else_or_twice_fails(service: TasteService) -> None:
    url = await service.start_oauth(ALICE)
    location = await asyncio.to_thread(approve, url, "alice")
    with pytest.raises(OAuthFailed, match="someone else"):
        await service.complete_oauth(BOB, location)
    with pytest.raises(OAuthFailed):
        await service.complete_oauth(ALICE, location)  # the state was used up
    url = await service.start_oauth(ALICE)
    denied = await asyncio.to_thread(approve, url, "not-a-spotify-user")
    with pytest.raises(OAuthFailed, match="didn't approve"):
        await service.complete_oauth(ALICE, denied)
    assert await service.profile(ALICE) is None


async def test_empty_library(service: TasteService) -> None:
    message = await sign_in(service, ALICE, "empty")
    assert "found no tracks" in message
    with pytest.raises(EmptyLibrary):
        await service.profile(ALICE)


async def test_link_by_user_id_on_a_new_app_says_what_to_do(service: TasteService) -> None:
    assert service.capabilities()["spotify_user"]
    with pytest.raises(SpotifyFeatureUnavailable, match="use /link spotify"):
        await service.link_spotify_user(ALICE, "https://open.spotify.com/user/bob")
    assert not service.capabilities()["spotify_user"]
    assert "/link spotify <" not in service.link_help()


async def test_link_by_user_id_on_an_old_app(service: TasteService, music: FakeSpotify) -> None:
    music.new_app = False
    message = await service.link_spotify_user(ALICE, "spotify:user:bob")
    assert "Linked Spotify user bob: 20 tracks from 1 public playlist." in message
    profile = await service.profile(ALICE)
    assert profile is not None and profile.top_genres(1) == ["heavy-metal"]
    with pytest.raises(SpotifyUserNotFound):
        await service.link_spotify_user(BOB, "nobody-at-all")
    with pytest.raises(EmptyLibrary, match="no public playlists"):
        await service.link_spotify_user(BOB, "empty")


async def test_csv_import_profile_is_cached(service: TasteService, config: Config) -> None:
    path = config.data.playlists_dir / "liked_songs_b.csv"
    profile = await service.import_playlist(ALICE, path.read_bytes(), path.name)
    # 720 rows, 14 of them a song saved twice (another release of the same title and artist)
    assert profile.tracks_total == 706 and "hip-hop" in profile.top_genres(3)
    assert profile.top_artists(1) == ["Kendrick Lamar"] and profile.known_songs
    calls = 0
    original = service.builder.build

    def counting(tracks, **options):
        nonlocal calls
        calls += 1
        return original(tracks, **options)

    service.builder.build = counting  # type: ignore[method-assign]
    again = await service.profile(ALICE)
    assert again == profile and calls == 0


async def test_unlink_and_forget(service: TasteService, music: FakeSpotify) -> None:
    await sign_in(service, ALICE, "alice")
    await sign_in(service, BOB, "bob")
    await service.store.set_consent(ALICE, "face")
    await service.store.add_feedback(ALICE, "t", 1)
    assert await service.unlink(BOB)
    assert await service.profile(BOB) is None
    assert await service.store.library(BOB) == []
    deleted = await service.forget(ALICE)
    assert deleted["users"] == 1 and deleted["consent"] == 1 and deleted["library_tracks"] > 0
    for table in USER_TABLES:
        row = await service.store.fetchone(f"SELECT COUNT(*) FROM {table}")
        assert row is not None and row[0] == 0, table
    assert await service.profile(ALICE) is None
    await service.store.close()
    data = db_bytes(service)
    for secret in list(music.access) + list(music.refresh):
        assert secret.encode() not in data


async def test_oauth_needs_a_key_and_an_app(music: FakeSpotify, catalog: Catalog,
                                            tmp_path: Path) -> None:
    config = make_config(music, tmp_path, MOOSIC_SECURITY_TOKEN_KEY="")
    async with Store(config.paths.database) as store:
        # the operator learns it at start-up (config_check); the user gets user words
        with pytest.raises(SpotifyLinkingUnavailable, match="playlist CSV") as raised:
            await TasteService(config, store, catalog).start_oauth(ALICE)
        assert "token_key" not in raised.value.user_message
        assert raised.value.detail == "security.token_key"
        bare = load_config(env={"MOOSIC_PATHS_DATABASE": str(tmp_path / "x.sqlite3")})
        plain = TasteService(bare, store, catalog)
        with pytest.raises(SpotifyNotConfigured, match="playlist CSV"):
            await plain.start_oauth(ALICE)
        with pytest.raises(SpotifyNotConfigured):
            await plain.link_spotify_user(ALICE, "bob")
        assert plain.capabilities() == {"playlist_csv": True, "spotify_user": False,
                                        "spotify_oauth": False}
