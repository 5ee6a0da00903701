"""Per-user conversation state in the store, shared by every bot replica over one database.

What a chat needs between two messages, which used to live in one process's memory: selfie rate
limits (``rate_events``), small per-user values by key (``user_state``: an open yes/no question,
the list waiting for Spotify's permission, the last save, the name chats show) and the song
lists shown with a 💾 Save button (``song_lists``). The tables come from revision 0005
(:mod:`moosic_core.store.revisions.versions`); ``/forget`` deletes a user's rows of all three
(they are in :data:`~moosic_core.store.migrations.USER_TABLES`).

Every write is one transaction and the SQL is the same on SQLite and PostgreSQL, except the row
lock that makes a rate check exact across replicas: ``SELECT ... FOR UPDATE`` on the user's row
(PostgreSQL; SQLite has one writer, so its transactions never interleave). Old rows are pruned
at most once per :data:`PRUNE_EVERY_S` per process, not on every message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from moosic_core.store.db import Database, execute
from moosic_core.types import UserRef

#: Old rate events and expired song lists are deleted at most this often (seconds) per process.
PRUNE_EVERY_S = 600.0
#: Rate events are kept this long (seconds); a rate window may not be longer.
RATE_EVENTS_KEEP_S = 3600.0


@dataclass(frozen=True)
class StateValue:
    """One ``user_state`` value and when it was written (store clock seconds)."""

    value: str
    updated_at: float


@dataclass(frozen=True)
class StoredList:
    """A song list as shown: its title and track ids in the order shown; ``user_id`` is the
    owner of a personal list (None for a group round's list, which belongs to ``chat``)."""

    list_id: str
    title: str
    track_ids: tuple[str, ...]
    is_group: bool
    created_at: float


class ChatStateStore(Database):
    """Store methods for rate limits, per-user state and song lists (mixed into
    :class:`~moosic_core.store.store.Store`, which supplies the clock and user lookups)."""

    clock: Callable[[], float]
    _rates_pruned_at: float = float("-inf")
    _lists_pruned_at: float = float("-inf")

    if TYPE_CHECKING:  # defined by Store; declared here for the type checker only
        @staticmethod
        async def _user_id(conn: AsyncConnection, user: UserRef, now: float,
                           lock: str = " FOR KEY SHARE") -> int: ...

    # --- rate limits -----------------------------------------------------------------------
    async def take_rate_slot(self, user: UserRef, kind: str, limit: int,
                             window_s: float) -> float:
        """Count one ``kind`` event for ``user`` if fewer than ``limit`` were counted in the
        last ``window_s`` seconds (a sliding window): returns 0.0 when counted, else the
        seconds until the oldest counted event leaves the window (nothing is counted then).

        Exact across replicas racing for the same user: the check and the count are one
        transaction holding the user's row lock (PostgreSQL ``FOR UPDATE``; SQLite has one
        writer). ``limit`` <= 0 means no limit (nothing is stored). Raises ValueError for a
        window longer than :data:`RATE_EVENTS_KEEP_S`.
        """
        if limit <= 0:
            return 0.0
        if not 0 < window_s <= RATE_EVENTS_KEEP_S:
            raise ValueError(f"a rate window is 0 to {RATE_EVENTS_KEEP_S:.0f} s")

        async def body(conn: AsyncConnection) -> float:
            now = self.clock()
            # The user's row, locked (made first for a new user): replicas counting for the
            # same user wait here.
            uid = await self._user_id(conn, user, now, lock=" FOR UPDATE")
            if now - self._rates_pruned_at > PRUNE_EVERY_S:
                await execute(conn, "DELETE FROM rate_events WHERE at <= :old",
                              {"old": now - RATE_EVENTS_KEEP_S})
                self._rates_pruned_at = now
            counted, oldest = (await conn.execute(text(
                "SELECT COUNT(*), MIN(at) FROM rate_events WHERE user_id = :uid AND "
                "kind = :kind AND at > :since"),
                {"uid": uid, "kind": kind, "since": now - window_s})).one()
            if int(counted) >= limit:
                return max(float(oldest) + window_s - now, 0.001)
            await execute(conn, "INSERT INTO rate_events (user_id, kind, at) VALUES "
                          "(:uid, :kind, :now)", {"uid": uid, "kind": kind, "now": now})
            return 0.0

        return await self.transaction(body)

    # --- small per-user values -------------------------------------------------------------
    async def set_user_state(self, user: UserRef, values: Mapping[str, str]) -> None:
        """Write ``values`` (key -> text) for ``user`` in one transaction, stamped now."""
        async def body(conn: AsyncConnection) -> None:
            now = self.clock()
            uid = await self._user_id(conn, user, now)
            await execute(conn, "INSERT INTO user_state (user_id, key, value, updated_at) VALUES "
                          "(:uid, :key, :value, :now) ON CONFLICT (user_id, key) DO UPDATE SET "
                          "value = excluded.value, updated_at = excluded.updated_at",
                          [{"uid": uid, "key": k, "value": v, "now": now}
                           for k, v in values.items()])

        await self.transaction(body)

    async def user_state(self, user: UserRef, key: str) -> StateValue | None:
        """The user's value for ``key``, None when there is none."""
        row = await self.fetchone(
            "SELECT s.value, s.updated_at FROM user_state s JOIN users u ON u.id = s.user_id "
            "WHERE u.platform = :platform AND u.platform_user_id = :user AND s.key = :key",
            {"platform": user.platform, "user": user.user_id, "key": key})
        return StateValue(str(row[0]), float(row[1])) if row else None

    async def pop_user_state(self, user: UserRef, *keys: str) -> dict[str, StateValue]:
        """Delete the user's values for ``keys`` and return those there were (key -> value);
        of two replicas popping the same key at once, one gets it."""
        if not keys:
            return {}
        names = {f"k{i}": key for i, key in enumerate(keys)}

        async def body(conn: AsyncConnection) -> dict[str, StateValue]:
            rows = (await conn.execute(text(
                "DELETE FROM user_state WHERE user_id = (SELECT id FROM users WHERE platform = "
                f":platform AND platform_user_id = :user) AND key IN "
                f"({', '.join(':' + n for n in names)}) RETURNING key, value, updated_at"),
                {"platform": user.platform, "user": user.user_id, **names})).all()
            return {str(k): StateValue(str(v), float(at)) for k, v, at in rows}

        return await self.transaction(body)

    async def pop_user_state_prefix(self, user: UserRef, prefix: str) -> dict[str, StateValue]:
        """Delete the user's values whose key starts with ``prefix`` and return them (key ->
        value); of two replicas popping at once, each row goes to one."""
        async def body(conn: AsyncConnection) -> dict[str, StateValue]:
            rows = (await conn.execute(text(
                "DELETE FROM user_state WHERE user_id = (SELECT id FROM users WHERE platform = "
                ":platform AND platform_user_id = :user) AND substr(key, 1, :n) = :prefix "
                "RETURNING key, value, updated_at"),
                {"platform": user.platform, "user": user.user_id, "n": len(prefix),
                 "prefix": prefix})).all()
            return {str(k): StateValue(str(v), float(at)) for k, v, at in rows}

        return await self.transaction(body)

    # --- song lists ------------------------------------------------------------------------
    async def add_song_list(self, list_id: str, title: str, track_ids: Sequence[str], *,
                            owner: UserRef | None, chat: str | None, keep_s: float) -> None:
        """Keep a list as shown (for its 💾 Save button and ``/save``): a personal list of
        ``owner``, or a group round's list of ``chat`` (``owner`` None). Lists older than
        ``keep_s`` seconds are deleted (at most once per :data:`PRUNE_EVERY_S` per process).
        Raises ValueError when neither ``owner`` nor ``chat`` is given."""
        if owner is None and chat is None:
            raise ValueError("a song list belongs to a user or a chat")

        async def body(conn: AsyncConnection) -> None:
            now = self.clock()
            if now - self._lists_pruned_at > PRUNE_EVERY_S:
                await execute(conn, "DELETE FROM song_lists WHERE created_at < :old",
                              {"old": now - keep_s})
                self._lists_pruned_at = now
            uid = None if owner is None else await self._user_id(conn, owner, now)
            await execute(conn, "INSERT INTO song_lists (list_id, user_id, chat, title, "
                          "track_ids, is_group, created_at) VALUES (:id, :uid, :chat, :title, "
                          ":tracks, :group, :now)",
                          {"id": list_id, "uid": uid, "chat": chat if uid is None else None,
                           "title": title, "tracks": json.dumps(list(track_ids)),
                           "group": int(owner is None), "now": now})

        await self.transaction(body)

    async def song_list(self, list_id: str, max_age_s: float) -> StoredList | None:
        """The list with this id, None when there is none or it is older than ``max_age_s``."""
        row = await self.fetchone(
            f"SELECT {_LIST_COLUMNS} FROM song_lists WHERE list_id = :id AND created_at >= :since",
            {"id": list_id, "since": self.clock() - max_age_s})
        return _stored_list(row) if row else None

    async def latest_song_list(self, user: UserRef, chat: str | None,
                               max_age_s: float) -> StoredList | None:
        """The newer of ``user``'s last personal list and ``chat``'s last group list (younger
        than ``max_age_s``); None when there is neither."""
        since = self.clock() - max_age_s
        found = [await self.fetchone(
            f"SELECT {_LIST_COLUMNS} FROM song_lists WHERE user_id = (SELECT id FROM users "
            "WHERE platform = :platform AND platform_user_id = :user) AND created_at >= :since "
            "ORDER BY created_at DESC LIMIT 1",
            {"platform": user.platform, "user": user.user_id, "since": since})]
        if chat is not None:
            found.append(await self.fetchone(
                f"SELECT {_LIST_COLUMNS} FROM song_lists WHERE chat = :chat AND user_id IS NULL "
                "AND created_at >= :since ORDER BY created_at DESC LIMIT 1",
                {"chat": chat, "since": since}))
        lists = [_stored_list(row) for row in found if row is not None]
        return max(lists, key=lambda s: s.created_at, default=None)


_LIST_COLUMNS = "list_id, title, track_ids, is_group, created_at"


def _stored_list(row: Sequence[Any]) -> StoredList:
    list_id, title, tracks, is_group, created_at = row
    return StoredList(str(list_id), str(title), tuple(json.loads(tracks)), bool(is_group),
                      float(created_at))


__all__ = ["PRUNE_EVERY_S", "RATE_EVENTS_KEEP_S", "ChatStateStore", "StateValue", "StoredList"]
