"""Writing to a user's Spotify: a private playlist made of a song list, in order.

Under Spotify's February 2026 rules a development-mode app creates playlists with
``POST /me/playlists`` (``POST /users/{user_id}/playlists`` was removed for it) and adds tracks
with ``POST /playlists/{id}/items`` (``/tracks`` was removed). Extended-quota apps keep the old
endpoints. Both need the ``playlist-modify-private`` scope for a private playlist. The first
call tries the 2026 endpoint; a 404/405 marks it missing for the process (as
:attr:`SpotifyClient.unavailable` does for read endpoints) and the older endpoint is used from
then on. Adds go in batches of at most 100 URIs (Spotify's limit per request), in list order.

Errors are the reading path's typed ones (429 within the retry budget, 5xx, 401 refresh once);
a 403 becomes :class:`SpotifyScopeMissing` when Spotify says the scope is insufficient and
:class:`SpotifyNotAllowed` otherwise (a development-mode app and a user not on its list).
A failure after the playlist exists raises :class:`PlaylistIncomplete`, which names it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import spotipy

from moosic_core.errors import (
    MoosicError,
    SpotifyNotAllowed,
    SpotifyScopeMissing,
    SpotifyUnavailable,
)
from moosic_core.spotify.client import ApiRefused, Reauth, RetryBudget, SpotifyClient

log = logging.getLogger(__name__)

#: Spotify adds at most 100 items per request (Web API reference, "Add Items to Playlist").
ADD_BATCH = 100
CREATE_ME = "me.playlists.create"  # POST /me/playlists (2026)
CREATE_USER = "users.playlists.create"  # POST /users/{id}/playlists (extended quota)
ADD_ITEMS = "playlists.items.add"  # POST /playlists/{id}/items (2026)
ADD_TRACKS = "playlists.tracks.add"  # POST /playlists/{id}/tracks (extended quota)
_MISSING = (404, 405)

NOT_ALLOWED_TO_SAVE = (
    "Spotify refused to make the playlist: this bot's Spotify app is in development mode and "
    "your account isn't on its list of allowed users, or the app may not write playlists.")


@dataclass(frozen=True)
class SavedPlaylist:
    """A playlist made in the user's account: its id, web link, name and tracks added."""

    playlist_id: str
    url: str
    name: str
    added: int


class PlaylistIncomplete(SpotifyUnavailable):
    """The playlist was made but not every track could be added; ``playlist`` says how many
    were; ``cause`` is the error that stopped it (its message is this one's)."""

    def __init__(self, playlist: SavedPlaylist, cause: MoosicError) -> None:
        super().__init__(cause.user_message, detail=f"stopped after {playlist.added} tracks: "
                                                    f"{cause.detail or cause.kind}")
        self.playlist = playlist
        self.cause = cause
        self.retryable = getattr(cause, "retryable", False)


def _refused(exc: ApiRefused) -> MoosicError:
    """A 403 in user words: the missing scope, or an app/user Spotify won't let write."""
    if exc.status == 403 and "scope" in exc.reason.lower():
        return SpotifyScopeMissing(detail=f"{exc.label}: insufficient scope")
    if exc.status == 403:
        return SpotifyNotAllowed(NOT_ALLOWED_TO_SAVE, detail=f"{exc.label}: HTTP 403")
    return exc


def _create_me(name: str, description: str) -> Callable[[spotipy.Spotify], Any]:
    return lambda sp: sp.current_user_playlist_create(name, public=False,
                                                      description=description)


def _create_for(user_id: str, name: str, description: str
                ) -> Callable[[spotipy.Spotify], Any]:
    payload = {"name": name, "public": False, "collaborative": False,
               "description": description}
    # spotipy's ``user_playlist_create`` warns (deprecated); the request is the same.
    return lambda sp: sp._post(f"users/{user_id}/playlists", payload=payload)


def _add(playlist_id: str, path: str, uris: list[str]) -> Callable[[spotipy.Spotify], Any]:
    return lambda sp: sp._post(f"playlists/{playlist_id}/{path}", payload={"uris": uris})


async def _first_available(client: SpotifyClient, sp: spotipy.Spotify, budget: RetryBudget,
                           reauth: Reauth | None,
                           tries: Sequence[tuple[str, Callable[[spotipy.Spotify], Any]]]
                           ) -> Any:
    """Call the first endpoint this app has (2026 first); remember the missing ones."""
    last: ApiRefused | None = None
    for label, fn in tries:
        if label in client.unavailable:
            continue
        try:
            return await client.call(sp, label, fn, budget, reauth)
        except ApiRefused as exc:
            if exc.status not in _MISSING:
                raise _refused(exc) from None
            log.warning("Spotify %s answered HTTP %d: using the older endpoint", label,
                        exc.status)
            client.unavailable[label] = "missing"
            last = exc
    raise SpotifyUnavailable(detail=f"no playlist endpoint answered ({last and last.label})")


async def create_private_playlist(client: SpotifyClient, sp: spotipy.Spotify, user_id: str,
                                  name: str, description: str, uris: Sequence[str],
                                  reauth: Reauth | None = None) -> SavedPlaylist:
    """Make a private playlist called ``name`` in the signed-in user's account with ``uris``
    (``spotify:track:…``) in order; returns it.

    ``sp`` acts as the user (their token); ``user_id`` is their Spotify id (for the older
    create endpoint). Raises :class:`SpotifyScopeMissing`, :class:`SpotifyNotAllowed`,
    :class:`SpotifyRateLimited` (429 past ``spotify.max_retry_wait_s``),
    :class:`SpotifyUnavailable` (5xx, network), :class:`SpotifyAuthExpired`, or
    :class:`PlaylistIncomplete` once the playlist exists.
    """
    budget = client.budget()
    created = await _first_available(client, sp, budget, reauth, (
        (CREATE_ME, _create_me(name, description)),
        (CREATE_USER, _create_for(user_id, name, description))))
    playlist_id = str(created["id"])
    url = str((created.get("external_urls") or {}).get("spotify")
              or f"https://open.spotify.com/playlist/{playlist_id}")
    added = 0
    try:
        for start in range(0, len(uris), ADD_BATCH):
            batch = list(uris[start:start + ADD_BATCH])
            await _first_available(client, sp, budget, reauth, (
                (ADD_ITEMS, _add(playlist_id, "items", batch)),
                (ADD_TRACKS, _add(playlist_id, "tracks", batch))))
            added += len(batch)
    except MoosicError as exc:
        raise PlaylistIncomplete(SavedPlaylist(playlist_id, url, name, added), exc) from None
    return SavedPlaylist(playlist_id, url, name, added)
