"""Discord sharding: discord.py's AutoShardedClient against the fake gateway, which sends each
event only to the shard Discord would (``(guild_id >> 22) % shard_count``, DMs to shard 0).

One process may run every shard (the count Discord recommends, by default), or several bot
processes split the shards over one database; every interaction is answered exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.conversation import Conversation
from bot.discord_bot import DiscordFrontEnd
from moosic_core import PROJECT_ROOT
from moosic_core.config import DiscordConfig
from moosic_core.config_check import discord_shards
from moosic_core.errors import ConfigError
from tests.fakes.discord import GUILD_ID, FakeDiscord, Recorded, shard_of
from tests.test_discord import TOKEN, Answer, fake  # noqa: F401 - the fixture

#: Two servers on different shards of 2 (a snowflake's bits from 22 up are its time).
GUILD_ON_0, GUILD_ON_1 = GUILD_ID, str(int(GUILD_ID) + (1 << 22))


def test_the_two_guilds_are_on_different_shards() -> None:
    assert (shard_of(GUILD_ON_0, 2), shard_of(GUILD_ON_1, 2), shard_of(None, 2)) == (0, 1, 0)


# --- the settings -----------------------------------------------------------------------------
@pytest.mark.parametrize(("count", "ids", "expected"), [
    (0, "", (None, None)),
    (4, "", (4, None)),
    (4, "1", (4, [1])),
    (4, " 0 , 3", (4, [0, 3])),
    (16, "0-3,8", (16, [0, 1, 2, 3, 8])),
])
def test_shard_settings(count: int, ids: str, expected: tuple[Any, Any]) -> None:
    assert discord_shards(DiscordConfig(shard_count=count, shard_ids=ids)) == expected


@pytest.mark.parametrize(("count", "ids", "words"), [
    (2, "0,2", "has shard 2, but discord.shard_count = 2 numbers the shards 0 to 1"),
    (2, "5-6", "has shard 5"),
    (2, "0-99999999", "has shard 2"),  # refused at once, never expanded into a list
    (4, "2-9", "has shard 4"),
    (0, "0", "needs discord.shard_count"),
    (4, "1,1", "lists shard 1 more than once"),
    (4, "0-1,1-2", "lists shard 1 more than once"),
    (4, "one", "must be shard numbers"),
    (4, "3-1", "must be shard numbers"),
    (4, "-1", "must be shard numbers"),
    (4, "0,,1", "must be shard numbers"),
])
def test_bad_shard_settings_name_the_key(count: int, ids: str, words: str) -> None:
    with pytest.raises(ConfigError, match=r"discord\.shard_ids") as raised:
        discord_shards(DiscordConfig(shard_count=count, shard_ids=ids))
    assert words in str(raised.value)


async def test_the_front_end_refuses_bad_shard_ids(service) -> None:
    config = DiscordConfig(token=TOKEN, shard_count=2, shard_ids="1,2")
    with pytest.raises(ConfigError, match="has shard 2"):
        DiscordFrontEnd(Conversation(service), config)


def test_shard_ids_out_of_range_stop_the_start_with_the_key(moosic) -> None:
    """An operator error: exit 2 before the models load, the key named, no traceback."""
    code, _, stderr = moosic("bot", "discord", env={
        "MOOSIC_DISCORD_TOKEN": TOKEN, "MOOSIC_DISCORD_SHARD_COUNT": "2",
        "MOOSIC_DISCORD_SHARD_IDS": "0,2"})
    assert code == 2, stderr
    assert "config discord.shard_ids" in stderr and "numbers the shards 0 to 1" in stderr
    assert "Traceback" not in stderr and TOKEN not in stderr
    assert "service ready" not in stderr  # stopped before loading anything


# --- answering ------------------------------------------------------------------------------
def _mood(server: FakeDiscord, n: int, where: str) -> dict[str, Any]:
    """``/mood`` from user ``n`` in a server on shard 0 or 1, or in a DM."""
    user = str(1600000000000000100 + n)
    if where == "dm":
        return server.slash("mood", {"feeling": "happy"}, user_id=user, guild=False)
    guild = GUILD_ON_0 if where == "shard 0" else GUILD_ON_1
    return server.slash("mood", {"feeling": "happy"}, user_id=user, guild_id=guild)


async def answer_to(server: FakeDiscord, payload: dict[str, Any]) -> Answer:
    """The callback and follow-up of an interaction delivered already."""
    callback, = await server.wait_for(
        lambda r: r.path.startswith(f"/interactions/{payload['id']}/"), timeout=60)
    followups = await server.wait_for(
        lambda r: r.method == "POST" and r.path.startswith("/webhooks/")
        and r.path.endswith(str(payload["token"])), timeout=60)
    return Answer(callback, followups, False)


def answers_of(server: FakeDiscord, payload: dict[str, Any]) -> list[Recorded]:
    """Every callback and follow-up message the bot sent for the interaction."""
    return [r for r in server.requests if r.path.startswith(f"/interactions/{payload['id']}/")
            or (r.method == "POST" and r.path.endswith(str(payload["token"])))]


async def test_one_process_runs_every_shard_discord_recommends(service, fake) -> None:  # noqa: F811
    fake.recommended_shards = 2  # shard_count = 0: ask GET /gateway/bot
    front = DiscordFrontEnd(Conversation(service),
                            DiscordConfig(token=TOKEN, api_url=fake.api_url),
                            guild_ready_timeout=0.05)
    await front.start()
    try:
        assert fake.identified_shards() == [(0, 2), (1, 2)]
        assert front.connected()
        payloads = [_mood(fake, i, where) for i, where in enumerate(
            ("shard 0", "shard 1", "dm"))]
        for payload in payloads:
            await fake.interact(payload)
        for payload in payloads:
            answer = await answer_to(fake, payload)
            assert answer.embed["title"].startswith("Songs for feeling happy")
            assert len(answers_of(fake, payload)) == 2  # one callback, one follow-up
    finally:
        await front.stop()
    assert not front.connected()


# --- two processes, one database --------------------------------------------------------------
async def _start_bot(server: FakeDiscord, via: str, shard: int, database: Path | str,
                     ) -> asyncio.subprocess.Process:
    """``moosic bot discord`` in its own process, running shard ``shard`` of 2."""
    env = {**os.environ, "MOOSIC_DISCORD_TOKEN": TOKEN,
           "MOOSIC_DISCORD_API_URL": server.api_url_for(via),
           "MOOSIC_DISCORD_SHARD_COUNT": "2", "MOOSIC_DISCORD_SHARD_IDS": str(shard)}
    if isinstance(database, Path):
        env["MOOSIC_PATHS_DATABASE"] = str(database)
    else:
        env["MOOSIC_STORE_DATABASE_URL"] = database
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "bot", "discord", cwd=PROJECT_ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)


@contextlib.asynccontextmanager
async def two_bots(server: FakeDiscord, database: Path | str
                   ) -> AsyncIterator[dict[str, tuple[int | None, str]]]:
    """Bot processes "a" (shard 0 of 2) and "b" (shard 1 of 2) over one SQLite file or one
    PostgreSQL database, stopped with SIGTERM at the end; then the dict holds each one's exit
    code and log (stderr)."""
    procs = {"a": await _start_bot(server, "a", 0, database),
             "b": await _start_bot(server, "b", 1, database)}
    logs: dict[str, tuple[int | None, str]] = {}
    try:
        for _ in range(1800):  # both processes load the models: up to 90 s on a busy machine
            if server.identified_shards() == [(0, 2), (1, 2)] or any(
                    p.returncode is not None for p in procs.values()):
                break
            await asyncio.sleep(0.05)
        assert server.identified_shards() == [(0, 2), (1, 2)]
        yield logs
    finally:
        for proc in procs.values():
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in procs.items():
            try:
                _, stderr = await asyncio.wait_for(proc.communicate(), 30)
            except TimeoutError:
                proc.kill()
                _, stderr = await proc.communicate()
            logs[name] = (proc.returncode, stderr.decode(errors="replace"))


async def test_two_processes_split_the_shards_and_answer_each_interaction_once(
        fake, store_target) -> None:  # noqa: F811
    places = ["shard 0", "shard 1", "dm"] * 3
    async with two_bots(fake, store_target) as logs:
        payloads = [_mood(fake, i, where) for i, where in enumerate(places)]
        for payload in payloads:
            await fake.interact(payload)
        for payload, where in zip(payloads, places, strict=True):
            answer = await answer_to(fake, payload)
            assert answer.embed["title"].startswith("Songs for feeling happy")
            sent = answers_of(fake, payload)
            assert len(sent) == 2  # one callback, one follow-up: answered once
            # only the process running the interaction's shard received it and answered
            assert {r.via for r in sent} == {"b" if where == "shard 1" else "a"}, where

        # One interaction reaching both processes (a shard run twice by mistake, a replay
        # while one resumes): the shared claim table lets exactly one of them answer it.
        doubled = [_mood(fake, 100 + i, where) for i, where in enumerate(places[:6])]
        for payload in doubled:
            await fake.interact(payload, every_shard=True)
        later = [_mood(fake, 200, "shard 0"), _mood(fake, 201, "shard 1")]
        for payload in later:  # each process reads these after the doubled ones
            await fake.interact(payload)
        for payload in [*doubled, *later]:
            await answer_to(fake, payload)
        await asyncio.sleep(0.5)  # a second answer to a doubled one would have come by now
        for payload in [*doubled, *later]:
            assert len(answers_of(fake, payload)) == 2, payload["id"]
    for name, shard in (("a", 0), ("b", 1)):
        code, log_text = logs[name]
        assert code == 0, log_text[-2000:]
        assert f"(shard {shard} of 2)" in log_text
        assert TOKEN not in log_text
