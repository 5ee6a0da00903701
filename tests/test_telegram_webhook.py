"""The webhook of several Telegram replicas (bot/telegram_webhook.py): answered only after the
update was handled, 503 while another replica holds the update's lease (renewed while a slow
update runs), 503 past the replica's limit, a refused secret, a bounded body, a stop that
finishes what is in flight and leaves the webhook set, and an album split over two replicas
answered once. Real python-telegram-bot Applications in one process (each with its own service
over one store, SQLite or PostgreSQL) against the fake Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot import replies
from bot.conversation import Conversation, RateLimiter
from bot.telegram import TelegramBot, album_id
from bot.telegram_webhook import DATABASE_RETRY_AFTER_S
from moosic_core.config import TelegramConfig
from moosic_core.service import FACE_CONSENT, MoosicService
from moosic_core.store import Store
from moosic_core.types import UserRef
from tests.conftest import fresh_postgres_database, postgres_server_url
from tests.fakes.pg_relay import PostgresRelay
from tests.fakes.telegram import FakeTelegram, free_port, group_chat, private_chat, user

ANA = 801


@contextlib.asynccontextmanager
async def replica(config, catalog, song_models, face_reader, store_target: Path | str,
                  fake: FakeTelegram, *, lease_s: float = 30.0,
                  max_updates: int = 40) -> AsyncIterator[TelegramBot]:
    """One started replica: its own store connection, service and conversation."""
    port = free_port()
    cfg = TelegramConfig(token=fake.token, api_url=fake.base_url, webhook_listen="127.0.0.1",
                         webhook_port=port, webhook_url=f"http://127.0.0.1:{port}/telegram",
                         update_lease_s=lease_s, webhook_max_updates=max_updates)
    async with Store(store_target) as store:
        service = MoosicService(config, catalog, face_reader, store, song_models)
        bot = TelegramBot(service, cfg, conversation=Conversation(service, RateLimiter(100, 60)))
        await bot.start()
        try:
            yield bot
        finally:
            await bot.stop()
            await service.close()


def url_of(bot: TelegramBot) -> str:
    return bot.config.webhook_url


@pytest.fixture
def replicas(config, catalog, song_models, face_reader, store_target, fake):
    """``replicas(**options)``: a context manager starting one replica over the test's store."""
    return lambda **options: replica(config, catalog, song_models, face_reader, store_target,
                                     fake, **options)


async def post(url: str, body: bytes, secret: str | None) -> int:
    headers = {"Content-Type": "application/json",
               "X-Telegram-Bot-Api-Secret-Token": secret or ""}
    async with aiohttp.ClientSession() as session, session.post(url, data=body,
                                                                headers=headers) as response:
        return response.status


async def test_wrong_secret_bad_body_and_huge_body_are_refused(replicas, fake, caplog) -> None:
    async with replicas() as a:
        update = fake.push_message(private_chat(ANA), user(ANA), "/help")
        assert await post(url_of(a), b"{}", "not-the-secret") == 403
        assert await post(url_of(a), b"{}", None) == 403
        for body in (b"not json", b"{}", b"[1]", b'{"update_id": "x"}',
                     b'{"update_id": 5, "message": 3}', b'{"update_id": 9223372036854775808}',
                     b'{"update_id": -1}'):
            assert await post(url_of(a), body, fake.webhook_secret) == 400, body
        assert await post(url_of(a), b"[" + b" " * 2_000_000 + b"]", fake.webhook_secret) == 413
        await asyncio.sleep(0.2)
        assert fake.sent("sendMessage", ANA) == []
        assert await fake.deliver(update, url_of(a)) == 200  # answered after it was handled
        assert len(fake.sent("sendMessage", ANA)) == 1
    assert "not-the-secret" not in caplog.text


async def test_a_slow_update_keeps_its_lease_and_the_other_replica_waits(
        replicas, fake, store_target, selfie) -> None:
    async with Store(store_target) as store:
        await store.set_consent(UserRef("telegram", str(ANA)), FACE_CONSENT)
    async with replicas(lease_s=1.0) as a, replicas(lease_s=1.0) as b:
        photo = fake.push_message(private_chat(ANA), user(ANA), photo=selfie)
        fake.hold_downloads()
        on_a = asyncio.create_task(fake.deliver(photo, url_of(a)))
        await fake.wait_for(lambda f: len(f.downloads) >= 1)
        for _ in range(5):  # 2.5 s: 2.5 leases, each renewed by A's heartbeat
            assert await fake.deliver(photo, url_of(b)) == 503
            await asyncio.sleep(0.5)
        fake.release_downloads()
        assert await on_a == 200
        assert await fake.deliver(photo, url_of(b)) == 200  # done: not handled again
        await asyncio.sleep(0.3)
        assert len(fake.sent("sendMessage", ANA)) == 1
        assert len(fake.downloads) == 1


async def test_over_its_limit_a_replica_answers_503_at_once(replicas, fake, selfie,
                                                            store_target) -> None:
    async with Store(store_target) as store:
        await store.set_consent(UserRef("telegram", str(ANA)), FACE_CONSENT)
    async with replicas(max_updates=1) as a:
        photo = fake.push_message(private_chat(ANA), user(ANA), photo=selfie)
        help_ = fake.push_message(private_chat(ANA), user(ANA), "/help")
        fake.hold_downloads()
        busy = asyncio.create_task(fake.deliver(photo, url_of(a)))
        await fake.wait_for(lambda f: len(f.downloads) >= 1)
        assert await asyncio.wait_for(fake.deliver(help_, url_of(a)), 2) == 503
        fake.release_downloads()
        assert await busy == 200
        assert await fake.deliver(help_, url_of(a)) == 200  # Telegram's retry
        assert len(fake.sent("sendMessage", ANA)) == 2


async def test_stop_finishes_the_update_in_flight_and_keeps_the_webhook(
        replicas, fake, selfie, store_target) -> None:
    async with Store(store_target) as store:
        await store.set_consent(UserRef("telegram", str(ANA)), FACE_CONSENT)
    async with replicas() as b:
        async with replicas() as a:
            photo = fake.push_message(private_chat(ANA), user(ANA), photo=selfie)
            fake.hold_downloads()
            in_flight = asyncio.create_task(fake.deliver(photo, url_of(a)))
            await fake.wait_for(lambda f: len(f.downloads) >= 1)
            stopping = asyncio.create_task(a.stop())
            await asyncio.sleep(0.2)
            late = fake.push_message(private_chat(ANA), user(ANA), "/help")
            assert await fake.deliver(late, url_of(a)) == 503  # no longer accepting
            assert not stopping.done()  # waits for the update in flight
            assert not a.connected() and b.connected()  # /healthz: 503 on A, for the balancer
            fake.release_downloads()
            assert await in_flight == 200
            await stopping
            assert fake.webhook_url == url_of(a)  # set by A, started last; not deleted by it
        assert not fake.sent("deleteWebhook")
        assert await fake.deliver(late, url_of(b)) == 200
        assert len(fake.sent("sendMessage", ANA)) == 2


async def test_an_album_split_over_two_replicas_is_answered_once(replicas, fake, selfie,
                                                                 store_target) -> None:
    async with Store(store_target) as store:
        await store.set_consent(UserRef("telegram", str(ANA)), FACE_CONSENT)
    async with replicas() as a, replicas() as b:
        parts = [fake.push_message(private_chat(ANA), user(ANA), photo=selfie,
                                   media_group_id="trip") for _ in range(3)]
        statuses = await asyncio.gather(*(fake.deliver(part, url_of((a, b)[i % 2]))
                                          for i, part in enumerate(parts)))
        assert statuses == [200, 200, 200]
        await asyncio.sleep(2.0)  # the album window: a second answer would come by now
        [answer] = fake.sent("sendMessage", ANA)
        assert "open.spotify.com/track/" in answer.text
        # only the claiming replica's parts are read, every photo is counted
        assert answer.text.startswith("Your album has 3 photos: I read "), answer.text
        for part in parts:  # Telegram delivers the album again: nothing more is sent
            assert await fake.deliver(part, url_of(b)) == 200
        await asyncio.sleep(1.5)
        assert len(fake.sent("sendMessage", ANA)) == 1


async def test_an_album_claim_outlives_a_short_lease_while_its_parts_come_in(
        replicas, fake, selfie, store_target) -> None:
    """A lease shorter than the album's window: the claim is renewed, so a part reaching the
    other replica later does not take it over (two answers)."""
    async with Store(store_target) as store:
        await store.set_consent(UserRef("telegram", str(ANA)), FACE_CONSENT)
    async with replicas(lease_s=0.5) as a, replicas(lease_s=0.5) as b:
        parts = [fake.push_message(private_chat(ANA), user(ANA), photo=selfie,
                                   media_group_id="late") for _ in range(2)]
        first = asyncio.create_task(fake.deliver(parts[0], url_of(a)))
        await asyncio.sleep(0.8)  # past the lease, within A's album window
        assert await fake.deliver(parts[1], url_of(b)) == 200
        assert await first == 200
        await asyncio.sleep(1.5)
        [answer] = fake.sent("sendMessage", ANA)
        assert "open.spotify.com/track/" in answer.text


async def _split_album(fake: FakeTelegram, a: TelegramBot, b: TelegramBot, chat: dict,
                       sender: int, photos: list[bytes], captions: list[str | None],
                       group: str) -> list[int]:
    """An album whose first part reaches A (which claims it) and the others B, while A's
    window runs; returns the parts' update ids."""
    parts = [fake.push_message(chat, user(sender), photo=photo, caption=caption,
                               media_group_id=group)
             for photo, caption in zip(photos, captions, strict=True)]
    first = asyncio.create_task(fake.deliver(parts[0], url_of(a)))
    claim = f"telegram:album:{album_id(fake.token, chat['id'], group)}"
    for _ in range(100):  # until A holds the claim
        if await a.service.store.claimed(claim):
            break
        await asyncio.sleep(0.02)
    assert [await fake.deliver(part, url_of(b)) for part in parts[1:]] == [200] * (len(parts) - 1)
    assert await first == 200
    return parts


async def _user_state_keys(store_target: Path | str) -> list[str]:
    async with Store(store_target) as store:
        return [str(row[0]) for row in await store.fetchall("SELECT key FROM user_state")]


async def test_an_albums_caption_on_the_replica_that_lost_the_claim_counts(
        replicas, fake, selfie, store_target) -> None:
    """Group: the ``/mood`` caption rides on a part that reached B while A answers the album;
    private: the mood stated in a caption on B's part sets the songs. Both photos counted."""
    async with Store(store_target) as store:
        await store.set_consent(UserRef("telegram", str(ANA)), FACE_CONSENT)
    async with replicas() as a, replicas() as b:
        await _split_album(fake, a, b, group_chat(-100301), ANA, [selfie, selfie],
                           [None, "/mood"], "g1")
        [answer] = fake.sent("sendMessage", -100301)
        assert answer.text.startswith("Your album has 2 photos: I read the first photo."), \
            answer.text
        assert "open.spotify.com/track/" in answer.text
        await _split_album(fake, a, b, private_chat(ANA), ANA, [selfie, selfie],
                           [None, "so tired"], "p1")
        [private] = fake.sent("sendMessage", ANA)
        assert "you said “so tired" in private.text, private.text
        assert private.text.startswith("Your album has 2 photos")
    assert not [k for k in await _user_state_keys(store_target) if k.startswith("album")]


async def test_an_album_whose_selfie_reached_the_other_replica_asks_for_it_alone(
        replicas, fake, selfie, no_face, store_target) -> None:
    """A photo without a face on A (which answers), the selfie on B: photos never leave B, so
    the answer says so and asks for the selfie on its own, not "no face"."""
    async with Store(store_target) as store:
        await store.set_consent(UserRef("telegram", str(ANA)), FACE_CONSENT)
    async with replicas() as a, replicas() as b:
        await _split_album(fake, a, b, private_chat(ANA), ANA, [no_face, selfie],
                           [None, None], "c1")
        [answer] = fake.sent("sendMessage", ANA)
        assert answer.text == replies.album_elsewhere_text(2, 1), answer.text
        assert "couldn't find a face" not in answer.text
        # In a group the part on B carries no caption (not addressed to the bot): still counted.
        await _split_album(fake, a, b, group_chat(-100302), ANA, [no_face, selfie],
                           ["/mood", None], "c2")
        [answer] = fake.sent("sendMessage", -100302)
        assert answer.text == replies.album_elsewhere_text(2, 1), answer.text
    async with Store(store_target) as store:  # what B told A is gone once A answered
        names = [str(row[0]) for row in await store.fetchall("SELECT name FROM claims")]
    assert not [name for name in names if ":part:" in name], names


async def test_album_claims_do_not_name_the_chat(replicas, fake, selfie, store_target) -> None:
    """A private chat's id is the user's Telegram id: the album's claims (kept 2 days, past a
    /forget) carry a keyed hash of it instead."""
    async with Store(store_target) as store:
        await store.set_consent(UserRef("telegram", str(ANA)), FACE_CONSENT)
    async with replicas() as a, replicas() as b:
        await _split_album(fake, a, b, private_chat(ANA), ANA, [selfie, selfie], [None, None],
                           "trip-801")
        assert len(fake.sent("sendMessage", ANA)) == 1
    async with Store(store_target) as store:
        names = [str(row[0]) for row in await store.fetchall("SELECT name FROM claims")]
    albums = [n for n in names if n.startswith("telegram:album:")]
    assert albums and not [n for n in albums if str(ANA) in n or "trip" in n], albums


async def test_marking_an_update_answered_is_tried_again_when_the_store_fails(
        replicas, fake, monkeypatch) -> None:
    """A dropped connection while the update is marked done must not leave it unfinished
    (another replica would answer its redelivery a second time after the lease)."""
    async with replicas() as a:
        store = a.service.store
        real = store.finish_update
        failures: list[int] = []

        async def flaky(platform: str, update_id: int) -> None:
            if not failures:
                failures.append(update_id)
                raise ConnectionResetError("the database went away for a moment")
            await real(platform, update_id)

        monkeypatch.setattr(store, "finish_update", flaky)
        update = fake.push_message(private_chat(ANA), user(ANA), "/help")
        assert await fake.deliver(update, url_of(a)) == 200
        assert failures == [update] and await store.update_done("telegram", update)
        assert await fake.deliver(update, url_of(a)) == 200  # a redelivery: not answered again
        assert len(fake.sent("sendMessage", ANA)) == 1


async def _post_update(fake: FakeTelegram, update_id: int, url: str) -> tuple[int, str | None]:
    """Deliver an update as Telegram does; (status, Retry-After header)."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": fake.webhook_secret or ""}
    async with aiohttp.ClientSession() as session, session.post(
            url, json=fake.updates[update_id], headers=headers) as response:
        return response.status, response.headers.get("Retry-After")


async def test_while_postgresql_is_down_telegram_is_asked_to_retry_later(
        config, catalog, song_models, face_reader, fake, caplog) -> None:
    """An outage: 503 with Retry-After (not 500), one warning line per call without a
    traceback; when the database is back the redelivery is answered, once."""
    relay = PostgresRelay(await fresh_postgres_database(postgres_server_url(),
                                                        "moosic_webhook_outage"))
    await relay.up()
    try:
        async with replica(config, catalog, song_models, face_reader, relay.url, fake) as a:
            update = fake.push_message(private_chat(ANA), user(ANA), "/help")
            caplog.set_level(logging.INFO)
            caplog.clear()
            await relay.down()
            for _ in range(3):
                assert await _post_update(fake, update, url_of(a)) == (
                    503, str(DATABASE_RETRY_AFTER_S))
            outage = [r for r in caplog.records if r.levelno >= logging.WARNING]
            assert len(outage) == 3, [r.getMessage() for r in outage]
            assert all(r.levelno == logging.WARNING and r.exc_info is None
                       and "the database is unreachable" in r.getMessage() for r in outage)
            await relay.up()
            assert await fake.deliver(update, url_of(a)) == 200
            assert await fake.deliver(update, url_of(a)) == 200  # a redelivery: done
            assert len(fake.sent("sendMessage", ANA)) == 1
    finally:
        await relay.down()


async def test_an_unexpected_store_error_is_still_a_500_with_its_traceback(
        replicas, fake, monkeypatch, caplog) -> None:
    async with replicas() as a:
        async def broken(*args: object, **kwargs: object) -> bool:
            raise RuntimeError("a bug, not an outage")

        monkeypatch.setattr(a.service.store, "claim_update", broken)
        update = fake.push_message(private_chat(ANA), user(ANA), "/help")
        assert await _post_update(fake, update, url_of(a)) == (500, None)
    assert any(r.exc_info and "a bug, not an outage" in str(r.exc_info[1])
               for r in caplog.records)
