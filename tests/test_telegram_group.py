"""Group rounds on Telegram: the real python-telegram-bot Application against the fake Bot API
server (tests/fakes/telegram.py), over the real service, models and SQLite store."""

from __future__ import annotations

from moosic_core.types import UserRef
from tests.fakes.telegram import BOT_ID, FakeTelegram, group_chat, private_chat, user
from tests.test_group_round import two_faces  # noqa: F401  (a fixture)

ANA, BEN, CY, DEE = 601, 602, 603, 604
NAMES = {ANA: "Ana", BEN: "Ben", CY: "Cy", DEE: "Dee"}
GROUP, OTHER = -100600, -100700


def who(uid: int) -> dict:
    return user(uid, NAMES[uid])


async def in_group(server: FakeTelegram, chat: int, uid: int, text: str | None = None,
                   **message) -> str:
    """Post in a group; return the bot's next message there."""
    before = len(server.sent("sendMessage", chat))
    server.push_message(group_chat(chat), who(uid), text, **message)
    return (await server.replies(chat, before + 1))[before].text


async def press(server: FakeTelegram, chat: int, uid: int, action: str) -> str:
    before = len(server.sent("sendMessage", chat))
    server.push_button(group_chat(chat), who(uid), action)
    return (await server.replies(chat, before + 1))[before].text


async def link_playlist(server: FakeTelegram, uid: int, path) -> None:
    doc = server.document(path.read_bytes(), path.name, "text/csv")
    server.push_message(private_chat(uid), who(uid), document=doc)
    assert "Your top genres" in (await server.replies(uid))[0].text


async def test_round_with_three_members_one_leaving(tg, fake, config) -> None:
    await link_playlist(fake, ANA, config.data.playlists_dir / "liked_songs_a.csv")
    await link_playlist(fake, BEN, config.data.playlists_dir / "liked_songs_b.csv")
    opened = await in_group(fake, GROUP, ANA, "/group")
    assert "Group round open" in opened
    assert fake.sent("sendMessage", GROUP)[-1].actions() == ["group:join", "group:done"]
    assert await press(fake, GROUP, BEN, "group:join") == "Ben is in. 2 people in the round."
    assert await in_group(fake, GROUP, CY, "/mood sad") == "Cy is in, feeling sad. " \
                                                           "3 people in the round."
    assert (await in_group(fake, GROUP, DEE, "/mood happy")).endswith("4 people in the round.")
    assert await in_group(fake, GROUP, DEE, "/group leave") == "Dee left the round."
    result = await in_group(fake, GROUP, BEN, "/group done")
    assert result.startswith("🎶 For the 3 of you (Ana, Ben, Cy): the group's mood is sad (0.2")
    assert "Taste match: " in result
    assert result.count("https://open.spotify.com/track/") == 10
    # Both linked members are named in the why, with their artists or genres.
    for name in ("Ana", "Ben"):
        assert any(f"{name} listen" in line or f"{name}'s taste" in line
                   or f"{name} and " in line for line in result.splitlines())
    # Dee left: her happy mood no longer counts (the mean would be 0.61).
    assert "Dee" not in result and "of your listening" not in result
    # Nothing went to anybody's private chat but their own playlist answers.
    assert all(len(fake.sent("sendMessage", u)) == (1 if u in (ANA, BEN) else 0)
               for u in NAMES)


async def test_timer_posts_the_result(tg, fake) -> None:
    tg.conversation.groups.round_s = 0.5
    await in_group(fake, GROUP, ANA, "/blend")
    await in_group(fake, GROUP, BEN, "/mood happy")
    await fake.wait_for(lambda f: len(f.sent("sendMessage", GROUP)) >= 3)
    posted = fake.sent("sendMessage", GROUP)[2]
    assert posted.text.startswith("🎶 For the 2 of you (Ana, Ben): the group's mood is happy")
    assert "popular songs that fit the mood" in posted.text
    assert "There's no group round" in await in_group(fake, GROUP, ANA, "/group done")


async def test_group_photo_with_two_faces(tg, fake, service, two_faces) -> None:  # noqa: F811
    await service.give_consent(UserRef("telegram", str(ANA)))
    await in_group(fake, GROUP, ANA, "/group")
    # A plain photo (no caption) counts while the round is open.
    answer = await in_group(fake, GROUP, ANA, photo=two_faces)
    assert answer.startswith("Got a group photo: 2 faces count for the group's mood")
    # Without the sender's consent, faces are not read (nor the sender joined): the consent
    # question comes first.
    question = await in_group(fake, GROUP, BEN, photo=two_faces)
    assert "never stored" in question
    result = await in_group(fake, GROUP, ANA, "/group done")
    assert result.startswith("🎶 For Ana: the group's mood is ")
    assert "nobody shared a mood" not in result


async def test_overlapping_rounds_in_two_groups(tg, fake) -> None:
    await in_group(fake, GROUP, ANA, "/group")
    await in_group(fake, OTHER, BEN, "/group lift")
    assert (await in_group(fake, GROUP, CY, "/mood sad")).endswith("2 people in the round.")
    assert (await in_group(fake, OTHER, DEE, "/mood happy")).endswith("2 people in the round.")
    here = await in_group(fake, GROUP, ANA, "/group done")
    assert here.startswith("🎶 For the 2 of you (Ana, Cy): the group's mood is sad")
    assert "There's no group round" in await in_group(fake, GROUP, ANA, "/group done")
    there = await in_group(fake, OTHER, BEN, "/group done")
    assert there.startswith("🎶 For the 2 of you (Ben, Dee): the group's mood is happy")
    assert "already a happy mood, so I kept it there" in there  # nothing to lift
    assert "step 10 of 10" not in there


async def test_replies_to_the_round_message_join(tg, fake, service, selfie) -> None:
    """With privacy mode a group bot sees only commands and replies to its own messages: the
    round says to reply to it, and a reply with "I'm in" or a caption-less selfie joins."""
    await service.give_consent(UserRef("telegram", str(CY)))
    opened = await in_group(fake, GROUP, ANA, "/group")
    assert "reply to the round message with a selfie" in opened and "\"I'm in\"" in opened
    sent = fake.sent("sendMessage", GROUP)[-1]
    round_message = {"message_id": 900, "date": 0, "chat": group_chat(GROUP),
                     "from": {"id": BOT_ID, "is_bot": True, "first_name": "Moo-Sic"},
                     "text": sent.text}
    joined = await in_group(fake, GROUP, BEN, "I'm in", reply_to=round_message)
    assert joined == "Ben is in. 2 people in the round."
    before = len(fake.sent("sendMessage", GROUP))
    fake.push_message(group_chat(GROUP), who(CY), photo=selfie, reply_to=round_message)
    cy = (await fake.replies(GROUP, before + 1))[before].text
    assert cy.startswith("Cy is in") and cy.endswith("3 people in the round.")
async def alert(server: FakeTelegram, chat: int, uid: int, action: str) -> dict:
    """Press a button; the pop-up the presser gets (answerCallbackQuery's params)."""
    before = len(server.sent("answerCallbackQuery"))
    server.push_button(group_chat(chat), who(uid), action)
    await server.wait_for(lambda s: len(s.sent("answerCallbackQuery")) > before)
    return server.sent("answerCallbackQuery")[before].params


async def test_a_question_or_list_of_someone_else_is_not_theirs_to_press(
        tg, fake) -> None:
    """Zed pressing Ben's consent buttons or Ana's "more"/"lift": a private pop-up, nothing
    posted, nothing edited, nothing recorded; the owners' buttons still work."""
    assert "Do you agree?" in await in_group(fake, GROUP, BEN, "/agree")
    question = fake.sent("sendMessage", GROUP)[-1]
    assert question.actions() == [f"consent:yes@{BEN}", f"consent:no@{BEN}"]
    assert all(len(a.encode()) <= 64 for a in question.actions())  # Telegram's limit
    posted = len(fake.sent("sendMessage", GROUP))
    for action in question.actions():
        shown = await alert(fake, GROUP, CY, action)
        assert shown["text"] == "This question is for Ben." and shown["show_alert"] in (
            True, "true")
    assert not fake.sent("editMessageText") and len(fake.sent("sendMessage", GROUP)) == posted
    assert not await tg.conversation.service.has_consent(UserRef("telegram", str(CY)))
    fake.push_button(group_chat(GROUP), who(BEN), question.actions()[0])
    await fake.wait_for(lambda s: bool(s.sent("editMessageText")))
    assert "Thanks!" in fake.sent("editMessageText")[-1].text  # Ben's answer, on Ben's question
    assert await tg.conversation.service.has_consent(UserRef("telegram", str(BEN)))

    assert "Songs for feeling sad" in await in_group(fake, GROUP, ANA, "/mood sad")
    songs = fake.sent("sendMessage", GROUP)[-1]
    assert {f"more@{ANA}", f"mode:lift@{ANA}"} <= set(songs.actions())
    posted = len(fake.sent("sendMessage", GROUP))
    for action in (f"more@{ANA}", f"mode:lift@{ANA}"):
        shown = await alert(fake, GROUP, CY, action)
        assert shown["text"] == "That's Ana's list — use /mood for your own."
    assert len(fake.sent("sendMessage", GROUP)) == posted
    assert "Lifting your mood" in await press(fake, GROUP, ANA, f"mode:lift@{ANA}")
    like = next(a for a in songs.actions() if a.startswith("fb:+:"))
    assert "noted" in (await alert(fake, GROUP, CY, like))["text"]  # 👍 is for everyone


async def test_a_second_join_does_not_announce_again(tg, fake) -> None:
    await in_group(fake, GROUP, ANA, "/group")
    assert await press(fake, GROUP, BEN, "group:join") == "Ben is in. 2 people in the round."
    posted = len(fake.sent("sendMessage", GROUP))
    assert (await alert(fake, GROUP, BEN, "group:join"))["text"] == "You're already in."
    assert (await alert(fake, GROUP, ANA, "group:join"))["text"] == "You're already in."
    assert len(fake.sent("sendMessage", GROUP)) == posted
    assert await in_group(fake, GROUP, BEN, "/group join") == "You're already in."
