"""Telegram: photo update at the (fake) Bot API -> reply sent, one at a time and under load.

The real Application polls a fake Bot API server on 127.0.0.1 (``tests/fakes/telegram.py``)
and answers with the real service (face model, catalog, SQLite). Latency is measured at the
server: from the moment a photo update is queued there until the bot's ``sendMessage`` with
the songs arrives. The sustained rate runs 50 simulated users, each sending a selfie, waiting
for the answer and sending the next, for a fixed time (a "busy" answer from the service's
back-pressure counts as an answer but not as a song list); once with the production flood limiter
(Telegram's 30 requests/s overall, which caps it) and once without it (pipeline capacity).
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from telegram.ext import AIORateLimiter

from bot.conversation import Conversation, RateLimiter
from bot.telegram import TelegramBot
from moosic_core.app import open_service
from moosic_core.config import Config, TelegramConfig, load_config
from moosic_core.service import MoosicService
from moosic_core.types import UserRef
from tests.fakes.telegram import FakeTelegram, private_chat, user

log = logging.getLogger(__name__)

LATENCY_PHOTOS = 30
LOAD_USERS = 50
LOAD_SECONDS = 10.0


def _selfie() -> bytes:
    from PIL import Image
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).resize((640, 640)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _summary(latencies_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in latencies_s]
    return {"median_ms": round(statistics.median(ms), 1), "p95_ms": round(_pct(ms, 0.95), 1),
            "max_ms": round(max(ms), 1), "n": len(ms)}


async def _answer(fake: FakeTelegram, uid: int, n: int) -> float:
    """Wait for the n-th message to ``uid``; the time (server clock) it arrived."""
    await fake.wait_for(lambda f: len(f.sent("sendMessage", uid)) >= n, timeout=120)
    return fake.sent("sendMessage", uid)[n - 1].at


async def _run(service: MoosicService, selfie: bytes, *, limiter: AIORateLimiter | None,
               sequential: bool) -> dict[str, Any]:
    fake = FakeTelegram()
    await fake.start()
    config = TelegramConfig(token=fake.token, api_url=fake.base_url)
    unlimited = Conversation(service, RateLimiter(0, 60))  # measure the bot, not the limit
    bot = TelegramBot(service, config, conversation=unlimited, rate_limiter=limiter)
    await bot.start(poll_timeout=10)
    try:
        if sequential:
            latencies = []
            for i in range(LATENCY_PHOTOS + 2):  # 2 warm-up photos
                update_id = fake.push_message(private_chat(9000), user(9000), photo=selfie)
                arrived = await _answer(fake, 9000, i + 1)
                if i >= 2:
                    latencies.append(arrived - fake.pushed_at[update_id])
            return _summary(latencies)
        deadline = time.perf_counter() + LOAD_SECONDS
        load_latencies: list[float] = []

        async def simulated_user(uid: int) -> int:
            done = 0
            while time.perf_counter() < deadline:
                update_id = fake.push_message(private_chat(uid), user(uid), photo=selfie)
                arrived = await _answer(fake, uid, done + 1)
                if fake.sent("sendMessage", uid)[done].text.startswith("You look"):
                    load_latencies.append(arrived - fake.pushed_at[update_id])
                done += 1
            return done

        start = time.perf_counter()
        counts = await asyncio.gather(*(simulated_user(10_000 + u) for u in range(LOAD_USERS)))
        elapsed = time.perf_counter() - start
        busy = sum(1 for c in fake.sent("sendMessage") if "busy" in c.text)
        other = sum(counts) - busy - len(load_latencies)
        return {"users": LOAD_USERS, "answered": sum(counts), "seconds": round(elapsed, 1),
                "songs": len(load_latencies), "busy": busy, "other": other,
                "songs_per_second": round(len(load_latencies) / elapsed, 1),
                **{f"latency_{k}": v for k, v in _summary(load_latencies).items()}}
    finally:
        await bot.stop()
        await fake.stop()


async def _bench(config: Config) -> dict[str, Any]:
    selfie = _selfie()
    results: dict[str, Any] = {}
    async with open_service(config) as service:
        for uid in [9000, *range(10_000, 10_000 + LOAD_USERS)]:
            await service.give_consent(UserRef("telegram", str(uid)))
        results["photo -> reply, one at a time"] = await _run(
            service, selfie, limiter=AIORateLimiter(max_retries=3), sequential=True)
        results["50 users, flood limiter on (30 req/s)"] = await _run(
            service, selfie, limiter=AIORateLimiter(max_retries=3), sequential=False)
        results["50 users, no flood limiter"] = await _run(
            service, selfie, limiter=AIORateLimiter(overall_max_rate=0, group_max_rate=0),
            sequential=False)
    return results


def main() -> dict[str, Any]:
    config = load_config()
    with tempfile.TemporaryDirectory() as tmp:  # a throw-away database, not the real one
        paths = dataclasses.replace(config.paths, database=Path(tmp) / "bench.sqlite3")
        results = asyncio.run(_bench(dataclasses.replace(config, paths=paths)))
    seq = results["photo -> reply, one at a time"]
    print(f"{'photo update -> reply sent (30 photos)':<44} median {seq['median_ms']:>7.1f} ms"
          f"   p95 {seq['p95_ms']:>7.1f} ms")
    for name in ("50 users, flood limiter on (30 req/s)", "50 users, no flood limiter"):
        r = results[name]
        print(f"{name:<44} {r['songs_per_second']:>5.1f} song lists/s ({r['songs']} in "
              f"{r['seconds']} s; median {r['latency_median_ms']:.0f} ms, p95 "
              f"{r['latency_p95_ms']:.0f} ms); {r['busy']} answered 'busy', {r['other']} other")
    return results


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main()
