"""The conversation as a Telegram user types it (issue 30): yes/no by words, numbered ratings,
stated moods with two dimensions, /lift on a happy mood, /unlink that keeps the playlist.

The real python-telegram-bot Application against the fake Bot API (tests/fakes/telegram.py),
over the real service, models and SQLite store.
"""

from __future__ import annotations

import re

import pytest

from moosic_core.types import UserRef
from tests.fakes.telegram import FakeTelegram, private_chat, user
from tests.test_telegram import ANA, say

BEN = 702


async def send_selfie(fake: FakeTelegram, selfie: bytes, uid: int = ANA):
    before = len(fake.sent("sendMessage", uid))
    fake.push_message(private_chat(uid), user(uid), photo=selfie)
    return (await fake.replies(uid, before + 1))[before]


@pytest.mark.parametrize("answer", ["yes", "Ok!", "sure 👍", "👍🏽", "YES PLEASE"])
async def test_consent_answered_by_a_word_reads_the_waiting_selfie(tg, fake, selfie, service,
                                                                   answer) -> None:
    question = await send_selfie(fake, selfie)
    assert "Do you agree?" in question.text
    reply = await say(fake, answer)
    assert reply.text.startswith("You look")  # the selfie that waited was read
    assert reply.text.count("https://open.spotify.com/track/") == 10
    assert await service.has_consent(UserRef("telegram", str(ANA)))


@pytest.mark.parametrize("answer", ["no", "Nope.", "no thanks", "👎"])
async def test_consent_refused_by_a_word(tg, fake, selfie, service, answer) -> None:
    await send_selfie(fake, selfie)
    reply = await say(fake, answer)
    assert "won't read any faces" in reply.text
    assert not await service.has_consent(UserRef("telegram", str(ANA)))
    assert "Do you agree?" in (await send_selfie(fake, selfie)).text  # asked again


async def test_an_unrelated_message_is_handled_and_the_question_still_waits(
        tg, fake, selfie, service) -> None:
    await send_selfie(fake, selfie)
    songs = await say(fake, "/mood calm")
    assert songs.text.startswith("Songs for feeling calm")
    hint = await say(fake, "no idea what this bot does")  # neither yes nor no: asked again
    assert hint.text.startswith("Please answer yes or no") and "won't read" not in hint.text
    assert "Do you agree?" in hint.text and "consent:yes" in str(hint.params)
    assert (await say(fake, "yes")).text.startswith("You look")


async def test_agree_command_reads_the_waiting_selfie(tg, fake, selfie) -> None:
    await send_selfie(fake, selfie)
    assert (await say(fake, "/agree")).text.startswith("You look")
    assert "Thanks" in (await say(fake, "/agree")).text  # nothing waiting: just thanks


async def test_yes_without_a_question_is_just_text(tg, fake, service) -> None:
    reply = await say(fake, "yes")
    assert "selfie" in reply.text
    assert not await service.has_consent(UserRef("telegram", str(ANA)))


async def test_forget_question_answered_by_words(tg, fake, config, service) -> None:
    data = (config.data.playlists_dir / "liked_songs_b.csv").read_bytes()
    fake.push_message(private_chat(ANA), user(ANA),
                      document=fake.document(data, "liked_songs_b.csv", "text/csv"))
    await fake.replies(ANA)
    assert "Are you sure? (yes or no)" in (await say(fake, "/forget")).text
    assert "Nothing was deleted" in (await say(fake, "nope")).text
    assert await service.taste_profile(UserRef("telegram", str(ANA))) is not None
    assert "selfie" in (await say(fake, "yes")).text  # the question was answered already
    await say(fake, "/forget")
    assert "deleted everything" in (await say(fake, "Yes!")).text
    assert await service.taste_profile(UserRef("telegram", str(ANA))) is None


async def test_like_by_number_is_checked_and_names_the_song(tg, fake, service) -> None:
    assert "Ask me for songs first" in (await say(fake, "/like 1")).text
    songs = await say(fake, "/mood happy")
    for bad in ("/like 0", "/dislike -5", "/like 99", "/like abc", "/like"):
        reply = await say(fake, bad)
        assert "/like 1 to /like 10" in reply.text or "/dislike 1 to /dislike 10" in reply.text
    assert await service.store.feedback(UserRef("telegram", str(ANA))) == {}
    first_line = songs.text.splitlines()[1]
    title = first_line.split(". ", 1)[1].split(" — ")[0]
    liked = await say(fake, "/like 1")
    assert liked.text.startswith(f"👍 noted: {title} — ")
    disliked = await say(fake, "/dislike 2")
    assert disliked.text.startswith("👎 noted: ") and "won't suggest it again" in disliked.text
    stored = await service.store.feedback(UserRef("telegram", str(ANA)))
    assert sorted(stored.values()) == [-1, 1]


async def test_feedback_buttons_name_the_song(tg, fake) -> None:
    songs = await say(fake, "/mood sad")
    like = next(a for a in songs.actions() if a.startswith("fb:+:"))
    fake.push_button(private_chat(ANA), user(ANA), like)
    await fake.wait_for(lambda f: f.sent("answerCallbackQuery"))
    toast = fake.sent("answerCallbackQuery")[0].params.get("text", "")
    title = songs.text.splitlines()[1].split(". ", 1)[1].split(" — ")[0]
    assert toast.startswith(f"👍 noted: {title[:40]}")


@pytest.mark.parametrize(("said", "headline"), [
    ("angry", "Songs for feeling angry."), ("very happy", "Songs for feeling very happy."),
    ("😌", "Songs for feeling relieved 😌."), ("a bit sad", "Songs for feeling a bit sad."),
    ("0.3", "Songs for a mood of 0.30 out of 1 (a bit down)."),
])
async def test_stated_mood_headline_names_what_the_user_said(tg, fake, said, headline) -> None:
    reply = await say(fake, f"/mood {said}")
    assert reply.text.splitlines()[0] == headline
    assert " a a " not in reply.text


async def test_angry_gets_energetic_negative_songs_and_calm_quiet_positive_ones(
        tg, fake, service) -> None:
    angry, calm = await say(fake, "/mood angry"), await say(fake, "/mood calm", uid=BEN)

    def scores(reply):
        ids = [a.split(":")[2] for a in reply.actions() if a.startswith("fb:+:")]
        rows = [service.catalog.row_of(i) for i in ids]
        picked = [service.catalog.track(r) for r in rows if r is not None]
        return (sum(t.mood_score for t in picked) / len(picked),
                sum(t.energy for t in picked) / len(picked))

    angry_mood, angry_energy = scores(angry)
    calm_mood, calm_energy = scores(calm)
    assert angry_energy > 0.65 and angry_mood < 0.35
    assert calm_energy < 0.35 and calm_mood > 0.65


async def test_lift_on_a_happy_mood_says_so_and_lift_lines_show_steps(tg, fake) -> None:
    await say(fake, "/mood happy")
    already = await say(fake, "/lift")
    assert "nothing to lift" in already.text and "Lifting your mood" not in already.text
    await say(fake, "/mood sad")
    lifted = await say(fake, "/lift")
    assert "Lifting your mood, step by step:" in lifted.text
    lines = [line for line in lifted.text.splitlines() if re.match(r"\d+\. ", line)]
    assert len(lines) == 10
    assert all(f"step {i} of 10" in line for i, line in enumerate(lines, 1))


async def test_unlink_keeps_the_playlist_and_says_what_remains(tg, fake, config,
                                                               service) -> None:
    data = (config.data.playlists_dir / "liked_songs_b.csv").read_bytes()
    fake.push_message(private_chat(ANA), user(ANA),
                      document=fake.document(data, "liked_songs_b.csv", "text/csv"))
    await fake.replies(ANA)
    reply = await say(fake, "/unlink")
    assert "no Spotify account linked" in reply.text
    assert "still comes from liked_songs_b.csv" in reply.text
    assert await service.taste_profile(UserRef("telegram", str(ANA))) is not None
    dropped = await say(fake, "/unlink playlist")
    assert "dropped your playlist liked_songs_b.csv" in dropped.text
    assert "don't know your taste now" in dropped.text
    assert await service.taste_profile(UserRef("telegram", str(ANA))) is None
    assert "nothing changed" in (await say(fake, "/unlink all")).text
    assert "/unlink playlist" in (await say(fake, "/unlink everything please")).text
    assert "/unlink playlist" in (await say(fake, "/help")).text


async def test_photos_sent_before_consent_get_one_question_and_the_newest_is_read(
        tg, fake, selfie, no_face) -> None:
    question = await send_selfie(fake, no_face)
    assert "Do you agree?" in question.text
    for _ in range(7):  # more than the selfie limit: none of them is read or counted yet
        again = await send_selfie(fake, selfie)
        assert "Do you agree?" not in again.text and "newest photo" in again.text
        assert "consent:yes" in str(again.params)  # the buttons come with it
    assert (await say(fake, "yes")).text.startswith("You look")  # the newest photo, with a face
