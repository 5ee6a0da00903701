"""Group rounds on Discord: the real discord.py client against the fake Discord server
(tests/fakes/discord.py), over the real service."""

from __future__ import annotations

from bot.conversation import Conversation
from moosic_core.types import UserRef
from tests.fakes.discord import CHANNEL_ID
from tests.test_discord import ANN, BOB, _front, _mood, _selfie, ask, bot, fake  # noqa: F401

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


async def answered_at_once(fake, payload: dict) -> dict:  # noqa: F811
    """Deliver a press answered by the interaction's own response: its data."""
    await fake.interact(payload)
    callback, = await fake.wait_for(
        lambda r: r.path.startswith(f"/interactions/{payload['id']}/"))
    assert callback.body["type"] == 4  # a message, not a deferral
    return callback.body["data"]


async def test_someone_elses_buttons_answer_only_the_presser(
        bot, fake, selfie, service) -> None:  # noqa: F811
    """Bob pressing Ann's "more"/"lift" or her consent question: an ephemeral answer only he
    sees, nothing posted in the channel; Ann's buttons still work; 👍 is anyone's."""
    fake.names.update({ANN: "Ann", BOB: "Bob"})
    songs = await ask(fake, _mood(fake, "sad", user=ANN))
    assert {f"more@{ANN}", f"mode:lift@{ANN}"} <= set(songs.custom_ids)
    for action in (f"more@{ANN}", f"mode:lift@{ANN}"):
        data = await answered_at_once(fake, fake.press(action, songs.followups[0],
                                                       user_id=BOB))
        assert data["content"] == "That's Ann's list — use /mood for your own."
        assert data["flags"] & 64  # ephemeral
    webhooks = [r for r in fake.requests if r.path.startswith("/webhooks/")]
    lifted = await ask(fake, fake.press(f"mode:lift@{ANN}", songs.followups[0], user_id=ANN))
    assert "Lifting your mood" in lifted.embed["title"]
    like = next(i for i in songs.custom_ids if i.startswith("fb:+:"))
    liked = await ask(fake, fake.press(like, songs.followups[0], user_id=BOB))
    assert liked.ephemeral and "noted:" in liked.text
    assert len([r for r in fake.requests if r.path.startswith("/webhooks/")]) \
        == len(webhooks) + 2  # Ann's lift and Bob's own 👍 only

    consent = await ask(fake, _selfie(fake, selfie, user=ANN))  # Ann's consent question
    assert consent.custom_ids == [f"consent:yes@{ANN}", f"consent:no@{ANN}"]
    for action in consent.custom_ids:
        data = await answered_at_once(fake, fake.press(action, consent.followups[0],
                                                       user_id=BOB))
        assert data["content"] == "This question is for Ann." and data["flags"] & 64
    assert not await service.has_consent(UserRef("discord", BOB))
    read = await ask(fake, fake.press(consent.custom_ids[0], consent.followups[0],
                                      user_id=ANN))
    assert read.embed["title"].startswith("You look")  # Ann's photo, read on Ann's yes


async def test_a_second_join_only_tells_the_member(bot, fake) -> None:  # noqa: F811
    fake.names.update({ANN: "Ann", BOB: "Bob"})
    opened = await ask(fake, fake.slash("group", user_id=ANN))
    joined = await ask(fake, fake.press("group:join", opened.followups[0], user_id=BOB))
    assert "Bob is in. 2 people in the round." in joined.text
    again = await answered_at_once(fake, fake.press("group:join", opened.followups[0],
                                                    user_id=BOB))
    assert again["content"] == "You're already in." and again["flags"] & 64
