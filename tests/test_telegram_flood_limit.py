"""``telegram.messages_per_second``: the most messages one bot process sends a second (Telegram
allows a bot about 30 in all, so each of N replicas gets its share); 0 turns the limit off."""

from __future__ import annotations

import time

from tests.fakes.telegram import FakeTelegram, private_chat, user
from tests.telegram_fixtures import make_bot

USERS = 20


async def _answer_everyone(service, server: FakeTelegram, rate: float) -> float:
    """Seconds from 20 users' /help (at once) until the last of their 20 answers."""
    bot = make_bot(service, server, messages_per_second=rate)
    await bot.start(poll_timeout=5)
    try:
        uids = range(7000, 7000 + USERS)
        start = time.perf_counter()
        for uid in uids:
            server.push_message(private_chat(uid), user(uid), "/help")
        await server.wait_for(lambda f: all(f.sent("sendMessage", uid) for uid in uids),
                              timeout=60)
        return time.perf_counter() - start
    finally:
        await bot.stop()


async def test_the_limit_spaces_the_answers_and_zero_turns_it_off(
        service, fake) -> None:
    limited = await _answer_everyone(service, fake, 5.0)
    # a bucket of 5 goes at once, the other 15 at 5 a second
    assert limited >= 2.8, limited
    unlimited = await _answer_everyone(service, fake, 0.0)
    assert unlimited < limited - 1.0, (unlimited, limited)
