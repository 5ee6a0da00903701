"""The operator's log: level, text or JSON lines, and secrets masked in every record.

:func:`setup_logging` is called once by the CLI. The format is ``text`` (one readable line per
record) or ``json`` (one JSON object per line: ``time``, ``level``, ``logger``, ``message`` and
``exc`` when there is a traceback), for log shippers such as journald + Loki or Fluent Bit.
:func:`install_secret_redaction` masks configured secrets (bot tokens, keys) in messages and
tracebacks of every record that reaches a root handler, whatever the logger.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

from moosic_core.errors import ConfigError

LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Libraries whose INFO lines repeat request URLs (httpx logs the Telegram URL, with the token).
QUIET_LOGGERS = ("httpx", "httpcore", "discord.http", "aiohttp.access")
#: Libraries whose DEBUG/INFO lines carry stored values (SQL statements with their parameters,
#: result rows): never below WARNING, not even with ``-v`` (see PRIVACY.md).
SILENT_LOGGERS = ("sqlalchemy.engine", "sqlalchemy.pool", "aiosqlite", "asyncpg")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (ISO 8601, UTC), level, logger, message[, exc]."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


class SecretRedactor(logging.Filter):
    """Masks secrets (tokens, keys) in log messages and tracebacks as ``***``."""

    def __init__(self, secrets_: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets_ if s]

    def add(self, secrets_: Iterable[str]) -> None:
        self.secrets.extend(s for s in secrets_ if s and s not in self.secrets)
        self.secrets.sort(key=len, reverse=True)  # a secret containing another goes first

    def clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        return True


REDACTOR = SecretRedactor()


def install_secret_redaction(secrets_: Iterable[str]) -> SecretRedactor:
    """Mask these secrets in every record reaching a handler of the root logger.

    A comma-separated value (several rotation keys) is masked whole and part by part.
    """
    parts = [p.strip() for s in secrets_ if s for p in (s, *s.split(","))]
    REDACTOR.add(p for p in parts if len(p) >= 8)  # never mask ordinary short words
    for handler in logging.getLogger().handlers:
        if REDACTOR not in handler.filters:
            handler.addFilter(REDACTOR)
    return REDACTOR


def setup_logging(level: str = "INFO", fmt: str = "text", stream: TextIO | None = None) -> None:
    """Route every log record to ``stream`` (stderr) in ``fmt`` at ``level`` and above.

    Raises :class:`ConfigError` for an unknown level or format (keys ``logging.level`` and
    ``logging.format``, or the ``--log-format`` option).
    """
    level = level.upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"Config key logging.level must be one of {', '.join(LOG_LEVELS)}, "
                          f"not {level!r}.")
    if fmt not in LOG_FORMATS:
        raise ConfigError(f"Config key logging.format (or --log-format) must be one of "
                          f"{', '.join(LOG_FORMATS)}, not {fmt!r}.")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(REDACTOR)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    for name in SILENT_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
