"""Reading a user's tracks from Spotify: public playlists (old apps) or their own library.

Under the 2026 rules a new app reads ``/me/top/tracks``, ``/me/tracks`` and ``/me/playlists``
with the user's own token, and playlist contents only for playlists the user owns or
collaborates on; an entry's track is under ``item`` (or ``track`` in older responses).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import spotipy

from moosic_core.errors import SpotifyFeatureUnavailable, SpotifyNotAllowed, SpotifyUserNotFound
from moosic_core.spotify.client import (
    AUDIO_FEATURES,
    USER_PLAYLISTS,
    ApiRefused,
    Reauth,
    RetryBudget,
    SpotifyClient,
)
from moosic_core.types import LibraryTrack

log = logging.getLogger(__name__)

PAGE = 50
FEATURE_BATCH = 100
AUDIO_FEATURE_KEYS = ("danceability", "energy", "key", "loudness", "mode", "speechiness",
                      "acousticness", "instrumentalness", "liveness", "valence", "tempo",
                      "time_signature", "duration_ms")

_USER_URL = re.compile(r"open\.spotify\.com/(?:intl-[\w-]+/)?user/([^/?#\s]+)", re.I)
_USER_URI = re.compile(r"^spotify:user:([^:\s]+)$", re.I)
_USER_ID = re.compile(r"^[\w.\-]{1,64}$")


def parse_user_ref(text: str) -> str:
    """A Spotify user ID from an ID, a profile URL or a ``spotify:user:`` URI."""
    text = text.strip().strip("<>")
    match = _USER_URL.search(text) or _USER_URI.match(text)
    candidate = match.group(1) if match else text
    if not _USER_ID.match(candidate):
        raise SpotifyUserNotFound(
            "That doesn't look like a Spotify user. Send a user ID, a profile link "
            "(https://open.spotify.com/user/...) or a spotify:user:... URI.")
    return candidate


def track_of(obj: Any) -> LibraryTrack | None:
    """A library track from a Spotify track object (None for episodes, local files, gaps)."""
    if not isinstance(obj, dict) or obj.get("type", "track") != "track":
        return None
    name = obj.get("name") or ""
    artists = tuple(a.get("name", "") for a in obj.get("artists") or [] if a.get("name"))
    if not name or not artists:
        return None
    track_id = obj.get("id") or None
    meta: dict[str, float] = {}
    if isinstance(obj.get("popularity"), int | float):
        meta["popularity"] = float(obj["popularity"])
    if isinstance(obj.get("explicit"), bool):
        meta["explicit"] = float(obj["explicit"])
    if isinstance(obj.get("duration_ms"), int | float):
        meta["duration_ms"] = float(obj["duration_ms"])
    return LibraryTrack(name=name, artists=artists, track_id=track_id, features=meta or None)


@dataclass
class Library:
    """What was read, and what could not be (said plainly to the user)."""

    spotify_user_id: str
    display_name: str | None = None
    tracks: list[LibraryTrack] = field(default_factory=list)
    sources: dict[str, int] = field(default_factory=dict)
    playlists_read: int = 0
    playlists_skipped: int = 0
    truncated: bool = False
    _seen: set[str] = field(default_factory=set, repr=False)

    def add(self, tracks: Iterable[LibraryTrack | None], source: str, cap: int) -> bool:
        """Add new tracks (deduplicated); False once the cap is reached."""
        for track in tracks:
            if track is None:
                continue
            if len(self.tracks) >= cap:
                self.truncated = True
                return False
            key = track.track_id or f"{track.name}|{';'.join(track.artists)}"
            if key in self._seen:
                continue
            self._seen.add(key)
            self.tracks.append(track)
            self.sources[source] = self.sources.get(source, 0) + 1
        return True


async def _playlist_tracks(client: SpotifyClient, sp: spotipy.Spotify, playlist_id: str,
                           library: Library, budget: RetryBudget, cap: int,
                           reauth: Reauth | None) -> None:
    try:
        async for page in client.pages(
                sp, "playlists.items",
                lambda s: s.playlist_items(playlist_id, limit=PAGE,
                                           additional_types=("track",)), budget, reauth):
            entries = page.get("items") or []
            found = [track_of(e.get("item") or e.get("track")) for e in entries if e]
            if not library.add(found, "playlists", cap):
                break
        library.playlists_read += 1
    except ApiRefused as exc:
        log.info("playlist skipped (HTTP %d)", exc.status)
        library.playlists_skipped += 1


async def read_public_playlists(client: SpotifyClient, user_id: str, cap: int) -> Library:
    """A user's public playlists via client credentials (apps with the old access only)."""
    sp, budget = client.app(), client.budget()
    library = Library(spotify_user_id=user_id)
    playlists: list[dict[str, Any]] = []
    try:
        async for page in client.pages(sp, USER_PLAYLISTS,
                                       lambda s: s.user_playlists(user_id, limit=PAGE), budget):
            playlists.extend(p for p in page.get("items") or [] if p)
    except ApiRefused as exc:
        if exc.status == 404:
            raise SpotifyUserNotFound(detail=user_id) from None
        raise
    for playlist in playlists:
        if len(library.tracks) >= cap:
            library.truncated = True
            break
        await _playlist_tracks(client, sp, playlist["id"], library, budget, cap, None)
    return library


async def read_own_library(client: SpotifyClient, sp: spotipy.Spotify, reauth: Reauth,
                           cap: int) -> Library:
    """The signed-in user's top tracks, saved tracks and own/collaborative playlists."""
    budget = client.budget()
    try:
        me = await client.call(sp, "me", lambda s: s.current_user(), budget, reauth)
    except ApiRefused as exc:
        if exc.status == 403:
            raise SpotifyNotAllowed(detail="GET /me: HTTP 403") from None
        raise
    library = Library(spotify_user_id=str(me["id"]), display_name=me.get("display_name"))
    reads = (("top", lambda s: s.current_user_top_tracks(limit=PAGE)),
             ("saved", lambda s: s.current_user_saved_tracks(limit=PAGE)))
    for source, first in reads:
        async for page in client.pages(sp, f"me.{source}", first, budget, reauth):
            items = page.get("items") or []
            found = [track_of(i.get("track") if "track" in i else i) for i in items if i]
            if not library.add(found, source, cap):
                return library
    playlists: list[dict[str, Any]] = []
    async for page in client.pages(sp, "me.playlists",
                                   lambda s: s.current_user_playlists(limit=PAGE), budget, reauth):
        playlists.extend(p for p in page.get("items") or [] if p)
    for playlist in playlists:
        owner = (playlist.get("owner") or {}).get("id")
        if owner != library.spotify_user_id and not playlist.get("collaborative"):
            library.playlists_skipped += 1  # 2026 rule: only own or collaborative playlists
            continue
        if len(library.tracks) >= cap:
            library.truncated = True
            break
        await _playlist_tracks(client, sp, playlist["id"], library, budget, cap, reauth)
    return library


def _features_of(ids: list[str]) -> Callable[[spotipy.Spotify], Any]:
    return lambda sp: sp.audio_features(ids)


async def add_audio_features(client: SpotifyClient, sp: spotipy.Spotify,
                             tracks: list[LibraryTrack], reauth: Reauth | None = None
                             ) -> list[LibraryTrack]:
    """Tracks with Spotify's audio features where the app may still read them.

    Apps registered after 2024-11-27 get 403: the endpoint is then marked unavailable for the
    process and the tracks are returned unchanged. Nothing downstream depends on features.
    """
    if AUDIO_FEATURES in client.unavailable:
        return tracks
    budget = client.budget()
    ids = [t.track_id for t in tracks if t.track_id]
    found: dict[str, dict[str, float]] = {}
    try:
        for start in range(0, len(ids), FEATURE_BATCH):
            batch = ids[start:start + FEATURE_BATCH]
            result = await client.call(sp, AUDIO_FEATURES, _features_of(batch), budget, reauth)
            for item in result or []:
                if isinstance(item, dict) and item.get("id"):
                    found[item["id"]] = {k: float(item[k]) for k in AUDIO_FEATURE_KEYS
                                         if isinstance(item.get(k), int | float)}
    except (SpotifyFeatureUnavailable, ApiRefused) as exc:
        log.info("audio features unavailable: %s", exc.detail)
        return tracks
    out = []
    for track in tracks:
        extra = found.get(track.track_id or "")
        if extra:
            track = replace(track, features={**(track.features or {}), **extra})
        out.append(track)
    return out
