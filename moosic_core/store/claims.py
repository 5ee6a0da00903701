"""Claims shared by bot replicas over one database: named claims (table ``claims``, schema 5)
and the leases of platform updates being handled (table ``handled_updates``, schema 3).

A *named claim* (``telegram:album:<chat>:<media_group_id>``) lets exactly one of several
processes act on something that reaches all of them: the first :meth:`Claims.claim` wins. A claim
with a lease (``lease_s``) that its holder stopped renewing (the process died) may be taken
again; a claim without one is kept until :meth:`Claims.prune_claims` drops it.

An *update lease* is what :meth:`Store.claim_update` takes; a replica handling a slow update
renews it (:meth:`Claims.renew_update`) so no other replica takes the update while the first is
alive, and tells a redelivery of a finished update from one still being handled
(:meth:`Claims.update_done`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from moosic_core.store.db import Database, execute

#: Named claims older than this are dropped by :meth:`Claims.prune_claims` (Telegram keeps an
#: undelivered update for 24 hours, so nothing claimed by name comes back later than that).
CLAIM_KEEP_S = 2 * 86400.0
#: :meth:`Claims.holding`: the lease of a held claim, the longest wait for it and how often a
#: waiter asks again (seconds).
HOLD_LEASE_S, HOLD_WAIT_S, HOLD_POLL_S = 30.0, 10.0, 0.02


class Claims(Database):
    """Mixin of :class:`moosic_core.store.Store`: named claims and update leases."""

    clock: Callable[[], float]

    async def claim(self, name: str, *, lease_s: float | None = None) -> bool:
        """Take the claim ``name``; True for exactly one caller of all processes racing.

        ``lease_s`` None: the claim is held until pruned. ``lease_s`` set: a claim taken (or
        last renewed with :meth:`renew_claim`) more than ``lease_s`` seconds ago is free again,
        and taking it returns True.
        """
        async def body(conn: AsyncConnection) -> bool:
            now = self.clock()
            stale = now - lease_s if lease_s is not None else float("-inf")
            return bool(await execute(
                conn, "INSERT INTO claims (name, claimed_at) VALUES (:name, :now) "
                "ON CONFLICT (name) DO UPDATE SET claimed_at = excluded.claimed_at "
                "WHERE claims.claimed_at < :stale", {"name": name, "now": now, "stale": stale}))

        return await self.transaction(body)

    @contextlib.asynccontextmanager
    async def holding(self, name: str, *, lease_s: float = HOLD_LEASE_S,
                      wait_s: float = HOLD_WAIT_S) -> AsyncIterator[bool]:
        """Hold the claim ``name`` (with a lease of ``lease_s`` seconds) while the block runs,
        then drop it: a lock across every process over the database. Waits for a holder,
        polling every :data:`HOLD_POLL_S` seconds, at most ``wait_s`` seconds; then the block
        runs anyway (yields False: not held), so a stuck holder never stops the caller."""
        deadline = time.monotonic() + wait_s
        held = await self.claim(name, lease_s=lease_s)
        while not held and time.monotonic() < deadline:
            await asyncio.sleep(HOLD_POLL_S)
            held = await self.claim(name, lease_s=lease_s)
        try:
            yield held
        finally:
            if held:
                await self.drop_claim(name)

    async def drop_claim(self, name: str) -> None:
        """Drop the claim ``name`` (it may be taken again at once)."""
        async def body(conn: AsyncConnection) -> None:
            await execute(conn, "DELETE FROM claims WHERE name = :name", {"name": name})

        await self.transaction(body)

    async def renew_claim(self, name: str) -> None:
        """Keep a claim with a lease held: its time becomes now."""
        async def body(conn: AsyncConnection) -> None:
            await execute(conn, "UPDATE claims SET claimed_at = :now WHERE name = :name",
                          {"name": name, "now": self.clock()})

        await self.transaction(body)

    async def claimed(self, name: str) -> bool:
        """Whether anybody holds (or held, and it was not pruned) the claim ``name``."""
        return await self.fetchone("SELECT 1 FROM claims WHERE name = :name",
                                   {"name": name}) is not None

    async def pop_claims(self, prefix: str) -> list[str]:
        """Drop the named claims whose name starts with ``prefix`` and return their names (of
        two processes popping at once, each name goes to one)."""
        async def body(conn: AsyncConnection) -> list[str]:
            rows = (await conn.execute(text(
                "DELETE FROM claims WHERE substr(name, 1, :n) = :prefix RETURNING name"),
                {"n": len(prefix), "prefix": prefix})).all()
            return sorted(str(row[0]) for row in rows)

        return await self.transaction(body)

    async def prune_claims(self, keep_s: float = CLAIM_KEEP_S) -> int:
        """Drop named claims older than ``keep_s`` seconds; how many were dropped."""
        async def body(conn: AsyncConnection) -> int:
            return await execute(conn, "DELETE FROM claims WHERE claimed_at < :old",
                                 {"old": self.clock() - keep_s})

        return await self.transaction(body)

    async def renew_update(self, platform: str, update_id: int) -> None:
        """Renew the lease of an update being handled (its claim time becomes now), so another
        process does not take it while this one is still at work. A finished update stays
        finished."""
        async def body(conn: AsyncConnection) -> None:
            await execute(conn, "UPDATE handled_updates SET claimed_at = :now WHERE platform = "
                          ":platform AND update_id = :id AND done = 0",
                          {"platform": platform, "id": update_id, "now": self.clock()})

        await self.transaction(body)

    async def update_done(self, platform: str, update_id: int) -> bool:
        """Whether the update was handled to the end (False: unknown, or still being handled)."""
        row = await self.fetchone(
            "SELECT done FROM handled_updates WHERE platform = :platform AND update_id = :id",
            {"platform": platform, "id": update_id})
        return row is not None and bool(row[0])
