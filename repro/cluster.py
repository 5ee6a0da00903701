"""Tester t1's harness: N `moosic bot telegram` replicas over one PostgreSQL + FakeTelegram."""
from __future__ import annotations

import asyncio
import itertools
import os
import re
import time
import uuid
from pathlib import Path

import aiohttp

from moosic_core import PROJECT_ROOT
from tests.conftest import fresh_postgres_database, jpeg_bytes
from tests.fakes.telegram import FakeTelegram, group_chat, private_chat, user  # noqa: F401
from tests.test_replicas import Replica

PG = os.environ.get("T1_PG", "postgresql://postgres@/postgres?host=/tmp/f1pg/sock")
PUBLIC_URL = "https://bot.example.test/telegram"
TRACK = re.compile(r"open\.spotify\.com/track/(\w+)")


def tracks(text: str) -> list[str]:
    return TRACK.findall(text)


def selfie_bytes() -> bytes:
    from PIL import Image
    from skimage import data
    return jpeg_bytes(Image.fromarray(data.astronaut()).resize((640, 640)))


class Cluster:
    def __init__(self, n: int = 2, extra_env: dict[str, str] | None = None,
                 tmp: Path | None = None) -> None:
        self.n = n
        self.extra = extra_env or {}
        self.tmp = tmp or Path(f"/tmp/t1run-{uuid.uuid4().hex[:6]}")
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.fake = FakeTelegram()
        self._turn = itertools.count()
        self.replicas: list[Replica] = []

    async def setup(self, db_name: str | None = None) -> None:
        self.database_url = await fresh_postgres_database(
            PG, db_name or f"t1_{uuid.uuid4().hex[:10]}")
        await self.fake.start()
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.tmp),
                    "PYTHONPATH": str(PROJECT_ROOT),
                    "MOOSIC_TELEGRAM_TOKEN": self.fake.token,
                    "MOOSIC_TELEGRAM_API_URL": self.fake.base_url,
                    "MOOSIC_TELEGRAM_WEBHOOK_URL": PUBLIC_URL,
                    "MOOSIC_STORE_DATABASE_URL": self.database_url,
                    "MOOSIC_PATHS_DATABASE": str(self.tmp / "unused.sqlite3"), **self.extra}
        self.replicas = [Replica(chr(65 + i), self.env, self.tmp) for i in range(self.n)]
        t = time.monotonic()
        await asyncio.gather(*(r.start() for r in self.replicas))
        print(f"[cluster] {self.n} replicas ready in {time.monotonic() - t:.1f}s", flush=True)

    @property
    def urls(self) -> list[str]:
        return [r.url for r in self.replicas]

    async def send(self, update_id: int, to: int | None = None, timeout: float = 60) -> int:
        first = to if to is not None else next(self._turn) % self.n
        return await self.fake.deliver_until_answered(update_id, self.urls, first=first,
                                                      retry_s=0.5, timeout=timeout)

    async def post(self, url: str, body: bytes | str | None = None, *, json_body=None,
                   secret: str | None = "ok", method: str = "POST",
                   headers: dict | None = None) -> tuple[int, str]:
        h = dict(headers or {})
        if secret == "ok":
            h["X-Telegram-Bot-Api-Secret-Token"] = self.fake.webhook_secret or ""
        elif secret is not None:
            h["X-Telegram-Bot-Api-Secret-Token"] = secret
        async with aiohttp.ClientSession() as s, s.request(
                method, url, data=body, json=json_body, headers=h) as r:
            return r.status, (await r.text())[:300]

    async def health(self, r: Replica) -> tuple[int | None, str]:
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as s, \
                    s.get(f"http://127.0.0.1:{r.monitor_port}/healthz") as resp:
                return resp.status, (await resp.text())[:300]
        except Exception as exc:  # noqa: BLE001
            return None, repr(exc)[:200]

    async def stop(self) -> list[int | None]:
        codes = await asyncio.gather(*(r.stop() for r in self.replicas))
        await self.fake.stop()
        return list(codes)

    def texts(self, chat_id: int, method: str = "sendMessage") -> list[str]:
        return [c.text for c in self.fake.sent(method, chat_id)]

    def grep_logs(self, pattern: str) -> list[str]:
        out = []
        for r in self.replicas:
            for line in r.log_path.read_text(errors="replace").splitlines():
                if re.search(pattern, line):
                    out.append(f"{r.name}: {line[:300]}")
        return out
