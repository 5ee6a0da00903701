"""The Telegram bot end to end: the real python-telegram-bot Application against a fake Bot API
server on 127.0.0.1 (tests/fakes/telegram.py), over the real service, models and SQLite store."""

from __future__ import annotations

import logging

from bot.telegram import file_url_for
from moosic_core.admission import AdmissionControl
from moosic_core.types import UserRef
from tests.fakes.telegram import BOT_ID, FakeTelegram, group_chat, private_chat, user
from tests.telegram_fixtures import make_bot

ANA = 501
GROUP = -100500


async def say(fake: FakeTelegram, text: str, uid: int = ANA, n: int = 1):
    """Send a private message; wait for the n-th reply in that chat and return it."""
    before = len(fake.sent("sendMessage", uid))
    fake.push_message(private_chat(uid), user(uid), text)
    return (await fake.replies(uid, before + n))[before + n - 1]


def test_file_url_follows_the_api_url() -> None:
    assert file_url_for("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_url_for("http://127.0.0.1:81/bot/") == "http://127.0.0.1:81/file/bot"


async def test_start_registers_commands_and_answers_help(tg, fake) -> None:
    commands = fake.sent("setMyCommands")
    assert commands and "mood" in commands[0].params["commands"]
    reply = await say(fake, "/start")
    assert "selfie" in reply.text and "/link spotify" in reply.text
    assert "selfie" in (await say(fake, "/help")).text
    assert "don't know /dance" in (await say(fake, "/dance")).text


async def test_selfie_consent_then_songs_with_buttons(tg, fake, selfie, service) -> None:
    fake.push_message(private_chat(ANA), user(ANA), photo=selfie)
    [question] = await fake.replies(ANA)
    assert "never stored" in question.text
    assert question.actions() == ["consent:yes", "consent:no"]
    fake.push_button(private_chat(ANA), user(ANA), "consent:yes", message_id=77)
    await fake.wait_for(lambda f: f.sent("editMessageText"))
    answer = fake.sent("editMessageText")[0]
    assert answer.text.startswith("You look")
    assert answer.text.count("https://open.spotify.com/track/") == 10
    assert int(answer.params["message_id"]) == 77
    assert {"more", "mode:lift"} <= set(answer.actions())
    assert sum(a.startswith("fb:+:") for a in answer.actions()) == 10
    assert fake.sent("answerCallbackQuery")
    assert await service.has_consent(UserRef("telegram", str(ANA)))
    # consent is remembered: the next selfie gets songs at once, with "typing…" shown
    fake.push_message(private_chat(ANA), user(ANA), photo=selfie)
    replies = await fake.replies(ANA, 2)
    assert replies[1].text.startswith("You look")
    assert fake.sent("sendChatAction", ANA)
    assert len(fake.downloads) == 2 and not set(fake.downloads) & fake.decoy_paths  # largest


async def test_feedback_is_stored_and_more_and_lift_work(tg, fake, service) -> None:
    songs = await say(fake, "/mood sad")
    assert songs.text.startswith("Songs for feeling sad")
    like = next(a for a in songs.actions() if a.startswith("fb:+:"))
    dislike = [a for a in songs.actions() if a.startswith("fb:-:")][1]
    fake.push_button(private_chat(ANA), user(ANA), like)
    fake.push_button(private_chat(ANA), user(ANA), dislike)
    await fake.wait_for(lambda f: len(f.sent("answerCallbackQuery")) == 2)
    toasts = sorted(c.params.get("text", "") for c in fake.sent("answerCallbackQuery"))
    assert "noted:" in toasts[0] and "noted:" in toasts[1]
    stored = await service.store.feedback(UserRef("telegram", str(ANA)))
    assert stored == {like.split(":")[2]: 1, dislike.split(":")[2]: -1}
    fake.push_button(private_chat(ANA), user(ANA), "more")
    more = (await fake.replies(ANA, 2))[1]
    assert more.text.count("https://open.spotify.com/track/") == 10
    assert not set(more.actions()) & set(songs.actions()) - {"more", "mode:lift"}
    fake.push_button(private_chat(ANA), user(ANA), "mode:lift")
    lifted = (await fake.replies(ANA, 3))[2]
    assert "Lifting your mood" in lifted.text
    assert len(fake.sent("answerCallbackQuery")) == 4


async def test_failure_replies(tg, fake, no_face, service) -> None:
    await service.give_consent(UserRef("telegram", str(ANA)))
    fake.push_message(private_chat(ANA), user(ANA), photo=no_face)
    assert "couldn't find a face" in (await fake.replies(ANA))[0].text
    broken = fake.document(b"\xff\xd8\xff\xe0 truncated", "me.jpg", "image/jpeg")
    fake.push_message(private_chat(ANA), user(ANA), document=broken)
    assert "damaged" in (await fake.replies(ANA, 2))[1].text
    huge = fake.document(b"x", "big.jpg", "image/jpeg", size=25 * 1024 * 1024)
    fake.push_message(private_chat(ANA), user(ANA), document=huge)
    assert "larger than 20 MB" in (await fake.replies(ANA, 3))[2].text
    assert not [c for c in fake.sent("getFile") if c.params["file_id"] == huge["file_id"]]
    pdf = fake.document(b"%PDF-1.4", "cv.pdf", "application/pdf")
    fake.push_message(private_chat(ANA), user(ANA), document=pdf)
    assert "neither" in (await fake.replies(ANA, 4))[3].text
    assert "don't know your taste" in (await say(fake, "/taste")).text  # not linked
    assert "sign in with Spotify" in (await say(fake, "/link")).text
    # no Spotify app configured: the user hears so, and what to do instead
    assert "no Spotify app set up" in (await say(fake, "/link spotify")).text
    assert "Traceback" not in " ".join(c.text for c in fake.sent())


async def test_busy_service_says_so(tg, fake, service, selfie) -> None:
    await service.give_consent(UserRef("telegram", str(ANA)))
    service.admission = AdmissionControl(1, max_queue_wait_s=-1.0)  # no selfie fits
    fake.push_message(private_chat(ANA), user(ANA), photo=selfie)
    assert "busy" in (await fake.replies(ANA))[0].text


async def test_playlist_csv_taste_and_forget(tg, fake, config, service) -> None:
    data = (config.data.playlists_dir / "liked_songs_b.csv").read_bytes()
    doc = fake.document(data, "liked_songs_b.csv", "text/csv")
    fake.push_message(private_chat(ANA), user(ANA), document=doc)
    assert "Your top genres" in (await fake.replies(ANA))[0].text
    assert "Your top genres" in (await say(fake, "/taste")).text
    question = await say(fake, "/forget")
    assert "Are you sure" in question.text and question.actions()[0] == "forget:yes"
    fake.push_button(private_chat(ANA), user(ANA), "forget:yes", message_id=9)
    await fake.wait_for(lambda f: f.sent("editMessageText"))
    assert "deleted everything" in fake.sent("editMessageText")[0].text
    assert await service.taste_profile(UserRef("telegram", str(ANA))) is None
    assert "don't know your taste" in (await say(fake, "/taste")).text


async def test_selfie_rate_limit_per_user(service, fake, selfie) -> None:
    bot = make_bot(service, fake, selfies_per_minute=2)
    await service.give_consent(UserRef("telegram", str(ANA)))
    await bot.start(poll_timeout=5)
    try:
        for _ in range(3):
            fake.push_message(private_chat(ANA), user(ANA), photo=selfie)
        replies = await fake.replies(ANA, 3)
        texts = [r.text for r in replies]
        assert sum(t.startswith("You look") for t in texts) == 2
        assert sum("selfies in a minute" in t for t in texts) == 1
        # another user is not affected
        fake.push_message(private_chat(ANA + 1), user(ANA + 1), "/mood happy")
        assert (await fake.replies(ANA + 1))[0].text.startswith("Songs for")
    finally:
        await bot.stop()


async def test_group_private_replies_and_addressing(tg, fake, selfie, service) -> None:
    group, ana = group_chat(GROUP), user(ANA)
    fake.push_message(group, ana, "just chatting about music")  # not for the bot
    fake.push_message(group, ana, photo=selfie)  # a photo without /mood: not for the bot
    fake.push_message(group, ana, "/mood@other_bot happy")  # for another bot
    fake.push_message(group, ana, "/taste@moosic_test_bot")
    await fake.wait_for(lambda f: len(f.sent("sendMessage")) >= 2)
    in_group = fake.sent("sendMessage", GROUP)
    in_private = fake.sent("sendMessage", ANA)
    assert [c.text for c in in_group] == [
        "I've sent you the answer in a private chat, since it's personal."]
    assert "don't know your taste" in in_private[0].text
    # a user who never opened a private chat: nothing personal is posted in the group
    fake.closed_private.add(ANA + 1)
    fake.push_message(group, user(ANA + 1), "/taste")
    await fake.wait_for(lambda f: len(f.sent("sendMessage", GROUP)) >= 2)
    notice = fake.sent("sendMessage", GROUP)[1].text
    assert "won't post it in the group" in notice and "t.me/moosic_test_bot" in notice
    # /mood as a photo caption, and a mention, are for the bot
    await service.give_consent(UserRef("telegram", str(ANA)))
    fake.push_message(group, ana, photo=selfie, caption="/mood")
    fake.push_message(group, ana, "@moosic_test_bot hi")
    await fake.wait_for(lambda f: len(f.sent("sendMessage", GROUP)) >= 4)
    texts = [c.text for c in fake.sent("sendMessage", GROUP)[2:]]
    assert any(t.startswith("You look") for t in texts)
    assert any("Send me a selfie" in t for t in texts)
    assert all(c.params.get("reply_to_message_id") or c.params.get("reply_parameters")
               for c in fake.sent("sendMessage", GROUP))
    # 4 in the group, 1 private to Ana, 1 refused private attempt; nothing for the chatter
    assert len(fake.sent("sendMessage")) == 6


async def test_reply_to_the_bot_in_a_group_counts(tg, fake, selfie, service) -> None:
    await service.give_consent(UserRef("telegram", str(ANA)))
    bot_message = {"message_id": 5, "date": 0, "chat": group_chat(GROUP),
                   "from": {"id": BOT_ID, "is_bot": True, "first_name": "Moo-Sic"},
                   "text": "Send me a selfie"}
    fake.push_message(group_chat(GROUP), user(ANA), photo=selfie, reply_to=bot_message)
    assert (await fake.replies(GROUP))[0].text.startswith("You look")


async def test_flood_control_retry_after_still_delivers(tg, fake) -> None:
    fake.flood_next("sendMessage", retry_after=1)
    fake.push_message(private_chat(ANA), user(ANA), "/mood happy")
    attempts = await fake.replies(ANA, 2)
    assert attempts[1].text.startswith("Songs for feeling happy")
    assert len(attempts) == 2 and attempts[1].at - attempts[0].at >= 1.0


async def test_error_handler_logs_an_id_and_tells_the_user(tg, fake, caplog,
                                                          monkeypatch) -> None:
    async def broken(*args, **kwargs):
        raise RuntimeError("adapter bug")

    monkeypatch.setattr(tg, "deliver", broken)
    caplog.set_level(logging.ERROR, logger="bot.telegram")
    fake.push_message(private_chat(ANA), user(ANA), "/help")
    [reply] = await fake.replies(ANA)
    assert "something went wrong" in reply.text and "error id" in reply.text
    error_id = reply.text.split("error id ")[1][:8]
    assert any(error_id in r.getMessage() for r in caplog.records)
    assert "Traceback" not in reply.text and "adapter bug" not in reply.text


async def test_twenty_users_at_once_each_get_their_own_answer(tg, fake, selfie, service) -> None:
    users = [1000 + i for i in range(20)]
    for uid in users:
        await service.give_consent(UserRef("telegram", str(uid)))
    for uid in users:
        fake.push_message(private_chat(uid), user(uid), photo=selfie)
    await fake.wait_for(lambda f: all(f.sent("sendMessage", u) for u in users), timeout=60)
    for uid in users:
        [reply] = fake.sent("sendMessage", uid)
        assert reply.text.startswith("You look")
    assert len(fake.sent("sendMessage")) == 20


async def test_restart_processes_each_update_exactly_once(service, fake) -> None:
    first = make_bot(service, fake)
    await first.start(poll_timeout=5)
    for i in range(3):
        fake.push_message(private_chat(2000 + i), user(2000 + i), "/mood happy")
    await fake.wait_for(lambda f: len(f.sent("sendMessage")) == 3)
    # updates arriving just before the stop, while stopped, and after the restart
    for i in range(3, 6):
        fake.push_message(private_chat(2000 + i), user(2000 + i), "/mood calm")
    await first.stop()
    for i in range(6, 9):
        fake.push_message(private_chat(2000 + i), user(2000 + i), "/mood sad")
    second = make_bot(service, fake)
    await second.start(poll_timeout=5)
    try:
        await fake.wait_for(lambda f: len(f.sent("sendMessage")) >= 9)
        for i in range(9):
            fake.push_message(private_chat(3000 + i), user(3000 + i), "/help")
        await fake.wait_for(lambda f: len(f.sent("sendMessage")) >= 18)
    finally:
        await second.stop()
    counts: dict[int, int] = {}
    for call in fake.sent("sendMessage"):
        counts[call.chat_id] = counts.get(call.chat_id, 0) + 1
    assert counts == {**{2000 + i: 1 for i in range(9)}, **{3000 + i: 1 for i in range(9)}}
    assert fake.pending == []  # everything was confirmed to the server


async def test_token_never_reaches_the_logs(service, fake, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    bot = make_bot(service, fake)
    await bot.start(poll_timeout=5)
    try:
        await say(fake, "/help")
    finally:
        await bot.stop()
    assert caplog.records
    assert fake.token not in caplog.text


async def test_webhook_mode_when_configured(service, fake) -> None:
    import socket

    import aiohttp

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/tg-hook"
    bot = make_bot(service, fake, webhook_url=url, webhook_listen="127.0.0.1",
                   webhook_port=port)
    await bot.start()
    try:
        [hook] = fake.sent("setWebhook")
        assert hook.params["url"] == url and hook.params["secret_token"]
        update = {"update_id": 1, "message": {
            "message_id": 1, "date": 0, "chat": private_chat(ANA), "from": user(ANA),
            "text": "/mood happy", "entities": [{"type": "bot_command", "offset": 0,
                                                 "length": 5}]}}
        async with aiohttp.ClientSession() as http:
            forged = await http.post(url, json=update,
                                     headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
            assert forged.status == 403
            sent = await http.post(url, json=update, headers={
                "X-Telegram-Bot-Api-Secret-Token": hook.params["secret_token"]})
            assert sent.status == 200
        [reply] = await fake.replies(ANA)
        assert reply.text.startswith("Songs for feeling happy")
        assert fake.get_updates_calls == 0  # no polling in webhook mode
    finally:
        await bot.stop()


async def test_a_mood_written_with_the_selfie_wins_over_the_face(tg, fake, selfie,
                                                                 service) -> None:
    """A caption that states a mood ("so tired", "/mood sad") sets the songs' mood and the
    answer says what the face showed; a caption without a mood changes nothing."""
    await service.give_consent(UserRef("telegram", str(ANA)))
    fake.push_message(private_chat(ANA), user(ANA), photo=selfie, caption="so tired today")
    [tired] = await fake.replies(ANA)
    assert tired.text.startswith("You look") and "you said “so tired" in tired.text, tired.text
    assert tired.text.count("https://open.spotify.com/track/") == 10
    fake.push_message(private_chat(ANA), user(ANA), photo=selfie, caption="/mood sad")
    sad = (await fake.replies(ANA, 2))[1]
    assert "you said “sad”" in sad.text, sad.text
    fake.push_message(private_chat(ANA), user(ANA), photo=selfie, caption="me at the beach")
    face = (await fake.replies(ANA, 3))[2]
    assert face.text.startswith("You look") and "you said" not in face.text
