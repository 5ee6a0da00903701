"""The SQLite store's cost per operation: one write, one read, and 100 users at once.

A new database in a temporary directory (as ``paths.database``: WAL, one writer connection,
``BEGIN IMMEDIATE``). ``write``: ``add_feedback`` (find the user, one upsert, commit); ``read``:
``feedback`` (one SELECT joined on the user). ``concurrent``: 100 users each doing 10
write+read pairs at the same time on one event loop, reported as operations per second.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from moosic_core.store import Store
from moosic_core.types import UserRef

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


async def _measure(path: Path) -> dict[str, Any]:
    async with Store(path) as store:
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
        result = asyncio.run(_measure(Path(tmp) / "bench.sqlite3"))
    for name in ("write", "read"):
        print(f"{'store ' + name + ' (SQLite)':<48} median {result[name]['median_ms']:>10.3f} ms"
              f"   p95 {result[name]['p95_ms']:>10.3f} ms")
    print(f"{f'store, {USERS} users at once (write+read pairs)':<48} "
          f"{result['concurrent_ops_per_s']:>10d} ops/s")
    return result


if __name__ == "__main__":
    main()
