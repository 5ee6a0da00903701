"""The app's one store: users, links, library tracks, caches, consent, feedback, history.

Secrets arrive here already encrypted (bytes from :class:`moosic_core.crypto.TokenCipher`); the
store never sees a plaintext token. The same SQL runs on SQLite and PostgreSQL (see
:mod:`moosic_core.store.db`): named ``:parameters`` and ``INSERT ... ON CONFLICT`` upserts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from moosic_core.config import Config
from moosic_core.store.chat_state import ChatStateStore
from moosic_core.store.claims import Claims
from moosic_core.store.db import execute
from moosic_core.store.group_store import GroupRoundStore
from moosic_core.store.migrations import USER_TABLES
from moosic_core.types import LibraryTrack, MoodReading, UserRef

LINK_KINDS = ("spotify_user", "spotify_oauth", "playlist_csv")
UPDATE_KEEP_S = 2 * 86400.0  # Telegram redelivers an update for up to 24 h
UPDATE_PRUNE_EVERY_S = 600.0
#: A user's suggestion history older than this (seconds) is deleted when they get a new list:
#: only the last two weeks are read (``moosic_core.service.HISTORY_WINDOW_S``).
HISTORY_KEEP_S = 30 * 86400.0


@dataclass(frozen=True)
class Link:
    """A user's taste source. ``access_token``/``refresh_token`` are ciphertext."""

    kind: str
    spotify_user_id: str | None = None
    display_name: str | None = None
    access_token: bytes | None = None
    refresh_token: bytes | None = None
    scopes: str | None = None
    expires_at: float | None = None
    source_name: str | None = None
    fetched_at: float | None = None
    updated_at: float | None = None


@dataclass(frozen=True)
class CachedProfile:
    profile: str
    source_key: str
    built_at: float


@dataclass(frozen=True)
class PendingOAuth:
    user: UserRef
    verifier: bytes
    created_at: float


@dataclass(frozen=True)
class LastList:
    """The last list suggested to a user: the mood it was for, its mode ("match"/"lift") and
    its track ids in the order shown. The mood keeps no faces (they never reach the store)."""

    mood: MoodReading
    mode: str
    track_ids: tuple[str, ...]
    created_at: float


class Store(GroupRoundStore, ChatStateStore, Claims):
    """Typed reads and writes over :class:`Database`; every write is one transaction.

    ``target``: the SQLite file (``paths.database``) or a ``postgresql://`` URL
    (``store.database_url``); :meth:`from_config` picks the configured one.
    """

    def __init__(self, target: Path | str, *, clock: Callable[[], float] = time.time,
                 busy_timeout_s: float = 5.0, lock_retries: int = 6) -> None:
        super().__init__(target, busy_timeout_s=busy_timeout_s, lock_retries=lock_retries)
        self.clock = clock
        self._updates_pruned_at = float("-inf")

    @classmethod
    def from_config(cls, config: Config, **kwargs: Any) -> Store:
        """The configured store: ``store.database_url`` when set, else ``paths.database``."""
        return cls(config.store.database_url or config.paths.database, **kwargs)

    async def __aenter__(self) -> Store:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- users ---------------------------------------------------------------------------
    @staticmethod
    async def _user_id(conn: AsyncConnection, user: UserRef, now: float,
                       lock: str = " FOR KEY SHARE") -> int:
        """The user's id in this write transaction, creating the user when new.

        On PostgreSQL the user's row is locked (``lock``: ``FOR KEY SHARE`` lets other writes
        for the user go on; a ``/forget`` waits for this transaction), and a user being
        forgotten by another replica is waited for and then made anew: the write lands after
        the forget instead of failing on a foreign key to the deleted row (READ COMMITTED).
        A transaction that needs a stronger lock on the user passes it here (taking it later
        would upgrade a lock that others share: a deadlock)."""
        for _ in range(3):  # a user made and forgotten by others between our two reads: again
            known = await Store._find(conn, user, lock=lock)  # usually: found at once
            if known is not None:
                return known
            await execute(conn, "INSERT INTO users (platform, platform_user_id, created_at) "
                          "VALUES (:platform, :user, :now) ON CONFLICT (platform, "
                          "platform_user_id) DO NOTHING",
                          {"platform": user.platform, "user": user.user_id, "now": now})
        raise RuntimeError("a user kept being forgotten while being written")

    @staticmethod
    async def _find(conn: AsyncConnection, user: UserRef, lock: str = "") -> int | None:
        """The user's id (None: unknown); ``lock`` (PostgreSQL only, e.g. ``" FOR UPDATE"``)
        locks the row, waiting for a transaction that holds it."""
        lock = lock if conn.dialect.name == "postgresql" else ""
        row = (await conn.execute(text(
            "SELECT id FROM users WHERE platform = :platform AND platform_user_id = :user"
            f"{lock}"), _who(user))).first()
        return int(row[0]) if row else None

    async def find_user(self, user: UserRef) -> int | None:
        row = await self.fetchone(
            "SELECT id FROM users WHERE platform = :platform AND platform_user_id = :user",
            _who(user))
        return int(row[0]) if row else None

    async def ensure_user(self, user: UserRef) -> int:
        return await self.transaction(lambda c: self._user_id(c, user, self.clock()))

    # --- links ---------------------------------------------------------------------------
    async def set_link(self, user: UserRef, link: Link,
                       tracks: Sequence[LibraryTrack] | None = None) -> None:
        """Make ``link`` the user's taste source, replacing the old one and its caches."""
        if link.kind not in LINK_KINDS:
            raise ValueError(f"unknown link kind {link.kind!r}")

        async def body(conn: AsyncConnection) -> None:
            now = self.clock()
            uid = await self._user_id(conn, user, now)
            for table in ("library_tracks", "taste_cache"):
                await execute(conn, f"DELETE FROM {table} WHERE user_id = :uid", {"uid": uid})
            columns = ("kind", "spotify_user_id", "display_name", "access_token",
                       "refresh_token", "scopes", "expires_at", "source_name", "fetched_at",
                       "created_at", "updated_at")
            await execute(
                conn, f"INSERT INTO links (user_id, {', '.join(columns)}) VALUES (:uid, "
                f"{', '.join(':' + c for c in columns)}) ON CONFLICT (user_id) DO UPDATE SET "
                + ", ".join(f"{c} = excluded.{c}" for c in columns),
                {"uid": uid, "kind": link.kind, "spotify_user_id": link.spotify_user_id,
                 "display_name": link.display_name, "access_token": link.access_token,
                 "refresh_token": link.refresh_token, "scopes": link.scopes,
                 "expires_at": link.expires_at, "source_name": link.source_name,
                 "fetched_at": now if tracks is not None else None, "created_at": now,
                 "updated_at": now})
            if tracks is not None:
                await self._insert_tracks(conn, uid, tracks)

        await self.transaction(body)

    async def get_link(self, user: UserRef) -> Link | None:
        row = await self.fetchone(
            "SELECT l.kind, l.spotify_user_id, l.display_name, l.access_token, l.refresh_token, "
            "l.scopes, l.expires_at, l.source_name, l.fetched_at, l.updated_at FROM links l "
            f"JOIN users u ON u.id = l.user_id WHERE {_USER_IS}", _who(user))
        if row is None:
            return None
        return Link(*row)

    async def update_tokens(self, user: UserRef, access_token: bytes, refresh_token: bytes,
                            expires_at: float, scopes: str | None) -> None:
        """Store refreshed (encrypted) tokens, if the user is still linked by OAuth."""
        async def body(conn: AsyncConnection) -> None:
            await execute(
                conn, "UPDATE links SET access_token = :access, refresh_token = :refresh, "
                "expires_at = :expires, scopes = COALESCE(:scopes, scopes), updated_at = :now "
                "WHERE kind = 'spotify_oauth' AND user_id = (SELECT id FROM users WHERE "
                "platform = :platform AND platform_user_id = :user)",
                {"access": access_token, "refresh": refresh_token, "expires": expires_at,
                 "scopes": scopes, "now": self.clock(), **_who(user)})

        await self.transaction(body)

    async def delete_link(self, user: UserRef) -> bool:
        """Remove the user's link, its tokens and cached tracks/profile; True if there was one."""
        async def body(conn: AsyncConnection) -> bool:
            uid = await self._find(conn, user)
            if uid is None:
                return False
            for table in ("library_tracks", "taste_cache", "oauth_states"):
                await execute(conn, f"DELETE FROM {table} WHERE user_id = :uid", {"uid": uid})
            return bool(await execute(conn, "DELETE FROM links WHERE user_id = :uid",
                                      {"uid": uid}))

        return await self.transaction(body)

    # --- library tracks ------------------------------------------------------------------
    @staticmethod
    async def _insert_tracks(conn: AsyncConnection, uid: int,
                             tracks: Iterable[LibraryTrack]) -> None:
        await execute(
            conn, "INSERT INTO library_tracks (user_id, position, track_id, name, artists, "
            "genres, features) VALUES (:uid, :position, :track_id, :name, :artists, :genres, "
            ":features)",
            [{"uid": uid, "position": i, "track_id": t.track_id, "name": t.name,
              "artists": json.dumps(list(t.artists), ensure_ascii=False),
              "genres": json.dumps(list(t.genres), ensure_ascii=False),
              "features": json.dumps(t.features) if t.features is not None else None}
             for i, t in enumerate(tracks)])

    async def replace_library(self, user: UserRef, tracks: Sequence[LibraryTrack]) -> None:
        """Cache freshly fetched tracks of the current link (and drop the stale profile)."""
        async def body(conn: AsyncConnection) -> None:
            uid = await self._user_id(conn, user, self.clock())
            for table in ("library_tracks", "taste_cache"):
                await execute(conn, f"DELETE FROM {table} WHERE user_id = :uid", {"uid": uid})
            await self._insert_tracks(conn, uid, tracks)
            await execute(conn, "UPDATE links SET fetched_at = :now WHERE user_id = :uid",
                          {"now": self.clock(), "uid": uid})

        await self.transaction(body)

    async def library(self, user: UserRef) -> list[LibraryTrack]:
        rows = await self.fetchall(
            "SELECT t.track_id, t.name, t.artists, t.genres, t.features FROM library_tracks t "
            f"JOIN users u ON u.id = t.user_id WHERE {_USER_IS} ORDER BY t.position",
            _who(user))
        return [LibraryTrack(name=name, artists=tuple(json.loads(artists)), track_id=track_id,
                             genres=tuple(json.loads(genres)),
                             features=json.loads(features) if features else None)
                for track_id, name, artists, genres, features in rows]

    # --- taste profile cache -------------------------------------------------------------
    async def save_profile(self, user: UserRef, profile: str, source_key: str) -> None:
        async def body(conn: AsyncConnection) -> None:
            now = self.clock()
            uid = await self._user_id(conn, user, now)
            await execute(
                conn, "INSERT INTO taste_cache (user_id, profile, source_key, built_at) VALUES "
                "(:uid, :profile, :source_key, :now) ON CONFLICT (user_id) DO UPDATE SET "
                "profile = excluded.profile, source_key = excluded.source_key, "
                "built_at = excluded.built_at",
                {"uid": uid, "profile": profile, "source_key": source_key, "now": now})

        await self.transaction(body)

    async def cached_profile(self, user: UserRef) -> CachedProfile | None:
        row = await self.fetchone(
            "SELECT c.profile, c.source_key, c.built_at FROM taste_cache c JOIN users u ON "
            f"u.id = c.user_id WHERE {_USER_IS}", _who(user))
        return CachedProfile(*row) if row else None

    # --- OAuth states --------------------------------------------------------------------
    async def add_oauth_state(self, user: UserRef, state: str, verifier: bytes,
                              max_age_s: float) -> None:
        """Remember an authorization request; drops this user's and everyone's expired ones."""
        async def body(conn: AsyncConnection) -> None:
            now = self.clock()
            uid = await self._user_id(conn, user, now)
            await execute(conn, "DELETE FROM oauth_states WHERE user_id = :uid OR "
                          "created_at < :cutoff", {"uid": uid, "cutoff": now - max_age_s})
            await execute(conn, "INSERT INTO oauth_states (state, user_id, verifier, "
                          "created_at) VALUES (:state, :uid, :verifier, :now)",
                          {"state": state, "uid": uid, "verifier": verifier, "now": now})

        await self.transaction(body)

    async def pop_oauth_state(self, state: str) -> PendingOAuth | None:
        """Take (and delete) a pending authorization request by its state."""
        async def body(conn: AsyncConnection) -> PendingOAuth | None:
            row = (await conn.execute(text(
                "SELECT u.platform, u.platform_user_id, s.verifier, s.created_at FROM "
                "oauth_states s JOIN users u ON u.id = s.user_id WHERE s.state = :state"),
                {"state": state})).first()
            if row is None:
                return None
            # Only the transaction that deletes the row gets it (two callbacks, two replicas).
            if not await execute(conn, "DELETE FROM oauth_states WHERE state = :state",
                                 {"state": state}):
                return None
            return PendingOAuth(UserRef(row[0], row[1]), bytes(row[2]), float(row[3]))

        return await self.transaction(body)

    async def pending_oauth_state(self, user: UserRef) -> str | None:
        row = await self.fetchone(
            "SELECT s.state FROM oauth_states s JOIN users u ON u.id = s.user_id "
            f"WHERE {_USER_IS} ORDER BY s.created_at DESC LIMIT 1", _who(user))
        return str(row[0]) if row else None

    # --- consent, feedback, recommendation history ---------------------------------------
    async def set_consent(self, user: UserRef, kind: str, agreed: bool = True) -> None:
        async def body(conn: AsyncConnection) -> None:
            now = self.clock()
            uid = await self._user_id(conn, user, now)
            params = {"uid": uid, "kind": kind, "now": now}
            if agreed:
                await execute(conn, "INSERT INTO consent (user_id, kind, agreed_at) VALUES "
                              "(:uid, :kind, :now) ON CONFLICT (user_id, kind) DO UPDATE SET "
                              "agreed_at = excluded.agreed_at", params)
            else:
                await execute(conn, "DELETE FROM consent WHERE user_id = :uid AND kind = :kind",
                              params)

        await self.transaction(body)

    async def consent_at(self, user: UserRef, kind: str) -> float | None:
        row = await self.fetchone(
            "SELECT c.agreed_at FROM consent c JOIN users u ON u.id = c.user_id "
            f"WHERE {_USER_IS} AND c.kind = :kind", {**_who(user), "kind": kind})
        return float(row[0]) if row else None

    async def add_feedback(self, user: UserRef, track_id: str, value: int) -> None:
        """Record a +1/-1 vote on a track (the latest vote counts)."""
        if value not in (-1, 1):
            raise ValueError("feedback is +1 or -1")

        async def body(conn: AsyncConnection) -> None:
            now = self.clock()
            uid = await self._user_id(conn, user, now)
            await execute(conn, "INSERT INTO feedback (user_id, track_id, value, created_at) "
                          "VALUES (:uid, :track, :value, :now) ON CONFLICT (user_id, track_id) "
                          "DO UPDATE SET value = excluded.value, created_at = excluded.created_at",
                          {"uid": uid, "track": track_id, "value": value, "now": now})

        await self.transaction(body)

    async def feedback(self, user: UserRef) -> dict[str, int]:
        rows = await self.fetchall(
            "SELECT f.track_id, f.value FROM feedback f JOIN users u ON u.id = f.user_id "
            f"WHERE {_USER_IS}", _who(user))
        return {str(t): int(v) for t, v in rows}

    async def add_recommendations(self, user: UserRef, track_ids: Sequence[str]) -> None:
        async def body(conn: AsyncConnection) -> None:
            now = self.clock()
            uid = await self._user_id(conn, user, now)
            await execute(conn, "INSERT INTO recommendations (user_id, track_id, created_at) "
                          "VALUES (:uid, :track, :now)",
                          [{"uid": uid, "track": t, "now": now} for t in track_ids])

        await self.transaction(body)

    async def record_suggestions(self, user: UserRef, mood: MoodReading, mode: str,
                                 track_ids: Sequence[str]) -> None:
        """Add a suggested list to the history and make it the user's :class:`LastList`, in one
        transaction (any bot process can then continue it). The user's history older than
        :data:`HISTORY_KEEP_S` goes (one range of the user's index), so it never grows without
        end."""
        async def body(conn: AsyncConnection) -> None:
            now = self.clock()
            uid = await self._user_id(conn, user, now)
            await execute(conn, "DELETE FROM recommendations WHERE user_id = :uid AND "
                          "created_at < :old", {"uid": uid, "old": now - HISTORY_KEEP_S})
            await execute(conn, "INSERT INTO recommendations (user_id, track_id, created_at) "
                          "VALUES (:uid, :track, :now)",
                          [{"uid": uid, "track": t, "now": now} for t in track_ids])
            await execute(
                conn, "INSERT INTO last_lists (user_id, mood_score, energy, source, label, mode, "
                "track_ids, created_at) VALUES (:uid, :score, :energy, :source, :label, :mode, "
                ":tracks, :now) ON CONFLICT (user_id) DO UPDATE SET mood_score = "
                "excluded.mood_score, energy = excluded.energy, source = excluded.source, "
                "label = excluded.label, mode = excluded.mode, track_ids = excluded.track_ids, "
                "created_at = excluded.created_at",
                {"uid": uid, "score": mood.mood_score, "energy": mood.energy,
                 "source": mood.source, "label": mood.label, "mode": mode,
                 "tracks": json.dumps(list(track_ids)), "now": now})

        await self.transaction(body)

    async def last_list(self, user: UserRef) -> LastList | None:
        """The user's last suggested list, or None (never asked, or forgotten)."""
        row = await self.fetchone(
            "SELECT l.mood_score, l.energy, l.source, l.label, l.mode, l.track_ids, "
            "l.created_at FROM last_lists l JOIN users u ON u.id = l.user_id "
            f"WHERE {_USER_IS}", _who(user))
        if row is None:
            return None
        score, energy, source, label, mode, tracks, created_at = row
        mood = MoodReading(float(score), None if energy is None else float(energy), str(source),
                           label=label)
        return LastList(mood, str(mode), tuple(json.loads(tracks)), float(created_at))

    async def recent_recommendations(self, user: UserRef, within_s: float) -> list[str]:
        """Track IDs recommended to the user in the last ``within_s`` seconds, newest first."""
        rows = await self.fetchall(
            "SELECT r.track_id FROM recommendations r JOIN users u ON u.id = r.user_id "
            f"WHERE {_USER_IS} AND r.created_at >= :since "
            "ORDER BY r.created_at DESC, r.id DESC",
            {**_who(user), "since": self.clock() - within_s})
        return [str(r[0]) for r in rows]

    # --- settings ------------------------------------------------------------------------
    async def set_setting(self, user: UserRef, key: str, value: str | None) -> None:
        """Store a per-user setting; ``None`` removes it (back to the default)."""
        async def body(conn: AsyncConnection) -> None:
            now = self.clock()
            uid = await self._user_id(conn, user, now)
            params = {"uid": uid, "key": key, "value": value, "now": now}
            if value is None:
                await execute(conn, "DELETE FROM user_settings WHERE user_id = :uid AND "
                              "key = :key", params)
            else:
                await execute(conn, "INSERT INTO user_settings (user_id, key, value, updated_at) "
                              "VALUES (:uid, :key, :value, :now) ON CONFLICT (user_id, key) "
                              "DO UPDATE SET value = excluded.value, "
                              "updated_at = excluded.updated_at", params)

        await self.transaction(body)

    async def setting(self, user: UserRef, key: str) -> str | None:
        """A per-user setting, or None when the user has not set it."""
        row = await self.fetchone(
            "SELECT s.value FROM user_settings s JOIN users u ON u.id = s.user_id "
            f"WHERE {_USER_IS} AND s.key = :key", {**_who(user), "key": key})
        return str(row[0]) if row else None

    # --- platform updates handled once ----------------------------------------------------
    async def claim_update(self, platform: str, update_id: int, *, lease_s: float,
                           keep_s: float = UPDATE_KEEP_S) -> bool:
        """Take a platform update for handling; False when it is done or being handled.

        An update taken more than ``lease_s`` seconds ago and never finished (its process died)
        may be taken again. Records older than ``keep_s`` seconds are dropped (Telegram keeps
        an undelivered update for 24 hours). Safe when processes race for the same update:
        exactly one of them gets True.
        """
        async def body(conn: AsyncConnection) -> bool:
            now = self.clock()
            if now - self._updates_pruned_at > UPDATE_PRUNE_EVERY_S:
                await execute(conn, "DELETE FROM handled_updates WHERE claimed_at < :old",
                              {"old": now - keep_s})
                self._updates_pruned_at = now
            return bool(await execute(
                conn, "INSERT INTO handled_updates (platform, update_id, claimed_at, done) "
                "VALUES (:platform, :id, :now, 0) ON CONFLICT (platform, update_id) DO UPDATE "
                "SET claimed_at = excluded.claimed_at WHERE handled_updates.done = 0 AND "
                "handled_updates.claimed_at < :stale",
                {"platform": platform, "id": update_id, "now": now, "stale": now - lease_s}))

        return await self.transaction(body)

    async def finish_update(self, platform: str, update_id: int) -> None:
        """Mark a claimed update as handled: it is never taken again."""
        async def body(conn: AsyncConnection) -> None:
            await execute(conn, "UPDATE handled_updates SET done = 1 WHERE platform = :platform "
                          "AND update_id = :id", {"platform": platform, "id": update_id})

        await self.transaction(body)

    # --- forgetting ----------------------------------------------------------------------
    async def forget(self, user: UserRef) -> dict[str, int]:
        """Delete every row about the user in one transaction; returns rows deleted per table.

        With them go the group rounds and group lists of the user's own private chat: its key
        is the user's (a Telegram private chat's id is the user's id) or ``<user key>:private``
        (a chat without an id), so nothing found by the user's id outlives the forget there
        (a later /save would find the old list; the round would post to them). Rounds and
        lists of shared chats stay: they are the group's, and name nobody."""
        async def body(conn: AsyncConnection) -> dict[str, int]:
            own_chats = {"own": user.key, "own_private": f"{user.key}:private"}
            # Rounds before the user, as a join does (round row, then user row): no deadlock.
            rounds = await execute(conn, f"DELETE FROM group_rounds WHERE {_OWN_CHAT}",
                                   own_chats)
            # Then the user's row (PostgreSQL): a write for the user under way on another
            # replica holds it (see _user_id), so the forget waits for it and then deletes its
            # rows too, instead of deleting rows in the opposite order to it (a deadlock).
            uid = await self._find(conn, user, lock=" FOR UPDATE")
            if uid is None:
                return {"group_rounds": rounds} if rounds else {}
            counts: dict[str, int] = {"group_rounds": rounds}
            for table in (*USER_TABLES, "users"):
                column = "id" if table == "users" else "user_id"
                counts[table] = await execute(conn, f"DELETE FROM {table} WHERE {column} = :uid",
                                              {"uid": uid})
                if table == "song_lists":
                    counts[table] += await execute(
                        conn, f"DELETE FROM song_lists WHERE user_id IS NULL AND {_OWN_CHAT}",
                        own_chats)
            return counts

        return await self.transaction(body)

    async def rewrite_secrets(self, rewrite: Callable[[bytes], bytes | None]) -> dict[str, int]:
        """Replace every stored secret (tokens, PKCE verifiers) by ``rewrite(secret)`` in one
        transaction; a None result leaves that secret as it was. On PostgreSQL the rows are
        locked (``FOR UPDATE``) so a replica refreshing a token meanwhile waits, not loses it.

        Returns counts: ``rewritten`` and ``kept`` (secrets ``rewrite`` declined).
        """
        lock = " FOR UPDATE" if self.dialect == "postgresql" else ""  # SQLite: one writer

        async def body(conn: AsyncConnection) -> dict[str, int]:
            counts = {"rewritten": 0, "kept": 0}

            def apply(blob: bytes | None) -> bytes | None:
                if blob is None:
                    return None
                new = rewrite(bytes(blob))
                counts["rewritten" if new is not None else "kept"] += 1
                return new if new is not None else blob

            links = (await conn.execute(text(
                "SELECT user_id, access_token, refresh_token FROM links WHERE access_token IS "
                f"NOT NULL OR refresh_token IS NOT NULL{lock}"))).all()
            for uid, access, refresh in links:
                await execute(conn, "UPDATE links SET access_token = :access, refresh_token = "
                              ":refresh WHERE user_id = :uid",
                              {"access": apply(access), "refresh": apply(refresh), "uid": uid})
            states = (await conn.execute(text(
                f"SELECT state, verifier FROM oauth_states{lock}"))).all()
            for state, verifier in states:
                await execute(conn, "UPDATE oauth_states SET verifier = :verifier WHERE "
                              "state = :state", {"verifier": apply(verifier), "state": state})
            return counts

        return await self.transaction(body)

    async def user_counts(self) -> dict[str, int]:
        """Users in the store (``all``) and linked users per link kind (for metrics)."""
        counts = {"all": 0, **dict.fromkeys(LINK_KINDS, 0)}
        row = await self.fetchone("SELECT COUNT(*) FROM users")
        counts["all"] = int(row[0]) if row else 0
        for kind, n in await self.fetchall("SELECT kind, COUNT(*) FROM links GROUP BY kind"):
            counts[str(kind)] = int(n)
        return counts

    async def table_counts(self) -> dict[str, Any]:
        """Rows per table (for diagnostics and tests)."""
        out: dict[str, Any] = {}
        for table in (*USER_TABLES, "users"):
            row = await self.fetchone(f"SELECT COUNT(*) FROM {table}")
            out[table] = int(row[0]) if row else 0
        return out


_USER_IS = "u.platform = :platform AND u.platform_user_id = :user"
#: The user's own private chat, by its chat key (see :meth:`Store.forget`).
_OWN_CHAT = "chat IN (:own, :own_private)"


def _who(user: UserRef) -> dict[str, str]:
    """The ``:platform`` and ``:user`` parameters of :data:`_USER_IS`."""
    return {"platform": user.platform, "user": user.user_id}
