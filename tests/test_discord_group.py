"""Group rounds on Discord: the real discord.py client against the fake Discord server
(tests/fakes/discord.py), over the real service."""

from __future__ import annotations

from bot.conversation import Conversation
from tests.fakes.discord import CHANNEL_ID
from tests.test_discord import ANN, BOB, _front, _mood, ask, bot, fake  # noqa: F401

CAT = "1600000000000000003"


async def test_round_in_a_channel(bot, fake) -> None:  # noqa: F811
    fake.names.update({ANN: "Ann", BOB: "Bob", CAT: "Cat"})
    opened = await ask(fake, fake.slash("group", user_id=ANN))
    assert not opened.ephemeral and "Group round open" in opened.text
    assert opened.custom_ids == ["group:join", "group:done"]
    joined = await ask(fake, fake.press("group:join", opened.followups[0], user_id=BOB))
    assert "Bob is in. 2 people in the round." in joined.text
    sad = await ask(fake, _mood(fake, "sad", user=CAT))
    assert "Cat is in, feeling sad. 3 people in the round." in sad.text
    left = await ask(fake, fake.slash("group", {"action": "leave"}, user_id=BOB))
    assert "Bob left the round." in left.text
    done = await ask(fake, fake.slash("group", {"action": "done"}, user_id=ANN))
    assert done.text.strip().startswith("🎶 For the 2 of you (Ann, Cat): the group's mood is sad")
    assert done.text.count("https://open.spotify.com/track/") == 10


async def test_the_timer_posts_in_the_channel(service, fake) -> None:  # noqa: F811
    conversation = Conversation(service)
    conversation.groups.round_s = 0.5
    front = _front(conversation, fake)
    await front.start()
    try:
        await ask(fake, fake.slash("group", {"action": "lift"}, user_id=ANN))
        posted, = await fake.wait_for(
            lambda r: r.method == "POST" and r.path == f"/channels/{CHANNEL_ID}/messages")
        description = posted.body["embeds"][0]["description"]
        assert description.startswith("🎶 For Ann: nobody shared a mood")
        assert "step 10 of 10 · " in description
    finally:
        await front.stop()
