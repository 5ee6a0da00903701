"""Group rounds in the store (tables ``group_rounds`` and ``group_members``, revision 0005), so
every bot replica over one database, and a restarted bot, sees the same rounds.

One round per chat: :meth:`GroupRoundStore.open_round` inserts with ``ON CONFLICT DO NOTHING``
and the row count says who won. Members are rows keyed by (chat, user); a member's mood is the
JSON of its :class:`MoodReading` without faces (a reading is numbers: score, energy, source,
label), and a group photo's anonymous readings are the round's ``photo_readings`` (JSON, linked
to nobody).

Closing, exactly once across replicas: whoever closes a round first takes its **lease**, an
``UPDATE`` that sets ``closing_until = now + lease_s`` on a round nobody holds (``closing_until
IS NULL OR closing_until < now``). While the lease is held the round is closed for everybody
else (joins and a second close get "no round"). The holder computes the list, then deletes the
round with a ``DELETE`` that names its own lease (``closing_until = :lease``), so a holder whose
lease ran out and was taken over deletes nothing. A round whose holder died is taken again once
the lease has expired: by the timer's sweeper of any replica (a close by command also moves
``closes_at`` to now, so it is due). See :class:`moosic_core.group_rounds.GroupRounds` for the
exact window in which a list can be posted twice.

Every write is one transaction; the SQL is the same on SQLite and PostgreSQL except that the
sweeper's pick adds ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite's single writer already
serialises it).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from moosic_core.store.db import execute
from moosic_core.types import MoodReading, UserRef

if TYPE_CHECKING:  # not at run time: the store stays light (no catalog, no numpy)
    from moosic_core.recommend.ranking import Mode

T = TypeVar("T")

#: A round nobody is closing: no lease, or an expired one.
_NOT_CLOSING = "(closing_until IS NULL OR closing_until < :now)"


@dataclass
class Member:
    """One member of a round: who, the name the chat shows, and their mood (None: taste only)."""

    user: UserRef
    name: str
    mood: MoodReading | None = None


@dataclass
class Round:
    """One chat's open round as stored: members in the order they joined (keyed by
    :attr:`UserRef.key`), the group photos' anonymous readings, and when its timer closes it
    (``closes_at``, seconds since the epoch by the store's clock; None: no timer)."""

    chat: str
    mode: Mode
    members: dict[str, Member] = field(default_factory=dict)
    photo_readings: list[MoodReading] = field(default_factory=list)
    closes_at: float | None = None

    @property
    def readings(self) -> list[MoodReading]:
        """Every mood given in the round: the members' and each face of a group photo."""
        return [m.mood for m in self.members.values() if m.mood is not None] + \
            self.photo_readings


@dataclass(frozen=True)
class TakenRound:
    """A round whose lease this replica holds until ``lease`` (the ``closing_until`` written)."""

    round: Round
    lease: float


@dataclass(frozen=True)
class Due:
    """A round with a timer as the sweeper sees it: when it closes, and its lease (if any)."""

    chat: str
    closes_at: float
    closing_until: float | None

    def takeable_at(self) -> float:
        """When a sweeper may take it: its closing time, or when its lease expires."""
        return self.closes_at if self.closing_until is None \
            else max(self.closes_at, self.closing_until)


def reading_json(mood: MoodReading) -> dict[str, Any]:
    """A reading as stored: its numbers and words, never its faces."""
    return {"mood_score": mood.mood_score, "energy": mood.energy, "source": mood.source,
            "label": mood.label}


def reading_of(data: dict[str, Any]) -> MoodReading:
    return MoodReading(float(data["mood_score"]),
                       None if data.get("energy") is None else float(data["energy"]),
                       str(data.get("source") or "stated"), label=data.get("label"))


class GroupRoundStore:
    """Group-round reads and writes; mixed into :class:`moosic_core.store.store.Store`.

    Times are seconds since the epoch by ``self.clock`` (shared by all replicas: wall time).
    """

    if TYPE_CHECKING:  # provided by Database and Store
        clock: Callable[[], float]
        dialect: str

        async def transaction(self, body: Callable[[AsyncConnection], Awaitable[T]]) -> T: ...
        async def fetchone(self, sql: str, params: Mapping[str, Any] | None = None
                           ) -> Sequence[Any] | None: ...
        async def fetchall(self, sql: str, params: Mapping[str, Any] | None = None
                           ) -> list[Sequence[Any]]: ...

        @staticmethod
        async def _user_id(conn: AsyncConnection, user: UserRef, now: float) -> int: ...

    async def open_round(self, chat: str, user: UserRef, name: str, mode: Mode,
                         round_s: float | None) -> Round | None:
        """Open ``chat``'s round with ``user`` in it (taste only), closing in ``round_s``
        seconds (None or <= 0: no timer). None when the chat has a round already (also one
        opened at the same moment on another replica: exactly one of them gets the round)."""
        async def body(conn: AsyncConnection) -> Round | None:
            now = self.clock()
            closes_at = now + round_s if round_s is not None and round_s > 0 else None
            # A round left behind by a holder whose lease expired long ago still counts: the
            # sweeper closes it (its closes_at was due).
            if not await execute(
                    conn, "INSERT INTO group_rounds (chat, mode, opened_at, closes_at, "
                    "closing_until, photo_readings) VALUES (:chat, :mode, :now, :closes_at, "
                    "NULL, '[]') ON CONFLICT (chat) DO NOTHING",
                    {"chat": chat, "mode": mode, "now": now, "closes_at": closes_at}):
                return None
            uid = await self._user_id(conn, user, now)
            await execute(conn, "INSERT INTO group_members (chat, user_id, name, mood, "
                          "joined_at) VALUES (:chat, :uid, :name, NULL, :now)",
                          {"chat": chat, "uid": uid, "name": name, "now": now})
            return Round(chat, mode, {user.key: Member(user, name)}, [], closes_at)

        return await self.transaction(body)

    async def group_round(self, chat: str) -> Round | None:
        """The chat's open round (None: none, or it is being closed); one statement."""
        rows = await self.fetchall(
            "SELECT r.mode, r.closes_at, r.photo_readings, u.platform, u.platform_user_id, "
            "m.name, m.mood FROM group_rounds r LEFT JOIN group_members m ON m.chat = r.chat "
            "LEFT JOIN users u ON u.id = m.user_id WHERE r.chat = :chat AND "
            "(r.closing_until IS NULL OR r.closing_until < :now) "
            "ORDER BY m.joined_at, m.user_id", {"chat": chat, "now": self.clock()})
        return _round_of(chat, rows)

    async def round_is_open(self, chat: str) -> bool:
        """Whether the chat has an open round (one primary-key lookup)."""
        row = await self.fetchone(f"SELECT 1 FROM group_rounds WHERE chat = :chat AND "
                                  f"{_NOT_CLOSING}", {"chat": chat, "now": self.clock()})
        return row is not None

    async def join_round(self, chat: str, user: UserRef, name: str,
                         mood: MoodReading | None = None,
                         photo_readings: Sequence[MoodReading] = ()) -> Round | None:
        """Add ``user`` to the chat's round (or update their name; a mood replaces theirs,
        None keeps it) and append a group photo's anonymous ``photo_readings``; the round
        after it, or None when the chat has no open round."""
        async def body(conn: AsyncConnection) -> Round | None:
            now = self.clock()
            params = {"chat": chat, "now": now}
            # Locks the round's row (PostgreSQL) against a close or another photo meanwhile.
            if not await execute(conn, "UPDATE group_rounds SET photo_readings = photo_readings "
                                 f"WHERE chat = :chat AND {_NOT_CLOSING}", params):
                return None
            uid = await self._user_id(conn, user, now)
            await execute(
                conn, "INSERT INTO group_members (chat, user_id, name, mood, joined_at) VALUES "
                "(:chat, :uid, :name, :mood, :now) ON CONFLICT (chat, user_id) DO UPDATE SET "
                "name = excluded.name, mood = COALESCE(excluded.mood, group_members.mood)",
                {**params, "uid": uid, "name": name,
                 "mood": None if mood is None else json.dumps(reading_json(mood))})
            if photo_readings:
                row = (await conn.execute(text(
                    "SELECT photo_readings FROM group_rounds WHERE chat = :chat"),
                    params)).first()
                stored = json.loads(row[0]) if row else []
                stored.extend(reading_json(r) for r in photo_readings)
                await execute(conn, "UPDATE group_rounds SET photo_readings = :readings WHERE "
                              "chat = :chat", {**params, "readings": json.dumps(stored)})
            return await self._read_round(conn, chat)

        return await self.transaction(body)

    async def leave_round(self, chat: str, user: UserRef) -> bool | None:
        """Take ``user`` out of the chat's round: True if they were in it, False if not, None
        when the chat has no open round. An empty round stays open until it is closed."""
        async def body(conn: AsyncConnection) -> bool | None:
            params = {"chat": chat, "now": self.clock(), "platform": user.platform,
                      "user": user.user_id}
            if not await execute(conn, "UPDATE group_rounds SET photo_readings = photo_readings "
                                 f"WHERE chat = :chat AND {_NOT_CLOSING}", params):
                return None
            return bool(await execute(
                conn, "DELETE FROM group_members WHERE chat = :chat AND user_id = (SELECT id "
                "FROM users WHERE platform = :platform AND platform_user_id = :user)", params))

        return await self.transaction(body)

    async def take_round(self, chat: str, lease_s: float) -> TakenRound | None:
        """Take the lease of the chat's round to close it now (``/group done``): None when it
        has none, or another replica is closing it. Its ``closes_at`` moves to now, so if this
        replica dies before :meth:`finish_round`, a sweeper closes it when the lease expires."""
        async def body(conn: AsyncConnection) -> TakenRound | None:
            now = self.clock()
            lease = now + lease_s
            if not await execute(
                    conn, "UPDATE group_rounds SET closing_until = :lease, closes_at = :now "
                    f"WHERE chat = :chat AND {_NOT_CLOSING}",
                    {"chat": chat, "now": now, "lease": lease}):
                return None
            round_ = await self._read_round(conn, chat)
            assert round_ is not None
            return TakenRound(round_, lease)

        return await self.transaction(body)

    async def due_rounds(self, horizon: float, limit: int = 100,
                         platforms: Collection[str] | None = None) -> list[Due]:
        """Rounds whose timer closes them by ``horizon`` (a range scan of the ``closes_at``
        index), soonest first: what a sweeper takes now, and when it should look again.
        ``platforms``: only rounds of chats on these platforms (None: any), so rounds that no
        replica serving them is left to close never fill the ``limit``."""
        where, params = _platform_filter(platforms)
        if where is None:
            return []
        rows = await self.fetchall(
            "SELECT chat, closes_at, closing_until FROM group_rounds WHERE closes_at <= :horizon"
            f"{where} ORDER BY closes_at LIMIT :limit",
            {**params, "horizon": horizon, "limit": limit})
        return [Due(str(chat), float(closes_at), None if until is None else float(until))
                for chat, closes_at, until in rows]

    async def take_due_round(self, lease_s: float, platforms: Collection[str] | None = None
                             ) -> TakenRound | None:
        """Take the lease of one round whose timer is due and that nobody holds (or whose
        holder's lease expired), soonest first; None when there is none. ``platforms``: only
        rounds of chats on these platforms (None: any). On PostgreSQL the pick is ``FOR UPDATE
        SKIP LOCKED``, so sweepers of several replicas never wait on each other and never take
        the same round; on SQLite the write transaction is the lock."""
        lock = " FOR UPDATE SKIP LOCKED" if self.dialect == "postgresql" else ""
        where, params = _platform_filter(platforms)
        if where is None:
            return None

        async def body(conn: AsyncConnection) -> TakenRound | None:
            now = self.clock()
            row = (await conn.execute(text(
                f"SELECT chat FROM group_rounds WHERE closes_at <= :now AND {_NOT_CLOSING}"
                f"{where} ORDER BY closes_at LIMIT 1{lock}"), {**params, "now": now})).first()
            if row is None:
                return None
            chat, lease = str(row[0]), now + lease_s
            await execute(conn, "UPDATE group_rounds SET closing_until = :lease WHERE "
                          "chat = :chat", {"chat": chat, "lease": lease})
            round_ = await self._read_round(conn, chat)
            assert round_ is not None
            return TakenRound(round_, lease)

        return await self.transaction(body)

    async def renew_lease(self, chat: str, lease: float, lease_s: float) -> float | None:
        """Extend a lease this replica holds to now + ``lease_s``; the new lease, or None when
        it is not ours any more (it expired and another replica took the round)."""
        async def body(conn: AsyncConnection) -> float | None:
            renewed = self.clock() + lease_s
            if not await execute(conn, "UPDATE group_rounds SET closing_until = :renewed WHERE "
                                 "chat = :chat AND closing_until = :lease",
                                 {"chat": chat, "lease": lease, "renewed": renewed}):
                return None
            return renewed

        return await self.transaction(body)

    async def finish_round(self, chat: str, lease: float) -> bool:
        """Delete a round whose lease this replica holds (its members go with it); False when
        the lease was lost (another replica took the round over)."""
        async def body(conn: AsyncConnection) -> bool:
            return bool(await execute(conn, "DELETE FROM group_rounds WHERE chat = :chat AND "
                                      "closing_until = :lease", {"chat": chat, "lease": lease}))

        return await self.transaction(body)

    @staticmethod
    async def _read_round(conn: AsyncConnection, chat: str) -> Round | None:
        rows = (await conn.execute(text(
            "SELECT r.mode, r.closes_at, r.photo_readings, u.platform, u.platform_user_id, "
            "m.name, m.mood FROM group_rounds r LEFT JOIN group_members m ON m.chat = r.chat "
            "LEFT JOIN users u ON u.id = m.user_id WHERE r.chat = :chat "
            "ORDER BY m.joined_at, m.user_id"), {"chat": chat})).all()
        return _round_of(chat, rows)


def _platform_filter(platforms: Collection[str] | None) -> tuple[str | None, dict[str, Any]]:
    """The ``AND ...`` that keeps rounds of chats on ``platforms`` (the chat key's prefix),
    with its parameters: ``""`` for None (any platform), None for no platform at all."""
    if platforms is None:
        return "", {}
    names = sorted(platforms)
    if not names:
        return None, {}
    where = " AND (" + " OR ".join(f"chat LIKE :platform{i}" for i in range(len(names))) + ")"
    return where, {f"platform{i}": f"{name}:%" for i, name in enumerate(names)}


def _round_of(chat: str, rows: Sequence[Sequence[Any]]) -> Round | None:
    """A round from its rows joined with its members (one row with NULL members: nobody)."""
    if not rows:
        return None
    mode, closes_at, photos = rows[0][:3]
    round_ = Round(chat, "lift" if mode == "lift" else "match",
                   photo_readings=[reading_of(r) for r in json.loads(photos or "[]")],
                   closes_at=None if closes_at is None else float(closes_at))
    for *_, platform, user_id, name, mood in rows:
        if platform is None:
            continue
        user = UserRef(str(platform), str(user_id))
        round_.members[user.key] = Member(user, str(name),
                                          None if mood is None else reading_of(json.loads(mood)))
    return round_
