"""Group rounds in the store, on SQLite and PostgreSQL: several replicas (two :class:`Store`
objects on one database, each with its own :class:`GroupRounds` and sweeper) share one round
per chat, and a round's list is posted exactly once, also when a replica dies holding it."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from moosic_core.group_rounds import GroupRounds, NoRound, RoundOpen
from moosic_core.recommend.group import GroupList, TasteMatch, group_mood
from moosic_core.recommend.ranking import Mode
from moosic_core.service import MoosicService
from moosic_core.store import Store
from moosic_core.types import FaceReading, MoodReading, UserRef
from tests.conftest import fresh_postgres_database, postgres_server_url
from tests.fakes.pg_relay import PostgresRelay

ANA, BEN, CY = UserRef("telegram", "1"), UserRef("discord", "2"), UserRef("telegram", "3")
CHAT = "telegram:-100"
LEASE_S = 30.0


class Clock:
    """A clock both replicas share (wall time is what replicas share in production)."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Replica:
    """One bot process's group rounds: its own store connection, sweeper and notifications.

    Ranking is the service's job and is tested with the real service elsewhere; here the
    list only names who was in the round and the mean mood. With the shared fake clock the
    sweeper that opening a round starts finds nothing due (it sleeps ``sweep_s`` of real time
    or until the next round is due by the fake clock); the tests call :meth:`sweep`."""

    def __init__(self, store: Store, name: str, round_s: float = 10.0,
                 sweep_s: float = 3600.0) -> None:
        self.store, self.name = store, name
        self.config = SimpleNamespace(service=SimpleNamespace(group_round_s=round_s,
                                                              group_sweep_s=sweep_s))
        self.posted: list[tuple[str, GroupList]] = []
        self.rounds = GroupRounds(cast(MoosicService, self), on_timeout=self.post,
                                  lease_s=LEASE_S)

    async def recommend_group(self, members: Sequence[tuple[UserRef, str]],
                              readings: Sequence[MoodReading], mode: Mode = "match",
                              n: int | None = None) -> GroupList:
        await asyncio.sleep(0.01)  # a ranking takes a moment: a window for races
        return GroupList(group_mood(readings), mode, (), {}, TasteMatch(None), None,
                         tuple(name for _, name in members))

    async def post(self, chat: str, result: GroupList) -> None:
        self.posted.append((chat, result))


async def settle(*replicas: Replica) -> None:
    """Let running sweepers finish what they took (a sweep and a close take milliseconds)."""
    for _ in range(3):
        await asyncio.sleep(0.1)
        for replica in replicas:
            await replica.rounds.wait_closed()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def stores(store_target: Path | str, clock: Clock) -> AsyncIterator[tuple[Store, Store]]:
    """Two replicas' stores on one database."""
    async with Store(store_target, clock=clock) as a, Store(store_target, clock=clock) as b:
        yield a, b


@pytest.fixture
async def pair(stores: tuple[Store, Store]) -> AsyncIterator[tuple[Replica, Replica]]:
    """Two replicas over ``stores``; their sweepers stop before the stores close."""
    a, b = Replica(stores[0], "a"), Replica(stores[1], "b")
    yield a, b
    await a.rounds.close_all()
    await b.rounds.close_all()


async def test_a_round_opened_on_one_replica_is_joined_on_the_other(stores, pair) -> None:
    a, b = pair
    opened = await a.rounds.start(CHAT, ANA, "Ana", "lift")
    assert list(opened.members) == [ANA.key] and opened.mode == "lift"
    assert await b.rounds.is_open(CHAT) and not await b.rounds.is_open("telegram:other")
    smiling = MoodReading(0.8, 0.6, "face",
                          faces=(FaceReading((1, 2, 30, 40), 0.8, {"happy": 0.9}),))
    joined = await b.rounds.join(CHAT, BEN, "Ben", smiling)
    assert [m.name for m in joined.members.values()] == ["Ana", "Ben"]
    with pytest.raises(RoundOpen):
        await b.rounds.start(CHAT, BEN, "Ben")
    await a.rounds.add_group_photo(CHAT, CY, "Cy", [MoodReading(0.2, 0.1, "face"),
                                                     MoodReading(0.4, None, "face")])
    await b.rounds.join(CHAT, ANA, "Ana A.")  # a bare join keeps the place, renames
    seen = await a.rounds.get(CHAT)
    assert seen is not None and seen.mode == "lift"
    assert [(m.user, m.name) for m in seen.members.values()] == [
        (ANA, "Ana A."), (BEN, "Ben"), (CY, "Cy")]
    assert seen.members[BEN.key].mood == MoodReading(0.8, 0.6, "face")  # numbers, no faces
    assert seen.members[ANA.key].mood is None
    assert [r.mood_score for r in seen.readings] == [0.8, 0.2, 0.4]
    stored = await stores[0].fetchall("SELECT mood FROM group_members WHERE mood IS NOT NULL")
    assert "box" not in stored[0][0] and json.loads(stored[0][0])["mood_score"] == 0.8
    assert await a.rounds.leave(CHAT, BEN) and not await b.rounds.leave(CHAT, BEN)
    assert list((await b.rounds.get(CHAT) or seen).members) == [ANA.key, CY.key]
    result = await b.rounds.close(CHAT)
    assert result.members == ("Ana A.", "Cy")
    assert result.mood.mood_score == pytest.approx(0.3)  # the photo's two faces
    for replica in (a, b):
        assert await replica.rounds.get(CHAT) is None
        with pytest.raises(NoRound):
            await replica.rounds.join(CHAT, BEN, "Ben")
        with pytest.raises(NoRound):
            await replica.rounds.leave(CHAT, BEN)
    assert await stores[0].fetchall("SELECT * FROM group_members") == []


async def test_concurrent_starts_on_two_replicas_open_one_round(pair) -> None:
    a, b = pair
    for i in range(8):
        chat = f"telegram:{i}"
        outcomes = await asyncio.gather(a.rounds.start(chat, ANA, "Ana"),
                                        b.rounds.start(chat, BEN, "Ben"),
                                        return_exceptions=True)
        assert sorted(type(o).__name__ for o in outcomes) == ["Round", "RoundOpen"], outcomes
        winner = next(o for o in outcomes if not isinstance(o, BaseException))
        stored = await b.rounds.get(chat)
        assert stored is not None and list(stored.members) == list(winner.members)


async def test_two_closes_give_one_list(pair) -> None:
    a, b = pair
    await a.rounds.start(CHAT, ANA, "Ana")
    outcomes = await asyncio.gather(a.rounds.close(CHAT), b.rounds.close(CHAT),
                                    return_exceptions=True)
    assert sorted(type(o).__name__ for o in outcomes) == ["GroupList", "NoRound"], outcomes


async def test_two_sweepers_close_each_due_round_exactly_once(pair, clock: Clock) -> None:
    a, b = pair
    chats = [f"telegram:{i}" for i in range(6)]
    for i, chat in enumerate(chats):
        await (a if i % 2 else b).rounds.start(chat, ANA, "Ana")
    clock.now += 5
    assert await a.rounds.sweep() == 0 and await b.rounds.sweep() == 0  # not due yet
    await b.rounds.start("telegram:later", BEN, "Ben")  # due 5 s after the others
    clock.now += 5.5
    await a.rounds.join("telegram:later", CY, "Cy")
    # Four sweeps race: these three and the sweeper that opening a round started on each.
    taken = await asyncio.gather(a.rounds.sweep(), b.rounds.sweep(), a.rounds.sweep())
    assert sum(taken) <= len(chats)
    await settle(a, b)
    posted = sorted(chat for r in (a, b) for chat, _ in r.posted)
    assert posted == sorted(chats)  # each once, by one replica or the other
    assert await a.rounds.sweep() == 0 and await b.rounds.sweep() == 0
    later = await a.rounds.get("telegram:later")
    assert later is not None and len(later.members) == 2


async def test_running_sweepers_post_once(store_target: Path | str) -> None:
    """The sweepers as they run in the bots (real time): wake on their own, race, post once."""
    async with Store(store_target) as one, Store(store_target) as two:
        a, b = Replica(one, "a", round_s=0.3), Replica(two, "b", round_s=0.3)
        a.rounds.start_sweeper()
        b.rounds.start_sweeper()
        try:
            await b.rounds.start(CHAT, ANA, "Ana")  # b's sweeper knows; a's finds it
            await a.rounds.join(CHAT, BEN, "Ben", MoodReading(0.9))
            for _ in range(100):
                await asyncio.sleep(0.05)
                if a.posted or b.posted:
                    break
            await asyncio.sleep(0.3)  # time for a second (wrong) post
            assert len(a.posted) + len(b.posted) == 1
            (chat, result), = a.posted + b.posted
            assert chat == CHAT and result.members == ("Ana", "Ben")
            assert not await a.rounds.is_open(CHAT)
        finally:
            await a.rounds.close_all()
            await b.rounds.close_all()


async def test_a_round_held_by_a_dead_replica_is_closed_after_its_lease(stores, pair,
                                                                        clock: Clock) -> None:
    a, b = pair
    await a.rounds.start(CHAT, ANA, "Ana")
    clock.now += 11
    held = await stores[0].take_due_round(LEASE_S)  # a takes it, then dies: never posts
    await a.rounds.close_all()
    assert held is not None and held.lease == clock.now + LEASE_S
    assert not await b.rounds.is_open(CHAT)  # being closed: nobody joins it meanwhile
    with pytest.raises(NoRound):
        await b.rounds.join(CHAT, BEN, "Ben")
    clock.now += LEASE_S - 1
    assert await b.rounds.sweep() == 0  # the lease still holds
    clock.now += 2
    await b.rounds.sweep()  # (or b's own running sweeper)
    await settle(b)
    assert [chat for chat, _ in b.posted] == [CHAT] and a.posted == []
    assert not await stores[0].finish_round(CHAT, held.lease)  # the dead one's lease is gone
    assert await stores[1].fetchall("SELECT * FROM group_rounds") == []


async def test_a_close_by_command_cut_short_is_finished_by_a_sweeper(stores, pair,
                                                                     clock: Clock) -> None:
    """``/group done`` took the round on a replica that died before answering: the round is
    due at once, and another replica posts its list when the lease expires."""
    a, b = pair
    await a.rounds.start(CHAT, ANA, "Ana")
    assert await stores[0].take_round(CHAT, LEASE_S) is not None  # ... and dies
    await a.rounds.close_all()
    with pytest.raises(NoRound):
        await b.rounds.close(CHAT)  # a second /group done: no second list
    assert await b.rounds.sweep() == 0
    clock.now += LEASE_S + 1
    await b.rounds.sweep()
    await settle(b)
    assert [chat for chat, _ in b.posted] == [CHAT] and a.posted == []


async def test_a_lease_lost_while_ranking_posts_nothing(stores, pair, clock: Clock) -> None:
    """A holder slower than its lease: the round was taken over, so it neither posts nor
    deletes the new holder's round."""
    a, b = pair
    await a.rounds.start(CHAT, ANA, "Ana")
    clock.now += 11
    slow = await stores[0].take_due_round(LEASE_S)
    await a.rounds.close_all()  # a hangs (its own sweeper is out of the way)
    assert slow is not None
    clock.now += LEASE_S + 1
    await b.rounds.sweep()  # b takes over (its close runs in a task)
    await settle(b)
    await a.rounds._close_taken(slow)  # a wakes up late
    assert a.posted == [] and [chat for chat, _ in b.posted] == [CHAT]


async def test_a_sweeper_takes_only_rounds_it_can_post(pair, clock: Clock) -> None:
    """A Telegram-only replica leaves a Discord round to a replica that serves Discord."""
    telegram_only, both = pair
    telegram_only.rounds.platforms = lambda: {"telegram"}
    await both.rounds.start("discord:55", BEN, "Ben")
    clock.now += 11
    assert await telegram_only.rounds.sweep() == 0
    await both.rounds.sweep()
    await settle(telegram_only, both)
    assert [chat for chat, _ in both.posted] == ["discord:55"] and telegram_only.posted == []


async def test_rounds_nobody_here_can_post_never_hide_the_ones_it_can(stores, pair,
                                                                      clock: Clock) -> None:
    """A Telegram-only replica whose sweeps read 100 due rounds at most: more than that of
    Discord (no Discord replica runs now) due before a Telegram round must not keep it from
    closing the Telegram round on its timer."""
    telegram_only, _ = pair
    telegram_only.rounds.platforms = lambda: {"telegram"}
    for i in range(101):
        assert await stores[1].open_round(f"discord:{i}", BEN, "Ben", "match", 10.0)
    clock.now += 1
    await telegram_only.rounds.start(CHAT, ANA, "Ana")
    clock.now += 11
    assert await telegram_only.rounds.sweep() == 1
    await settle(telegram_only)
    assert [chat for chat, _ in telegram_only.posted] == [CHAT]


async def test_a_delete_that_fails_once_after_the_post_is_tried_again(
        stores, pair, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    """The list was posted, then the round's DELETE failed (the database connection dropped
    for a moment): it is tried again, so the round is not left to another replica to post a
    second time when the lease expires."""
    a, b = pair
    real_finish = stores[0].finish_round
    failures = [OSError("connection reset")]

    async def flaky_finish(chat: str, lease: float) -> bool:
        if failures:
            raise failures.pop()
        return await real_finish(chat, lease)

    monkeypatch.setattr(stores[0], "finish_round", flaky_finish)
    await a.rounds.start(CHAT, ANA, "Ana")
    clock.now += 11
    assert await a.rounds.sweep() == 1
    await settle(a)
    clock.now += LEASE_S + 1
    await b.rounds.sweep()
    await settle(a, b)
    assert [chat for chat, _ in a.posted] == [CHAT] and b.posted == []
    assert not failures and not await b.rounds.is_open(CHAT)


async def test_stopping_lets_a_close_under_way_post_its_list(pair, clock: Clock) -> None:
    """On shutdown the sweeper stops taking rounds, but a list it is posting gets posted
    (serve() stops the sweeper before the front-ends that post)."""
    a, _ = pair
    slow_posts: list[str] = []

    async def slow_post(chat: str, result: GroupList) -> None:
        await asyncio.sleep(0.3)  # the chat platform answers slowly
        slow_posts.append(chat)

    a.rounds.on_timeout = slow_post
    await a.rounds.start(CHAT, ANA, "Ana")
    clock.now += 11
    assert await a.rounds.sweep() == 1
    await asyncio.sleep(0.05)  # the close is under way: ranking done, posting
    await a.rounds.close_all()
    assert slow_posts == [CHAT]
    assert await a.rounds.get(CHAT) is None  # and the round is gone from the store


async def test_serve_runs_stopping_before_it_stops_the_front_ends() -> None:
    from bot.frontends import serve

    order: list[str] = []

    class Front:
        name = "fake"

        async def start(self) -> None:
            order.append("start")

        async def stop(self) -> None:
            order.append("front-end stopped")

        async def finished(self) -> None:
            return None  # finishes at once: serve stops

        def connected(self) -> bool:
            return True

    async def stopping() -> None:
        order.append("sweeper stopped")

    await serve([Front()], stopping=stopping)
    assert order == ["start", "sweeper stopped", "front-end stopped"]


async def test_a_database_outage_is_one_warning_and_rounds_due_meanwhile_close_after(
        caplog) -> None:
    """PostgreSQL stops while a round runs: the sweeper (waking every 0.1 s) says so once, not
    once per wake with a traceback; when it is back the round due meanwhile is posted once."""
    relay = PostgresRelay(await fresh_postgres_database(postgres_server_url(),
                                                        "moosic_sweep_outage"))
    await relay.up()
    async with Store(relay.url) as store:
        replica = Replica(store, "a", round_s=0.5, sweep_s=0.1)
        await replica.rounds.start(CHAT, ANA, "Ana")
        caplog.set_level(logging.INFO, logger="moosic_core")
        try:
            await relay.down()
            await asyncio.sleep(1.5)  # the round fell due 1 s ago; ~15 sweeps failed
            assert replica.posted == [] and replica.rounds.database_down
            await relay.up()
            for _ in range(100):
                if replica.posted:
                    break
                await asyncio.sleep(0.05)
            await settle(replica)
            assert [chat for chat, _ in replica.posted] == [CHAT]
        finally:
            await replica.rounds.close_all()
            await relay.down()
    messages = [r.getMessage() for r in caplog.records if r.name == "moosic_core.group_rounds"]
    down = [m for m in messages if "database is unreachable" in m]
    assert len(down) == 1, messages
    assert sum("database is back" in m for m in messages) == 1, messages
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
