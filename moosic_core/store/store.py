"""The app's one store: users, links, library tracks, caches, consent, feedback, history.

Secrets arrive here already encrypted (bytes from :class:`moosic_core.crypto.TokenCipher`); the
store never sees a plaintext token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from moosic_core.store.db import Database
from moosic_core.store.migrations import USER_TABLES
from moosic_core.types import LibraryTrack, UserRef

LINK_KINDS = ("spotify_user", "spotify_oauth", "playlist_csv")


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


class Store(Database):
    """Typed reads and writes over :class:`Database`; every write is one transaction."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time,
                 busy_timeout_s: float = 5.0, lock_retries: int = 6) -> None:
        super().__init__(path, busy_timeout_s=busy_timeout_s, lock_retries=lock_retries)
        self.clock = clock

    async def __aenter__(self) -> Store:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- users ---------------------------------------------------------------------------
    @staticmethod
    async def _user_id(conn: aiosqlite.Connection, user: UserRef, now: float) -> int:
        await conn.execute(
            "INSERT INTO users (platform, platform_user_id, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (platform, platform_user_id) DO NOTHING",
            (user.platform, user.user_id, now))
        async with conn.execute("SELECT id FROM users WHERE platform = ? AND platform_user_id = ?",
                                (user.platform, user.user_id)) as cur:
            row = await cur.fetchone()
        assert row is not None
        return int(row[0])

    async def find_user(self, user: UserRef) -> int | None:
        row = await self.fetchone(
            "SELECT id FROM users WHERE platform = ? AND platform_user_id = ?",
            (user.platform, user.user_id))
        return int(row[0]) if row else None

    async def ensure_user(self, user: UserRef) -> int:
        return await self.transaction(lambda c: self._user_id(c, user, self.clock()))

    # --- links ---------------------------------------------------------------------------
    async def set_link(self, user: UserRef, link: Link,
                       tracks: Sequence[LibraryTrack] | None = None) -> None:
        """Make ``link`` the user's taste source, replacing the old one and its caches."""
        if link.kind not in LINK_KINDS:
            raise ValueError(f"unknown link kind {link.kind!r}")

        async def body(conn: aiosqlite.Connection) -> None:
            now = self.clock()
            uid = await self._user_id(conn, user, now)
            await conn.execute("DELETE FROM library_tracks WHERE user_id = ?", (uid,))
            await conn.execute("DELETE FROM taste_cache WHERE user_id = ?", (uid,))
            await conn.execute(
                "INSERT OR REPLACE INTO links (user_id, kind, spotify_user_id, display_name, "
                "access_token, refresh_token, scopes, expires_at, source_name, fetched_at, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (uid, link.kind, link.spotify_user_id, link.display_name, link.access_token,
                 link.refresh_token, link.scopes, link.expires_at, link.source_name,
                 now if tracks is not None else None, now, now))
            if tracks is not None:
                await self._insert_tracks(conn, uid, tracks)

        await self.transaction(body)

    async def get_link(self, user: UserRef) -> Link | None:
        row = await self.fetchone(
            "SELECT l.kind, l.spotify_user_id, l.display_name, l.access_token, l.refresh_token, "
            "l.scopes, l.expires_at, l.source_name, l.fetched_at, l.updated_at FROM links l "
            "JOIN users u ON u.id = l.user_id WHERE u.platform = ? AND u.platform_user_id = ?",
            (user.platform, user.user_id))
        if row is None:
            return None
        return Link(*row)

    async def update_tokens(self, user: UserRef, access_token: bytes, refresh_token: bytes,
                            expires_at: float, scopes: str | None) -> None:
        """Store refreshed (encrypted) tokens, if the user is still linked by OAuth."""
        async def body(conn: aiosqlite.Connection) -> None:
            await conn.execute(
                "UPDATE links SET access_token = ?, refresh_token = ?, expires_at = ?, "
                "scopes = COALESCE(?, scopes), updated_at = ? WHERE kind = 'spotify_oauth' AND "
                "user_id = (SELECT id FROM users WHERE platform = ? AND platform_user_id = ?)",
                (access_token, refresh_token, expires_at, scopes, self.clock(), user.platform,
                 user.user_id))

        await self.transaction(body)

    async def delete_link(self, user: UserRef) -> bool:
        """Remove the user's link, its tokens and cached tracks/profile; True if there was one."""
        async def body(conn: aiosqlite.Connection) -> bool:
            uid = await self._find(conn, user)
            if uid is None:
                return False
            for table in ("library_tracks", "taste_cache", "oauth_states"):
                await conn.execute(f"DELETE FROM {table} WHERE user_id = ?", (uid,))
            cur = await conn.execute("DELETE FROM links WHERE user_id = ?", (uid,))
            return bool(cur.rowcount)

        return await self.transaction(body)

    # --- library tracks ------------------------------------------------------------------
    @staticmethod
    async def _insert_tracks(conn: aiosqlite.Connection, uid: int,
                             tracks: Iterable[LibraryTrack]) -> None:
        await conn.executemany(
            "INSERT INTO library_tracks (user_id, position, track_id, name, artists, genres, "
            "features) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(uid, i, t.track_id, t.name, json.dumps(list(t.artists), ensure_ascii=False),
              json.dumps(list(t.genres), ensure_ascii=False),
              json.dumps(t.features) if t.features is not None else None)
             for i, t in enumerate(tracks)])

    async def replace_library(self, user: UserRef, tracks: Sequence[LibraryTrack]) -> None:
        """Cache freshly fetched tracks of the current link (and drop the stale profile)."""
        async def body(conn: aiosqlite.Connection) -> None:
            uid = await self._user_id(conn, user, self.clock())
            await conn.execute("DELETE FROM library_tracks WHERE user_id = ?", (uid,))
            await conn.execute("DELETE FROM taste_cache WHERE user_id = ?", (uid,))
            await self._insert_tracks(conn, uid, tracks)
            await conn.execute("UPDATE links SET fetched_at = ? WHERE user_id = ?",
                               (self.clock(), uid))

        await self.transaction(body)

    async def library(self, user: UserRef) -> list[LibraryTrack]:
        rows = await self.fetchall(
            "SELECT t.track_id, t.name, t.artists, t.genres, t.features FROM library_tracks t "
            "JOIN users u ON u.id = t.user_id WHERE u.platform = ? AND u.platform_user_id = ? "
            "ORDER BY t.position", (user.platform, user.user_id))
        return [LibraryTrack(name=name, artists=tuple(json.loads(artists)), track_id=track_id,
                             genres=tuple(json.loads(genres)),
                             features=json.loads(features) if features else None)
                for track_id, name, artists, genres, features in rows]

    # --- taste profile cache -------------------------------------------------------------
    async def save_profile(self, user: UserRef, profile: str, source_key: str) -> None:
        async def body(conn: aiosqlite.Connection) -> None:
            now = self.clock()
            uid = await self._user_id(conn, user, now)
            await conn.execute("INSERT OR REPLACE INTO taste_cache (user_id, profile, source_key, "
                               "built_at) VALUES (?, ?, ?, ?)", (uid, profile, source_key, now))

        await self.transaction(body)

    async def cached_profile(self, user: UserRef) -> CachedProfile | None:
        row = await self.fetchone(
            "SELECT c.profile, c.source_key, c.built_at FROM taste_cache c JOIN users u ON "
            "u.id = c.user_id WHERE u.platform = ? AND u.platform_user_id = ?",
            (user.platform, user.user_id))
        return CachedProfile(*row) if row else None

    # --- OAuth states --------------------------------------------------------------------
    async def add_oauth_state(self, user: UserRef, state: str, verifier: bytes,
                              max_age_s: float) -> None:
        """Remember an authorization request; drops this user's and everyone's expired ones."""
        async def body(conn: aiosqlite.Connection) -> None:
            now = self.clock()
            uid = await self._user_id(conn, user, now)
            await conn.execute("DELETE FROM oauth_states WHERE user_id = ? OR created_at < ?",
                               (uid, now - max_age_s))
            await conn.execute("INSERT INTO oauth_states (state, user_id, verifier, created_at) "
                               "VALUES (?, ?, ?, ?)", (state, uid, verifier, now))

        await self.transaction(body)

    async def pop_oauth_state(self, state: str) -> PendingOAuth | None:
        """Take (and delete) a pending authorization request by its state."""
        async def body(conn: aiosqlite.Connection) -> PendingOAuth | None:
            async with conn.execute(
                    "SELECT u.platform, u.platform_user_id, s.verifier, s.created_at FROM "
                    "oauth_states s JOIN users u ON u.id = s.user_id WHERE s.state = ?",
                    (state,)) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            await conn.execute("DELETE FROM oauth_states WHERE state = ?", (state,))
            return PendingOAuth(UserRef(row[0], row[1]), bytes(row[2]), float(row[3]))

        return await self.transaction(body)

    async def pending_oauth_state(self, user: UserRef) -> str | None:
        row = await self.fetchone(
            "SELECT s.state FROM oauth_states s JOIN users u ON u.id = s.user_id "
            "WHERE u.platform = ? AND u.platform_user_id = ? ORDER BY s.created_at DESC LIMIT 1",
            (user.platform, user.user_id))
        return str(row[0]) if row else None

    # --- consent, feedback, recommendation history ---------------------------------------
    async def set_consent(self, user: UserRef, kind: str, agreed: bool = True) -> None:
        async def body(conn: aiosqlite.Connection) -> None:
            now = self.clock()
            uid = await self._user_id(conn, user, now)
            if agreed:
                await conn.execute("INSERT OR REPLACE INTO consent (user_id, kind, agreed_at) "
                                   "VALUES (?, ?, ?)", (uid, kind, now))
            else:
                await conn.execute("DELETE FROM consent WHERE user_id = ? AND kind = ?",
                                   (uid, kind))

        await self.transaction(body)

    async def consent_at(self, user: UserRef, kind: str) -> float | None:
        row = await self.fetchone(
            "SELECT c.agreed_at FROM consent c JOIN users u ON u.id = c.user_id "
            "WHERE u.platform = ? AND u.platform_user_id = ? AND c.kind = ?",
            (user.platform, user.user_id, kind))
        return float(row[0]) if row else None

    async def add_feedback(self, user: UserRef, track_id: str, value: int) -> None:
        """Record a +1/-1 vote on a track (the latest vote counts)."""
        if value not in (-1, 1):
            raise ValueError("feedback is +1 or -1")

        async def body(conn: aiosqlite.Connection) -> None:
            now = self.clock()
            uid = await self._user_id(conn, user, now)
            await conn.execute("INSERT OR REPLACE INTO feedback (user_id, track_id, value, "
                               "created_at) VALUES (?, ?, ?, ?)", (uid, track_id, value, now))

        await self.transaction(body)

    async def feedback(self, user: UserRef) -> dict[str, int]:
        rows = await self.fetchall(
            "SELECT f.track_id, f.value FROM feedback f JOIN users u ON u.id = f.user_id "
            "WHERE u.platform = ? AND u.platform_user_id = ?", (user.platform, user.user_id))
        return {str(t): int(v) for t, v in rows}

    async def add_recommendations(self, user: UserRef, track_ids: Sequence[str]) -> None:
        async def body(conn: aiosqlite.Connection) -> None:
            now = self.clock()
            uid = await self._user_id(conn, user, now)
            await conn.executemany("INSERT INTO recommendations (user_id, track_id, created_at) "
                                   "VALUES (?, ?, ?)", [(uid, t, now) for t in track_ids])

        await self.transaction(body)

    async def recent_recommendations(self, user: UserRef, within_s: float) -> list[str]:
        """Track IDs recommended to the user in the last ``within_s`` seconds, newest first."""
        rows = await self.fetchall(
            "SELECT r.track_id FROM recommendations r JOIN users u ON u.id = r.user_id "
            "WHERE u.platform = ? AND u.platform_user_id = ? AND r.created_at >= ? "
            "ORDER BY r.created_at DESC, r.id DESC",
            (user.platform, user.user_id, self.clock() - within_s))
        return [str(r[0]) for r in rows]

    # --- settings ------------------------------------------------------------------------
    async def set_setting(self, user: UserRef, key: str, value: str | None) -> None:
        """Store a per-user setting; ``None`` removes it (back to the default)."""
        async def body(conn: aiosqlite.Connection) -> None:
            now = self.clock()
            uid = await self._user_id(conn, user, now)
            if value is None:
                await conn.execute("DELETE FROM user_settings WHERE user_id = ? AND key = ?",
                                   (uid, key))
            else:
                await conn.execute("INSERT OR REPLACE INTO user_settings (user_id, key, value, "
                                   "updated_at) VALUES (?, ?, ?, ?)", (uid, key, value, now))

        await self.transaction(body)

    async def setting(self, user: UserRef, key: str) -> str | None:
        """A per-user setting, or None when the user has not set it."""
        row = await self.fetchone(
            "SELECT s.value FROM user_settings s JOIN users u ON u.id = s.user_id "
            "WHERE u.platform = ? AND u.platform_user_id = ? AND s.key = ?",
            (user.platform, user.user_id, key))
        return str(row[0]) if row else None

    # --- forgetting ----------------------------------------------------------------------
    @staticmethod
    async def _find(conn: aiosqlite.Connection, user: UserRef) -> int | None:
        async with conn.execute("SELECT id FROM users WHERE platform = ? AND platform_user_id = ?",
                                (user.platform, user.user_id)) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else None

    async def forget(self, user: UserRef) -> dict[str, int]:
        """Delete every row about the user in one transaction; returns rows deleted per table."""
        async def body(conn: aiosqlite.Connection) -> dict[str, int]:
            uid = await self._find(conn, user)
            if uid is None:
                return {}
            counts: dict[str, int] = {}
            for table in (*USER_TABLES, "users"):
                column = "id" if table == "users" else "user_id"
                cur = await conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (uid,))
                counts[table] = cur.rowcount
            return counts

        return await self.transaction(body)

    async def rewrite_secrets(self, rewrite: Callable[[bytes], bytes | None]) -> dict[str, int]:
        """Replace every stored secret (tokens, PKCE verifiers) by ``rewrite(secret)`` in one
        transaction; a None result leaves that secret as it was.

        Returns counts: ``rewritten`` and ``kept`` (secrets ``rewrite`` declined).
        """
        async def body(conn: aiosqlite.Connection) -> dict[str, int]:
            counts = {"rewritten": 0, "kept": 0}

            def apply(blob: bytes | None) -> bytes | None:
                if blob is None:
                    return None
                new = rewrite(bytes(blob))
                counts["rewritten" if new is not None else "kept"] += 1
                return new if new is not None else blob

            async with conn.execute("SELECT user_id, access_token, refresh_token FROM links "
                                    "WHERE access_token IS NOT NULL OR refresh_token IS NOT "
                                    "NULL") as cur:
                links = list(await cur.fetchall())
            for uid, access, refresh in links:
                await conn.execute("UPDATE links SET access_token = ?, refresh_token = ? WHERE "
                                   "user_id = ?", (apply(access), apply(refresh), uid))
            async with conn.execute("SELECT state, verifier FROM oauth_states") as cur:
                states = list(await cur.fetchall())
            for state, verifier in states:
                await conn.execute("UPDATE oauth_states SET verifier = ? WHERE state = ?",
                                   (apply(verifier), state))
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
