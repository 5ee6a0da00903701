"""Load: bursts of cheap requests go through, selfies past the bounded queue wait get "busy".

Through the real Telegram front-end and the fake Bot API (which, like Telegram, hands out at
most 100 updates per getUpdates), with the real service, catalog and SQLite store.
"""

from __future__ import annotations

import dataclasses
import time

import pytest
from telegram.ext import AIORateLimiter

from bot.conversation import Conversation, RateLimiter
from bot.telegram import TelegramBot
from moosic_core.admission import AdmissionControl
from moosic_core.config import TelegramConfig
from moosic_core.errors import Busy
from moosic_core.metrics import StepTimer
from moosic_core.types import FaceReading, UserRef
from tests.fakes.telegram import private_chat, user

BURST = 1000
SELFIE_S = 1.0


class SlowFaces:
    """A face reader that takes a known time per photo (the expensive work, made exact)."""

    def read(self, image: bytes, timer: StepTimer) -> list[FaceReading]:
        time.sleep(SELFIE_S)
        return [FaceReading(box=(0, 0, 10, 10), mood_score=0.8, arousal=0.5)]


@pytest.fixture
async def bot(service, fake):
    telegram = TelegramBot(service, TelegramConfig(token=fake.token, api_url=fake.base_url),
                           conversation=Conversation(service, RateLimiter(0, 60)),
                           rate_limiter=AIORateLimiter(overall_max_rate=0, group_max_rate=0))
    await telegram.start(poll_timeout=5)
    yield telegram
    await telegram.stop()


async def test_a_burst_of_1000_stated_moods_is_all_answered(bot, fake) -> None:
    uids = range(20_000, 20_000 + BURST)
    for uid in uids:
        fake.push_message(private_chat(uid), user(uid), "/mood happy")
    await fake.wait_for(lambda f: len(f.sent("sendMessage")) >= BURST, timeout=600)
    texts = [c.text for c in fake.sent("sendMessage")]
    assert len(texts) == BURST and not [t for t in texts if "busy" in t]
    assert all(t.startswith("Songs for feeling happy") for t in texts)
    assert {c.chat_id for c in fake.sent("sendMessage")} == set(uids)
    assert fake.get_updates_calls >= BURST // 100  # delivered in batches of at most 100


async def test_selfies_past_the_queue_wait_bound_get_busy(bot, fake, service, selfie) -> None:
    service.faces = SlowFaces()
    service.config = dataclasses.replace(service.config, service=dataclasses.replace(
        service.config.service, workers=2, max_queue_wait_s=1.0))
    service.admission = AdmissionControl(2, 1.0)
    uids = list(range(30_000, 30_040))
    for uid in uids:
        await service.give_consent(UserRef("telegram", str(uid)))
    for uid in uids:
        fake.push_message(private_chat(uid), user(uid), photo=selfie)
    await fake.wait_for(lambda f: len(f.sent("sendMessage")) >= len(uids), timeout=120)
    texts = [c.text for c in fake.sent("sendMessage")]
    busy = [t for t in texts if "busy" in t]
    songs = [t for t in texts if t.startswith("You look")]
    assert len(busy) + len(songs) == len(uids), texts[:3]
    # 2 workers, 1 s of expected wait, 1 s a selfie: a handful get in, never all 40.
    assert 4 <= len(songs) <= 20 and len(busy) >= 20
    assert "/mood" in busy[0]  # the busy answer offers the cheap way in
    # Cheap work still goes through while selfies are refused.
    fake.push_message(private_chat(uids[0]), user(uids[0]), "/mood calm")
    assert (await fake.replies(uids[0], 2))[-1].text.startswith("Songs for")


def test_admission_rule_by_expected_queue_wait() -> None:
    control = AdmissionControl(workers=2, max_queue_wait_s=1.0)
    expensive = [control.admit("expensive") for _ in range(9)]  # 9 x 0.25 s / 2 = 1.125 s
    with pytest.raises(Busy):
        control.admit("expensive")
    light = [control.admit("light") for _ in range(BURST)]  # cheap work is not refused
    for ticket in expensive:
        control.finished(ticket, 0.05)
    for ticket in light:
        control.finished(ticket, 0.004)
    assert control.expected_wait_s() == pytest.approx(0.0, abs=1e-9)
    assert control.service_s("expensive") < 0.25  # learns the real time per selfie
    assert control.admit("expensive").cost == "expensive"
