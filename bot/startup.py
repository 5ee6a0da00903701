"""Connecting to a chat platform (or the database server) at start, retried while the network
(or the platform, or the database) is down.

Built on tenacity (``AsyncRetrying``): exponential backoff with full jitter
(``wait_random_exponential``: a random wait in [0, min(max_backoff_s, 2**n)] seconds, the AWS
"full jitter" scheme, so many restarted bots do not retry in step), for at most
``startup.retry_for_s`` seconds in all. Every failed attempt is logged with the wait before the
next. Errors that waiting cannot fix (a refused token, 401) are not retried: they become a
:class:`ConfigError` that names the config key, and never contain the token.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    RetryError,
    retry_if_exception,
    stop_after_delay,
    wait_random_exponential,
)

from moosic_core.config import StartupConfig
from moosic_core.errors import ConfigError, MoosicError, PlatformUnreachable

log = logging.getLogger(__name__)
T = TypeVar("T")


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    text = str(exc).strip()
    if isinstance(exc, MoosicError):  # its message is already a sentence for the operator
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def connect_with_retries(platform: str, attempt: Callable[[], Awaitable[T]],
                               retryable: Callable[[BaseException], bool],
                               config: StartupConfig,
                               cleanup: Callable[[], Awaitable[None]] | None = None, *,
                               advice: str = "check the network",
                               gave_up: type[MoosicError] = PlatformUnreachable) -> T:
    """Run ``attempt`` until it succeeds, retrying errors that ``retryable`` accepts.

    ``cleanup`` runs after each failed attempt (e.g. closing a half-open HTTP session).
    Raises ``gave_up`` (:class:`PlatformUnreachable`; its exit status should be 1, one a
    service manager restarts) from the last error when retries are spent, its message ending
    in ``advice``; any non-retryable error at once.
    """

    def log_retry(state: RetryCallState) -> None:
        wait = state.next_action.sleep if state.next_action else 0.0
        error = state.outcome.exception() if state.outcome else None
        log.warning("%s: connection attempt %d failed (%s); retrying in %.1f s", platform,
                    state.attempt_number, _describe(error), wait)

    async def once() -> T:
        try:
            return await attempt()
        except BaseException:
            if cleanup is not None:
                await cleanup()
            raise

    retrying = AsyncRetrying(
        retry=retry_if_exception(retryable),
        wait=wait_random_exponential(multiplier=0.5, max=config.max_backoff_s),
        stop=stop_after_delay(config.retry_for_s),
        before_sleep=log_retry,
        reraise=True,
    )
    try:
        return await retrying(once)
    except RetryError as exc:  # pragma: no cover - reraise=True re-raises the last error
        raise exc.last_attempt.exception() or exc from None
    except BaseException as exc:
        if not retryable(exc):
            raise
        raise gave_up(f"{platform} could not be reached for {config.retry_for_s:.0f} s "
                      f"({_describe(exc)}); {advice}. Giving up so that the service manager "
                      "can restart the bot later.") from exc


def token_refused(platform: str, key: str) -> ConfigError:
    """The operator's error for a token the platform refused (401): which key to fix."""
    return ConfigError(f"{platform} refused the bot token (401 Unauthorized): check {key} "
                       f"(MOOSIC_{key.replace('.', '_').upper()}); it may have been revoked "
                       "or mistyped. Not retrying.")
