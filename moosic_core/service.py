"""The one API every chat adapter calls: photos and moods in, ranked and explained songs out.

CPU work (face detection, inference, ranking) runs in a bounded thread pool so the event loop
never blocks. What may wait for it is decided by admission control on the expected queue wait
(:mod:`moosic_core.admission`): cheap work goes through even in large bursts, selfies queue up
to ``service.max_queue_wait_s`` and past that get :class:`Busy` at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from moosic_core.admission import AdmissionControl, Cost
from moosic_core.catalog.store import Catalog
from moosic_core.config import Config
from moosic_core.errors import ConsentRequired, MoosicError, SpotifyScopeMissing, UnknownTrack
from moosic_core.metrics import Metrics, StepTimer
from moosic_core.recommend.group import GroupList, GroupMember, GroupRanker, group_mood
from moosic_core.recommend.moods import describe_mood, parse_mood
from moosic_core.recommend.ranking import DISCOVERY_SHARES, Mode, Ranker, personal_request
from moosic_core.saving import SaveResult, SongList
from moosic_core.songs.models import SongModels
from moosic_core.spotify.playlists import PlaylistIncomplete, SavedPlaylist
from moosic_core.store import LastList, Link, Store
from moosic_core.store.store import LINK_KINDS
from moosic_core.taste.csv_export import csv_filename, playlist_csv
from moosic_core.taste.service import TasteService
from moosic_core.types import (
    FaceReading,
    MoodReading,
    Recommendation,
    TasteProfile,
    Track,
    UserRef,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Recommended tracks are not repeated to the same user for this long.
HISTORY_WINDOW_S = 14 * 24 * 3600
SAD_THRESHOLD = 0.35
FACE_CONSENT = "face_analysis"
#: How long a platform update taken by a process that never finished it (the process died
#: mid-update) stays taken before a redelivery may be handled: longer than any handling takes.
UPDATE_LEASE_S = 120.0
#: The per-user setting behind /discover: "more", "less" or absent (the default).
DISCOVERY_SETTING = "discovery"


class FaceReader(Protocol):
    """Reads the faces in a photo (bytes in memory), largest first."""

    def read(self, image: bytes, timer: StepTimer) -> list[FaceReading]: ...


@dataclass(frozen=True)
class HintWords:
    """How a front-end words the service's one-line hints, in its own commands (a chat's
    ``/lift``, the CLI's ``--mode lift``): the caller's context, never the core's."""

    #: No taste linked: how to add one (chat: /link spotify or a playlist file).
    link_taste: str
    #: A sad mood matched: how to ask for a list that lifts it.
    try_lift: str


@dataclass(frozen=True)
class Suggestions:
    """A ranked, explained list for one user, with one-line hints worded by the caller's
    :class:`HintWords` (none when the service was given no words)."""

    mood: MoodReading
    mode: Mode
    items: tuple[Recommendation, ...]
    has_taste: bool
    hints: tuple[str, ...] = field(default_factory=tuple)

    @property
    def mood_words(self) -> str:
        return describe_mood(self.mood.mood_score)


class MoosicService:
    """Holds the models, the catalog and the store; safe for many concurrent chats."""

    def __init__(self, config: Config, catalog: Catalog, faces: FaceReader, store: Store,
                 models: SongModels | None = None, metrics: Metrics | None = None,
                 hint_words: HintWords | None = None) -> None:
        self.config = config
        #: How hints are worded for the front-end that made this service (None: no hints).
        self.hint_words = hint_words
        self.metrics = metrics or Metrics()
        self.catalog = catalog
        self.ranker = Ranker(catalog)
        self.group_ranker = GroupRanker(self.ranker)
        self.faces = faces
        self.store = store
        self._executor = ThreadPoolExecutor(max_workers=config.service.workers,
                                            thread_name_prefix="moosic-cpu")
        self.admission = AdmissionControl(config.service.workers,
                                          config.service.max_queue_wait_s)
        self.taste = TasteService(config, store, catalog, models, run_cpu=self.run_cpu)

    async def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    async def run_cpu(self, fn: Callable[..., T], *args: object, cost: Cost = "light") -> T:
        """Run CPU-bound work in the pool if admission control lets it in (else :class:`Busy`).

        ``cost`` is ``"expensive"`` for selfies (bounded queue wait), ``"light"`` otherwise.
        """
        ticket = self.admission.admit(cost)
        took: list[float] = []

        def timed() -> T:
            start = time.perf_counter()
            try:
                return fn(*args)
            finally:
                took.append(time.perf_counter() - start)

        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, timed)
        finally:
            self.admission.finished(ticket, took[0] if took else None)

    # --- consent and mood ------------------------------------------------------------------
    async def has_consent(self, user: UserRef) -> bool:
        return await self.store.consent_at(user, FACE_CONSENT) is not None

    async def give_consent(self, user: UserRef) -> None:
        await self.store.set_consent(user, FACE_CONSENT)

    async def read_photo(self, user: UserRef, image: bytes) -> MoodReading:
        """The mood of the largest face in a photo (all faces are in ``faces``)."""
        if not await self.has_consent(user):
            raise ConsentRequired()
        self.metrics.request("photo")
        faces = await self.run_cpu(self.faces.read, image, self.metrics.time, cost="expensive")
        main = faces[0]
        return MoodReading(mood_score=main.mood_score, energy=main.arousal, source="face",
                           faces=tuple(faces))

    @staticmethod
    def stated_mood(text: str, *, typos: bool = True) -> MoodReading:
        """A mood the user stated (:func:`moosic_core.recommend.moods.parse_mood`)."""
        return parse_mood(text, typos=typos)

    # --- recommendations -------------------------------------------------------------------
    async def recommend(self, user: UserRef, mood: MoodReading, mode: Mode = "match",
                        n: int | None = None) -> Suggestions:
        """A ranked list for ``user``; repeated calls give new songs ("more"), also calls at
        the same moment (a double tap, several replicas): one user's lists are made one at a
        time across every process over the store (a claim named by a hash of the user, held
        from reading the songs shown so far to recording the new ones)."""
        self.metrics.request("recommend")
        n = n or self.config.service.recommendations
        profile = await self.taste.profile(user)
        feedback = await self.store.feedback(user)
        disliked = {t for t, v in feedback.items() if v < 0}
        liked = tuple(t for t, v in feedback.items() if v > 0)
        familiar_share = DISCOVERY_SHARES[await self.discovery(user)]
        lock = f"recommend:{hashlib.sha256(user.key.encode()).hexdigest()[:32]}"
        async with self.store.holding(lock):
            recent = set(await self.store.recent_recommendations(user, HISTORY_WINDOW_S))
            request = personal_request(
                profile, mood.mood_score, energy=mood.energy, mode=mode, n=n,
                # Track IDs; the ranker also leaves out every copy of these songs.
                exclude_ids=frozenset(disliked | recent | set(liked)), liked_ids=liked,
                familiar_share=familiar_share)
            items = await self.run_cpu(self.metrics.timed("rank", self.ranker.rank), request)
            await self.store.record_suggestions(user, mood, mode,
                                                [r.track.track_id for r in items])
        hints = []
        words = self.hint_words
        if words is not None and profile is None:
            hints.append(words.link_taste)
        if words is not None and mode == "match" and mood.mood_score < SAD_THRESHOLD:
            hints.append(words.try_lift)
        return Suggestions(mood, mode, tuple(items), profile is not None, tuple(hints))

    async def discovery(self, user: UserRef) -> str:
        """The user's discovery setting: "more", "less" or "default"."""
        value = await self.store.setting(user, DISCOVERY_SETTING)
        return value if value in DISCOVERY_SHARES else "default"

    async def set_discovery(self, user: UserRef, level: str) -> str:
        """Set how many new artists lists hold ("more", "less", "default"); returns the level.

        Raises :class:`ValueError` for any other word (the adapters say what is allowed).
        """
        level = level.strip().lower()
        if level not in DISCOVERY_SHARES:
            raise ValueError(f"unknown discovery level {level!r}")
        await self.store.set_setting(user, DISCOVERY_SETTING,
                                     None if level == "default" else level)
        return level

    async def recommend_group(self, members: Sequence[tuple[UserRef, str]],
                              readings: Sequence[MoodReading], mode: Mode = "match",
                              n: int | None = None) -> GroupList:
        """One fair list for several people (see :mod:`moosic_core.recommend.group`).

        ``members`` are (user, name shown to the group); ``readings`` every mood given in the
        round. Songs a member already has or disliked are left out.
        """
        self.metrics.request("group")
        n = n or self.config.service.recommendations
        group: list[GroupMember] = []
        exclude: set[str] = set()
        for user, name in members:
            profile = await self.taste.profile(user)
            feedback = await self.store.feedback(user)
            exclude |= {t for t, v in feedback.items() if v < 0}
            if profile is not None:
                exclude |= profile.known_track_ids
            group.append(GroupMember.from_profile(name, profile))
        mood = group_mood(readings)
        return await self.run_cpu(self.metrics.timed("group_rank", self.group_ranker.rank),
                                  group, mood, mode, n, frozenset(exclude))

    async def feedback(self, user: UserRef, track_id: str, value: int) -> Track:
        """Record a thumbs up (+1) or down (-1) for a catalog track; returns the track.

        Raises :class:`UnknownTrack` (a user message) for an id the catalog doesn't have.
        """
        row = self.catalog.row_of(track_id)
        if row is None:
            raise UnknownTrack(detail=track_id)
        await self.store.add_feedback(user, track_id, 1 if value > 0 else -1)
        return self.catalog.track(row)

    # --- taste: Spotify links and playlist files -------------------------------------------
    async def taste_profile(self, user: UserRef) -> TasteProfile | None:
        return await self.taste.profile(user)

    async def link_spotify_user(self, user: UserRef, text: str) -> str:
        self.metrics.request("spotify_link")
        return await self.taste.link_spotify_user(user, text)

    async def start_spotify_sign_in(self, user: UserRef) -> str:
        """The Spotify authorisation URL for this user (OAuth code flow with PKCE)."""
        self.metrics.request("spotify_link")
        return await self.taste.start_oauth(user)

    async def complete_spotify_sign_in(self, user: UserRef, redirect_url: str) -> str:
        return await self.taste.complete_oauth(user, redirect_url)

    async def import_playlist(self, user: UserRef, data: bytes, filename: str) -> TasteProfile:
        self.metrics.request("playlist")
        return await self.taste.import_playlist(user, data, filename)

    async def unlink(self, user: UserRef, kinds: Collection[str] = LINK_KINDS) -> Link | None:
        """Remove the user's taste source if it is of one of ``kinds``; the link removed."""
        return await self.taste.unlink(user, kinds)

    async def taste_link(self, user: UserRef) -> Link | None:
        """Where the user's taste comes from (a Spotify link or a playlist file), or None."""
        return await self.taste.link(user)

    async def claim_update(self, platform: str, update_id: int) -> bool:
        """Whether this process should handle a platform update: False when it was handled
        already (a redelivery), or another process is handling it right now. Call
        :meth:`finish_update` when done; an update never finished is free again after
        :data:`UPDATE_LEASE_S` seconds."""
        return await self.store.claim_update(platform, update_id, lease_s=UPDATE_LEASE_S)

    async def finish_update(self, platform: str, update_id: int) -> None:
        """Record that a claimed platform update was handled (answered or failed)."""
        await self.store.finish_update(platform, update_id)

    async def last_list(self, user: UserRef) -> LastList | None:
        """The last list :meth:`recommend` gave ``user`` (its mood, mode and track ids), kept
        in the store so "more" continues it after a restart or on another bot process."""
        return await self.store.last_list(user)

    async def forget(self, user: UserRef) -> None:
        """Delete everything about the user: links, tokens, taste, consent, feedback, history."""
        await self.taste.forget(user)

    # --- keeping a list --------------------------------------------------------------------
    async def save_list(self, user: UserRef, songs: SongList, *,
                        file_only: bool = False) -> SaveResult:
        """Keep a list: a private playlist in the user's Spotify, or a CSV file.

        Spotify when the user signed in with Spotify (OAuth) and ``file_only`` is False: a
        ``sign_in_url`` comes back when the sign-in lacks ``playlist-modify-private`` (asked
        for here, never at the first link). Everyone else, and every failed save (403, 429
        past the retry budget, 5xx, an expired sign-in), gets the CSV with the ``problem``.
        Never raises for Spotify trouble.
        """
        self.metrics.request("save")
        link = await self.taste.link(user)
        if file_only or link is None or link.kind != "spotify_oauth":
            return self._as_file(songs)
        try:
            if not self.taste.can_write(link):
                return SaveResult(sign_in_url=await self.taste.start_oauth(user, write=True))
            try:
                playlist = await self.taste.save_playlist(
                    user, songs.title, f"Songs picked by {songs.title.split(' · ')[0]} for "
                    "a mood.", songs.track_ids)
            except SpotifyScopeMissing:  # the scope was taken back since the sign-in
                return SaveResult(sign_in_url=await self.taste.start_oauth(user, write=True))
        except PlaylistIncomplete as exc:
            log.warning("save stopped after %d tracks: %s", exc.playlist.added, exc.detail)
            self.metrics.answered_error(exc.cause)
            return self._as_file(songs, problem=exc.cause, playlist=exc.playlist)
        except MoosicError as exc:
            log.warning("save to Spotify failed: %s (%s)", exc.kind, exc.detail)
            self.metrics.answered_error(exc)
            return self._as_file(songs, problem=exc)
        return SaveResult(playlist=playlist)

    @staticmethod
    def _as_file(songs: SongList, problem: MoosicError | None = None,
                 playlist: SavedPlaylist | None = None) -> SaveResult:
        return SaveResult(playlist=playlist, csv=playlist_csv(songs.tracks),
                          filename=csv_filename(songs.title), problem=problem)
