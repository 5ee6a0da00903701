"""Telegram's webhook for N bot replicas behind a load balancer: every update handled, once.

python-telegram-bot's own webhook answers Telegram 200 as soon as an update is queued, before it
is handled: an update whose replica dies mid-way is lost, since Telegram never sends it again.
This server answers only AFTER the update was handled, and the update's claim in the store
(``handled_updates``, with a lease) decides who handles it:

- 200: handled now, or handled before (a redelivery).
- 503 with ``Retry-After``: another replica holds the update's lease (it is working on it), this
  replica is at its limit of updates at once (``telegram.webhook_max_updates``), or it is
  stopping. Telegram delivers the update again later; by then the other replica finished it
  (200), or it died and its lease ran out, and the replica that gets it handles it.
- 403: the ``X-Telegram-Bot-Api-Secret-Token`` header is not the shared secret (compared in
  constant time; only the fact is logged). 400: not an update. 413: a body over
  :data:`MAX_BODY_BYTES`.
- 503 with ``Retry-After`` (:data:`DATABASE_RETRY_AFTER_S`): the database cannot be reached (an
  outage); one warning line, no traceback. 500: the store failed otherwise (a traceback in the
  log); Telegram retries both.

While an update is handled its lease is renewed every third of ``telegram.update_lease_s``, so a
slow update on a live replica is never taken by another. The one window left: a replica killed
after Telegram accepted its answer and before the update was marked done (one store write,
longer on a saturated replica) leaves the update to another replica, which answers it again.
The load balancer's health check is the monitor's ``/healthz`` (:mod:`bot.monitor`), which
reports the webhook as the Telegram front-end's connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web
from telegram import Update

from bot.http_server import listen
from moosic_core.retrying import retry_done_write
from moosic_core.store.db import is_unreachable, log_failure

log = logging.getLogger(__name__)

#: Update ids are stored as BIGINT (signed 64-bit); Telegram's are far below.
MAX_UPDATE_ID = 2**63
PLATFORM = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: An update is a few KB (a 4096-character message with its entities); anything far larger
#: is not from Telegram.
MAX_BODY_BYTES = 1024 * 1024
#: Retry-After (seconds) of a 503 for a full or stopping replica.
BUSY_RETRY_AFTER_S = 1
#: Retry-After (seconds) of a 503 while the database cannot be reached.
DATABASE_RETRY_AFTER_S = 5


class UpdateLeases(Protocol):
    """What the webhook needs from the store (:class:`moosic_core.store.Store`)."""

    async def claim_update(self, platform: str, update_id: int, *, lease_s: float) -> bool: ...

    async def renew_update(self, platform: str, update_id: int) -> None: ...

    async def update_done(self, platform: str, update_id: int) -> bool: ...

    async def finish_update(self, platform: str, update_id: int) -> None: ...


@contextlib.asynccontextmanager
async def kept_alive(renew: Callable[[], Awaitable[None]], every_s: float,
                     what: str) -> AsyncIterator[None]:
    """Call ``renew`` every ``every_s`` seconds while the body runs (a lease's heartbeat).

    A failed renewal is logged (``what`` names the lease) and tried again at the next beat; it
    never interrupts the body."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await renew()
            except Exception as exc:
                log_failure(log, f"renewing the lease of {what}", exc, logging.WARNING)

    task = asyncio.create_task(beat(), name=f"lease {what}")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class WebhookServer:
    """The webhook endpoint of one replica (aiohttp).

    ``handle`` handles one update to the end (PTB's ``Application.process_update``); ``parse``
    turns the JSON body into an :class:`Update`; ``leases`` is the store; ``secret`` the shared
    secret token; ``path`` the URL path Telegram posts to; ``lease_s`` the update lease
    (seconds); ``max_updates`` how many updates it handles at once.
    """

    def __init__(self, *, handle: Callable[[Update], Awaitable[None]],
                 parse: Callable[[dict[str, Any]], Update | None], leases: UpdateLeases,
                 secret: str, path: str, lease_s: float, max_updates: int) -> None:
        self.handle = handle
        self.parse = parse
        self.leases = leases
        self.secret = secret.encode()
        self.path = "/" + path.lstrip("/")
        self.lease_s = lease_s
        self.max_updates = max(1, max_updates)
        self.in_flight = 0
        self.refused = {"secret": 0, "busy": 0, "elsewhere": 0, "database": 0}
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def running(self) -> bool:
        """Listening and accepting updates."""
        return self._runner is not None and not self._stopping

    async def start(self, host: str, port: int) -> None:
        """Listen on host:port (0: a free one, see :attr:`port`).

        Raises :class:`ConfigError` naming ``telegram.webhook_port`` when it cannot listen."""
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post(self.path, self.receive)
        self._runner, self.port = await listen(
            app, host, port, "Config keys telegram.webhook_listen/webhook_port")

    async def stop(self, drain_s: float) -> None:
        """Stop accepting (503 from now on), wait up to ``drain_s`` seconds for the updates in
        flight to be handled and answered, then close. An update still running after that is
        left to its lease (another replica takes it once the lease runs out)."""
        self._stopping = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), drain_s)
        if self.in_flight:
            log.warning("Telegram webhook: %d update(s) still running at stop; another replica "
                        "takes them when their lease runs out", self.in_flight)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @staticmethod
    def _retry_later(seconds: float) -> web.Response:
        return web.Response(status=503, headers={"Retry-After": str(max(1, math.ceil(seconds)))})

    async def receive(self, request: web.Request) -> web.Response:
        """One webhook call: check, claim, handle, answer (see the module docstring)."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.secret):
            self.refused["secret"] += 1
            log.warning("Telegram webhook: refused a call without the right secret token")
            return web.Response(status=403)
        if self._stopping or self.in_flight >= self.max_updates:
            self.refused["busy"] += 1
            return self._retry_later(BUSY_RETRY_AFTER_S)
        self.in_flight += 1
        self._idle.clear()
        try:
            return await self._receive(request)
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self._idle.set()

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()  # 413 past MAX_BODY_BYTES
        try:
            data = json.loads(body)
            ok = isinstance(data, dict) and type(data.get("update_id")) is int \
                and 0 <= data["update_id"] < MAX_UPDATE_ID
            update = self.parse(data) if ok else None
        except (ValueError, TypeError, KeyError, AttributeError):
            update = None
        if update is None:
            return web.Response(status=400, text="not a Telegram update")
        try:
            return await self._claim_and_handle(update)
        except Exception as exc:
            if not is_unreachable(exc):
                raise  # aiohttp answers 500 and logs the traceback
            self.refused["database"] += 1
            log_failure(log, f"Telegram webhook: update {update.update_id}", exc)
            return self._retry_later(DATABASE_RETRY_AFTER_S)

    async def _claim_and_handle(self, update: Update) -> web.Response:
        update_id = update.update_id
        if not await self.leases.claim_update(PLATFORM, update_id, lease_s=self.lease_s):
            if await self.leases.update_done(PLATFORM, update_id):
                log.info("Telegram update %d was handled already; not answering it again",
                         update_id)
                return web.Response(status=200)
            self.refused["elsewhere"] += 1
            log.info("Telegram update %d is being handled by another replica; asked Telegram "
                     "to deliver it again later", update_id)
            return self._retry_later(self.lease_s / 3)
        async with kept_alive(lambda: self.leases.renew_update(PLATFORM, update_id),
                              self.lease_s / 3, f"Telegram update {update_id}"):
            await self.handle(update)
        # Tried again when the store fails: an unfinished update would be handled a second
        # time by the replica that gets Telegram's redelivery once the lease runs out.
        await retry_done_write(lambda: self.leases.finish_update(PLATFORM, update_id),
                               f"marking Telegram update {update_id} answered")
        return web.Response(status=200)
