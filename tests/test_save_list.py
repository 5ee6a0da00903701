"""Keeping a list through the real adapters (issue 34): "💾 Save" on Telegram and Discord, /save
in the console, ``--save-csv`` on the CLI.

Telegram runs the real python-telegram-bot Application against the fake Bot API, Discord the
real discord.py client against the fake Discord, both over the real service with Spotify (real
spotipy) pointed at the fake Web API, the real models and a real SQLite file.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from bot.console import ConsoleChat
from bot.conversation import Conversation
from bot.discord_bot import DiscordFrontEnd
from moosic_core.config import SecurityConfig, SpotifyConfig
from moosic_core.service import MoosicService
from moosic_core.spotify.client import WRITE_SCOPE
from moosic_core.store import Store
from moosic_core.taste.csv_import import read_playlist_csv
from tests.fakes.discord import FakeDiscord
from tests.fakes.spotify import FakeSpotify
from tests.fakes.telegram import Call, FakeTelegram, group_chat, private_chat, user
from tests.telegram_fixtures import make_bot
from tests.test_discord import BOB, _front, _mood, ask
from tests.test_discord import fake as discord_fake  # noqa: F401 - fixture
from tests.test_taste_service import KEY, approve, music  # noqa: F401 - fixture
from tests.test_telegram import ANA, say

BEN = 702
TODAY = f"{date.today().day} {date.today():%b}"


@pytest.fixture
async def spotify_service(config, catalog, song_models, face_reader, tmp_path: Path,
                          music: FakeSpotify) -> AsyncIterator[MoosicService]:  # noqa: F811
    """The real service with Spotify pointed at the fake Web API (Alice likes jazz there)."""
    base = music.base_url
    cfg = dataclasses.replace(
        config, paths=dataclasses.replace(config.paths, database=tmp_path / "moosic.sqlite3"),
        spotify=SpotifyConfig(client_id=music.client_id, client_secret=music.client_secret,
                              api_url=f"{base}/v1/", token_url=f"{base}/api/token",
                              authorize_url=f"{base}/authorize", max_retry_wait_s=2,
                              request_timeout_s=5),
        security=SecurityConfig(token_key=KEY))
    store = Store(cfg.paths.database)
    await store.open()
    service = MoosicService(cfg, catalog, face_reader, store, song_models)
    yield service
    await service.close()
    await store.close()


@pytest.fixture
async def tg_fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def tg(spotify_service, tg_fake):
    bot = make_bot(spotify_service, tg_fake)
    await bot.start(poll_timeout=5)
    yield bot
    await bot.stop()


def listed_ids(songs: Call) -> list[str]:
    """The track ids of a list, in the order shown (its 👍 buttons)."""
    return [a.split(":", 2)[2] for a in songs.actions() if a.startswith("fb:+:")]


def save_action(songs: Call) -> str:
    action, = [a for a in songs.actions() if a.startswith("save:")]
    return action


async def press(fake: FakeTelegram, action: str, uid: int = ANA,
                chat: dict | None = None) -> Call:
    """Press a button; the next message in the user's private chat."""
    before = len(fake.sent("sendMessage", uid))
    fake.push_button(chat or private_chat(uid), user(uid), action)
    return (await fake.replies(uid, before + 1))[before]


async def document(fake: FakeTelegram, uid: int = ANA, n: int = 1) -> Call:
    await fake.wait_for(lambda f: len(f.sent("sendDocument", uid)) >= n)
    return fake.sent("sendDocument", uid)[n - 1]


def read_back(sent: Call) -> list[str]:
    """The track ids of an uploaded playlist file, as the project's own CSV import reads it."""
    assert sent.upload is not None
    name, data = sent.upload
    return [str(t.track_id) for t in read_playlist_csv(data, name)]


async def sign_in_on_telegram(fake: FakeTelegram, reply_with_link: Call) -> Call:
    """Open the sign-in link (approve as alice), paste where the browser ended."""
    url = reply_with_link.text.splitlines()[-1]
    location = await asyncio.to_thread(approve, url, "alice")
    return await say(fake, location)


async def test_oauth_user_is_asked_for_the_permission_once_then_the_list_is_saved(
        tg, tg_fake, music: FakeSpotify) -> None:  # noqa: F811
    linked = await sign_in_on_telegram(tg_fake, await say(tg_fake, "/link spotify"))
    assert "Signed in to Spotify as Alice" in linked.text
    assert WRITE_SCOPE not in music.token_scopes[next(iter(music.refresh))]  # never at link
    songs = await say(tg_fake, "/mood calm")
    assert "💾 Save" in str(songs.markup)
    ask = await press(tg_fake, save_action(songs))
    assert "one more permission" in ask.text and WRITE_SCOPE in ask.text.splitlines()[-1]
    assert ask.actions() == [f"{save_action(songs)}:file"]  # or a file, one tap
    assert music.playlists_of("alice") == []
    done = await sign_in_on_telegram(tg_fake, ask)
    assert "Signed in to Spotify as Alice" in done.text
    made, = music.playlists_of("alice")
    assert made.name == f"Moo-Sic · calm · {TODAY}" and not made.public
    assert made.track_ids() == listed_ids(songs)  # exactly those tracks, in order
    assert f"https://open.spotify.com/playlist/{made.playlist_id}" in done.text
    # The permission stays: the next list is saved at once.
    more = await say(tg_fake, "/mood happy")
    saved = await press(tg_fake, save_action(more))
    assert saved.text.startswith('💾 Saved "Moo-Sic · happy')
    assert music.playlists_of("alice")[1].track_ids() == listed_ids(more)
    assert tg_fake.sent("sendDocument") == []


async def test_a_429_during_the_save_ends_in_a_clear_message_and_the_file(
        tg, tg_fake, music: FakeSpotify) -> None:  # noqa: F811
    await sign_in_on_telegram(tg_fake, await say(tg_fake, "/link spotify"))
    songs = await say(tg_fake, "/mood sad")
    await sign_in_on_telegram(tg_fake, await press(tg_fake, save_action(songs)))
    music.rate_limit(10, retry_after=3600, method="POST")  # Spotify says: come back in an hour
    older = await say(tg_fake, "/mood calm")
    failed = await press(tg_fake, save_action(older))
    assert "couldn't save the list to your Spotify" in failed.text
    assert "rate-limiting" in failed.text and "exportify.app" in failed.text
    sent = await document(tg_fake)
    assert sent.upload is not None
    name, data = sent.upload
    assert name == f"Moo-Sic-calm-{TODAY.replace(' ', '-')}.csv"
    assert "Import playlist" in sent.params["caption"]
    assert [t.track_id for t in read_playlist_csv(data, name)] == listed_ids(older)


async def test_a_playlist_user_gets_a_file_their_own_import_reads_back(
        tg, tg_fake, config, spotify_service) -> None:
    csv = (config.data.playlists_dir / "liked_songs_b.csv").read_bytes()
    tg_fake.push_message(private_chat(ANA), user(ANA),
                         document=tg_fake.document(csv, "liked_songs_b.csv", "text/csv"))
    await tg_fake.replies(ANA)
    songs = await say(tg_fake, "/mood happy")
    reply = await press(tg_fake, save_action(songs))
    assert reply.text.startswith('💾 Here\'s "Moo-Sic · happy') and "exportify.app" in reply.text
    sent = await document(tg_fake)
    assert sent.upload is not None
    name, data = sent.upload
    # The project's own import reads it back to the same tracks, in order.
    assert [t.track_id for t in read_playlist_csv(data, name)] == listed_ids(songs)
    # /save saves the latest list too; an old list's button still saves that list.
    newer = await say(tg_fake, "/mood sad")
    await say(tg_fake, "/save")
    assert read_back(await document(tg_fake, n=2)) == listed_ids(newer)
    await press(tg_fake, save_action(songs))
    assert read_back(await document(tg_fake, n=3)) == listed_ids(songs)


async def test_any_member_saves_a_group_list_and_gets_it_privately(tg, tg_fake) -> None:
    group = group_chat()
    for uid, text in ((ANA, "/group"), (ANA, "/mood calm"), (BEN, "/mood happy")):
        before = len(tg_fake.sent("sendMessage", group["id"]))
        tg_fake.push_message(group, user(uid, "Ana" if uid == ANA else "Ben"), text)
        await tg_fake.replies(group["id"], before + 1)
    before = len(tg_fake.sent("sendMessage", group["id"]))
    tg_fake.push_message(group, user(ANA), "/group done")
    listed = (await tg_fake.replies(group["id"], before + 1))[before]
    assert listed.text.startswith("🎶 For the 2 of you")
    reply = await press(tg_fake, save_action(listed), BEN, chat=group)  # Ben never linked
    assert "as a file" in reply.text
    sent = await document(tg_fake, BEN)
    assert sent.upload is not None and sent.upload[0].startswith("Moo-Sic-group-")
    shown = re.findall(r"open\.spotify\.com/track/(\w{22})", listed.text)
    assert [t.track_id for t in read_playlist_csv(sent.upload[1])] == shown
    assert tg_fake.sent("sendDocument", group["id"]) == []  # not posted to the group
    # Ben presses it again at once: a pop-up, not the same message and file twice.
    alerts = len(tg_fake.sent("answerCallbackQuery"))
    messages = len(tg_fake.sent("sendMessage", BEN))
    tg_fake.push_button(group, user(BEN, "Ben"), save_action(listed))
    await tg_fake.wait_for(lambda f: any(
        c.text == "I've just sent you that list." for c in f.sent("answerCallbackQuery")[alerts:]))
    assert len(tg_fake.sent("sendDocument", BEN)) == 1
    assert len(tg_fake.sent("sendMessage", BEN)) == messages
    await press(tg_fake, save_action(listed), ANA, chat=group)  # Ana still gets hers
    assert read_back(await document(tg_fake, ANA)) == shown


async def test_an_unknown_or_forgotten_list_gets_a_clear_answer(tg, tg_fake) -> None:
    assert "Ask me for songs first" in (await say(tg_fake, "/save")).text
    gone = await press(tg_fake, "save:notalist")
    assert "don't have that list any more" in gone.text
    assert tg_fake.sent("sendDocument") == []


# --- Discord ----------------------------------------------------------------------------------
@pytest.fixture
async def discord_bot(spotify_service, discord_fake) -> AsyncIterator[DiscordFrontEnd]:  # noqa: F811
    front = _front(Conversation(spotify_service), discord_fake)
    await front.start()
    yield front
    await front.stop()


async def test_discord_save_sends_the_list_as_an_attachment(
        discord_bot, discord_fake: FakeDiscord) -> None:  # noqa: F811
    songs = await ask(discord_fake, _mood(discord_fake, "calm"))
    save, = [c for c in songs.custom_ids if c.startswith("save:")]
    ids = [c.split(":", 2)[2] for c in songs.custom_ids if c.startswith("fb:+:")]
    saved = await ask(discord_fake, discord_fake.press(save, songs.followups[0], user_id=BOB))
    assert saved.ephemeral and "as a file" in saved.text
    (name, data), = saved.followups[-1].files.items()
    assert name.endswith(".csv")
    assert [t.track_id for t in read_playlist_csv(data, name)] == ids


async def test_discord_save_command_keeps_the_last_list(
        discord_bot, discord_fake: FakeDiscord) -> None:  # noqa: F811
    nothing = await ask(discord_fake, discord_fake.slash("save", user_id=BOB))
    assert nothing.ephemeral and "Ask me for songs first" in nothing.text
    songs = await ask(discord_fake, _mood(discord_fake, "happy", user=BOB))
    ids = [c.split(":", 2)[2] for c in songs.custom_ids if c.startswith("fb:+:")]
    saved = await ask(discord_fake, discord_fake.slash("save", {"as_file": True}, user_id=BOB))
    assert saved.ephemeral
    (name, data), = saved.followups[-1].files.items()
    assert [t.track_id for t in read_playlist_csv(data, name)] == ids


# --- console and CLI --------------------------------------------------------------------------
async def test_console_save_writes_the_file_here_or_where_told(
        spotify_service, tmp_path: Path) -> None:
    chat = ConsoleChat(Conversation(spotify_service), folder=tmp_path)
    assert "Ask me for songs first" in await chat.send("/save")
    await chat.send("/mood calm")
    assert chat.last is not None
    ids = [b.action.split(":", 2)[2] for row in chat.last.buttons for b in row
           if b.action.startswith("fb:+:")]
    first = await chat.send("/save")
    written = tmp_path / f"Moo-Sic-calm-{TODAY.replace(' ', '-')}.csv"
    assert f"Saved to {written}" in first
    assert [t.track_id for t in read_playlist_csv(written.read_bytes())] == ids
    await chat.send("/save")  # never overwrites the first file
    assert written.with_name(f"{written.stem} (2).csv").is_file()
    target = tmp_path / "sub dir" / "mine.csv"
    target.parent.mkdir()
    answer = await chat.send(f"/save '{target}'")
    assert f"Saved to {target}" in answer
    assert [t.track_id for t in read_playlist_csv(target.read_bytes())] == ids
    bad = await chat.send(f"/save {tmp_path}/missing/dir/x.csv")
    assert bad == f"There's no folder {tmp_path}/missing/dir. Use /save with a path in a " \
        "folder that exists."  # one answer, not "Here's the file" and then "couldn't"
    assert not (tmp_path / "missing").exists()


async def test_console_save_path_never_overwrites_a_file(spotify_service, tmp_path: Path) -> None:
    chat = ConsoleChat(Conversation(spotify_service), folder=tmp_path)
    await chat.send("/mood calm")
    mine, notes = tmp_path / "mine.csv", tmp_path / "notes.txt"
    mine.write_text("Track Name,Artist Name(s)\nMy Song,Me\n")
    notes.write_text("buy milk\n")
    for target in (mine, notes):
        before = target.read_bytes()
        answer = await chat.send(f"/save {target}")
        assert answer == (f"{target} already exists and I never overwrite your files. Use /save "
                          "with a new file name, or a folder.")
        assert target.read_bytes() == before
    linked = tmp_path / "link.csv"
    linked.symlink_to(tmp_path / "nowhere.csv")  # a dangling link is a name in use too
    assert "already exists" in await chat.send(f"/save {linked}")
    assert not (tmp_path / "nowhere.csv").exists()
    too_long = tmp_path / ("x" * 300 + ".csv")  # a name no file system takes
    answer = await chat.send(f"/save {too_long}")
    assert answer.startswith(f"I couldn't write the list to {too_long}: File name too long.")
    assert "Nothing was saved" in answer and "Here's" not in answer


def test_cli_save_csv(moosic, config, tmp_path: Path) -> None:
    out = tmp_path / "list.csv"
    code, data, err = moosic("recommend", "--mood", "calm", "-n", "7", "--json",
                             "--save-csv", str(out))
    assert code == 0, err
    assert [t.track_id for t in read_playlist_csv(out.read_bytes())] == \
        [t["track_id"] for t in data["tracks"]]
    assert "exportify.app" in err
    group_out = tmp_path / "group.csv"
    a, c = (str(config.data.playlists_dir / f"liked_songs_{x}.csv") for x in "ac")
    code, data, err = moosic("group", "--member", a, "--member", c, "--mood", "0.3", "-n", "5",
                             "--json", "--save-csv", str(group_out))
    assert code == 0, err
    assert [t.track_id for t in read_playlist_csv(group_out.read_bytes())] == \
        [t["track_id"] for t in data["tracks"]]


async def test_a_save_that_breaks_off_names_the_playlist_and_sends_the_file(
        tg, tg_fake, music: FakeSpotify) -> None:  # noqa: F811
    await sign_in_on_telegram(tg_fake, await say(tg_fake, "/link spotify"))
    songs = await say(tg_fake, "/mood calm")
    music.fail_write(after=1, status=503)  # the playlist is made, adding its songs fails
    done = await sign_in_on_telegram(tg_fake, await press(tg_fake, save_action(songs)))
    made, = music.playlists_of("alice")
    assert f"I made the playlist \"Moo-Sic · calm · {TODAY}\"" in done.text
    assert made.playlist_id in done.text and "but couldn't add the songs" in done.text
    assert "isn't answering" in done.text
    assert read_back(await document(tg_fake)) == listed_ids(songs)


async def test_a_revoked_sign_in_gets_the_file_and_says_to_link_again(
        tg, tg_fake, music: FakeSpotify) -> None:  # noqa: F811
    await sign_in_on_telegram(tg_fake, await say(tg_fake, "/link spotify"))
    first = await say(tg_fake, "/mood calm")
    await sign_in_on_telegram(tg_fake, await press(tg_fake, save_action(first)))
    music.revoke_access_tokens()
    music.refresh.clear()  # the user removed the app in their Spotify account
    songs = await say(tg_fake, "/mood happy")
    reply = await press(tg_fake, save_action(songs))
    assert "couldn't save the list to your Spotify" in reply.text and "/link spotify" in reply.text
    assert read_back(await document(tg_fake)) == listed_ids(songs)
