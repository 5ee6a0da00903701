"""Photos waiting for consent expire, their total bytes are capped, and the user is told."""

from __future__ import annotations

import asyncio
import dataclasses

from bot.conversation import Conversation
from bot.pending_photos import PendingPhotos
from moosic_core.types import UserRef

MB = 1_000_000


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_photos_expire_and_the_user_learns_it() -> None:
    clock = Clock()
    photos: PendingPhotos[str] = PendingPhotos(max_age_s=600, max_bytes=10 * MB, clock=clock)
    photos.put("ana", b"a" * 100, "chat-1")
    clock.now += 300
    photos.put("bo", b"b" * 100, "chat-2")
    clock.now += 301  # ana's photo is 601 s old, bo's 301 s
    taken = photos.take("ana")
    assert taken.photo is None and taken.dropped
    taken = photos.take("bo")
    assert taken.photo is not None and taken.photo.image == b"b" * 100 and not taken.dropped
    assert photos.take("bo").dropped is False  # answered once: nothing more to say
    assert photos.take("cy").photo is None and not photos.take("cy").dropped
    assert photos.total_bytes == 0


def test_total_bytes_are_capped_oldest_first() -> None:
    clock = Clock()
    photos: PendingPhotos[None] = PendingPhotos(max_age_s=600, max_bytes=20 * MB, clock=clock)
    for i in range(100):  # 100 users x 5 MB who never answer
        photos.put(f"u{i}", bytes(5 * MB), None)
        clock.now += 1
        assert photos.total_bytes <= 20 * MB
    assert len(photos) == 4
    assert photos.take("u0").dropped and photos.take("u95").dropped
    assert photos.take("u99").photo is not None
    photos.put("u1", b"new", None)  # a newer photo replaces the note
    assert photos.take("u1").photo is not None


def test_a_newer_photo_replaces_the_older_and_forget_discards() -> None:
    photos: PendingPhotos[int] = PendingPhotos(max_age_s=600, max_bytes=MB, clock=Clock())
    photos.put("ana", b"old", 1)
    photos.put("ana", b"newer", 2)
    assert photos.total_bytes == len(b"newer")
    photos.discard("ana")
    assert photos.take("ana").photo is None and photos.total_bytes == 0


async def test_conversation_expired_photo_then_agree(service, selfie) -> None:
    service.config = dataclasses.replace(service.config, service=dataclasses.replace(
        service.config.service, pending_photo_minutes=0.005, pending_photos_max_mb=12))
    chat = Conversation(service)
    ana, bo = UserRef("test", "ana"), UserRef("test", "bo")
    assert "never stored" in (await chat.photo(ana, selfie)).text
    await asyncio.sleep(0.4)  # past 0.3 s
    reply = await chat.button(ana, "consent:yes")
    assert "send it again" in reply.text and "no longer have the photo" in reply.text
    assert await service.has_consent(ana)  # the answer still counts
    # A photo answered in time is read; 5 MB photos of users who never answer are capped.
    assert "never stored" in (await chat.photo(bo, selfie)).text
    assert (await chat.button(bo, "consent:yes")).text.startswith("You look")
    for i in range(10):
        await chat.photo(UserRef("test", f"quiet{i}"), bytes(5 * MB))
    assert chat._pending_photo.total_bytes <= 12 * MB
    reply = await chat.button(UserRef("test", "quiet0"), "consent:yes")
    assert "send it again" in reply.text
