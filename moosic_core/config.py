"""Configuration: defaults < ``config.toml`` (or ``$MOOSIC_CONFIG``) < ``MOOSIC_<SECTION>_<KEY>``.

Every key is documented in ``config.example.toml``. Relative paths resolve against the project
root. Loaded and validated once; errors raise :class:`ConfigError` with a clear message.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from moosic_core import PROJECT_ROOT
from moosic_core.errors import ConfigError

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
#: The most songs one list may hold (``service.recommendations``, the CLI's ``-n``).
MAX_LIST_SIZE = 100


@dataclass(frozen=True)
class DataConfig:
    """Where the (downloaded, never committed) datasets live."""

    catalog_source: Path = SHARED_DATA / "spotify_tracks" / "dataset.csv"
    fer2013_dir: Path = SHARED_DATA / "fer2013"
    song_emotion_dir: Path = SHARED_DATA / "song_emotion"
    playlists_dir: Path = SHARED_DATA / "playlists"


@dataclass(frozen=True)
class PathsConfig:
    """Where the project writes generated files."""

    data_dir: Path = PROJECT_ROOT / "data"
    models_dir: Path = PROJECT_ROOT / "models"
    database: Path = PROJECT_ROOT / "data" / "moosic.sqlite3"
    #: The packed serving catalog (committed; rebuilt by ``moosic catalog build``).
    packed_catalog: Path = PROJECT_ROOT / "catalog" / "moosic_catalog.npz"

    @property
    def catalog_dir(self) -> Path:
        return self.data_dir / "catalog"

    @property
    def checkpoints_dir(self) -> Path:
        """Per-epoch training state of unfinished runs (large, never committed)."""
        return self.data_dir / "checkpoints"


@dataclass(frozen=True)
class SpotifyConfig:
    client_id: str = ""
    client_secret: str = ""
    api_url: str = "https://api.spotify.com/v1/"
    token_url: str = "https://accounts.spotify.com/api/token"
    authorize_url: str = "https://accounts.spotify.com/authorize"
    redirect_uri: str = "http://127.0.0.1:8765/callback"
    callback_host: str = "127.0.0.1"
    callback_port: int = field(default=8765, metadata={"min": 1, "max": 65535})
    max_retry_wait_s: float = field(default=30.0, metadata={"min": 0})
    request_timeout_s: float = field(default=10.0, metadata={"above": 0})
    track_cap: int = field(default=3000, metadata={"min": 1})
    #: 0 = fetch the library again every time.
    cache_ttl_s: int = field(default=86400, metadata={"min": 0})


@dataclass(frozen=True)
class StoreConfig:
    """Where users' data lives: empty = the SQLite file ``paths.database``; a
    ``postgresql://`` URL = a PostgreSQL database shared by several bot processes."""

    database_url: str = ""


@dataclass(frozen=True)
class SecurityConfig:
    token_key: str = ""


@dataclass(frozen=True)
class TelegramConfig:
    token: str = ""
    api_url: str = "https://api.telegram.org/bot"
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = field(default=8443, metadata={"min": 1, "max": 65535})
    #: Telegram's X-Telegram-Bot-Api-Secret-Token for the webhook; empty = derived from the
    #: token, so every replica of one bot agrees on it without another secret to share.
    webhook_secret: str = ""
    #: Messages per second this process sends at most (PTB's AIORateLimiter; Telegram allows
    #: a bot about 30 a second overall, so N replicas get 30/N each); 0 = no limit.
    messages_per_second: float = field(default=30.0, metadata={"min": 0})
    #: Webhook mode: an update a replica is handling stays its own this long without a renewal
    #: (it renews every third of it); a replica that died leaves it to another after this.
    update_lease_s: float = field(default=30.0, metadata={"above": 0})
    #: Webhook mode: updates one replica handles at once; past it Telegram is answered 503
    #: (and delivers the update again later).
    webhook_max_updates: int = field(default=40, metadata={"min": 1})


@dataclass(frozen=True)
class DiscordConfig:
    token: str = ""
    #: 0 = sync slash commands globally.
    test_guild_id: int = field(default=0, metadata={"min": 0})
    api_url: str = ""
    #: Gateway shards of the whole bot; 0 = the count Discord recommends (GET /gateway/bot).
    shard_count: int = field(default=0, metadata={"min": 0, "max": 65536})
    #: This process's shards ("0,1" or "0-3"); empty = every shard (see
    #: :func:`moosic_core.config_check.discord_shards`).
    shard_ids: str = ""


@dataclass(frozen=True)
class ServiceConfig:
    workers: int = field(default=2, metadata={"min": 1, "max": 256})
    #: Selfies wait at most this long (expected) for the CPU pool; past it they get "busy".
    max_queue_wait_s: float = field(default=5.0, metadata={"above": 0})
    recommendations: int = field(default=10, metadata={"min": 1, "max": MAX_LIST_SIZE})
    group_round_s: int = field(default=180, metadata={"min": 1})
    #: Each process's group-round sweeper looks for rounds due (opened on any replica) at
    #: least this often (seconds); a round opened in this process wakes it on time anyway.
    group_sweep_s: float = field(default=1.0, metadata={"above": 0})
    #: 0 = no limit.
    selfies_per_minute: int = field(default=6, metadata={"min": 0})
    #: A photo waiting for the user's consent is dropped after this many minutes...
    pending_photo_minutes: float = field(default=10.0, metadata={"above": 0})
    #: ...and all waiting photos together hold at most this many MB (the oldest goes first).
    pending_photos_max_mb: int = field(default=64, metadata={"min": 1})
    #: Lists shown with a 💾 Save button are kept (in the database) this many days.
    saved_list_days: int = field(default=30, metadata={"min": 1})


@dataclass(frozen=True)
class LoggingConfig:
    """The operator's log (see :mod:`moosic_core.logs`)."""

    level: str = "INFO"
    format: str = "text"


@dataclass(frozen=True)
class MonitorConfig:
    """The health and metrics endpoint; ``listen`` = "host:port", empty = off."""

    listen: str = ""


@dataclass(frozen=True)
class StartupConfig:
    """Retrying the chat platforms while the network is down at start."""

    retry_for_s: float = field(default=600.0, metadata={"min": 0})
    max_backoff_s: float = field(default=60.0, metadata={"above": 0})


@dataclass(frozen=True)
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    spotify: SpotifyConfig = field(default_factory=SpotifyConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    service: ServiceConfig = field(default_factory=ServiceConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    startup: StartupConfig = field(default_factory=StartupConfig)


SECRET_KEYS = frozenset(
    {("spotify", "client_secret"), ("security", "token_key"), ("telegram", "token"),
     ("discord", "token"), ("store", "database_url"), ("telegram", "webhook_secret")}
)

S = TypeVar("S")


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _convert(value: Any, kind: Any) -> Any:
    """``value`` (from TOML or an environment variable) as ``kind``; ValueError in words.

    Strict: a bool is never a number, a fraction never a whole number, and a bool key takes
    true/false (1/0, yes/no, on/off as text)."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise ValueError(f"{value!r} is not true or false")
    if kind in (int, float) and isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if kind is int:
        if isinstance(value, float) or (isinstance(value, str) and not value.strip().lstrip(
                "+-").isdigit()):
            raise ValueError(f"{value!r} is not a whole number")
        return int(value)
    if kind is float:
        if not isinstance(value, int | float | str):
            raise ValueError(f"{value!r} is not a number")
        return float(value)
    return kind(value)


def _range_problem(value: Any, limits: Mapping[str, Any]) -> str | None:
    """Why a number is outside ``limits`` (``min``, ``max``: inclusive; ``above``: exclusive)."""
    if "above" in limits and not value > limits["above"]:
        return f"must be more than {limits['above']}, not {value}"
    low, high = limits.get("min"), limits.get("max")
    if (low is not None and value < low) or (high is not None and value > high):
        if high is None:
            return f"must be {low} or more, not {value}"
        return f"must be from {low} to {high}, not {value}"
    return None


def _coerce(value: Any, kind: Any, where: str, base: Path,
            limits: Mapping[str, Any] | None = None) -> Any:
    try:
        if kind is Path:
            path = Path(str(value)).expanduser()
            return path if path.is_absolute() else (base / path).resolve()
        converted = _convert(value, kind)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"Config key {where} has an invalid value: {exc}") from None
    problem = _range_problem(converted, limits) if limits else None
    if problem:
        raise ConfigError(f"Config key {where} {problem}.")
    return converted


def _build_section(cls: type[S], values: Mapping[str, Any], section: str, base: Path,
                   problems: list[str]) -> S:
    """The section's dataclass from ``values``; each bad value's message goes to ``problems``."""
    hints = get_type_hints(cls)
    by_name = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = set(values) - set(by_name)
    if unknown:
        problems.append(f"Unknown config key(s) in [{section}]: {', '.join(sorted(unknown))}")
    updates = {}
    for key, value in values.items():
        if key in unknown:
            continue
        try:
            updates[key] = _coerce(value, hints[key], f"{section}.{key}", base,
                                   by_name[key].metadata)
        except ConfigError as exc:
            problems.append(str(exc))
    return replace(cls(), **updates)  # type: ignore[type-var]


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Load the configuration from a TOML file (optional) and ``MOOSIC_*`` variables.

    Raises :class:`ConfigError` naming every bad key at once: unknown keys, values of the
    wrong type (a bool or fraction for a whole number) and numbers outside their range.
    """
    env = os.environ if env is None else env
    if path is None and env.get("MOOSIC_CONFIG"):
        path = Path(env["MOOSIC_CONFIG"])
    if path is None and (PROJECT_ROOT / "config.toml").exists():
        path = PROJECT_ROOT / "config.toml"
    raw: dict[str, Any] = {}
    base = PROJECT_ROOT
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"Config file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"Config file {path} is not valid TOML: {exc}") from None
        base = Path(path).resolve().parent
    sections = {f.name: f for f in fields(Config)}
    unknown = set(raw) - set(sections)
    if unknown:
        raise ConfigError(f"Unknown config section(s): {', '.join(sorted(unknown))}")
    built: dict[str, Any] = {}
    problems: list[str] = []
    for name, fdef in sections.items():
        cls = get_type_hints(Config)[name]
        values = dict(raw.get(name, {}))
        for key in (f.name for f in fields(cls)):
            env_value = env.get(f"MOOSIC_{name}_{key}".upper())
            if env_value is not None:
                values[key] = env_value
        del fdef
        built[name] = _build_section(cls, values, name, base, problems)
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        raise ConfigError(f"{len(problems)} config problems: " + " ".join(problems))
    return Config(**built)


def secret_values(config: Config) -> list[str]:
    """The configured secrets' values (to mask them in logs)."""
    return [str(getattr(getattr(config, section), key)) for section, key in SECRET_KEYS
            if getattr(getattr(config, section), key)]


ConfigValue = str | int | float | bool


def describe(config: Config) -> dict[str, dict[str, ConfigValue]]:
    """The configuration with secrets masked (safe to log or print): numbers and bools keep
    their types, paths become strings, a set secret is ``"***"`` (empty: ``""``)."""
    out: dict[str, dict[str, ConfigValue]] = {}
    for sec in fields(config):
        section = getattr(config, sec.name)
        out[sec.name] = {}
        for f in fields(section):
            value = getattr(section, f.name)
            if (sec.name, f.name) in SECRET_KEYS:
                out[sec.name][f.name] = "***" if value else ""
            elif isinstance(value, bool | int | float):
                out[sec.name][f.name] = value
            else:
                out[sec.name][f.name] = str(value)
    return out


def toml_value(value: ConfigValue) -> str:
    """One value as TOML writes it (``true``, ``8765``, ``"text"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)
