"""Group rounds: who is in a chat's round, with which mood, until it closes (timer or asked).

Rounds are keyed by chat id, so rounds in different chats are independent. Members join with
a mood (a selfie or a stated mood) or with their taste only; a group photo adds one anonymous
reading per face (faces are never linked to members). When the timer fires, the round closes
and ``on_timeout(chat, result)`` posts the result.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from moosic_core.errors import MoosicError
from moosic_core.recommend.group import GroupList
from moosic_core.recommend.ranking import Mode
from moosic_core.service import MoosicService
from moosic_core.types import MoodReading, UserRef

log = logging.getLogger(__name__)

OnTimeout = Callable[[str, GroupList], Awaitable[None]]


class NoRound(MoosicError):
    user_message = "There's no group round in this chat. Start one with /group."


class RoundOpen(MoosicError):
    user_message = "A group round is already open here: join it, or close it with /group done."


@dataclass
class Member:
    user: UserRef
    name: str
    mood: MoodReading | None = None


@dataclass
class Round:
    """One chat's open round."""

    chat: str
    mode: Mode
    members: dict[str, Member] = field(default_factory=dict)
    photo_readings: list[MoodReading] = field(default_factory=list)
    timer: asyncio.Task[None] | None = None

    @property
    def readings(self) -> list[MoodReading]:
        return [m.mood for m in self.members.values() if m.mood is not None] + \
            self.photo_readings


class GroupRounds:
    """The open rounds of every chat; closing one asks the service for the group list."""

    def __init__(self, service: MoosicService, round_s: float | None = None,
                 on_timeout: OnTimeout | None = None) -> None:
        self.service = service
        self.round_s = service.config.service.group_round_s if round_s is None else round_s
        self.on_timeout = on_timeout
        self._rounds: dict[str, Round] = {}

    def get(self, chat: str) -> Round | None:
        return self._rounds.get(chat)

    def start(self, chat: str, user: UserRef, name: str, mode: Mode = "match") -> Round:
        """Open a round (the starter is in it, taste only) and start its timer."""
        if chat in self._rounds:
            raise RoundOpen()
        round_ = Round(chat, mode)
        round_.members[user.key] = Member(user, name)
        self._rounds[chat] = round_
        if self.round_s > 0:
            round_.timer = asyncio.get_running_loop().create_task(self._expire(chat, round_))
        log.info("group round opened in a chat (%d s)", self.round_s)
        return round_

    def join(self, chat: str, user: UserRef, name: str, mood: MoodReading | None = None
             ) -> Round:
        """Join (or update one's mood in) the chat's round; ``None`` keeps a mood already given."""
        round_ = self._open(chat)
        member = round_.members.setdefault(user.key, Member(user, name))
        member.name = name
        if mood is not None:
            member.mood = mood
        return round_

    def add_group_photo(self, chat: str, user: UserRef, name: str,
                        faces: Sequence[MoodReading]) -> Round:
        """The sender joins; every face counts once for the mood, linked to nobody."""
        round_ = self.join(chat, user, name)
        round_.photo_readings.extend(faces)
        return round_

    def leave(self, chat: str, user: UserRef) -> bool:
        round_ = self._open(chat)
        return round_.members.pop(user.key, None) is not None

    async def close(self, chat: str) -> GroupList:
        """Close the round and rank for whoever is in it."""
        round_ = self._rounds.pop(chat, None)
        if round_ is None:
            raise NoRound()
        if round_.timer is not None and round_.timer is not asyncio.current_task():
            round_.timer.cancel()
        members = [(m.user, m.name) for m in round_.members.values()]
        return await self.service.recommend_group(members, round_.readings, round_.mode)

    async def close_all(self) -> None:
        """Cancel every timer (on shutdown); the rounds are dropped."""
        for round_ in self._rounds.values():
            if round_.timer is not None:
                round_.timer.cancel()
        self._rounds.clear()

    def _open(self, chat: str) -> Round:
        round_ = self._rounds.get(chat)
        if round_ is None:
            raise NoRound()
        return round_

    async def _expire(self, chat: str, round_: Round) -> None:
        await asyncio.sleep(self.round_s)
        if self._rounds.get(chat) is not round_:
            return
        try:
            result = await self.close(chat)
            if self.on_timeout is not None:
                await self.on_timeout(chat, result)
        except Exception:
            log.exception("closing a group round on its timer failed")
