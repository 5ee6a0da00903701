"""The store's cost per operation: one write, one read, and 100 users at once, on SQLite and,
when a server is given (``MOOSIC_TEST_POSTGRES_URL``, set by ``scripts/with_postgres.sh`` in
``make bench``), on PostgreSQL.

SQLite: a new database in a temporary directory (as ``paths.database``: WAL, one writer
connection, ``BEGIN IMMEDIATE``). PostgreSQL: a new database on that server (a pool, READ
COMMITTED; over a Unix socket on the same machine). ``write``: ``add_feedback`` (find the
user, one upsert, commit); ``read``: ``feedback`` (one SELECT joined on the user).
``concurrent``: 100 users each doing 10 write+read pairs at the same time on one event loop,
reported as operations per second.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from moosic_core.store import Store
from moosic_core.types import UserRef
from tests.conftest import POSTGRES_URL_ENV, fresh_postgres_database

USERS = 100
PAIRS_PER_USER = 10
RUNS = 200


async def _timed_ms(fn: Any, runs: int) -> dict[str, float]:
    times = []
    for i in range(runs + 5):
        start = time.perf_counter()
        await fn(i)
        if i >= 5:  # warm-up
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"median_ms": round(statistics.median(times), 3),
            "p95_ms": round(times[round(0.95 * (len(times) - 1))], 3)}


async def _measure(target: Path | str) -> dict[str, Any]:
    async with Store(target) as store:
        alice = UserRef("bench", "1")
        write = await _timed_ms(lambda i: store.add_feedback(alice, f"t{i}", 1), RUNS)
        read = await _timed_ms(lambda i: store.feedback(alice), RUNS)

        async def user(n: int) -> None:
            who = UserRef("bench", f"u{n}")
            for i in range(PAIRS_PER_USER):
                await store.add_feedback(who, f"t{i}", 1)
                await store.feedback(who)

        start = time.perf_counter()
        await asyncio.gather(*(user(n) for n in range(USERS)))
        seconds = time.perf_counter() - start
    ops = USERS * PAIRS_PER_USER * 2
    return {"write": write, "read": read, "concurrent_ops_per_s": round(ops / seconds)}


def main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        results = {"SQLite": asyncio.run(_measure(Path(tmp) / "bench.sqlite3"))}
    server = os.environ.get(POSTGRES_URL_ENV)
    if server:
        url = asyncio.run(fresh_postgres_database(server, f"moosic_bench_{os.getpid()}"))
        results["PostgreSQL"] = asyncio.run(_measure(url))
    else:
        print(f"store on PostgreSQL: skipped ({POSTGRES_URL_ENV} is not set)")
    for store, result in results.items():
        for name in ("write", "read"):
            print(f"{f'store {name} ({store})':<48} median {result[name]['median_ms']:>10.3f} ms"
                  f"   p95 {result[name]['p95_ms']:>10.3f} ms")
        print(f"{f'store, {USERS} users at once ({store})':<48} "
              f"{result['concurrent_ops_per_s']:>10d} ops/s")
    return {**results["SQLite"], "by_store": results}


if __name__ == "__main__":
    main()
