"""Listening for HTTP on one address with aiohttp: the monitor's /healthz and /metrics and the
Telegram webhook both start their server here, so a port in use becomes the same clear
operator error naming the config keys to change."""

from __future__ import annotations

from aiohttp import web

from moosic_core.errors import ConfigError


async def listen(app: web.Application, host: str, port: int, keys: str
                 ) -> tuple[web.AppRunner, int]:
    """Serve ``app`` on ``host:port`` (0: a free port); returns the runner (``cleanup()`` it to
    stop) and the port listened on.

    Raises :class:`ConfigError` naming ``keys`` (e.g. ``"Config key monitor.listen"``) when the
    address cannot be listened on (the port is in use, the host is not this machine's, no
    permission); nothing is left listening then.
    """
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(f"{keys}: cannot listen on {host}:{port} "
                          f"({exc.strerror or exc}); another program may use that port. Pick "
                          "a free port or stop the other program.") from None
    sockets = getattr(site._server, "sockets", None) or []
    return runner, (sockets[0].getsockname()[1] if sockets else port)
