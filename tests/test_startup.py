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
from moosic_core.errors import ConfigError, PlatformUnreachable
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
        assert reply.text.startswith("Songs for feeling happy")
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
    """When the API never comes up, start-up gives up after the limit, saying why (exit 1)."""
    from telegram.error import NetworkError

    bot = _bot(service, "123456:TEST-token-never-logged",
               f"http://127.0.0.1:{free_port()}/bot", StartupConfig(1.0, 0.2))
    with pytest.raises(PlatformUnreachable, match=r"Telegram could not be reached for 1 s "
                                                  r"\(NetworkError") as raised:
        await bot.start()
    assert isinstance(raised.value.__cause__, NetworkError)
    assert raised.value.exit_code == 1
    assert "connection attempt 2 failed" in caplog.text


async def test_webhook_mode_logs_its_url_and_needs_telegram_s_secret(service, caplog) -> None:
    """Webhook mode: setWebhook gets a secret token; updates without it are refused (403)."""
    import aiohttp

    caplog.set_level(logging.INFO)
    fake = FakeTelegram()
    await fake.start()
    port = free_port()
    config = TelegramConfig(token=fake.token, api_url=fake.base_url,
                            webhook_url="https://bot.example.org/tg/hook",
                            webhook_listen="127.0.0.1", webhook_port=port)
    bot = TelegramBot(service, config, conversation=Conversation(service), startup=FAST)
    try:
        await bot.start()
        assert bot.connected()
        [registered] = fake.sent("setWebhook")
        secret = registered.params["secret_token"]
        assert registered.params["url"] == "https://bot.example.org/tg/hook" and len(secret) > 30
        update = {"update_id": 1, "message": {
            "message_id": 5, "date": int(time.time()), "chat": private_chat(ANA),
            "from": user(ANA), "text": "/mood happy",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}
        url = f"http://127.0.0.1:{port}/tg/hook"
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)
                                         ) as http:
            async with http.post(url, json=update) as forged:
                assert forged.status == 403
            headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
            async with http.post(url, json=update, headers=headers) as real:
                assert real.status == 200
        [reply] = await fake.replies(ANA)
        assert reply.text.startswith("Songs for feeling happy")
    finally:
        await bot.stop()
        await fake.stop()
    assert ("Telegram: webhook on https://bot.example.org/tg/hook as @moosic_test_bot "
            f"(listening on 127.0.0.1:{port})") in caplog.text
    assert secret not in caplog.text


async def test_discord_unreachable_at_start_is_retried(service, caplog) -> None:
    import discord

    from bot.discord_bot import DiscordFrontEnd
    from moosic_core.config import DiscordConfig
    from tests.fakes.discord import FakeDiscord

    caplog.set_level(logging.INFO)
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    fake = FakeDiscord(port=free_port())
    front = DiscordFrontEnd(Conversation(service),
                            DiscordConfig(token="discord-token-never-logged",
                                          api_url=fake.api_url), FAST,
                            guild_ready_timeout=0.05)
    starting = asyncio.create_task(front.start())
    try:
        deadline = time.monotonic() + 20
        while "Discord: connection attempt 2 failed" not in caplog.text:
            assert not starting.done(), starting
            assert time.monotonic() < deadline, caplog.text
            await asyncio.sleep(0.05)
        await fake.start()
        await asyncio.wait_for(starting, 30)
        assert front.connected()
    finally:
        starting.cancel()
        await front.stop()
        await fake.stop()
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved
    assert "Discord: connected as" in caplog.text
    assert "discord-token-never-logged" not in caplog.text
    assert "Unclosed client session" not in caplog.text
