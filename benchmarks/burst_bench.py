"""Bursts through the real Telegram front-end: admission control by expected work.

1,000 users send ``/mood happy`` at the same moment (the fake Bot API hands them out 100 per
``getUpdates``, as Telegram does); every one should get songs. Then 200 users send a selfie at
the same moment (the real face model): selfies queue up to ``service.max_queue_wait_s`` of
expected wait and the rest get "busy" at once. Reported: answered, busy, wall time and latency
(from the update's arrival at the fake server to the reply).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from telegram.ext import AIORateLimiter

from benchmarks.telegram_bench import _selfie, _summary
from bot.conversation import Conversation, RateLimiter
from bot.telegram import TelegramBot
from moosic_core.app import open_service
from moosic_core.config import TelegramConfig, load_config
from moosic_core.service import MoosicService
from moosic_core.types import UserRef
from tests.fakes.telegram import FakeTelegram, private_chat, user

MOODS = 1000
SELFIES = 200


async def _burst(service: MoosicService, fake: FakeTelegram, uids: range,
                 photo: bytes | None) -> dict[str, Any]:
    start = time.perf_counter()
    pushed = {uid: fake.push_message(private_chat(uid), user(uid),
                                     None if photo else "/mood happy", photo=photo)
              for uid in uids}
    await fake.wait_for(lambda f: len({c.chat_id for c in f.sent("sendMessage")}
                                      & set(uids)) >= len(uids), timeout=900)
    elapsed = time.perf_counter() - start
    first = {}
    for call in fake.sent("sendMessage"):
        if call.chat_id in pushed and call.chat_id not in first:
            first[call.chat_id] = call
    busy = [c for c in first.values() if "busy" in c.text]
    songs = [c for c in first.values() if "open.spotify.com" in c.text]
    latencies = [c.at - fake.pushed_at[pushed[uid]] for uid, c in first.items()]
    busy_latencies = [c.at - fake.pushed_at[pushed[c.chat_id or 0]] for c in busy]
    return {"sent": len(uids), "answered": len(first), "songs": len(songs), "busy": len(busy),
            "seconds": round(elapsed, 1),
            **{f"latency_{k}": v for k, v in _summary(latencies).items()},
            "busy_latency_median_ms": _summary(busy_latencies)["median_ms"] if busy else None}


async def _bench(work: Path) -> dict[str, Any]:
    config = load_config()
    config = dataclasses.replace(config, paths=dataclasses.replace(
        config.paths, database=work / "bench.sqlite3"))
    selfie = _selfie()
    async with open_service(config) as service:
        fake = FakeTelegram()
        await fake.start()
        bot = TelegramBot(service, TelegramConfig(token=fake.token, api_url=fake.base_url),
                          conversation=Conversation(service, RateLimiter(0, 60)),
                          rate_limiter=AIORateLimiter(overall_max_rate=0, group_max_rate=0))
        await bot.start(poll_timeout=10)
        try:
            moods = await _burst(service, fake, range(100_000, 100_000 + MOODS), None)
            selfie_uids = range(200_000, 200_000 + SELFIES)
            for uid in selfie_uids:
                await service.give_consent(UserRef("telegram", str(uid)))
            selfies = await _burst(service, fake, selfie_uids, selfie)
            selfies["max_queue_wait_s"] = config.service.max_queue_wait_s
            selfies["selfie_service_s"] = round(service.admission.service_s("expensive"), 3)
        finally:
            await bot.stop()
            await fake.stop()
    return {f"{MOODS} x /mood at once": moods, f"{SELFIES} selfies at once": selfies}


def main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        results = asyncio.run(_bench(Path(tmp)))
    for name, r in results.items():
        print(f"{name:<28} {r['answered']}/{r['sent']} answered in {r['seconds']} s: "
              f"{r['songs']} song lists, {r['busy']} busy; latency median "
              f"{r['latency_median_ms']:.0f} ms, p95 {r['latency_p95_ms']:.0f} ms"
              + (f"; busy answered in {r['busy_latency_median_ms']:.0f} ms (median)"
                 if r["busy_latency_median_ms"] is not None else ""))
    return results


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main()
