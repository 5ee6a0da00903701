"""Checking the configuration once at start-up, so operator mistakes reach the operator's log.

:func:`check` returns every :class:`Problem` with the config key to fix. A Spotify problem
disables Spotify linking (users who type ``/link spotify`` are told to send a playlist CSV); a
problem with a front-end the operator asked for (a webhook Telegram would refuse, Discord shard
ids outside the shard count) or with the monitor endpoint is fatal: :func:`report` logs each
problem once and raises :class:`ConfigError`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import urlparse

from cryptography.fernet import Fernet

from moosic_core.config import Config, DiscordConfig
from moosic_core.errors import ConfigError
from moosic_core.store.db import database_url

log = logging.getLogger(__name__)

#: The only ports Telegram delivers webhooks to (Bot API, setWebhook).
TELEGRAM_WEBHOOK_PORTS = (443, 80, 88, 8443)
#: What Telegram accepts as a webhook's ``secret_token`` (Bot API, setWebhook).
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
KEY_HINT = ('generate one with `moosic keys generate` (or python -c "from cryptography.fernet '
            'import Fernet; print(Fernet.generate_key().decode())")')


@dataclass(frozen=True)
class Problem:
    """One thing to fix: the config key, what is wrong, and whether the bot can run anyway."""

    key: str
    message: str
    fatal: bool = False

    def __str__(self) -> str:
        return f"config {self.key}: {self.message}"


def token_key_problem(token_key: str) -> str | None:
    """Why ``security.token_key`` (comma-separated Fernet keys) is unusable, or None."""
    keys = [k.strip() for k in token_key.split(",") if k.strip()]
    if not keys:
        return "is empty"
    for i, key in enumerate(keys, 1):
        try:
            Fernet(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            return (f"key {i} of {len(keys)} is not a Fernet key (32 bytes, urlsafe base64)")
    return None


def redirect_uri_problem(uri: str) -> str | None:
    """Why Spotify would refuse this redirect URI (HTTPS, or http://127.0.0.1:PORT), or None."""
    parsed = urlparse(uri)
    if parsed.scheme == "https" and parsed.hostname:
        return None
    if parsed.scheme == "http" and parsed.hostname in {"127.0.0.1", "[::1]", "::1"}:
        try:
            port = parsed.port
        except ValueError:
            port = None
        if port:
            return None
        return "needs an explicit port (http://127.0.0.1:PORT/...)"
    return ("must be HTTPS or a loopback address http://127.0.0.1:PORT (Spotify refuses "
            "http://localhost and other plain-HTTP addresses since 2025)")


def spotify_problems(config: Config) -> list[Problem]:
    """Problems that make Spotify linking unusable (none when no Spotify app is configured)."""
    spotify = config.spotify
    if not spotify.client_id:
        if spotify.client_secret:
            return [Problem("spotify.client_id", "is empty but spotify.client_secret is set; "
                            "set the app's client id")]
        return []
    problems = []
    key_problem = token_key_problem(config.security.token_key)
    if key_problem == "is empty":
        problems.append(Problem("security.token_key", "is needed to encrypt Spotify tokens at "
                                f"rest (spotify.client_id is set); {KEY_HINT}"))
    elif key_problem:
        problems.append(Problem("security.token_key", f"{key_problem}; {KEY_HINT}"))
    uri_problem = redirect_uri_problem(spotify.redirect_uri)
    if uri_problem:
        problems.append(Problem("spotify.redirect_uri", uri_problem))
    return problems


def telegram_problems(config: Config) -> list[Problem]:
    """A webhook Telegram would refuse: not HTTPS, a port other than 443, 80, 88, 8443, or a
    ``webhook_secret`` that is not 1-256 of ``A-Z a-z 0-9 _ -`` (Bot API, setWebhook
    ``secret_token``)."""
    url = config.telegram.webhook_url
    if not url:
        return []
    secret = config.telegram.webhook_secret
    if secret and not WEBHOOK_SECRET.fullmatch(secret):
        return [Problem("telegram.webhook_secret", "must be 1 to 256 characters of A-Z, a-z, "
                        "0-9, _ and - (Telegram refuses others); or leave it empty to derive "
                        "it from the token", fatal=True)]
    parsed = urlparse(url)
    if parsed.scheme != "https" or not parsed.hostname:
        return [Problem("telegram.webhook_url", "must be a public https:// URL (Telegram sends "
                        "webhooks over TLS only)", fatal=True)]
    try:
        port = parsed.port or 443
    except ValueError:
        port = -1
    if port not in TELEGRAM_WEBHOOK_PORTS:
        return [Problem("telegram.webhook_url", f"uses port {port}; Telegram delivers webhooks "
                        "only to ports 443, 80, 88 and 8443 (let the reverse proxy listen on "
                        "one of them and forward to telegram.webhook_port)", fatal=True)]
    return []


def listen_address(value: str, key: str = "monitor.listen") -> tuple[str, int]:
    """``host:port`` -> (host, port); :class:`ConfigError` naming ``key`` when malformed."""
    host, sep, port_text = value.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"Config key {key} must be host:port (e.g. 127.0.0.1:9108), "
                          f"not {value!r}.")
    return host.strip("[]"), int(port_text)


def monitor_problems(config: Config) -> list[Problem]:
    """A ``monitor.listen`` that is not host:port."""
    if not config.monitor.listen:
        return []
    try:
        listen_address(config.monitor.listen)
    except ConfigError as exc:
        return [Problem("monitor.listen", str(exc), fatal=True)]
    return []


def _shard_ranges(text: str) -> list[tuple[int, int]]:
    """``"0,1"``, ``"0-3"`` or ``"0-3, 8"`` -> (first, last) per part, in order; ValueError when
    malformed. Ranges stay ranges: ``"0-99999999"`` is checked, never expanded."""
    ranges: list[tuple[int, int]] = []
    for part in (p.strip() for p in text.split(",")):
        low, dash, high = part.partition("-")
        if not low.strip().isdigit() or (dash and not high.strip().isdigit()):
            raise ValueError(part)
        first, last = int(low), int(high) if dash else int(low)
        if last < first:
            raise ValueError(part)
        ranges.append((first, last))
    return ranges


def discord_shards(config: DiscordConfig) -> tuple[int | None, list[int] | None]:
    """(shard count, this process's shard ids) for discord.py's ``AutoShardedClient``.

    ``discord.shard_count`` 0 -> None (the client asks ``GET /gateway/bot`` for the count
    Discord recommends); ``discord.shard_ids`` empty -> None (every shard in this process).
    Shard *i* of *n* receives the events of the guilds with ``(guild_id >> 22) % n == i`` and
    shard 0 also the DMs (Discord's gateway documentation, "Sharding"), so every process that
    splits one bot's shards must use the same count. Raises :class:`ConfigError` naming the key
    when the ids are malformed, repeated, given without a count, or not below the count.
    """
    count = config.shard_count or None
    if not config.shard_ids.strip():
        return count, None
    try:
        ranges = _shard_ranges(config.shard_ids)
    except ValueError:
        raise ConfigError(f"Config key discord.shard_ids must be shard numbers such as \"0,1\" "
                          f"or \"0-3\", not {config.shard_ids!r}.") from None
    if count is None:
        raise ConfigError("Config key discord.shard_ids needs discord.shard_count: every "
                          "process that runs some of the shards must use the same total (e.g. "
                          "shard_count = 2 with shard_ids = \"0\" in one process and \"1\" in "
                          "the other).")
    too_high = [max(first, count) for first, last in ranges if last >= count]
    if too_high:
        raise ConfigError(f"Config key discord.shard_ids has shard {too_high[0]}, but "
                          f"discord.shard_count = {count} numbers the shards 0 to {count - 1}.")
    ids = [shard for first, last in ranges for shard in range(first, last + 1)]  # < count
    seen: set[int] = set()
    for shard in ids:
        if shard in seen:
            raise ConfigError(f"Config key discord.shard_ids lists shard {shard} more than "
                              "once.")
        seen.add(shard)
    return count, ids


def discord_problems(config: Config) -> list[Problem]:
    """Discord shard settings that :func:`discord_shards` refuses."""
    try:
        discord_shards(config.discord)
    except ConfigError as exc:
        return [Problem("discord.shard_ids", str(exc), fatal=True)]
    return []


def store_problems(config: Config) -> list[Problem]:
    """A ``store.database_url`` that is not a PostgreSQL (or SQLite) URL."""
    if not config.store.database_url:
        return []
    try:
        database_url(config.store.database_url)
    except ConfigError as exc:
        return [Problem("store.database_url", str(exc), fatal=True)]
    return []


def check(config: Config) -> list[Problem]:
    """Every problem in the configuration that matters to a running bot."""
    return [*spotify_problems(config), *telegram_problems(config), *monitor_problems(config),
            *store_problems(config), *discord_problems(config)]


def report(config: Config) -> list[Problem]:
    """Log each problem once (warning, or error when fatal); raise if any is fatal.

    Returns the problems. Spotify problems end with one line saying linking is disabled.
    """
    problems = check(config)
    for problem in problems:
        (log.error if problem.fatal else log.warning)("%s", problem)
    if spotify_problems(config):
        log.warning("Spotify linking is disabled until the keys above are fixed; users are "
                    "offered playlist CSV import instead")
    fatal = [p for p in problems if p.fatal]
    if fatal:
        raise ConfigError(f"{len(fatal)} configuration problem(s), logged above, stop the bot: "
                          + ", ".join(sorted({p.key for p in fatal})))
    return problems
