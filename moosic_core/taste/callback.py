"""The small HTTP endpoint Spotify redirects to after sign-in (``spotify.redirect_uri``).

It finishes the sign-in from the ``code`` and ``state`` in the query, shows a short page and
tells the chat (``on_linked``) so the bot can answer there. The access log is off: the query
carries the one-time authorization code.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlparse

from aiohttp import web

from moosic_core.errors import MoosicError
from moosic_core.taste.service import TasteService
from moosic_core.types import UserRef

log = logging.getLogger(__name__)

OnLinked = Callable[[UserRef, str], Awaitable[None]]

_PAGE = ("<!doctype html><html><head><meta charset='utf-8'><title>Moo-Sic</title></head>"
         "<body style='font-family:sans-serif;max-width:32em;margin:4em auto'>"
         "<h1>{title}</h1><p>{text}</p><p>You can close this tab and go back to the chat.</p>"
         "</body></html>")


class OAuthCallbackServer:
    """Serves ``GET <redirect path>`` on ``spotify.callback_host:callback_port``."""

    def __init__(self, service: TasteService, host: str | None = None, port: int | None = None,
                 on_linked: OnLinked | None = None) -> None:
        config = service.config.spotify
        self.service = service
        self.host = host if host is not None else config.callback_host
        self.port = port if port is not None else config.callback_port
        self.path = urlparse(config.redirect_uri).path or "/callback"
        self.on_linked = on_linked
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get(self.path, self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        log.info("OAuth callback listening on http://%s:%d%s", self.host, self.port, self.path)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            user, message = await self.service.complete_oauth_callback(dict(request.query))
        except MoosicError as exc:
            log.info("OAuth callback failed: %s", exc.kind)
            return _page("Not linked", exc.user_message, 400)
        if self.on_linked is not None:
            try:
                await self.on_linked(user, message)
            except Exception:  # the link worked; a failed chat notice must not hide that
                log.exception("could not notify the chat after sign-in")
        return _page("Spotify linked", message, 200)


def _page(title: str, text: str, status: int) -> web.Response:
    body = _PAGE.format(title=html.escape(title), text=html.escape(text))
    return web.Response(text=body, status=status, content_type="text/html")
