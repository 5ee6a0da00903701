"""Trying a short store write again after a failure that may pass (a dropped connection, a
failover): the writes that record that something was DONE (a posted group list, an answered
Telegram update), where giving up would let another replica do it a second time.

Built on tenacity (``AsyncRetrying``), like the start-up retries in ``bot/startup.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, stop_after_attempt, wait_chain, wait_fixed

from moosic_core.store.db import log_failure

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Waits (seconds) between the tries of :func:`retry_done_write`: five tries in 3.7 s.
DONE_WRITE_WAITS_S = (0.2, 0.5, 1.0, 2.0)


async def retry_done_write(write: Callable[[], Awaitable[T]], what: str,
                           waits_s: Sequence[float] = DONE_WRITE_WAITS_S) -> T:
    """``await write()``, tried again after each of ``waits_s`` when it raises; a warning per
    failed try names ``what`` (never the values written). Raises the last error."""

    def warn(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        then = f" (try {state.attempt_number}); trying again in {state.upcoming_sleep:.1f} s"
        if error is None:
            log.warning("%s failed%s", what, then)
        else:
            log_failure(log, what, error, logging.WARNING, then)

    async def attempt() -> T:  # a coroutine function: tenacity awaits only those
        return await write()

    retrying = AsyncRetrying(stop=stop_after_attempt(len(waits_s) + 1),
                             wait=wait_chain(*(wait_fixed(w) for w in waits_s)),
                             before_sleep=warn, reraise=True)
    return await retrying(attempt)
