"""Start-up against a Telegram API that is down at first: retried with backoff and logged, then
serving; a refused token is reported at once and not retried. The real python-telegram-bot
Application against the fake Bot API on 127.0.0.1 (tests/fakes/telegram.py)."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from bot.conversation import Conversation
from bot.telegram import TelegramBot
from moosic_core.config import StartupConfig, TelegramConfig
from moosic_core.errors import ConfigError
from tests.fakes.telegram import FakeTelegram, free_port, private_chat, user

ANA = 701
FAST = StartupConfig(retry_for_s=60.0, max_backoff_s=0.4)


def _bot(service, token: str, api_url: str, startup: StartupConfig = FAST) -> TelegramBot:
    return TelegramBot(service, TelegramConfig(token=token, api_url=api_url),
                       conversation=Conversation(service), startup=startup)


async def test_unreachable_api_is_retried_until_it_comes_up(service, caplog) -> None:
    caplog.set_level(logging.INFO)
    port = free_port()
    fake = FakeTelegram()
    bot = _bot(service, fake.token, f"http://127.0.0.1:{port}/bot")
    starting = asyncio.create_task(bot.start(poll_timeout=2))
    try:
        deadline = time.monotonic() + 20
        while "connection attempt 2 failed" not in caplog.text:  # down: attempts fail, logged
            assert not starting.done(), starting
            assert time.monotonic() < deadline, caplog.text
            await asyncio.sleep(0.05)
        await fake.start(port)  # the API comes up
        await asyncio.wait_for(starting, 20)
        fake.push_message(private_chat(ANA), user(ANA), "/mood happy")
        [reply] = await fake.replies(ANA)
        assert reply.text.startswith("Songs for a happy mood")
    finally:
        starting.cancel()
        await bot.stop()
        await fake.stop()
    retries = [r for r in caplog.records if "connection attempt" in r.getMessage()]
    assert retries and all(r.levelno == logging.WARNING for r in retries)
    assert all("Telegram" in r.getMessage() and "retrying in" in r.getMessage() for r in retries)
    assert "Telegram: polling as @moosic_test_bot" in caplog.text
    assert fake.token not in caplog.text


async def test_a_refused_token_is_not_retried(service, caplog) -> None:
    fake = FakeTelegram()
    await fake.start()
    bot = _bot(service, "999999:a-token-telegram-does-not-know", fake.base_url,
               StartupConfig(retry_for_s=60.0, max_backoff_s=5.0))
    started = time.monotonic()
    try:
        with pytest.raises(ConfigError, match=r"refused the bot token.*telegram\.token"
                                              r".*MOOSIC_TELEGRAM_TOKEN") as raised:
            await bot.start()
    finally:
        await fake.stop()
    assert time.monotonic() - started < 5  # no backoff waits
    assert "connection attempt" not in caplog.text
    assert "a-token-telegram-does-not-know" not in str(raised.value)


async def test_retries_end_after_retry_for_s(service, caplog) -> None:
    """When the API never comes up, start-up gives up with the network error after the limit."""
    from telegram.error import NetworkError

    bot = _bot(service, "123456:TEST-token-never-logged",
               f"http://127.0.0.1:{free_port()}/bot", StartupConfig(1.0, 0.2))
    with pytest.raises(NetworkError):
        await bot.start()
    assert "still unreachable after 1 s" in caplog.text
