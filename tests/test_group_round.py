"""Group rounds through the console adapter: the same conversation the bots use."""

from __future__ import annotations

import asyncio
import io

import pytest

from bot.console import ConsoleChat
from bot.conversation import Conversation, Reply
from moosic_core.recommend.moods import describe_mood
from moosic_core.types import UserRef


@pytest.fixture(scope="session")
def two_faces(selfie: bytes) -> bytes:
    """One photo with two faces: two copies of the selfie side by side."""
    from PIL import Image

    from tests.conftest import jpeg_bytes

    face = Image.open(io.BytesIO(selfie)).convert("RGB")
    both = Image.new("RGB", (face.width * 2, face.height))
    both.paste(face, (0, 0))
    both.paste(face, (face.width, 0))
    return jpeg_bytes(both)


@pytest.fixture
def conversation(service) -> Conversation:
    return Conversation(service)


def member(conversation: Conversation, user_id: str, name: str, chat: str = "room"
           ) -> ConsoleChat:
    return ConsoleChat(conversation, UserRef("console", user_id), chat=chat, name=name)


async def test_round_with_two_linked_members_and_one_without(conversation, config, tmp_path,
                                                             selfie) -> None:
    ana, ben, cy = (member(conversation, i, n) for i, n in
                    (("1", "Ana"), ("2", "Ben"), ("3", "Cy")))
    await ana.send(str(config.data.playlists_dir / "liked_songs_a.csv"))
    await ben.send(str(config.data.playlists_dir / "liked_songs_c.csv"))
    opened = await ana.send("/group")
    assert "Group round open for 3 min" in opened and "(/press group:join)" in opened
    assert await ben.send("/mood sad") == "Ben is in, feeling sad. 2 people in the round."
    await cy.send("/agree")  # shows the disclosure
    await cy.send("/agree")  # agrees to it
    path = tmp_path / "cy.jpg"
    path.write_bytes(selfie)
    assert (await cy.send(str(path))).startswith("Cy is in, feeling ")
    assert "A group round is already open" in await cy.send("/blend")
    assert "Use /group to start a round" in await cy.send("/group dance")
    result = await ben.send("/group done")
    head = result.splitlines()[0]
    assert head.startswith("🎶 For the 3 of you (Ana, Ben, Cy): the group's mood is ")
    assert "Taste match: " in result
    assert result.count("https://open.spotify.com/track/") == 10
    # Both linked members are served, and the why names them with their artists or genres.
    for name in ("Ana", "Ben"):
        assert f"{name} listens to " in result or f"{name}'s taste" in result
    assert "Cy's taste" not in result and "Cy listens" not in result
    assert "of your listening" not in result
    assert "There's no group round" in await ana.send("/group done")


async def test_leaving_and_nobody_linked(conversation) -> None:
    ana, ben = member(conversation, "1", "Ana"), member(conversation, "2", "Ben")
    await ana.send("/blend lift")
    assert await ben.send("/press group:join") == "Ben is in. 2 people in the round."
    assert await ana.send("/group leave") == "Ana left the round."
    assert await ana.send("/group leave") == "You weren't in this round."
    result = await ben.send("/press group:done")
    assert result.startswith("🎶 For Ben: nobody shared a mood")
    assert "popular songs that fit the mood" in result
    assert "step 10 of 10 · " in result


async def test_group_photo_counts_every_face_for_the_mood(conversation, service, tmp_path,
                                                          two_faces) -> None:
    ana = member(conversation, "1", "Ana")
    path = tmp_path / "us.jpg"
    path.write_bytes(two_faces)
    await ana.send("/group")
    assert "never stored" in await ana.send(str(path))  # consent first
    answer = await ana.send("/press consent:yes")
    assert answer == "Got a group photo: 2 faces count for the group's mood (I don't tell " \
                     "who is who). 1 person in the round."
    result = await ana.send("/group done")
    faces = (await service.read_photo(UserRef("console", "1"), two_faces)).faces
    assert len(faces) == 2
    mean = sum(f.mood_score for f in faces) / 2
    assert f"the group's mood is {describe_mood(mean)} ({mean:.2f})." in result


async def test_timer_closes_the_round_and_rounds_in_two_chats_are_independent(
        conversation) -> None:
    posted: list[tuple[str, Reply]] = []

    async def notify(chat: str, reply: Reply) -> None:
        posted.append((chat, reply))

    conversation.set_notifier("console", notify)
    conversation.groups.round_s = 0.3
    here = member(conversation, "1", "Ana", chat="here")
    there = member(conversation, "2", "Ben", chat="there")
    await here.send("/group")
    await asyncio.sleep(0.15)
    conversation.groups.round_s = 30
    await there.send("/group")
    assert (await there.send("/mood happy")).startswith("Ben is in, feeling happy")
    await asyncio.sleep(0.4)
    assert [chat for chat, _ in posted] == ["here"]
    assert posted[0][1].text.startswith("🎶 For Ana")
    assert "There's no group round" in await here.send("/group done")
    assert "the group's mood is happy" in await there.send("/group done")
    assert len(posted) == 1
