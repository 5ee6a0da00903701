"""The operator's HTTP endpoint (aiohttp): ``/healthz`` for probes and ``/metrics`` for Prometheus.

Off unless ``monitor.listen`` ("host:port") is set. It starts before the models load, so a probe
sees 503 (not a refused connection) while the bot is still starting:

- ``GET /healthz``: 200 ``{"ready": true, "checks": {...}}`` when the models and the catalog are
  loaded, the database answers, and every configured chat front-end is connected; otherwise 503
  with the same body, each check saying ``ok`` and, when not, why. The database is asked
  (``SELECT 1``, at most :data:`STORE_CHECK_TIMEOUT_S`) at most once per
  :data:`STORE_CHECK_CACHE_S`, however often the load balancer probes.
- ``GET /metrics``: the Prometheus text format of :class:`moosic_core.metrics.Metrics` (user
  counts are read from the store at each scrape).

Bind it to 127.0.0.1 (or a private network) and let Prometheus scrape it there: the metrics hold
no personal data, but there is no reason to publish them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any, Protocol

from aiohttp import web

from bot.http_server import listen
from moosic_core.errors import MoosicError
from moosic_core.metrics import CONTENT_TYPE, Metrics
from moosic_core.service import MoosicService
from moosic_core.store import Store
from moosic_core.store.db import is_unreachable, log_failure

log = logging.getLogger(__name__)

#: How long /healthz waits for the database's answer to ``SELECT 1`` (seconds).
STORE_CHECK_TIMEOUT_S = 2.0
#: How long an answer is reused (seconds): a busy load balancer does not become database load.
STORE_CHECK_CACHE_S = 1.0


class Watched(Protocol):
    """A front-end as the monitor sees it."""

    name: str

    def connected(self) -> bool: ...


class Monitor:
    """Readiness and metrics over HTTP; ``service`` and ``front_ends`` are set as they come up."""

    def __init__(self, metrics: Metrics | None = None, *,
                 store_timeout_s: float = STORE_CHECK_TIMEOUT_S,
                 store_cache_s: float = STORE_CHECK_CACHE_S) -> None:
        self.metrics = metrics or Metrics()
        self.service: MoosicService | None = None
        self.front_ends: Sequence[Watched] = ()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.store_timeout_s = store_timeout_s
        self.store_cache_s = store_cache_s
        self._store_answer: tuple[float, dict[str, Any]] | None = None  # (monotonic, check)
        self._store_lock = asyncio.Lock()

    async def store_check(self, store: Store) -> dict[str, Any]:
        """``{"ok", "detail"}`` of the database: closed, or its answer to a ``SELECT 1``
        (:meth:`Store.ping`) asked at most once per ``store_cache_s`` seconds; probes arriving
        meanwhile share the one question."""
        if not store.is_open:
            return {"ok": False, "detail": "closed"}
        async with self._store_lock:
            answer = self._store_answer
            if answer is not None and time.monotonic() - answer[0] < self.store_cache_s:
                return answer[1]
            try:
                await store.ping(self.store_timeout_s)
                check: dict[str, Any] = {"ok": True, "detail": "answers"}
            except MoosicError as exc:
                check = {"ok": False, "detail": str(exc)}
            self._store_answer = (time.monotonic(), check)
            return check

    async def checks(self) -> dict[str, dict[str, Any]]:
        """Each readiness check: ``{"ok": bool, "detail": str}``."""
        service = self.service
        loading = {"ok": False, "detail": "still loading"}
        out: dict[str, dict[str, Any]] = {}
        if service is None:
            out.update(models=loading, catalog=loading, store=loading)
        else:
            out["models"] = {"ok": True, "detail": "face and song models loaded"}
            out["catalog"] = ({"ok": True, "detail": f"{len(service.catalog)} tracks"}
                              if len(service.catalog) else {"ok": False, "detail": "empty"})
            out["store"] = await self.store_check(service.store)
        if not self.front_ends:
            out["bots"] = {"ok": False, "detail": "not started"}
        for front in self.front_ends:
            up = front.connected()
            out[front.name] = {"ok": up, "detail": "connected" if up else "not connected"}
        return out

    async def healthz(self, request: web.Request) -> web.Response:
        """200 when every check is ok, else 503; the body is ``{"ready", "checks"}``."""
        checks = await self.checks()
        ready = all(c["ok"] for c in checks.values())
        return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)

    async def metrics_page(self, request: web.Request) -> web.Response:
        """The Prometheus text format, with user counts read from the store now."""
        if self.service is not None and self.service.store.is_open:
            try:
                self.metrics.set_users(await self.service.store.user_counts())
            except Exception as exc:
                if not is_unreachable(exc):
                    raise
                log_failure(log, "/metrics: reading the user counts", exc)
        return web.Response(body=self.metrics.exposition(),
                            headers={"Content-Type": CONTENT_TYPE})

    async def start(self, host: str, port: int) -> None:
        """Listen on host:port (port 0 picks a free one, see :attr:`port`).

        Raises :class:`ConfigError` naming ``monitor.listen`` when the address cannot be
        listened on (the port is in use, the host is not this machine's, no permission)."""
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics_page)
        self._runner, self.port = await listen(app, host, port, "Config key monitor.listen")
        log.info("monitor: /healthz and /metrics on http://%s:%d", host, self.port)

    async def stop(self) -> None:
        """Stop listening (safe when never started)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
