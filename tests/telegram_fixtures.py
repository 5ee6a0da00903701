"""Fixtures for the Telegram front-end's tests, registered for every module by
``pytest_plugins`` in tests/conftest.py.

- ``fake``: the fake Bot API server (tests/fakes/telegram.py) on 127.0.0.1, started and stopped
  around the test. A module's own fixture of the same name wins: the Discord tests call their
  fake Discord ``fake`` too.
- ``tg``: the bot (:func:`make_bot`) polling that server, over the test's ``service``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.conversation import Conversation, RateLimiter
from bot.telegram import TelegramBot
from moosic_core.config import TelegramConfig
from moosic_core.service import MoosicService
from tests.fakes.telegram import FakeTelegram


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


def make_bot(service: MoosicService, fake: FakeTelegram, selfies_per_minute: int = 100,
             **config: Any) -> TelegramBot:
    """A Telegram front-end for ``service`` talking to ``fake`` (``config``: more
    :class:`TelegramConfig` keys), allowing ``selfies_per_minute`` selfies per user."""
    cfg = TelegramConfig(token=fake.token, api_url=fake.base_url, **config)
    conversation = Conversation(service, RateLimiter(selfies_per_minute, 60))
    return TelegramBot(service, cfg, conversation=conversation)


@pytest.fixture
async def tg(service: MoosicService, fake: FakeTelegram) -> AsyncIterator[TelegramBot]:
    bot = make_bot(service, fake)
    await bot.start(poll_timeout=5)
    yield bot
    await bot.stop()
