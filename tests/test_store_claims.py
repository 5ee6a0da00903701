"""Named claims and update leases shared by bot replicas (moosic_core/store/claims.py), on
SQLite and PostgreSQL: one winner among racing processes, leases that lapse unless renewed,
a finished update told from one still being handled, pruning."""

from __future__ import annotations

import asyncio
from pathlib import Path

from moosic_core.store import Store


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_one_of_several_processes_wins_a_claim(store_target: Path | str) -> None:
    async with Store(store_target) as first, Store(store_target) as second:
        results = await asyncio.gather(*(store.claim("telegram:album:1:a")
                                         for store in (first, second) for _ in range(4)))
        assert sorted(results) == [False] * 7 + [True]
        assert await second.claimed("telegram:album:1:a")
        assert not await second.claimed("telegram:album:1:b")
        assert await second.claim("telegram:album:1:b")  # another name


async def test_a_claim_with_a_lease_lapses_unless_renewed(store_target: Path | str) -> None:
    clock = Clock()
    async with Store(store_target, clock=clock) as store:
        assert await store.claim("album", lease_s=30)
        clock.now += 20
        assert not await store.claim("album", lease_s=30)
        await store.renew_claim("album")
        clock.now += 20  # 40 s after the claim, 20 s after the renewal
        assert not await store.claim("album", lease_s=30)
        clock.now += 11  # the holder died: free again, for one taker
        assert await store.claim("album", lease_s=30)
        assert not await store.claim("album", lease_s=30)
        assert await store.claim("kept")  # no lease: held until pruned
        clock.now += 10_000
        assert not await store.claim("kept")


async def test_prune_drops_only_old_claims(store_target: Path | str) -> None:
    clock = Clock()
    async with Store(store_target, clock=clock) as store:
        assert await store.claim("old")
        clock.now += 100
        assert await store.claim("new")
        assert await store.prune_claims(keep_s=50) == 1
        assert not await store.claimed("old") and await store.claimed("new")


async def test_claims_popped_by_prefix_go_to_one_process(store_target: Path | str) -> None:
    async with Store(store_target) as first, Store(store_target) as second:
        for name in ("a:part:1:p", "a:part:2:f", "a:answered", "b:part:1:p"):
            assert await first.claim(name)
        popped = await asyncio.gather(first.pop_claims("a:part:"), second.pop_claims("a:part:"))
        assert sorted(popped, key=len) == [[], ["a:part:1:p", "a:part:2:f"]]
        assert await first.claimed("a:answered") and await first.claimed("b:part:1:p")
        assert not await first.claimed("a:part:1:p")


async def test_a_held_claim_makes_other_processes_wait_their_turn(
        store_target: Path | str) -> None:
    async with Store(store_target) as first, Store(store_target) as second:
        order: list[str] = []

        async def turn(store: Store, who: str) -> None:
            async with store.holding("recommend:x") as held:
                assert held
                order.append(who)
                await asyncio.sleep(0.1)
                order.append(who)

        await asyncio.gather(turn(first, "a"), turn(second, "b"), turn(first, "c"))
        assert [order[i] == order[i + 1] for i in range(0, 6, 2)] == [True] * 3  # one at a time
        assert not await first.claimed("recommend:x")  # dropped after use
        async with first.holding("stuck"), second.holding("stuck", wait_s=0.1) as held:
            assert not held  # a holder that never lets go delays the other 0.1 s, no more


async def test_an_update_lease_is_renewed_and_done_is_told_apart(
        store_target: Path | str) -> None:
    clock = Clock()
    async with Store(store_target, clock=clock) as store:
        assert await store.claim_update("telegram", 5, lease_s=30)
        assert not await store.update_done("telegram", 5)  # being handled
        assert not await store.update_done("telegram", 6)  # unknown
        clock.now += 25
        await store.renew_update("telegram", 5)
        clock.now += 25  # 50 s after the claim, 25 s after the renewal: still held
        assert not await store.claim_update("telegram", 5, lease_s=30)
        await store.finish_update("telegram", 5)
        assert await store.update_done("telegram", 5)
        await store.renew_update("telegram", 5)  # a late heartbeat changes nothing
        clock.now += 100
        assert not await store.claim_update("telegram", 5, lease_s=30)  # done stays done
        assert await store.update_done("telegram", 5)
