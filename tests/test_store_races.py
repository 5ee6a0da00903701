"""Races between bot replicas on one database (two :class:`Store` objects), on SQLite and
PostgreSQL: a write for a user racing that user's ``/forget`` on another replica neither fails
nor deadlocks; the two act as if one ran after the other."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from moosic_core.store import Store
from moosic_core.store.db import execute
from moosic_core.types import UserRef

ANA = UserRef("telegram", "1")


@pytest.fixture
async def stores(store_target: Path | str) -> AsyncIterator[tuple[Store, Store]]:
    """Two replicas' stores on one database."""
    async with Store(store_target) as a, Store(store_target) as b:
        yield a, b


async def test_a_write_waiting_on_a_forget_makes_a_new_user_and_does_not_fail(stores) -> None:
    """A replica writes for Ana while another forgets her (its transaction not committed
    yet): the write waits, then lands on a new user row, instead of failing with a foreign-key
    error (PostgreSQL, READ COMMITTED: the user id it had looked up was deleted meanwhile)."""
    a, b = stores
    await b.set_user_state(ANA, {"name": "Ana"})
    old_id = await b.find_user(ANA)
    deleted = asyncio.Event()
    release = asyncio.Event()

    async def forgetting(conn: AsyncConnection) -> None:  # what forget does, held open
        await execute(conn, "DELETE FROM users WHERE id = :uid", {"uid": old_id})
        deleted.set()
        await release.wait()

    forget = asyncio.create_task(a.transaction(forgetting))
    await deleted.wait()
    write = asyncio.create_task(b.set_user_state(ANA, {"question": "consent"}))
    await asyncio.sleep(0.3)  # the write is waiting for the forget's transaction now
    release.set()
    await forget
    await write  # no IntegrityError
    assert await b.fetchone("SELECT COUNT(*) FROM users") == (1,)
    assert (await b.user_state(ANA, "question")) is not None
    assert await b.user_state(ANA, "name") is None  # forgotten, not brought back


async def test_forget_waits_for_a_write_under_way_instead_of_deadlocking(
        stores, caplog: pytest.LogCaptureFixture) -> None:
    """A write for Ana under way (it stored one value and is about to overwrite another) while
    another replica forgets her: the forget waits for the write, then deletes all of it; on
    PostgreSQL the two used to lock her rows in opposite orders (a deadlock, detected after a
    second and retried)."""
    a, b = stores
    await a.set_user_state(ANA, {"name": "Ana", "question": "forget"})
    uid = await a.find_user(ANA)
    wrote = asyncio.Event()
    go_on = asyncio.Event()

    async def writing(conn: AsyncConnection) -> None:
        upsert = ("INSERT INTO user_state (user_id, key, value, updated_at) VALUES (:uid, :key, "
                  "'v', 0) ON CONFLICT (user_id, key) DO UPDATE SET value = excluded.value")
        await execute(conn, upsert, {"uid": uid, "key": "photo"})
        wrote.set()
        await go_on.wait()
        await execute(conn, upsert, {"uid": uid, "key": "name"})

    caplog.set_level(logging.WARNING, logger="moosic_core.store.db")
    write = asyncio.create_task(a.transaction(writing))
    await wrote.wait()
    forget = asyncio.create_task(b.forget(ANA))
    await asyncio.sleep(0.3)  # the forget is under way (PostgreSQL) or waiting (SQLite)
    go_on.set()
    await write
    deleted = await forget
    assert deleted["users"] == 1 and deleted["user_state"] == 3
    assert await a.find_user(ANA) is None
    assert await a.fetchall("SELECT * FROM user_state") == []
    assert "deadlock" not in caplog.text


async def test_replicas_counting_a_new_users_first_selfies_neither_deadlock_nor_overcount(
        stores, caplog: pytest.LogCaptureFixture) -> None:
    """Selfies of users the store does not know yet, counted at once on two replicas: the
    first makes the user, the others wait for its row lock (taken once, never upgraded from
    a shared one: that deadlocks on PostgreSQL), and the limit holds."""
    caplog.set_level(logging.WARNING, logger="moosic_core.store.db")
    for n in range(4):
        user = UserRef("telegram", f"new-{n}")
        waits = await asyncio.gather(*(store.take_rate_slot(user, "selfie", 3, 60)
                                       for _ in range(6) for store in stores))
        assert sum(w == 0.0 for w in waits) == 3
    assert "deadlock" not in caplog.text


async def test_a_clock_off_the_servers_is_named_in_the_operators_log(
        store_target: Path | str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """Replicas compare wall clocks (leases, round timers): on PostgreSQL a process whose
    clock is a minute off the server's says so when it opens the store; an accurate one (and
    SQLite, on one machine) says nothing."""
    import time

    from moosic_core.store import db

    caplog.set_level(logging.WARNING, logger="moosic_core.store.db")
    async with Store(store_target):
        pass
    assert "clock" not in caplog.text
    monkeypatch.setattr(db, "wall_clock", lambda: time.time() + 61.0)
    async with Store(store_target):
        pass
    if isinstance(store_target, Path):
        assert "clock" not in caplog.text
    else:
        assert "this machine's clock is 61" in caplog.text and "ahead of" in caplog.text


async def test_old_suggestion_history_goes_when_a_new_list_comes(store_target: Path | str
                                                                  ) -> None:
    """The history of suggested songs is read for two weeks only: older rows of the user are
    deleted when they get a new list, so the table does not grow without end; other users'
    rows and the recent ones stay."""
    from moosic_core.service import HISTORY_WINDOW_S
    from moosic_core.store.store import HISTORY_KEEP_S
    from moosic_core.types import MoodReading

    assert HISTORY_KEEP_S > HISTORY_WINDOW_S  # what the service reads is kept

    now = [1_000_000.0]
    ben = UserRef("discord", "2")
    async with Store(store_target, clock=lambda: now[0]) as store:
        await store.record_suggestions(ANA, MoodReading(0.1), "match", ["old1", "old2"])
        await store.record_suggestions(ben, MoodReading(0.1), "match", ["ben"])
        now[0] += HISTORY_KEEP_S - 86400
        await store.record_suggestions(ANA, MoodReading(0.1), "match", ["mid"])
        now[0] += 2 * 86400
        await store.record_suggestions(ANA, MoodReading(0.1), "match", ["new"])
        rows = await store.fetchall("SELECT track_id FROM recommendations ORDER BY id")
        assert [r[0] for r in rows] == ["ben", "mid", "new"]


async def test_forget_deletes_the_rounds_and_lists_of_the_users_own_chat(
        store_target: Path | str) -> None:
    """A group round in a user's private chat (a Telegram private chat's key is the user's
    own, ``telegram:<id>``; other chats without an id get ``<user key>:private``) is theirs:
    after /forget, /save there finds no list from before and no round closes there later.
    Rounds and lists of shared chats stay (they are the group's)."""
    async with Store(store_target) as store:
        for chat in (ANA.key, f"{ANA.key}:private", "telegram:-5"):
            assert await store.open_round(chat, ANA, "Ana", "match", 60.0) is not None
            await store.add_song_list(f"list{chat}", "group · calm", ["t"], owner=None,
                                      chat=chat, keep_s=86400)
        await store.forget(ANA)
        for chat in (ANA.key, f"{ANA.key}:private"):
            assert await store.latest_song_list(ANA, chat, 86400) is None
            assert await store.group_round(chat) is None
        shared = await store.group_round("telegram:-5")
        assert shared is not None and shared.members == {}
        assert await store.song_list("listtelegram:-5", 86400) is not None
