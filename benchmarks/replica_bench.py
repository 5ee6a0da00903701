"""Telegram webhook replicas over one PostgreSQL: 1 replica against 2, under the same load.

Each replica is the real bot in its own process (``moosic bot telegram`` in webhook mode, the
shared webhook secret, ``store.database_url`` on one throw-away PostgreSQL database), talking to
the fake Bot API (``tests/fakes/telegram.py``) in this process. This process is also the load
balancer: it delivers the updates round-robin to the replicas' webhook ports, as a reverse proxy
would, keeping a fixed number of updates in flight.

The load: ``/mood <feeling>`` (a mix of words and numbers) from many different users in private
chats; every third user linked one of the real playlist exports in ``data.playlists_dir``
beforehand (through the webhook, as a CSV document; not timed), so their lists are ranked
against their taste. Each update makes the bot read the user's state and taste from the store,
rank the catalog and record the list. Measured at the fake: from the moment an update is
delivered to the bot's ``sendMessage`` with the answer (so it does not matter when the webhook
answers its HTTP request); throughput is answered updates per second over a run; medians of
several runs. "1 replica" sends every update to one of the two running replicas (the other
idles), "2" round-robin to both; their runs alternate, so whatever else the machine is doing
weighs on both alike.

PostgreSQL: the server named by ``MOOSIC_TEST_POSTGRES_URL`` (``make bench`` starts one with
``scripts/with_postgres.sh``); without it the benchmark is skipped with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from benchmarks.telegram_bench import _pct
from moosic_core import PROJECT_ROOT
from moosic_core.config import load_config
from tests.conftest import POSTGRES_URL_ENV, fresh_postgres_database
from tests.fakes.telegram import FakeTelegram, free_port, private_chat, user

log = logging.getLogger(__name__)

FEELINGS = ("happy", "sad", "calm", "angry", "excited", "tired", "0.2", "0.8")
PLAYLISTS = ("liked_songs_a.csv", "liked_songs_b.csv", "liked_songs_c.csv")
USERS = 96  # distinct users; every third one has a playlist linked
IN_FLIGHT = 8  # updates delivered and not yet answered, at any time
UPDATES_PER_RUN = 240
RUNS = 5
WARMUP_UPDATES = 16  # per replica configuration, not timed
#: The public URL the replicas register (a reverse proxy's); the bench delivers to each
#: replica's own port with this path, as the proxy would.
PUBLIC_URL = "https://bot.example.org/telegram/moosic"
START_TIMEOUT_S = 180.0
#: ``telegram.messages_per_second`` of each replica: the default (Telegram's ~30 a second for
#: a whole bot, which caps one replica), then none (what the replicas can do on this machine).
FLOOD_LIMITS = (30.0, 0.0)


class BenchTelegram(FakeTelegram):
    """The fake Bot API, also handing each ``sendMessage`` to the one update waiting for an
    answer in that chat (the load keeps at most one update per chat in flight)."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: dict[int, asyncio.Future[float]] = {}
        self.extra_messages = 0  # messages no update was waiting for (should stay 0)

    async def _m_sendMessage(self, params: dict[str, Any]) -> web.Response:
        arrived = time.perf_counter()
        future = self.waiting.pop(int(params["chat_id"]), None)
        if future is not None and not future.done():
            future.set_result(arrived)
        else:
            self.extra_messages += 1
        return await super()._m_sendMessage(params)


@dataclass
class Replica:
    """One bot process: its webhook and monitor ports, and its log (stderr, in a file)."""

    process: asyncio.subprocess.Process
    webhook_port: int
    monitor_port: int
    log_path: str
    urls: list[str] = field(default_factory=list)

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.webhook_port}/telegram/moosic"


async def _start_replica(fake: FakeTelegram, database_url: str, log_dir: str,
                         messages_per_second: float) -> Replica:
    webhook_port, monitor_port = free_port(), free_port()
    env = {**os.environ, "MOOSIC_TELEGRAM_TOKEN": fake.token,
           "MOOSIC_TELEGRAM_API_URL": fake.base_url, "MOOSIC_TELEGRAM_WEBHOOK_URL": PUBLIC_URL,
           "MOOSIC_TELEGRAM_WEBHOOK_LISTEN": "127.0.0.1",
           "MOOSIC_TELEGRAM_WEBHOOK_PORT": str(webhook_port),
           "MOOSIC_MONITOR_LISTEN": f"127.0.0.1:{monitor_port}",
           "MOOSIC_TELEGRAM_MESSAGES_PER_SECOND": str(messages_per_second),
           "MOOSIC_STORE_DATABASE_URL": database_url, "MOOSIC_LOGGING_LEVEL": "WARNING",
           "MOOSIC_DISCORD_TOKEN": ""}
    log_path = os.path.join(log_dir, f"replica-{webhook_port}.log")
    with open(log_path, "wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "bot", "telegram", cwd=PROJECT_ROOT, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=log_file)
    return Replica(process, webhook_port, monitor_port, log_path)


async def _wait_ready(session: aiohttp.ClientSession, replica: Replica) -> None:
    """Until the replica's ``/healthz`` says ready (models, store and webhook up)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if replica.process.returncode is not None:
            break
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(f"http://127.0.0.1:{replica.monitor_port}/healthz") as r:
                if r.status == 200:
                    return
        await asyncio.sleep(0.25)
    with open(replica.log_path, encoding="utf-8", errors="replace") as f:
        tail = f.read()[-2000:]
    raise RuntimeError(f"a replica did not get ready (exit {replica.process.returncode}):\n"
                       f"{tail}")


async def _stop(replicas: list[Replica]) -> None:
    for replica in replicas:
        if replica.process.returncode is None:
            replica.process.send_signal(signal.SIGTERM)
    for replica in replicas:
        try:
            await asyncio.wait_for(replica.process.wait(), 30)
        except TimeoutError:
            replica.process.kill()
            await replica.process.wait()


class Load:
    """Delivers updates round-robin to the replicas, ``IN_FLIGHT`` at a time."""

    def __init__(self, fake: BenchTelegram, session: aiohttp.ClientSession) -> None:
        self.fake = fake
        self.session = session
        self.feelings = itertools.cycle(FEELINGS)

    async def deliver(self, update_id: int, url: str) -> None:
        """POST the update as Telegram does (with the shared secret); any status but 200 is
        an error of the bench's setup."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.fake.webhook_secret or ""}
        async with self.session.post(url, json=self.fake.updates[update_id],
                                     headers=headers) as response:
            if response.status != 200:
                raise RuntimeError(f"the webhook answered {response.status}")

    async def ask(self, uid: int, text: str | None, url: str,
                  document: dict[str, Any] | None = None) -> float:
        """One update from ``uid``; seconds from its delivery to the bot's answer."""
        answered = asyncio.get_running_loop().create_future()
        self.fake.waiting[uid] = answered
        update_id = self.fake.push_message(private_chat(uid), user(uid), text,
                                           document=document)
        delivered = time.perf_counter()
        await self.deliver(update_id, url)
        arrived: float = await asyncio.wait_for(answered, 120)
        return arrived - delivered

    async def run(self, urls: list[str], updates: int, users: list[int]) -> dict[str, Any]:
        """``updates`` /mood updates from ``users``; each of the ``IN_FLIGHT`` workers has its
        own users, so one chat never has two updates in flight."""
        targets = itertools.cycle(urls)
        todo = iter(range(updates))
        latencies: list[float] = []

        async def worker(mine: list[int]) -> None:
            for _, uid in zip(todo, itertools.cycle(mine)):  # until the updates run out
                latencies.append(await self.ask(uid, f"/mood {next(self.feelings)}",
                                                next(targets)))

        start = time.perf_counter()
        await asyncio.gather(*(worker(users[w::IN_FLIGHT]) for w in range(IN_FLIGHT)))
        seconds = time.perf_counter() - start
        ms = sorted(v * 1000 for v in latencies)
        return {"answered": len(ms), "seconds": round(seconds, 2),
                "per_s": round(len(ms) / seconds, 1), "p50_ms": round(statistics.median(ms), 1),
                "p95_ms": round(_pct(ms, 0.95), 1)}


async def _link_playlists(load: Load, url: str, users: list[int]) -> None:
    """Every third user sends one of the real playlist exports as a CSV document."""
    folder = load_config().data.playlists_dir
    exports = [(name, (folder / name).read_bytes()) for name in PLAYLISTS
               if (folder / name).exists()]
    if not exports:
        log.warning("no playlist exports in %s: every user is without a playlist", folder)
        return
    linked = users[::3]
    for uid, (name, data) in zip(linked, itertools.cycle(exports)):
        await load.ask(uid, None, url, document=load.fake.document(data, name, "text/csv"))


def _medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"replicas": runs[0]["replicas"], "flood_limit": runs[0]["flood_limit"],
            "runs": len(runs),
            **{k: round(statistics.median(r[k] for r in runs), 1)
               for k in ("per_s", "p50_ms", "p95_ms")},
            "each_run": [{k: r[k] for k in ("per_s", "p50_ms", "p95_ms", "answered")}
                         for r in runs]}


async def _bench(server_url: str, log_dir: str) -> dict[str, Any]:
    database_url = await fresh_postgres_database(server_url,
                                                  f"moosic_bench_{uuid.uuid4().hex[:12]}")
    fake = BenchTelegram()
    await fake.start()
    users = [30_000 + n for n in range(USERS)]
    replicas: list[Replica] = []
    results: list[dict[str, Any]] = []
    try:
        async with aiohttp.ClientSession() as session:
            load = Load(fake, session)
            for limit in FLOOD_LIMITS:
                await _stop(replicas)
                replicas = [await _start_replica(fake, database_url, log_dir, limit)
                            for _ in range(2)]
                for replica in replicas:
                    await _wait_ready(session, replica)
                urls = [r.webhook for r in replicas]
                if limit == FLOOD_LIMITS[0]:
                    await _link_playlists(load, urls[0], users)
                for count in (1, 2):
                    await load.run(urls[:count], WARMUP_UPDATES, users)
                runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
                for _ in range(RUNS):  # alternating, so other load on the machine hits both
                    for count in (1, 2):
                        runs[count].append({"replicas": count, "flood_limit": limit,
                                            **await load.run(urls[:count], UPDATES_PER_RUN,
                                                             users)})
                results.extend(_medians(runs[count]) for count in (1, 2))
    finally:
        await _stop(replicas)
        await fake.stop()
    return {"results": results, "extra_messages": fake.extra_messages,
            "load": f"/mood <feeling> from {USERS} users (every third with a playlist "
                    f"linked), {IN_FLIGHT} in flight, {UPDATES_PER_RUN} per run, "
                    f"medians of {RUNS} runs",
            "cores": os.cpu_count()}


def main() -> dict[str, Any]:
    server_url = os.environ.get(POSTGRES_URL_ENV)
    if not server_url:
        reason = (f"skipped: no PostgreSQL server ({POSTGRES_URL_ENV} is not set; `make bench` "
                  "starts one with scripts/with_postgres.sh)")
        print(f"replicas: {reason}")
        return {"skipped": reason}
    with tempfile.TemporaryDirectory() as log_dir:
        result = asyncio.run(_bench(server_url, log_dir))
    print(f"Telegram webhook replicas over one PostgreSQL: {result['load']}")
    print(f"{'messages_per_second':<22}{'replicas':>8}{'answered/s':>12}{'p50 ms':>10}"
          f"{'p95 ms':>10}")
    for row in result["results"]:
        limit = f"{row['flood_limit']:g} each" if row["flood_limit"] else "0 (no limit)"
        each = ", ".join(f"{r['per_s']:.1f}" for r in row["each_run"])
        print(f"{limit:<22}{row['replicas']:>8}{row['per_s']:>12.1f}{row['p50_ms']:>10.1f}"
              f"{row['p95_ms']:>10.1f}   (runs: {each}/s)")
    print(f"(this machine has {result['cores']} cores, shared by the replicas, PostgreSQL, the "
          "fake Bot API and the load generator: a second replica adds a process, not a core)")
    if result["extra_messages"]:
        print(f"warning: {result['extra_messages']} messages no update was waiting for")
    return result


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main()
