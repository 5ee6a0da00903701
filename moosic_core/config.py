"""Configuration: defaults < ``config.toml`` (or ``$MOOSIC_CONFIG``) < ``MOOSIC_<SECTION>_<KEY>``.

Every key is documented in ``config.example.toml``. Relative paths resolve against the project
root. Loaded and validated once; errors raise :class:`ConfigError` with a clear message.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from moosic_core import PROJECT_ROOT
from moosic_core.errors import ConfigError

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


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
    callback_port: int = 8765
    max_retry_wait_s: float = 30.0
    request_timeout_s: float = 10.0
    track_cap: int = 3000
    cache_ttl_s: int = 86400


@dataclass(frozen=True)
class SecurityConfig:
    token_key: str = ""


@dataclass(frozen=True)
class TelegramConfig:
    token: str = ""
    api_url: str = "https://api.telegram.org/bot"
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443


@dataclass(frozen=True)
class DiscordConfig:
    token: str = ""
    test_guild_id: int = 0
    api_url: str = ""


@dataclass(frozen=True)
class ServiceConfig:
    workers: int = 2
    #: Selfies wait at most this long (expected) for the CPU pool; past it they get "busy".
    max_queue_wait_s: float = 5.0
    recommendations: int = 10
    group_round_s: int = 180
    selfies_per_minute: int = 6
    #: A photo waiting for the user's consent is dropped after this many minutes...
    pending_photo_minutes: float = 10.0
    #: ...and all waiting photos together hold at most this many MB (the oldest goes first).
    pending_photos_max_mb: int = 64


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

    retry_for_s: float = 600.0
    max_backoff_s: float = 60.0


@dataclass(frozen=True)
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    spotify: SpotifyConfig = field(default_factory=SpotifyConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    service: ServiceConfig = field(default_factory=ServiceConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    startup: StartupConfig = field(default_factory=StartupConfig)


SECRET_KEYS = frozenset(
    {("spotify", "client_secret"), ("security", "token_key"), ("telegram", "token"),
     ("discord", "token")}
)

S = TypeVar("S")


def _coerce(value: Any, kind: Any, where: str, base: Path) -> Any:
    try:
        if kind is Path:
            path = Path(str(value)).expanduser()
            return path if path.is_absolute() else (base / path).resolve()
        if kind is bool:
            if isinstance(value, str):
                return value.strip().lower() in {"1", "true", "yes", "on"}
            return bool(value)
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"Config key {where} has an invalid value: {exc}") from None


def _build_section(cls: type[S], values: Mapping[str, Any], section: str, base: Path) -> S:
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"Unknown config key(s) in [{section}]: {', '.join(sorted(unknown))}")
    updates = {k: _coerce(v, hints[k], f"{section}.{k}", base) for k, v in values.items()}
    return replace(cls(), **updates)  # type: ignore[type-var]


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Load the configuration from a TOML file (optional) and ``MOOSIC_*`` variables."""
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
    for name, fdef in sections.items():
        cls = get_type_hints(Config)[name]
        values = dict(raw.get(name, {}))
        for key in (f.name for f in fields(cls)):
            env_value = env.get(f"MOOSIC_{name}_{key}".upper())
            if env_value is not None:
                values[key] = env_value
        del fdef
        built[name] = _build_section(cls, values, name, base)
    return Config(**built)


def secret_values(config: Config) -> list[str]:
    """The configured secrets' values (to mask them in logs)."""
    return [str(getattr(getattr(config, section), key)) for section, key in SECRET_KEYS
            if getattr(getattr(config, section), key)]


def describe(config: Config) -> dict[str, dict[str, str]]:
    """The configuration as strings, with secrets masked (safe to log or print)."""
    out: dict[str, dict[str, str]] = {}
    for sec in fields(config):
        section = getattr(config, sec.name)
        out[sec.name] = {}
        for f in fields(section):
            value = getattr(section, f.name)
            secret = (sec.name, f.name) in SECRET_KEYS
            out[sec.name][f.name] = ("***" if value else "") if secret else str(value)
    return out
