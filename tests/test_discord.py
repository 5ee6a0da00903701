"""The Discord bot end to end: the real discord.py client against a fake Discord on 127.0.0.1.

The bot logs in over REST, syncs its commands, connects to the fake gateway and receives
recorded-shape INTERACTION_CREATE payloads there, parsed by discord.py's own ConnectionState
and CommandTree; what it answers is read back from the fake's request log.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest

from bot.conversation import Conversation, RateLimiter
from bot.discord_bot import DiscordFrontEnd, layout
from bot.frontends import ConsoleFrontEnd, serve
from bot.replies import FILE_TOO_LARGE
from moosic_core import PROJECT_ROOT
from moosic_core.config import DiscordConfig
from moosic_core.errors import ConfigError
from tests.fakes.discord import EPHEMERAL, GUILD_ID, FakeDiscord, Recorded

TOKEN = "bot-token-that-must-never-be-logged"
ANN, BOB = "1600000000000000001", "1600000000000000002"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    server = FakeDiscord()
    await server.start()
    yield server
    await server.stop()
    discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = base, gateway


def _front(conversation: Conversation, fake: FakeDiscord, guild_id: int = 0) -> DiscordFrontEnd:
    config = DiscordConfig(token=TOKEN, test_guild_id=guild_id, api_url=fake.api_url)
    return DiscordFrontEnd(conversation, config, guild_ready_timeout=0.05)


@pytest.fixture
async def bot(service, fake) -> AsyncIterator[DiscordFrontEnd]:
    front = _front(Conversation(service), fake)
    await front.start()
    yield front
    await front.stop()


class Answer:
    """What the bot sent for one interaction: the callback and the follow-up messages."""

    def __init__(self, callback: Recorded, followups: list[Recorded],
                 deleted_original: bool) -> None:
        self.callback = callback
        self.followups = followups
        self.deleted_original = deleted_original

    @property
    def message(self) -> dict[str, Any]:
        return self.followups[-1].body

    @property
    def embed(self) -> dict[str, Any]:
        return self.message["embeds"][0]

    @property
    def text(self) -> str:
        embed = self.embed
        return "\n".join(str(embed.get(k, "")) for k in ("title", "description")) + \
            str(embed.get("footer", {}).get("text", ""))

    @property
    def ephemeral(self) -> bool:
        return bool(self.message.get("flags", 0) & EPHEMERAL)

    @property
    def custom_ids(self) -> list[str]:
        return [c["custom_id"] for row in self.message.get("components", [])
                for c in row["components"] if "custom_id" in c]


async def ask(fake: FakeDiscord, payload: dict[str, Any]) -> Answer:
    """Deliver an interaction over the gateway and wait for the bot's answer to it."""
    token = await fake.interact(payload)
    callback, = await fake.wait_for(
        lambda r: r.path.startswith(f"/interactions/{payload['id']}/"))
    followups = await fake.wait_for(
        lambda r: r.method == "POST" and r.path.startswith("/webhooks/")
        and r.path.endswith(token))
    deleted = any(r.method == "DELETE" and token in r.path for r in fake.requests)
    return Answer(callback, followups, deleted)


def _mood(fake: FakeDiscord, feeling: str, user: str = ANN, guild: bool = True
          ) -> dict[str, Any]:
    return fake.slash("mood", {"feeling": feeling}, user_id=user, guild=guild)


def _selfie(fake: FakeDiscord, data: bytes | None, content_type: str = "image/jpeg",
            size: int | None = None, user: str = ANN, guild: bool = True,
            feeling: str | None = None) -> dict[str, Any]:
    att = fake.attachment("me.jpg", data, content_type, size)
    return fake.slash("mood", {"feeling": feeling} if feeling else None, user_id=user,
                      guild=guild, attachments={"selfie": att})


# --- startup --------------------------------------------------------------------------------
async def test_logs_in_syncs_globally_and_identifies_without_privileged_intents(
        bot, fake, caplog) -> None:
    sync, = await fake.wait_for(lambda r: r.method == "PUT" and r.path.endswith("/commands"))
    assert sync.path == "/applications/1100000000000000001/commands"  # global
    names = {c["name"]: c for c in sync.body}
    assert set(names) == {"mood", "group", "link", "unlink", "taste", "discover", "forget",
                          "help", "save"}
    assert {o["name"] for o in names["link"]["options"]} == {"spotify", "playlist"}
    assert {o["type"] for o in names["mood"]["options"]} == {3, 11}  # string, attachment
    assert all(sorted(c["contexts"]) == [0, 1] for c in sync.body)  # servers and DMs
    identify = next(e for e in fake.gateway_events if e["op"] == 2)
    assert identify["d"]["intents"] == discord.Intents(guilds=True).value  # no privileged
    assert TOKEN not in caplog.text


async def test_commands_sync_to_the_test_guild_when_configured(service, fake) -> None:
    front = _front(Conversation(service), fake, guild_id=int(GUILD_ID))
    await front.start()
    try:
        sync, = await fake.wait_for(lambda r: r.method == "PUT")
        assert sync.path == f"/applications/1100000000000000001/guilds/{GUILD_ID}/commands"
        assert len(sync.body) == 9
    finally:
        await front.stop()
    assert any(e["op"] == "closed" for e in fake.gateway_events)


# --- commands and buttons -------------------------------------------------------------------
async def test_help_is_an_ephemeral_embed(bot, fake) -> None:
    answer = await ask(fake, fake.slash("help", user_id=ANN))
    assert answer.callback.body == {"type": 5, "data": {"flags": EPHEMERAL}}  # thinking
    assert answer.ephemeral
    assert "Send me a selfie" in answer.text
    assert "/link playlist" in answer.embed["footer"]["text"]  # how to do it on Discord


async def test_mood_list_buttons_feedback_more_and_lift(bot, fake) -> None:
    answer = await ask(fake, _mood(fake, "happy"))
    assert answer.callback.body["type"] == 5 and answer.callback.flags == 0  # public thinking
    assert not answer.ephemeral
    assert answer.embed["title"].startswith("Songs for feeling happy")
    assert answer.embed["description"].count("](https://open.spotify.com/track/") == 10
    rows = answer.message["components"]
    assert len(rows) <= 5 and all(len(r["components"]) <= 5 for r in rows)
    ids = answer.custom_ids
    assert sum(i.startswith("fb:+:") for i in ids) == 10
    assert sum(i.startswith("fb:-:") for i in ids) == 10
    assert {f"more@{ANN}", f"mode:lift@{ANN}"} <= set(ids)  # Ann's, in a server channel

    first_like = next(i for i in ids if i.startswith("fb:+:"))
    liked = await ask(fake, fake.press(first_like, answer.followups[0], user_id=ANN))
    assert liked.callback.body == {"type": 6}  # deferred update, no "thinking" message
    assert liked.ephemeral and "noted:" in liked.text

    more = await ask(fake, fake.press(f"more@{ANN}", answer.followups[0], user_id=ANN))
    assert not more.ephemeral
    new_ids = set(more.custom_ids) - {f"more@{ANN}", f"mode:lift@{ANN}"}
    assert new_ids and not new_ids & set(ids)  # new songs, not the same list again

    lifted = await ask(fake, fake.press(f"mode:lift@{ANN}", answer.followups[0],
                                        user_id=ANN))
    assert "nothing to lift" in lifted.text  # happy already
    sad = await ask(fake, _mood(fake, "sad"))
    lifted = await ask(fake, fake.press(f"mode:lift@{ANN}", sad.followups[0], user_id=ANN))
    assert "Lifting your mood" in lifted.embed["title"]
    assert f"mode:match@{ANN}" in lifted.custom_ids
    assert "step 1 of 10" in lifted.embed["description"]


async def test_selfie_asks_consent_then_reads_the_face(bot, fake, selfie) -> None:
    first = await ask(fake, _selfie(fake, selfie, guild=False))  # in a DM
    assert "never stored" in first.text
    assert first.custom_ids == ["consent:yes", "consent:no"]
    read = await ask(fake, fake.press("consent:yes", first.followups[0], user_id=ANN,
                                      guild=False))
    assert read.embed["title"].startswith("You look")
    assert read.embed["description"].count("open.spotify.com/track/") == 10
    again = await ask(fake, _selfie(fake, selfie))  # consent remembered, now in a server
    assert again.embed["title"].startswith("You look")
    said = await ask(fake, _selfie(fake, selfie, feeling="calm"))  # the words win
    assert "you said “calm”" in said.embed["title"], said.embed["title"]
    unread = await ask(fake, _selfie(fake, selfie, feeling="1.5"))  # /mood's explanation
    assert "from 0 (sad) to 1 (happy)" in unread.text, unread.text
    assert sum(r.path.startswith("/cdn/") for r in fake.requests) == 3


async def test_failures_get_the_same_clear_replies(bot, fake, no_face) -> None:
    consent = await ask(fake, _selfie(fake, no_face, user=BOB))
    assert consent.custom_ids == [f"consent:yes@{BOB}", f"consent:no@{BOB}"]  # Bob's
    answer = await ask(fake, fake.press(consent.custom_ids[0], consent.followups[0],
                                        user_id=BOB))
    assert "couldn't find a face" in answer.text
    broken = await ask(fake, _selfie(fake, b"\xff\xd8\xff\xe0 truncated", user=BOB))
    assert "damaged" in broken.text
    not_image = await ask(fake, _selfie(fake, b"hello", "text/plain", user=BOB))
    assert "isn't a photo" in not_image.text
    huge = await ask(fake, _selfie(fake, b"x", size=25 * 1024 * 1024, user=BOB))
    assert FILE_TOO_LARGE in huge.text
    lost = await ask(fake, _selfie(fake, None, user=BOB))
    assert "couldn't download" in lost.text
    pdf = await ask(fake, fake.slash("mood", user_id=BOB, attachments={
        "selfie": fake.attachment("cv.pdf", b"%PDF-1.7", "application/pdf")}))
    assert "isn't a photo" in pdf.text
    cdn = [r.path for r in fake.requests if r.path.startswith("/cdn/")]
    # "me.jpg" sent as text/plain was looked at (its bytes are not a photo); the PDF (name and
    # type agree) and the too-large file were never downloaded
    assert len(cdn) == 4
    for reply in (answer, broken, not_image, huge, lost):
        assert "Traceback" not in reply.text


@pytest.mark.parametrize("name, content_type", [
    ("image0", None), ("image0", "application/octet-stream"), ("IMG_1234", ""),
    ("selfie.png", "application/octet-stream"), ("upload", "text/plain"),
    ("me.jpg", "application/pdf")])
async def test_a_selfie_without_a_usable_type_is_decided_by_name_and_bytes(
        bot, fake, selfie, service, name, content_type) -> None:
    await service.give_consent(_user(ANN))
    att = fake.attachment(name, selfie, content_type)
    answer = await ask(fake, fake.slash("mood", user_id=ANN, attachments={"selfie": att}))
    assert answer.embed["title"].startswith("You look"), answer.text


async def test_a_playlist_without_a_type_and_a_photo_sent_as_playlist(bot, fake, selfie) -> None:
    csv = ("Nombre de la canción;Nombre(s) del artista\nEverywhere;Fleetwood Mac\n"
           "Little Lies;Fleetwood Mac\n").encode("utf-16")
    att = fake.attachment("liked", csv, None)
    playlist = await ask(fake, fake.slash("link", user_id=ANN, sub="playlist",
                                          attachments={"file": att}))
    assert playlist.ephemeral and "Got your playlist" in playlist.text
    photo = fake.attachment("liked.csv", selfie, "text/csv")
    wrong = await ask(fake, fake.slash("link", user_id=ANN, sub="playlist",
                                       attachments={"file": photo}))
    assert wrong.ephemeral and "Please attach a playlist CSV" in wrong.text


async def test_selfies_are_rate_limited_per_user(service, fake, selfie) -> None:
    front = _front(Conversation(service, photo_limit=RateLimiter(2, 60)), fake)
    await front.start()
    try:
        await service.give_consent(_user(ANN))
        for _ in range(2):
            assert (await ask(fake, _selfie(fake, selfie))).embed["title"].startswith("You")
        third = await ask(fake, _selfie(fake, selfie))
        assert "more than 2 selfies in a minute" in third.text
        other = await ask(fake, _selfie(fake, selfie, user=BOB))
        assert "never stored" in other.text  # Bob is not limited by Ann's selfies
    finally:
        await front.stop()


def _user(user_id: str) -> Any:
    from moosic_core.types import UserRef

    return UserRef("discord", user_id)


async def test_personal_commands_are_ephemeral(bot, fake, config) -> None:
    link = await ask(fake, fake.slash("link", user_id=ANN, sub="spotify"))
    assert link.callback.flags == EPHEMERAL and link.ephemeral
    assert "Spotify" in link.text
    csv = (config.data.playlists_dir / "liked_songs_b.csv").read_bytes()
    att = fake.attachment("liked.csv", csv, "text/csv; charset=utf-8")
    playlist = await ask(fake, fake.slash("link", user_id=ANN, sub="playlist",
                                          attachments={"file": att}))
    assert playlist.ephemeral and "Got your playlist" in playlist.text
    taste = await ask(fake, fake.slash("taste", user_id=ANN))
    assert taste.ephemeral and "Your top genres" in taste.text
    discover = await ask(fake, fake.slash("discover", user_id=ANN))
    assert discover.ephemeral and "6 in 10" in discover.text
    assert discover.custom_ids == ["discover:more", "discover:less", "discover:default"]
    pressed = await ask(fake, fake.press("discover:more", discover.followups[0], user_id=ANN))
    assert pressed.ephemeral and "artists new to you" in pressed.text
    less = await ask(fake, fake.slash("discover", {"level": "less"}, user_id=ANN))
    assert less.ephemeral and "almost every song" in less.text
    unlink = await ask(fake, fake.slash("unlink", user_id=ANN))
    assert unlink.ephemeral and "no Spotify account linked" in unlink.text
    assert "still comes from liked.csv" in unlink.text  # /unlink keeps the playlist
    forget = await ask(fake, fake.slash("forget", user_id=ANN))
    assert forget.ephemeral and "Are you sure" in forget.text
    assert forget.custom_ids == ["forget:yes", "forget:no"]
    done = await ask(fake, fake.press("forget:yes", forget.followups[0], user_id=ANN))
    assert done.ephemeral and "deleted everything" in done.text
    after = await ask(fake, fake.slash("taste", user_id=ANN))
    assert "don't know your taste" in after.text


async def test_a_button_from_an_older_message_still_gets_an_answer(bot, fake) -> None:
    """Buttons are dynamic items: a press on a message sent before a restart reaches the bot."""
    old = Recorded("POST", "/webhooks/old", {}, {"components": [{"type": 1, "components": [
        {"type": 2, "style": 1, "label": "old", "custom_id": "gone:123"}]}]})
    answer = await ask(fake, fake.press("gone:123", old, user_id=BOB))
    assert "expired" in answer.text


async def test_texts_ask_for_buttons_and_slash_commands_not_typing(bot, fake, selfie) -> None:
    """The bot reads no typed messages on Discord: no text asks to type an answer or to send
    a file as a message."""
    typed = ("yes or no", "send a playlist", "send me a playlist", "reply to the round message")
    consent = await ask(fake, _selfie(fake, selfie))
    assert "Do you agree? (press a button)" in consent.text
    forget = await ask(fake, fake.slash("forget", user_id=BOB))
    assert "Are you sure? (press a button)" in forget.text
    songs = await ask(fake, _mood(fake, "sad", user=BOB))
    footer = songs.embed["footer"]["text"]
    assert "/link playlist file:<csv>" in footer
    unlinked = await ask(fake, fake.slash("unlink", {"what": "all"}, user_id=BOB))
    opened = await ask(fake, fake.slash("group", user_id=BOB))
    assert "press 🙋 I'm in" in opened.text and "/mood feeling:" in opened.text
    for answer in (consent, forget, songs, unlinked, opened):
        assert not any(phrase in (answer.text + footer).lower() for phrase in typed), answer.text


async def test_an_interaction_delivered_twice_is_answered_once(bot, fake) -> None:
    """Discord may deliver one interaction twice (same id): the bot answers the first only."""
    payload = _mood(fake, "happy")
    answer = await ask(fake, payload)
    press = fake.press(f"more@{ANN}", answer.followups[0], user_id=ANN)  # in a server: Ann's
    more = await ask(fake, press)
    await fake.interact(payload)
    await fake.interact(press)
    later = await ask(fake, _mood(fake, "sad"))  # answered after the two repeats were read
    assert later.embed["title"].startswith("Songs for feeling sad")
    for first in (payload, press):
        assert len([r for r in fake.requests
                    if r.path.startswith(f"/interactions/{first['id']}/")]) == 1
        assert len([r for r in fake.requests if r.method == "POST"
                    and r.path.endswith(str(first["token"]))]) == 1
    assert more.followups


# --- layout ---------------------------------------------------------------------------------
def test_layout_fits_twenty_feedback_buttons_and_the_mode_row() -> None:
    from bot.conversation import Button

    feedback = [(Button(f"👍 {i}", f"fb:+:{i}"), Button(f"👎 {i}", f"fb:-:{i}"))
                for i in range(1, 13)]
    rows = (*feedback, (Button("more", "more"), Button("lift", "mode:lift")))
    packed = layout(rows)
    assert len(packed) == 5 and all(len(r) <= 5 for r in packed)
    assert [b.action for b in packed[-1]] == ["more", "mode:lift"]
    assert [b.action for b in packed[0]] == [f"fb:+:{i}" for i in range(1, 6)]
    assert sum(len(r) for r in packed) == 22  # feedback for the first 10 songs fits


# --- two front-ends in one process ----------------------------------------------------------
class LineFeed:
    """A console stdin fed line by line from the test; '' is end of input."""

    def __init__(self) -> None:
        self.lines: queue.Queue[str] = queue.Queue()

    def readline(self) -> str:
        return self.lines.get(timeout=30)


class Collected:
    def __init__(self) -> None:
        self.text = ""

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        pass


async def test_discord_and_console_share_one_service_and_stop_together(
        service, fake, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    conversation = Conversation(service)
    discord_front = _front(conversation, fake)
    stdin, stdout = LineFeed(), Collected()
    console = ConsoleFrontEnd(conversation, stdin, stdout)  # type: ignore[arg-type]
    running = asyncio.create_task(serve([discord_front, console]))
    await fake.wait_for(lambda r: r.method == "PUT")
    await asyncio.wait_for(discord_front.client.wait_until_ready(), 10)

    answer = await ask(fake, _mood(fake, "happy"))
    assert answer.embed["title"].startswith("Songs for feeling happy")
    stdin.lines.put("/mood sad\n")
    for _ in range(200):
        if "Songs for feeling sad" in stdout.text:
            break
        await asyncio.sleep(0.05)
    assert "Songs for feeling sad" in stdout.text
    assert not running.done()

    stdin.lines.put("")  # the console ends: both front-ends stop
    await asyncio.wait_for(running, 20)
    assert discord_front.client.is_closed()
    await fake.wait_for(lambda r: True, count=1)
    assert any(e["op"] == "closed" for e in fake.gateway_events)
    assert TOKEN not in caplog.text


# --- the command line -----------------------------------------------------------------------
def test_bot_discord_without_a_token_says_how_to_set_it(moosic) -> None:
    code, _, stderr = moosic("bot", "discord", env={"MOOSIC_DISCORD_TOKEN": ""})
    assert code != 0
    assert "MOOSIC_DISCORD_TOKEN" in stderr and "Traceback" not in stderr


async def test_moosic_bot_discord_serves_and_stops_on_sigterm(fake, tmp_path) -> None:
    """The real command in its own process, against the fake Discord, logging at DEBUG."""
    env = {**os.environ, "MOOSIC_DISCORD_TOKEN": TOKEN, "MOOSIC_DISCORD_API_URL": fake.api_url,
           "MOOSIC_PATHS_DATABASE": str(tmp_path / "bot.sqlite3")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "-v", "bot", "discord", cwd=PROJECT_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        await fake.wait_for(lambda r: r.method == "PUT", timeout=90)
        for _ in range(400):
            if any(e["op"] == 2 for e in fake.gateway_events):
                break
            await asyncio.sleep(0.05)
        answer = await ask(fake, _mood(fake, "excited"))
        assert answer.embed["description"].count("open.spotify.com/track/") == 10
        proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, stderr.decode()[-2000:]
    log_text = stderr.decode()
    assert "discord front-end stopped" in log_text
    assert TOKEN not in log_text
    assert any(e["op"] == "closed" for e in fake.gateway_events)


async def test_a_rejected_token_fails_start_cleanly(service, fake) -> None:
    front = _front(Conversation(service), fake)
    fake.reject_token = True
    with pytest.raises(ConfigError, match=r"refused the bot token.*discord\.token") as raised:
        await front.start()  # at once: a refused token is not retried
    assert TOKEN not in str(raised.value)
    assert front.client.is_closed()
    assert not any(r.path.endswith("/commands") for r in fake.requests)
