"""Group rounds through the console chat of several bot processes over one store (SQLite file
or PostgreSQL), with the real service: a round opened by one process is joined on another and
closes on its timer once; a restarted bot keeps the round and closes it on time."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.console import ConsoleChat
from bot.conversation import Conversation, Reply
from bot.hints import CHAT_HINTS
from moosic_core.service import MoosicService
from moosic_core.store import Store
from moosic_core.types import UserRef


class Bot:
    """One bot process: its service over its own store connection, its conversation, and
    what its timer posted."""

    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation
        self.posted: list[tuple[str, Reply]] = []

        async def notify(chat: str, reply: Reply) -> None:
            self.posted.append((chat, reply))

        conversation.set_notifier("console", notify)

    def chat(self, user_id: str, name: str, chat: str = "room") -> ConsoleChat:
        return ConsoleChat(self.conversation, UserRef("console", user_id), chat=chat, name=name)


@asynccontextmanager
async def bot_process(config, catalog, face_reader, song_models, target: Path | str,
                      round_s: float) -> AsyncIterator[Bot]:
    """A bot started on ``target`` as ``moosic run`` starts one (sweeper included) and
    stopped at the end (its rounds stay in the store)."""
    service_config = dataclasses.replace(config.service, group_sweep_s=0.2)
    cfg = dataclasses.replace(config, service=service_config)
    store = Store(target)
    await store.open()
    service = MoosicService(cfg, catalog, face_reader, store, song_models,
                            hint_words=CHAT_HINTS)
    conversation = Conversation(service)
    conversation.groups.round_s = round_s
    conversation.groups.start_sweeper()
    try:
        yield Bot(conversation)
    finally:
        await conversation.groups.close_all()
        await service.close()
        await store.close()


async def wait_for_post(*bots: Bot, within_s: float = 10.0) -> None:
    for _ in range(int(within_s / 0.05)):
        if any(b.posted for b in bots):
            return
        await asyncio.sleep(0.05)


async def test_a_round_opened_on_one_bot_is_joined_on_another_and_closes_once(
        config, catalog, face_reader, song_models, store_target: Path | str) -> None:
    async with bot_process(config, catalog, face_reader, song_models, store_target, 2.0) as a, \
            bot_process(config, catalog, face_reader, song_models, store_target, 2.0) as b:
        opened = await a.chat("1", "Ana").send("/group")
        assert "Group round open" in opened
        assert "A group round is already open" in await b.chat("9", "Zed").send("/group")
        assert await b.chat("2", "Ben").send("/mood happy") == \
            "Ben is in, feeling happy. 2 people in the round."
        assert await a.chat("3", "Cy").send("/press group:join") == \
            "Cy is in. 3 people in the round."
        assert await b.chat("3", "Cy").send("/press group:join") == "You're already in."
        assert await b.chat("1", "Ana").send("I'm in") == "You're already in."
        await wait_for_post(a, b)
        await asyncio.sleep(0.6)  # a second sweep on each: nothing more is posted
        posted = a.posted + b.posted
        assert len(posted) == 1, posted
        chat, reply = posted[0]
        assert chat == "room"
        assert reply.text.startswith("🎶 For the 3 of you (Ana, Ben, Cy): the group's mood is ")
        assert "There's no group round" in await a.chat("1", "Ana").send("/group done")


async def test_a_round_survives_a_restart_and_closes_on_its_timer_once(
        config, catalog, face_reader, song_models, store_target: Path | str) -> None:
    async with bot_process(config, catalog, face_reader, song_models, store_target,
                           2.5) as before:
        assert "Group round open" in await before.chat("1", "Ana").send("/group lift")
        assert await before.chat("2", "Ben").send("/mood sad") == \
            "Ben is in, feeling sad. 2 people in the round."
    # The bot stopped (its sweeper with it) and starts again on the same database.
    async with bot_process(config, catalog, face_reader, song_models, store_target,
                           2.5) as after:
        assert await after.chat("3", "Cy").send("/press group:join") == \
            "Cy is in. 3 people in the round."
        assert "A group round is already open" in await after.chat("3", "Cy").send("/group")
        await wait_for_post(after)
        await asyncio.sleep(0.5)
        assert len(after.posted) == 1 and before.posted == []
        text = after.posted[0][1].text
        assert text.startswith("🎶 For the 3 of you (Ana, Ben, Cy): the group's mood is sad")
        assert "There's no group round" in await after.chat("1", "Ana").send("/group done")


async def test_forget_takes_a_member_out_of_the_open_round(
        config, catalog, face_reader, song_models, store_target: Path | str) -> None:
    """/forget on one bot deletes the membership another bot's round holds; the round stays
    open for the others and closes on its timer (an empty one too)."""
    async with bot_process(config, catalog, face_reader, song_models, store_target,
                           600) as a, \
            bot_process(config, catalog, face_reader, song_models, store_target, 600) as b:
        await a.chat("1", "Ana").send("/group")
        await a.chat("2", "Ben").send("/mood happy")
        assert "deleted everything" in await b.chat("2", "Ben").send("/forget yes")
        assert await a.chat("3", "Cy").send("/mood sad") == \
            "Cy is in, feeling sad. 2 people in the round."
        result = await b.chat("3", "Cy").send("/group done")
        assert result.startswith("🎶 For the 2 of you (Ana, Cy): the group's mood is sad")
        assert "Ben" not in result
