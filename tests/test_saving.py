"""Keeping a list (issue 34), below the chat adapters: the CSV file, the Spotify playlist (real
spotipy against the fake Web API), endpoint detection, scopes, 429 and 5xx."""

from __future__ import annotations

import asyncio
import time
from datetime import date

import pytest

from moosic_core.catalog.store import Catalog
from moosic_core.errors import SpotifyNotAllowed, SpotifyRateLimited, SpotifyScopeMissing
from moosic_core.saving import list_title
from moosic_core.spotify.client import WRITE_SCOPE
from moosic_core.spotify.playlists import (
    ADD_ITEMS,
    CREATE_ME,
    PlaylistIncomplete,
)
from moosic_core.taste.csv_export import COLUMNS, csv_filename, playlist_csv
from moosic_core.taste.csv_import import read_playlist_export
from moosic_core.taste.service import TasteService
from moosic_core.types import Track
from tests.fakes.spotify import FakeSpotify
from tests.test_taste_service import ALICE, approve, music, service  # noqa: F401 - fixtures


def catalog_tracks(catalog: Catalog, n: int, skip: int = 0) -> list[Track]:
    return [catalog.track(r) for r in range(skip, skip + n)]


async def sign_in(service: TasteService, fake_user: str, *,  # noqa: F811
                  write: bool) -> str:
    url = await service.start_oauth(ALICE, write=write)
    location = await asyncio.to_thread(approve, url, fake_user)
    return await service.complete_oauth(ALICE, location)


# --- the file -------------------------------------------------------------------------------
def test_csv_reads_back_to_the_same_tracks_in_order(catalog: Catalog) -> None:
    tracks = catalog_tracks(catalog, 40, skip=1000)
    tricky = Track("4uLU6hMCjMI75M1A2tKUQC", 'Say "Hi", World', ("Tyler, The Creator", "Ø"),
                   ("pop",), 0.5, 0.5, 0.5)
    data = playlist_csv([*tracks, tricky])
    assert data.decode().splitlines()[0] == ",".join(COLUMNS)
    assert not data.startswith(b"\xef\xbb\xbf")  # no BOM: Exportify's parser reads the header
    export = read_playlist_export(data, "list.csv")
    assert [t.track_id for t in export.tracks] == [t.track_id for t in tracks] + [tricky.track_id]
    assert export.tracks[-1].name == tricky.name
    assert export.tracks[-1].artists == tricky.artists  # a comma inside a name survives
    assert export.language == "en"


def test_titles_and_file_names() -> None:
    title = list_title("calm", date(2026, 11, 29))
    assert title == "Moo-Sic · calm · 29 Nov"
    assert csv_filename(title) == "Moo-Sic-calm-29-Nov.csv"
    assert csv_filename(list_title("😌 relieved", date(2026, 1, 5))) == \
        "Moo-Sic-relieved-5-Jan.csv"
    assert csv_filename("···") == "Moo-Sic.csv"


# --- Spotify --------------------------------------------------------------------------------
async def test_read_only_sign_in_cannot_save_and_the_write_sign_in_asks_for_the_scope(
        service: TasteService, music: FakeSpotify, catalog: Catalog) -> None:  # noqa: F811
    await sign_in(service, "alice", write=False)
    link = await service.link(ALICE)
    assert link is not None and WRITE_SCOPE not in (link.scopes or "")
    with pytest.raises(SpotifyScopeMissing):
        await service.save_playlist(ALICE, "x", "", [catalog_tracks(catalog, 1)[0].track_id])
    url = await service.start_oauth(ALICE, write=True)
    assert WRITE_SCOPE in url and "user-top-read" in url
    assert WRITE_SCOPE not in await service.start_oauth(ALICE)  # the first link never asks


async def test_save_makes_a_private_playlist_in_order_in_batches_of_100(
        service: TasteService, music: FakeSpotify, catalog: Catalog) -> None:  # noqa: F811
    await sign_in(service, "alice", write=True)
    tracks = catalog_tracks(catalog, 230, skip=500)
    saved = await service.save_playlist(ALICE, "Moo-Sic · calm · 29 Nov", "why",
                                        [t.track_id for t in tracks])
    made, = music.playlists_of("alice")
    assert made.name == "Moo-Sic · calm · 29 Nov" and not made.public
    assert made.track_ids() == [t.track_id for t in tracks]
    assert music.add_batches == [100, 100, 30]
    assert saved.added == 230 and saved.url.endswith(made.playlist_id)
    assert WRITE_SCOPE in await service.start_oauth(ALICE)  # a new sign-in keeps the permission
    assert ("POST", "/v1/me/playlists") in music.requests
    assert ("POST", f"/v1/playlists/{made.playlist_id}/items") in music.requests


async def test_an_app_with_only_the_older_endpoints_is_detected(
        service: TasteService, music: FakeSpotify, catalog: Catalog) -> None:  # noqa: F811
    music.new_app, music.api_2026 = False, False  # extended quota, before the 2026 endpoints
    await sign_in(service, "alice", write=True)
    ids = [t.track_id for t in catalog_tracks(catalog, 3)]
    await service.save_playlist(ALICE, "first", "", ids)
    await service.save_playlist(ALICE, "second", "", ids)
    assert [p.track_ids() for p in music.playlists_of("alice")] == [ids, ids]
    assert CREATE_ME in service.spotify.unavailable and ADD_ITEMS in service.spotify.unavailable
    writes = [p for m, p in music.requests if m == "POST" and p.startswith("/v1/")]
    assert writes.count("/v1/me/playlists") == 1  # tried once, then the older one only
    assert writes.count("/v1/users/alice/playlists") == 2


async def test_a_long_429_ends_at_once(service: TasteService, music: FakeSpotify,  # noqa: F811
                                       catalog: Catalog) -> None:
    await sign_in(service, "alice", write=True)
    music.rate_limit(5, retry_after=3600, method="POST")
    start = time.monotonic()
    with pytest.raises(SpotifyRateLimited):
        await service.save_playlist(ALICE, "x", "", [catalog_tracks(catalog, 1)[0].track_id])
    assert time.monotonic() - start < 5  # never waits an hour
    assert music.playlists_of("alice") == []


async def test_a_failure_after_the_playlist_exists_says_how_far_it_got(
        service: TasteService, music: FakeSpotify, catalog: Catalog) -> None:  # noqa: F811
    await sign_in(service, "alice", write=True)
    ids = [t.track_id for t in catalog_tracks(catalog, 150)]
    music.fail_write(after=2, status=503)  # the playlist and the first 100 tracks
    with pytest.raises(PlaylistIncomplete) as caught:
        await service.save_playlist(ALICE, "x", "", ids)
    assert caught.value.playlist.added == 100
    assert music.playlists_of("alice")[0].track_ids() == ids[:100]


async def test_a_403_that_is_not_about_the_scope_says_the_app_may_not_write(
        service: TasteService, music: FakeSpotify, catalog: Catalog) -> None:  # noqa: F811
    await sign_in(service, "alice", write=True)
    music.fail_write(after=0, status=403)  # e.g. a development-mode app, a user not listed
    with pytest.raises(SpotifyNotAllowed) as caught:
        await service.save_playlist(ALICE, "x", "", [catalog_tracks(catalog, 1)[0].track_id])
    assert "development mode" in caught.value.user_message
