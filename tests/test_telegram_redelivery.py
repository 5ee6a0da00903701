"""A Telegram update delivered twice is answered once (issue 33): the real python-telegram-bot
Application in webhook mode, the fake Bot API POSTing the same update again (as Telegram does
when a webhook call failed or timed out), over the real service on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from bot.conversation import Conversation, RateLimiter
from bot.telegram import TelegramBot
from moosic_core.config import TelegramConfig
from moosic_core.service import UPDATE_LEASE_S, MoosicService
from moosic_core.store import Store
from tests.fakes.telegram import FakeTelegram, free_port, private_chat, user

ANA = 601


@pytest.fixture
async def service(config, catalog, song_models, face_reader, store_target: Path | str):
    """The real service over the test's store (a SQLite file or a PostgreSQL database)."""
    async with Store(store_target) as store:
        svc = MoosicService(config, catalog, face_reader, store, song_models)
        yield svc
        await svc.close()


async def webhook_bot(service: MoosicService, fake: FakeTelegram) -> TelegramBot:
    """A started bot receiving updates on its own webhook (one process of the bot)."""
    port = free_port()
    cfg = TelegramConfig(token=fake.token, api_url=fake.base_url, webhook_listen="127.0.0.1",
                         webhook_port=port, webhook_url=f"http://127.0.0.1:{port}/telegram")
    bot = TelegramBot(service, cfg, conversation=Conversation(service, RateLimiter(100, 60)))
    await bot.start()
    assert fake.webhook_url == cfg.webhook_url
    return bot


async def skipped(caplog: pytest.LogCaptureFixture, update_id: int, timeout: float = 10) -> None:
    """Wait until the bot has logged that it did not answer ``update_id`` again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(f"update {update_id} was handled already" in r.getMessage()
               for r in caplog.records):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"update {update_id} was not refused")


async def test_a_redelivered_update_is_answered_once_also_after_a_restart(
        service, fake, caplog) -> None:
    caplog.set_level(logging.INFO, logger="bot.telegram_webhook")
    bot = await webhook_bot(service, fake)
    try:
        mood = fake.push_message(private_chat(ANA), user(ANA), "/mood happy")
        assert await fake.deliver(mood) == 200
        [songs] = await fake.replies(ANA, 1)
        assert "open.spotify.com/track/" in songs.text
        assert await fake.deliver(mood) == 200  # Telegram delivers it again
        await skipped(caplog, mood)
    finally:
        await bot.stop()
    caplog.clear()
    bot = await webhook_bot(service, fake)  # a restarted process, the same database
    try:
        assert await fake.deliver(mood) == 200
        await skipped(caplog, mood)
        more = fake.push_message(private_chat(ANA), user(ANA), "/more")  # new updates still go
        assert await fake.deliver(more) == 200
        replies = await fake.replies(ANA, 2)
        assert "open.spotify.com/track/" in replies[1].text
        await asyncio.sleep(0.3)
        assert len(fake.sent("sendMessage", ANA)) == 2  # nothing answered twice
    finally:
        await bot.stop()


async def test_an_update_left_by_a_dead_process_is_answered_once(service, fake, caplog,
                                                                 store_target) -> None:
    caplog.set_level(logging.INFO, logger="bot.telegram_webhook")
    working = fake.push_message(private_chat(ANA), user(ANA), "/help")
    dead = fake.push_message(private_chat(ANA), user(ANA), "/mood calm")
    # Another process took both: it is still working on the first and died on the second.
    async with Store(store_target) as other, \
            Store(store_target, clock=lambda: time.time() - UPDATE_LEASE_S - 1) as died:
        assert await other.claim_update("telegram", working, lease_s=UPDATE_LEASE_S)
        assert await died.claim_update("telegram", dead, lease_s=UPDATE_LEASE_S)
    bot = await webhook_bot(service, fake)
    try:
        # the other process answers it, not this one: Telegram is asked to deliver it later
        assert await fake.deliver(working) == 503
        assert await fake.deliver(dead) == 200  # redelivered after the process died
        [songs] = await fake.replies(ANA, 1)
        assert "open.spotify.com/track/" in songs.text
        assert await fake.deliver(dead) == 200
        await skipped(caplog, dead)
        assert len(fake.sent("sendMessage", ANA)) == 1
    finally:
        await bot.stop()
