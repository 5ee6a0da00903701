"""The operator's HTTP endpoint (aiohttp): ``/healthz`` for probes and ``/metrics`` for Prometheus.

Off unless ``monitor.listen`` ("host:port") is set. It starts before the models load, so a probe
sees 503 (not a refused connection) while the bot is still starting:

- ``GET /healthz``: 200 ``{"ready": true, "checks": {...}}`` when the models, the catalog and the
  store are loaded and every configured chat front-end is connected; otherwise 503 with the same
  body, each check saying ``ok`` and, when not, why.
- ``GET /metrics``: the Prometheus text format of :class:`moosic_core.metrics.Metrics` (user
  counts are read from the store at each scrape).

Bind it to 127.0.0.1 (or a private network) and let Prometheus scrape it there: the metrics hold
no personal data, but there is no reason to publish them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from aiohttp import web

from bot.http_server import listen
from moosic_core.metrics import CONTENT_TYPE, Metrics
from moosic_core.service import MoosicService

log = logging.getLogger(__name__)


class Watched(Protocol):
    """A front-end as the monitor sees it."""

    name: str

    def connected(self) -> bool: ...


class Monitor:
    """Readiness and metrics over HTTP; ``service`` and ``front_ends`` are set as they come up."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self.metrics = metrics or Metrics()
        self.service: MoosicService | None = None
        self.front_ends: Sequence[Watched] = ()
        self._runner: web.AppRunner | None = None
        self.port = 0

    def checks(self) -> dict[str, dict[str, Any]]:
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
            out["store"] = ({"ok": True, "detail": "open"} if service.store.is_open
                            else {"ok": False, "detail": "closed"})
        if not self.front_ends:
            out["bots"] = {"ok": False, "detail": "not started"}
        for front in self.front_ends:
            up = front.connected()
            out[front.name] = {"ok": up, "detail": "connected" if up else "not connected"}
        return out

    async def healthz(self, request: web.Request) -> web.Response:
        """200 when every check is ok, else 503; the body is ``{"ready", "checks"}``."""
        checks = self.checks()
        ready = all(c["ok"] for c in checks.values())
        return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)

    async def metrics_page(self, request: web.Request) -> web.Response:
        """The Prometheus text format, with user counts read from the store now."""
        if self.service is not None and self.service.store.is_open:
            self.metrics.set_users(await self.service.store.user_counts())
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
