"""The console chat: the same conversation the bots use, end to end."""

from __future__ import annotations

import argparse
import io
import logging
import subprocess
import sys

import pytest

from bot.commands import quiet_logs_for_console
from bot.console import ConsoleChat, run_console
from bot.conversation import Conversation
from moosic_core import PROJECT_ROOT


@pytest.fixture
def chat(service) -> ConsoleChat:
    return ConsoleChat(Conversation(service))


async def test_help_and_unknown_command(chat) -> None:
    assert "selfie" in await chat.send("/help")
    assert "don't know /dance" in await chat.send("/dance")
    long = await chat.send("/" + "a" * 5000)
    assert long.startswith(f"I don't know /{'a' * 32}…. ") and len(long) < 200


async def test_mood_list_feedback_more_and_lift(chat) -> None:
    text = await chat.send("/mood happy")
    assert text.startswith("Songs for feeling happy")
    assert text.count("https://open.spotify.com/track/") == 10
    assert "noted:" in await chat.send("/like 1")
    assert "won't suggest it again" in await chat.send("/dislike 2")
    more = await chat.send("/more")
    assert more.count("https://open.spotify.com/track/") == 10
    lifted = await chat.send("/press mode:lift")  # happy already: nothing to lift
    assert "nothing to lift" in lifted and "Lifting your mood" not in lifted


async def test_selfie_asks_consent_first(chat, tmp_path, selfie) -> None:
    path = tmp_path / "me.jpg"
    path.write_bytes(selfie)
    first = await chat.send(str(path))
    assert "never stored" in first and "consent:yes" in first
    answer = await chat.send("/press consent:yes")
    assert answer.startswith("You look")
    again = await chat.send(str(path))
    assert again.startswith("You look")  # consent is remembered


async def test_unreadable_image_gets_a_clear_answer(chat, tmp_path) -> None:
    assert "Do you agree?" in await chat.send("/agree")  # the disclosure comes first
    assert "Thanks" in await chat.send("/agree")
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    reply = await chat.send(str(path))
    assert "damaged" in reply
    assert "Traceback" not in reply


async def test_playlist_taste_and_forget(chat, config) -> None:
    path = config.data.playlists_dir / "liked_songs_b.csv"
    reply = await chat.send(str(path))
    assert "Your top genres" in reply
    assert "Your top genres" in await chat.send("/taste")
    assert "Are you sure" in await chat.send("/forget")
    assert "deleted everything" in await chat.send("/press forget:yes")
    assert "don't know your taste" in await chat.send("/taste")


def test_make_run_starts_a_console_chat() -> None:
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "run"], input="/mood sad\n/quit\n",
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(PROJECT_ROOT)},
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Moo-Sic console chat" in proc.stdout
    assert "Songs for feeling sad" in proc.stdout


async def test_typed_im_in_joins_an_open_round(chat) -> None:
    assert "Group round open" in await chat.send("/group")
    assert await chat.send("I'm in!") == "You're already in."  # who starts it is in
    assert "For you:" in await chat.send("/group done")
    assert "path to a selfie" in await chat.send("I'm in")  # no round: just text


async def test_a_typed_answer_expires_but_the_buttons_do_not(chat, tmp_path, selfie) -> None:
    now = [1000.0]
    chat.conversation.store.clock = lambda: now[0]
    path = tmp_path / "me.jpg"
    path.write_bytes(selfie)
    assert "Do you agree?" in await chat.send(str(path))
    now[0] += 3600  # an hour later "yes" is no longer an answer to that question
    assert "path to a selfie" in await chat.send("yes")
    assert (await chat.send("/press consent:yes")).startswith("You look")


async def test_yes_and_no_commands_answer_the_open_question(chat) -> None:
    assert "no question waiting" in await chat.send("/yes")
    assert "Are you sure?" in await chat.send("/forget")
    assert "Nothing was deleted" in await chat.send("/no")
    assert "no question waiting" in await chat.send("/no")


async def test_a_non_answer_asks_the_question_again(chat, tmp_path, selfie) -> None:
    path = tmp_path / "me.jpg"
    path.write_bytes(selfie)
    await chat.send(str(path))
    for said in ("maybe", "hmm not sure", "happy"):  # neither yes nor no
        again = await chat.send(said)
        assert again.startswith("Please answer yes or no"), again
        assert "Do you agree?" in again and "(/press consent:yes)" in again
    assert (await chat.send("yes")).startswith("You look")  # the selfie still waited
    await chat.send("/forget")
    again = await chat.send("sure thing")
    assert again.startswith("Please answer yes or no") and "Are you sure?" in again
    assert "Nothing was deleted" in await chat.send("no")


async def test_agree_without_a_photo_shows_what_is_agreed_to(chat, service) -> None:
    first = await chat.send("/agree")
    assert "never stored and never logged" in first and "Do you agree?" in first
    assert not await service.has_consent(chat.user)  # nothing recorded yet
    assert "Thanks" in await chat.send("/agree")  # now, having read it
    assert await service.has_consent(chat.user)


async def test_closing_a_round_everybody_left(chat) -> None:
    await chat.send("/group")
    await chat.send("/mood sad")
    assert await chat.send("/group leave") == "You left the round."
    closed = await chat.send("/group done")
    assert closed.startswith("Nobody is in the round any more, so I closed it without a list.")
    assert "0 of you" not in closed and "open.spotify.com" not in closed and "Save" not in closed
    assert "no group round in this chat" in await chat.send("/group done")  # it is closed


async def test_discover_without_a_taste_says_it_waits_for_one(chat, config) -> None:
    for arg in ("more", "less", "default"):
        answer = await chat.send(f"/discover {arg}")
        assert "I don't know which artists you play yet" in answer, answer
        assert not answer.startswith("Done: ")
    assert "I don't know which artists you play yet" in await chat.send("/discover")
    await chat.send(str(config.data.playlists_dir / "liked_songs_b.csv"))
    linked = await chat.send("/discover more")
    assert linked.startswith("Done: about a third of each list by artists you play")


async def test_the_console_survives_any_failure_in_one_line(service, monkeypatch) -> None:
    conversation = Conversation(service)
    real = conversation.command
    calls = 0

    async def flaky(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("boom")
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(conversation, "command", flaky)
    out = io.StringIO()
    await run_console(conversation, io.StringIO("/mood happy\n/mood calm\n"), out)
    answers = out.getvalue().split("> ")[1:]
    assert answers[0].startswith("Sorry, something went wrong with that line (error id ")
    assert answers[1].startswith("Songs for feeling calm")
    assert "boom" not in out.getvalue()


@pytest.mark.parametrize(("verbose", "level"), [(False, logging.WARNING),
                                                (True, logging.DEBUG)])
def test_console_mode_keeps_info_logs_off_the_terminal_unless_verbose(
        verbose: bool, level: int) -> None:
    root = logging.getLogger()
    before = root.level
    root.setLevel(logging.DEBUG)  # what `moosic -v` or logging.level = "DEBUG" set up
    try:
        quiet_logs_for_console(argparse.Namespace(verbose=verbose))
        assert root.level == level
    finally:
        root.setLevel(before)


async def test_texts_say_what_to_type_at_the_console(chat) -> None:
    """The console reads typed lines, files as typed paths: no text asks to send anything."""
    songs = await chat.send("/mood sad")
    assert "type the path of a playlist CSV" in songs
    opened = await chat.send("/group")
    assert "type \"I'm in\"" in opened and "reply to" not in opened
    forget = await chat.send("/forget")
    assert "(yes or no)" in forget
    for text in (songs, opened, forget):
        assert "send a playlist" not in text.lower() and "send me a" not in text.lower()
