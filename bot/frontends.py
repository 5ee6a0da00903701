"""Running several chat front-ends in one process over one service, started and stopped together.

A front-end (Discord, Telegram, the console) only has to ``start`` (connect, return once it is
serving), tell when it ``finished`` by itself (console EOF, a fatal error), and ``stop``.
:func:`serve` starts them in order, waits until one finishes or a stop is requested (Ctrl-C,
SIGTERM), then stops all of them in reverse order, each even if another failed to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TextIO

from bot.console import run_console
from bot.conversation import Conversation

log = logging.getLogger(__name__)


class FrontEnd(Protocol):
    """One chat platform's adapter as :func:`serve` drives it."""

    name: str

    async def start(self) -> None:
        """Connect and return once serving."""

    async def finished(self) -> None:
        """Return when the front-end ended by itself (raise if it failed)."""

    async def stop(self) -> None:
        """Disconnect and release everything; safe to call once after ``start``."""

    def connected(self) -> bool:
        """Whether it is serving now (for the monitor's ``/healthz``)."""


async def serve(front_ends: Sequence[FrontEnd], stop: asyncio.Event | None = None, *,
                stopping: Callable[[], Awaitable[None]] | None = None) -> None:
    """Run ``front_ends`` together until one finishes, ``stop`` is set, or a signal arrives.

    ``stopping`` runs first when they stop, while they can still send (the group-round
    sweeper stops there, so a round it takes is posted, never lost to a stopped front-end).

    The first Ctrl-C (or SIGTERM) stops everything in order; a second one while that is still
    going on interrupts it (the default handler is back, so it raises KeyboardInterrupt).
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []

    def on_signal(sig: signal.Signals) -> None:
        stop.set()
        if sig in handled:
            handled.remove(sig)
            loop.remove_signal_handler(sig)

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, on_signal, sig)
            handled.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, Windows
            pass
    started: list[FrontEnd] = []
    try:
        for front in front_ends:
            await front.start()
            started.append(front)
            log.debug("%s front-end started", front.name)
        waiters = [asyncio.create_task(f.finished(), name=f"{f.name}-finished") for f in started]
        stopper = asyncio.create_task(stop.wait(), name="stop-requested")
        done, _ = await asyncio.wait([*waiters, stopper], return_when=asyncio.FIRST_COMPLETED)
        for task in (*waiters, stopper):
            if task not in done:
                task.cancel()
        for task in done:
            if task is not stopper and task.exception() is not None:
                log.error("a front-end failed: %r", task.exception())
    finally:
        if stopping is not None:
            try:
                await stopping()
            except Exception:
                log.exception("stopping failed")
        for front in reversed(started):
            try:
                await front.stop()
                log.info("%s front-end stopped", front.name)
            except Exception:
                log.exception("stopping the %s front-end failed", front.name)
        for sig in handled:
            loop.remove_signal_handler(sig)


class ConsoleFrontEnd:
    """The local console chat as a front-end: finished when its input ends or on /quit."""

    name = "console"

    def __init__(self, conversation: Conversation, stdin: TextIO | None = None,
                 stdout: TextIO | None = None) -> None:
        self.conversation = conversation
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(run_console(self.conversation, self.stdin, self.stdout),
                                         name="console")
        log.info("console chat: reading this terminal")

    def connected(self) -> bool:
        return self._task is not None and not self._task.done()

    async def finished(self) -> None:
        if self._task is not None:
            await asyncio.shield(self._task)

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
