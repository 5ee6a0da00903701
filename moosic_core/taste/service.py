"""``TasteService``: linking a user's music (Spotify or a CSV) and serving their taste profile.

The chat service holds one instance. Every method is async; Spotify calls run in threads (see
:mod:`moosic_core.spotify.client`) and profile building runs through ``run_cpu`` (the service's
executor; a thread by default). Errors are typed (:mod:`moosic_core.errors`) and carry the
sentence the user sees.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlparse

import spotipy

from moosic_core.catalog.store import Catalog
from moosic_core.config import Config
from moosic_core.config_check import spotify_problems
from moosic_core.crypto import TokenCipher
from moosic_core.errors import (
    EmptyLibrary,
    NotLinked,
    OAuthFailed,
    SpotifyFeatureUnavailable,
    SpotifyLinkingUnavailable,
    SpotifyNotConfigured,
    SpotifyScopeMissing,
    SpotifyUnavailable,
)
from moosic_core.songs.models import SongModels
from moosic_core.spotify.client import (
    SCOPES,
    USER_PLAYLISTS,
    WRITE_SCOPE,
    SpotifyClient,
    TokenSet,
)
from moosic_core.spotify.library import (
    Library,
    add_audio_features,
    parse_user_ref,
    read_own_library,
    read_public_playlists,
)
from moosic_core.spotify.playlists import SavedPlaylist, create_private_playlist
from moosic_core.store import CachedProfile, Link, Store
from moosic_core.store.store import LINK_KINDS
from moosic_core.taste.csv_import import read_playlist_export
from moosic_core.taste.profile import ProfileBuilder, profile_from_json, profile_to_json
from moosic_core.text import count
from moosic_core.types import LibraryTrack, TasteProfile, UserRef

log = logging.getLogger(__name__)
T = TypeVar("T")
RunCpu = Callable[[Callable[[], Any]], Awaitable[Any]]

OAUTH_STATE_MAX_AGE_S = 600.0
#: Bumped when the profile gains fields: 2 = artist weights, similar artists, song keys.
PROFILE_VERSION = "profile2"
#: Parsed profiles kept in memory (least recently used dropped first).
PARSED_PROFILES = 1024
_BARE_CODE = re.compile(r"^[\w\-.~]{10,}$")


async def _in_thread(fn: Callable[[], T]) -> T:
    return await asyncio.to_thread(fn)


def parse_redirect(text: str) -> tuple[str | None, str | None, str | None]:
    """(code, state, error) from a pasted redirect URL, its query string or a bare code."""
    text = text.strip().strip("<>")
    if "=" in text:
        query = urlparse(text).query if "?" in text else text
        values = {k: v[0] for k, v in parse_qs(query).items()}
        return values.get("code"), values.get("state"), values.get("error")
    if _BARE_CODE.match(text):
        return text, None, None
    return None, None, None


class _OAuthSession:
    """A signed-in user's Spotify client; refreshes (and persists) tokens when Spotify says 401."""

    def __init__(self, service: TasteService, user: UserRef | None, tokens: TokenSet) -> None:
        self.service, self.user, self.tokens = service, user, tokens
        self.sp = service.spotify.user(tokens)

    async def refresh(self, sp: spotipy.Spotify | None = None) -> None:
        self.tokens = await self.service.spotify.refresh(self.tokens)
        self.sp.set_auth(self.tokens.access_token)
        if self.user is not None:
            await self.service._save_tokens(self.user, self.tokens)


class TasteService:
    """Links, imports, profiles; one instance per process."""

    def __init__(self, config: Config, store: Store, catalog: Catalog,
                 models: SongModels | None = None, *, spotify: SpotifyClient | None = None,
                 run_cpu: RunCpu | None = None, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.store = store
        self.catalog = catalog
        self.builder = ProfileBuilder(catalog, models)
        self.spotify = spotify or SpotifyClient(config.spotify)
        self._run_cpu: RunCpu = run_cpu or _in_thread
        self._clock = clock
        self._cipher: TokenCipher | None = None
        #: Operator mistakes in the Spotify set-up (logged at start-up): linking is off.
        self.spotify_problems = spotify_problems(config)
        self._user_locks: dict[UserRef, asyncio.Lock] = {}
        self._profiles: OrderedDict[UserRef, tuple[tuple[str, float], TasteProfile]] = \
            OrderedDict()

    # --- what this bot can do ------------------------------------------------------------
    @property
    def cipher(self) -> TokenCipher:
        """The token cipher; :class:`SpotifyLinkingUnavailable` when the set-up is unusable."""
        self._check_spotify_usable()
        if self._cipher is None:
            self._cipher = TokenCipher.from_config(self.config)
        return self._cipher

    def _check_spotify_usable(self) -> None:
        """Raise the user's answer when the operator's Spotify set-up is unusable."""
        if self.spotify_problems:
            raise SpotifyLinkingUnavailable(detail="; ".join(p.key for p in
                                                             self.spotify_problems))

    def capabilities(self) -> dict[str, bool]:
        """Which link modes the configured app supports (as far as known so far)."""
        usable = not self.spotify_problems
        return {"playlist_csv": True,
                "spotify_user": usable and self.spotify.has_secret
                and USER_PLAYLISTS not in self.spotify.unavailable,
                "spotify_oauth": usable and self.spotify.configured
                and bool(self.config.security.token_key)}

    def link_help(self) -> str:
        caps = self.capabilities()
        lines = []
        if caps["spotify_oauth"]:
            lines.append("/link spotify — sign in to Spotify; I read your top tracks, saved "
                         "tracks and your own playlists.")
        if caps["spotify_user"]:
            lines.append("/link spotify <profile link or user ID> — I read that user's public "
                         "playlists (only works if this bot's Spotify app still has that access).")
        lines.append("Or send me a playlist exported as CSV (e.g. from exportify.app).")
        return "\n".join(lines)

    def _lock(self, user: UserRef) -> asyncio.Lock:
        return self._user_locks.setdefault(user, asyncio.Lock())

    def _source_key(self, link: Link) -> str:
        """What a cached profile was built from; a profile of another version is rebuilt."""
        return (f"{link.kind}:{link.fetched_at}:{len(self.catalog)}x"
                f"{len(self.catalog.genre_names)}:{PROFILE_VERSION}")

    # --- building ------------------------------------------------------------------------
    async def _build(self, user: UserRef, tracks: list[LibraryTrack]) -> TasteProfile:
        if not tracks:
            raise EmptyLibrary()
        profile: TasteProfile = await self._run_cpu(lambda: self.builder.build(tracks))
        link = await self.store.get_link(user)
        if link is not None:
            await self.store.save_profile(user, profile_to_json(profile), self._source_key(link))
        return profile

    @staticmethod
    def _describe(profile: TasteProfile) -> str:
        top = ", ".join(profile.top_genres(3)) or "nothing yet"
        return (f"I understood {profile.tracks_understood} of "
                f"{count(profile.tracks_total, 'track')} ({profile.coverage:.0%}). "
                f"Your top genres: {top}.")

    # --- link by user ID (client credentials; apps with the old access) -----------------
    async def link_spotify_user(self, user: UserRef, text: str) -> str:
        """``/link spotify <user id | profile URL | spotify:user: URI>``; returns the reply."""
        self._check_spotify_usable()
        spotify_id = parse_user_ref(text)
        if not self.spotify.has_secret:
            if self.spotify.configured:
                raise SpotifyFeatureUnavailable(
                    "This bot can't read other users' playlists; use /link spotify with no ID "
                    "to sign in instead.", detail="no client secret for client credentials")
            raise SpotifyNotConfigured()
        async with self._lock(user):
            library = await read_public_playlists(self.spotify, spotify_id,
                                                  self.config.spotify.track_cap)
            if not library.tracks:
                raise EmptyLibrary(f"I found no public playlists with tracks for Spotify user "
                                   f"{spotify_id}. Make a playlist public, use /link spotify to "
                                   "sign in, or send a playlist CSV.")
            tracks = await add_audio_features(self.spotify, self.spotify.app(), library.tracks)
            await self.store.set_link(user, Link(kind="spotify_user", spotify_user_id=spotify_id,
                                                 source_name=spotify_id), tracks)
            profile = await self._build(user, tracks)
        return (f"Linked Spotify user {spotify_id}: {count(len(tracks), 'track')} from "
                f"{count(library.playlists_read, 'public playlist')}. "
                + self._describe(profile))

    # --- OAuth (authorization code + PKCE) -----------------------------------------------
    async def start_oauth(self, user: UserRef, *, write: bool = False) -> str:
        """A Spotify authorization URL for this user (state and verifier kept in the store).

        ``write``: also ask for ``playlist-modify-private`` (asked only when the user first
        saves a list, never at the first link; a user who granted it is asked again for it
        when they sign in again, so a new sign-in does not take it away).
        """
        self._check_spotify_usable()
        if not self.spotify.configured:
            raise SpotifyNotConfigured()
        # Signing in again keeps a permission given before (it is never asked at first).
        write = write or self.can_write(await self.store.get_link(user))
        cipher = self.cipher
        state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(64)
        await self.store.add_oauth_state(user, state, cipher.encrypt(verifier),
                                         OAUTH_STATE_MAX_AGE_S)
        return self.spotify.authorize_url(state, verifier,
                                          (*SCOPES, WRITE_SCOPE) if write else SCOPES)

    def oauth_instructions(self, url: str) -> str:
        return ("Open this link and approve Moo-Sic (read-only: your playlists, saved and top "
                f"tracks):\n{url}\nIf the page you land on doesn't load, copy its address and "
                "paste it here. The link works for 10 minutes.")

    async def complete_oauth(self, user: UserRef | None, code_or_redirect_url: str) -> str:
        """Finish sign-in from a pasted redirect URL (or code); returns the reply."""
        _, message = await self._complete(user, *parse_redirect(code_or_redirect_url))
        return message

    async def complete_oauth_callback(self, query: Mapping[str, str]) -> tuple[UserRef, str]:
        """For the callback endpoint: finish sign-in from the redirect's query parameters."""
        return await self._complete(None, query.get("code"), query.get("state"),
                                    query.get("error"))

    async def _complete(self, user: UserRef | None, code: str | None, state: str | None,
                        error: str | None) -> tuple[UserRef, str]:
        self._check_spotify_usable()
        if error:
            if state:
                await self.store.pop_oauth_state(state)
            raise OAuthFailed("You didn't approve the Spotify sign-in, so nothing was linked."
                              if error == "access_denied" else None, detail=f"error={error}")
        if not code:
            raise OAuthFailed("That doesn't look like the address Spotify sent you to. Paste the "
                              "whole address (it contains code=...).")
        if state is None and user is not None:
            state = await self.store.pending_oauth_state(user)
        pending = await self.store.pop_oauth_state(state) if state else None
        if pending is None:
            raise OAuthFailed(detail="unknown or used state")
        if user is not None and pending.user != user:
            raise OAuthFailed("That sign-in link was made for someone else. Use /link spotify "
                              "to get your own.", detail="state belongs to another user")
        if self._clock() - pending.created_at > OAUTH_STATE_MAX_AGE_S:
            raise OAuthFailed(detail="state expired")
        owner = pending.user
        verifier = self.cipher.decrypt(pending.verifier)
        tokens = await self.spotify.exchange_code(code, verifier)
        async with self._lock(owner):
            session = _OAuthSession(self, None, tokens)
            library = await self._read_own(session)
            cipher = self.cipher
            tokens = session.tokens
            await self.store.set_link(owner, Link(
                kind="spotify_oauth", spotify_user_id=library.spotify_user_id,
                display_name=library.display_name,
                access_token=cipher.encrypt(tokens.access_token),
                refresh_token=cipher.encrypt(tokens.refresh_token), scopes=tokens.scope,
                expires_at=tokens.expires_at,
                source_name=library.display_name or library.spotify_user_id), library.tracks)
            who = library.display_name or library.spotify_user_id
            if not library.tracks:
                return owner, (f"Signed in to Spotify as {who}, but I found no tracks yet. Save "
                               "some songs or make a playlist, then ask me again.")
            profile = await self._build(owner, library.tracks)
        return owner, (f"Signed in to Spotify as {who}: {self._describe_library(library)} "
                       + self._describe(profile))

    @staticmethod
    def _describe_library(library: Library) -> str:
        parts = [count(n, name) for name, n in (("top track", library.sources.get("top", 0)),
                 ("saved track", library.sources.get("saved", 0)),
                 ("playlist track", library.sources.get("playlists", 0))) if n]
        text = f"read {', '.join(parts) or 'no tracks'}"
        if library.playlists_skipped:
            text += (f" ({count(library.playlists_skipped, 'playlist')} you follow but don't own "
                     "can't be read by apps any more)")
        if library.truncated:
            text += f" (stopped at {count(len(library.tracks), 'track')})"
        return text + "."

    async def _read_own(self, session: _OAuthSession) -> Library:
        if session.tokens.expired(self._clock()):
            await session.refresh()
        library = await read_own_library(self.spotify, session.sp, session.refresh,
                                         self.config.spotify.track_cap)
        library.tracks = await add_audio_features(self.spotify, session.sp, library.tracks,
                                                  session.refresh)
        return library

    async def _save_tokens(self, user: UserRef, tokens: TokenSet) -> None:
        cipher = self.cipher
        await self.store.update_tokens(user, cipher.encrypt(tokens.access_token),
                                       cipher.encrypt(tokens.refresh_token), tokens.expires_at,
                                       tokens.scope or None)

    # --- saving a list to Spotify --------------------------------------------------------
    @staticmethod
    def can_write(link: Link | None) -> bool:
        """Whether a link is a Spotify sign-in that granted ``playlist-modify-private``."""
        return link is not None and link.kind == "spotify_oauth" \
            and WRITE_SCOPE in (link.scopes or "").split()

    async def save_playlist(self, user: UserRef, name: str, description: str,
                            track_ids: list[str]) -> SavedPlaylist:
        """Make a private playlist ``name`` in the signed-in user's account with the tracks in
        order (see :func:`moosic_core.spotify.playlists.create_private_playlist` for errors).

        Raises :class:`NotLinked` without a Spotify sign-in and :class:`SpotifyScopeMissing`
        when the sign-in lacks ``playlist-modify-private`` (the caller asks for it).
        """
        self._check_spotify_usable()
        link = await self.store.get_link(user)
        if link is None or link.kind != "spotify_oauth" or link.access_token is None \
                or link.refresh_token is None:
            raise NotLinked(detail="saving needs a Spotify sign-in")
        if not self.can_write(link):
            raise SpotifyScopeMissing(detail=f"granted: {link.scopes or '-'}")
        cipher = self.cipher
        session = _OAuthSession(self, user, TokenSet(
            cipher.decrypt(link.access_token), cipher.decrypt(link.refresh_token),
            link.expires_at or 0.0, link.scopes or ""))
        if session.tokens.expired(self._clock()):
            await session.refresh()
        return await create_private_playlist(
            self.spotify, session.sp, link.spotify_user_id or "", name, description,
            [f"spotify:track:{t}" for t in track_ids], session.refresh)

    # --- playlist CSV --------------------------------------------------------------------
    async def import_playlist(self, user: UserRef, data: bytes, filename: str) -> TasteProfile:
        """Make an exported playlist file the user's taste source; returns the new profile.

        A file over the import's limits is read in part; the profile's ``notes`` say so."""
        export = await self._run_cpu(lambda: read_playlist_export(
            data, filename, known_artist=lambda name: self.catalog.rows_by_artist(name).size > 0))
        tracks = export.tracks
        async with self._lock(user):
            await self.store.set_link(user, Link(kind="playlist_csv", source_name=filename),
                                      tracks)
            profile = await self._build(user, tracks)
        return dataclasses.replace(profile, notes=(export.note,)) if export.note else profile

    # --- the profile ---------------------------------------------------------------------
    async def profile(self, user: UserRef) -> TasteProfile | None:
        """The user's taste profile (cached), or None if they have linked nothing."""
        async with self._lock(user):
            link = await self.store.get_link(user)
            if link is None:
                return None
            cached = await self.store.cached_profile(user)
            stale = link.kind != "playlist_csv" and (
                link.fetched_at is None
                or self._clock() - link.fetched_at > self.config.spotify.cache_ttl_s)
            if cached is not None and not stale and cached.source_key == self._source_key(link):
                return self._parsed(user, cached)
            if stale:
                try:
                    await self._refetch(user, link)
                except SpotifyUnavailable as exc:
                    if cached is None or not exc.retryable:
                        raise
                    log.warning("Spotify refresh failed (%s); serving the cached profile",
                                exc.kind)
                    return self._parsed(user, cached)
            return await self._build(user, await self.store.library(user))

    def _parsed(self, user: UserRef, cached: CachedProfile) -> TasteProfile:
        """The cached profile, parsed once per version (a few ms for thousands of tracks)."""
        version = (cached.source_key, cached.built_at)
        hit = self._profiles.get(user)
        if hit is not None and hit[0] == version:
            self._profiles.move_to_end(user)
            return hit[1]
        profile = profile_from_json(cached.profile)
        self._profiles[user] = (version, profile)
        if len(self._profiles) > PARSED_PROFILES:
            self._profiles.popitem(last=False)
        return profile

    async def _refetch(self, user: UserRef, link: Link) -> None:
        cap = self.config.spotify.track_cap
        if link.kind == "spotify_user":
            assert link.spotify_user_id is not None
            library = await read_public_playlists(self.spotify, link.spotify_user_id, cap)
            tracks = await add_audio_features(self.spotify, self.spotify.app(), library.tracks)
        else:
            if link.access_token is None or link.refresh_token is None:
                raise OAuthFailed(detail="link without tokens")
            cipher = self.cipher
            tokens = TokenSet(cipher.decrypt(link.access_token),
                              cipher.decrypt(link.refresh_token), link.expires_at or 0.0,
                              link.scopes or "")
            library = await self._read_own(_OAuthSession(self, user, tokens))
            tracks = library.tracks
        await self.store.replace_library(user, tracks)

    # --- unlinking and forgetting --------------------------------------------------------
    async def unlink(self, user: UserRef, kinds: Collection[str] = LINK_KINDS) -> Link | None:
        """Delete the user's link when its kind is one of ``kinds`` (``LINK_KINDS``: any), with
        its tokens and cached library; feedback and consent stay. Returns the deleted link, or
        None when there was none of those kinds (nothing is deleted then)."""
        async with self._lock(user):
            link = await self.store.get_link(user)
            if link is None or link.kind not in kinds:
                return None
            self._profiles.pop(user, None)
            await self.store.delete_link(user)
            return link

    async def link(self, user: UserRef) -> Link | None:
        """The user's taste source (its kind and name), or None."""
        return await self.store.get_link(user)

    async def forget(self, user: UserRef) -> dict[str, int]:
        """Delete everything stored about the user."""
        async with self._lock(user):
            deleted = await self.store.forget(user)
            self._profiles.pop(user, None)
        self._user_locks.pop(user, None)
        return deleted
