"""Group rounds: who is in a chat's round, with which mood, until it closes (timer or asked).

Rounds live in the store (:mod:`moosic_core.store.group_store`), keyed by chat, so every bot
replica over one database sees the same rounds and a restarted bot keeps them: one round per
chat, joined on any replica. Members join with a mood (a selfie or a stated mood) or with their
taste only; a group photo adds one anonymous reading per face (faces are never linked to
members, and only the readings' numbers are stored).

The closing timer, across replicas: each round has a ``closes_at``; each process runs ONE
sweeper task (:meth:`GroupRounds.start_sweeper`) that wakes when the next round it knows of is
due, and at least every ``service.group_sweep_s`` seconds (one indexed read), to pick up rounds
opened elsewhere. A due round is taken with a lease (``closing_until``; on PostgreSQL the pick
is ``SELECT ... FOR UPDATE SKIP LOCKED``); the holder computes the group list, confirms and
extends its lease, posts the list through ``on_timeout(chat, result)`` (the chat platform's
notifier), then deletes the round with a ``DELETE`` naming its lease. A replica that dies while
holding the lease leaves the round to the others: it is taken again once the lease expires.

**The remaining window** (a list posted twice): only when the holder dies after the platform
accepted its post and before its ``DELETE`` committed (a ``DELETE`` that fails is tried again
for a few seconds, ``DONE_WRITE_WAITS_S``), i.e. the post's HTTP response on its way
back plus one single-statement transaction (milliseconds); another replica then posts the list
again when the lease (``lease_s``, 60 s) expires. Nothing else can double it: the lease is
confirmed and extended just before the post, and the post is cut off at half the lease, so a
slow but living holder deletes the round while its lease still holds and never overlaps a
taker; a holder whose lease was taken over (it stalled longer than the lease while ranking)
posts nothing. A post that fails is not retried (the round is deleted), as before rounds were
shared. A ``/group done`` answers only after its ``DELETE`` committed: a replica dying before
that leaves the round to the sweepers (it is due at once, taken when the lease expires);
dying after it loses that one reply, never doubles it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence

from moosic_core.errors import MoosicError
from moosic_core.recommend.group import GroupList
from moosic_core.recommend.ranking import Mode
from moosic_core.retrying import retry_done_write
from moosic_core.service import MoosicService
from moosic_core.store.db import describe_unreachable, is_unreachable, log_failure
from moosic_core.store.group_store import Member, Round, TakenRound
from moosic_core.types import MoodReading, UserRef

log = logging.getLogger(__name__)

OnTimeout = Callable[[str, GroupList], Awaitable[None]]

#: How long a replica closing a round holds it (seconds): enough to rank and post the list.
ROUND_LEASE_S = 60.0
#: On shutdown, closes under way get this long to post their lists before they are stopped.
CLOSE_DRAIN_S = 5.0
#: The sweeper never loops faster than this (a due round another replica just took).
MIN_SWEEP_S = 0.02


class NoRound(MoosicError):
    user_message = "There's no group round in this chat. Start one with /group."


class RoundOpen(MoosicError):
    user_message = "A group round is already open here: join it, or close it with /group done."


class GroupRounds:
    """The open rounds of every chat (in the store); closing one asks the service for the list.

    ``round_s``: a round's length (default ``service.group_round_s``; 0 or less: no timer).
    ``on_timeout(chat, result)`` posts a list closed by the timer. ``platforms()`` names the
    platforms this process can post to (the chat key's prefix); the sweeper takes only their
    rounds, leaving the others to replicas that serve them (None: every platform).
    """

    def __init__(self, service: MoosicService, round_s: float | None = None,
                 on_timeout: OnTimeout | None = None, *, sweep_s: float | None = None,
                 lease_s: float = ROUND_LEASE_S,
                 platforms: Callable[[], Collection[str]] | None = None) -> None:
        self.service = service
        self.store = service.store
        self.round_s = service.config.service.group_round_s if round_s is None else round_s
        self.sweep_s = service.config.service.group_sweep_s if sweep_s is None else sweep_s
        self.lease_s = lease_s
        self.on_timeout = on_timeout
        self.platforms = platforms
        self._sweeper: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._closing: set[asyncio.Task[None]] = set()
        #: The last sweep found the database unreachable (logged once per outage).
        self.database_down = False

    # --- the rounds ------------------------------------------------------------------------
    async def get(self, chat: str) -> Round | None:
        """The chat's open round (None: none, or it is being closed)."""
        return await self.store.group_round(chat)

    async def is_open(self, chat: str) -> bool:
        """Whether the chat has an open round (cheaper than :meth:`get`)."""
        return await self.store.round_is_open(chat)

    async def start(self, chat: str, user: UserRef, name: str, mode: Mode = "match") -> Round:
        """Open a round (the starter is in it, taste only) closing in ``round_s`` seconds.

        Raises :class:`RoundOpen` when the chat has one (on any replica)."""
        round_ = await self.store.open_round(chat, user, name, mode,
                                             self.round_s if self.round_s > 0 else None)
        if round_ is None:
            raise RoundOpen()
        if round_.closes_at is not None:
            self.start_sweeper()
            self._poke()
        log.info("group round opened in a chat (%s s)", self.round_s)
        return round_

    async def join(self, chat: str, user: UserRef, name: str, mood: MoodReading | None = None
                   ) -> Round:
        """Join (or update one's mood in) the chat's round; ``None`` keeps a mood already given.

        Raises :class:`NoRound` when the chat has no open round."""
        round_ = await self.store.join_round(chat, user, name, mood)
        if round_ is None:
            raise NoRound()
        return round_

    async def add_group_photo(self, chat: str, user: UserRef, name: str,
                              faces: Sequence[MoodReading]) -> Round:
        """The sender joins; every face counts once for the mood, linked to nobody.

        Raises :class:`NoRound` when the chat has no open round."""
        round_ = await self.store.join_round(chat, user, name, None, faces)
        if round_ is None:
            raise NoRound()
        return round_

    async def leave(self, chat: str, user: UserRef) -> bool:
        """Whether the user was in the round (and is out now); :class:`NoRound` without one."""
        left = await self.store.leave_round(chat, user)
        if left is None:
            raise NoRound()
        return left

    async def close(self, chat: str) -> GroupList:
        """Close the round now (``/group done``) and rank for whoever is in it.

        Raises :class:`NoRound` when the chat has none, or another replica is closing it."""
        taken = await self.store.take_round(chat, self.lease_s)
        if taken is None:
            raise NoRound()
        try:
            result = await self._rank(taken.round)
        finally:  # a failed ranking closes the round too (the user is told), as it always did
            finished = await self.store.finish_round(chat, taken.lease)
        if not finished:  # too slow: the lease expired and a sweeper took the round over
            log.warning("a group round closed by command was taken over; its list is posted "
                        "by the replica that took it")
            raise NoRound()
        return result

    async def _rank(self, round_: Round) -> GroupList:
        members = [(m.user, m.name) for m in round_.members.values()]
        return await self.service.recommend_group(members, round_.readings, round_.mode)

    # --- the timer -------------------------------------------------------------------------
    def start_sweeper(self) -> None:
        """Start this process's one sweeper task (idempotent; needs a running event loop)."""
        if self._sweeper is None or self._sweeper.done():
            self._wake = asyncio.Event()
            self._sweeper = asyncio.get_running_loop().create_task(
                self._sweep_forever(), name="group-round-sweeper")

    async def close_all(self, drain_s: float = CLOSE_DRAIN_S) -> None:
        """Stop the sweeper (on shutdown), give the closes it has under way up to
        ``drain_s`` seconds to post their lists, then stop them too. The rounds stay in the
        store: this or another replica closes them on their timers; a close cut short here is
        taken over when its lease expires."""
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
        closing = [t for t in self._closing if not t.done()]
        if closing:
            await asyncio.wait(closing, timeout=drain_s)
        for task in closing:
            task.cancel()
        for task in closing:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def sweep(self) -> int:
        """Take every round that is due (and nobody holds) and close it; the number taken.
        Each taken round closes in its own task (:meth:`wait_closed` waits for them)."""
        return (await self._sweep_once())[0]

    async def _sweep_once(self) -> tuple[int, float | None]:
        """One sweep: (rounds taken, when the next round of ours becomes takeable or None).

        One indexed read (rounds due within ``sweep_s``); writes only when one is due now."""
        if not self._can_post_any():
            return 0, None
        now = self.store.clock()
        times = [d.takeable_at() for d in await self.store.due_rounds(
            now + self.sweep_s, platforms=self._platforms())]
        later = [t for t in times if t > now]
        if len(later) == len(times):
            return 0, min(later, default=None)
        taken = 0
        while (round_ := await self.store.take_due_round(self.lease_s,
                                                         self._platforms())) is not None:
            taken += 1
            task = asyncio.get_running_loop().create_task(self._close_taken(round_))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        # What this sweep took (or saw taken) is leased now: look again when a lease or the
        # next round is due, at the latest after sweep_s.
        return taken, min(later, default=None)

    async def wait_closed(self) -> None:
        """Wait for the closes the sweeper has under way (tests, shutdown)."""
        while self._closing:
            await asyncio.gather(*list(self._closing), return_exceptions=True)

    async def _close_taken(self, taken: TakenRound) -> None:
        """Rank, confirm the lease, post, delete: see the module's note on the one window."""
        chat = taken.round.chat
        try:
            try:
                result = await self._rank(taken.round)
            except Exception:
                log.exception("ranking a group round closed by its timer failed")
                await self.store.finish_round(chat, taken.lease)
                return
            lease = await self.store.renew_lease(chat, taken.lease, self.lease_s)
            if lease is None:
                log.warning("a group round's lease expired while ranking; another replica "
                            "took it over")
                return
            try:
                if self.on_timeout is not None:
                    await asyncio.wait_for(self.on_timeout(chat, result), self.lease_s / 2)
            except Exception:
                log.exception("posting a group round closed by its timer failed")
            await self._finish_posted(chat, lease)
        except Exception as exc:  # the store failed: a sweeper retries when the lease expires
            log_failure(log, "closing a group round on its timer", exc)

    async def _finish_posted(self, chat: str, lease: float) -> None:
        """Delete a round whose list was posted, trying again (``DONE_WRITE_WAITS_S``, well
        within the half lease left) when the store fails: a round left behind would be posted
        a second time by the replica that takes it when the lease expires. Raises the store's
        last error."""
        await retry_done_write(lambda: self.store.finish_round(chat, lease),
                               "deleting a posted group round")

    async def _sweep_forever(self) -> None:
        """Sweep at every wake until the store closes. A failed sweep is logged with its
        traceback, except while the database is unreachable: one warning when that starts and
        one line when it is back (:attr:`database_down`)."""
        wake = self._wake
        assert wake is not None
        while self.store.is_open:
            wake.clear()
            delay = self.sweep_s
            try:
                _, next_at = await self._sweep_once()
                if next_at is not None:
                    delay = min(delay, max(MIN_SWEEP_S, next_at - self.store.clock()))
                if self.database_down:
                    self.database_down = False
                    log.info("group rounds: the database is back; rounds due meanwhile close now")
            except Exception as exc:
                if not self.store.is_open:  # the store closed under us: the process is ending
                    return
                if not is_unreachable(exc):
                    log.exception("sweeping group rounds failed; trying again in %s s", delay)
                elif not self.database_down:  # one line per outage, not one per wake
                    self.database_down = True
                    log.warning("group rounds: the database is unreachable (%s); sweeping again "
                                "every %s s until it is back", describe_unreachable(exc), delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), delay)

    def _poke(self) -> None:
        """Wake the sweeper: a round opened here may close before its next wake."""
        if self._wake is not None:
            self._wake.set()

    def _platforms(self) -> Collection[str] | None:
        return None if self.platforms is None else self.platforms()

    def _can_post_any(self) -> bool:
        platforms = self._platforms()
        return platforms is None or bool(platforms)


__all__ = ["GroupRounds", "Member", "NoRound", "OnTimeout", "Round", "RoundOpen"]
