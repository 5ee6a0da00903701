"""Several bot replicas starting at the same time on a new database: one creates the schema,
the others wait for it and find it done (each in its own process, as replicas run)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from moosic_core import PROJECT_ROOT

OPEN_AND_CHECK = """
import asyncio, sys, time
from moosic_core.store import Store, alembic_upgrade  # Alembic loaded before the barrier
from moosic_core.store.migrations import SCHEMA_VERSION

async def main() -> None:
    target = sys.argv[1]
    await asyncio.sleep(float(sys.argv[2]) - time.time())  # all open at the same moment
    async with Store(target if "://" in target else __import__("pathlib").Path(target)) as s:
        assert await s.user_counts() is not None
    print("opened", SCHEMA_VERSION)

asyncio.run(main())
"""


async def test_replicas_starting_together_on_a_new_database_all_open_it(
        store_target: Path | str) -> None:
    replicas = 4
    at = str(time.time() + 8)  # after every process has imported the store
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, "-c", OPEN_AND_CHECK, str(store_target), at, cwd=PROJECT_ROOT,
        env=dict(os.environ), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        for _ in range(replicas)]
    results = [await asyncio.wait_for(p.communicate(), 120) for p in procs]
    for proc, (stdout, stderr) in zip(procs, results, strict=True):
        assert proc.returncode == 0, stderr.decode()[-2000:]
        assert stdout.decode().startswith("opened")
