"""Operator mistakes are found at start-up and logged once with the key to fix; users only ever
see user words (Spotify linking off -> "send me a playlist CSV")."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from bot.conversation import Conversation
from moosic_core import PROJECT_ROOT
from moosic_core.config import Config, SecurityConfig, SpotifyConfig, TelegramConfig
from moosic_core.config_check import check, report
from moosic_core.errors import ConfigError
from moosic_core.service import MoosicService
from moosic_core.types import UserRef

KEY = Fernet.generate_key().decode()
ANA = UserRef("console", "ana")
NOT_AVAILABLE = "Spotify linking isn't available on this bot; send me a playlist CSV instead"
#: The same words as the console says them (each front-end words how to send a file).
NOT_AVAILABLE_IN_CONSOLE = ("Spotify linking isn't available on this bot; type the path of a "
                            "playlist CSV instead")


def _config(client_id: str = "", token_key: str = "", redirect_uri: str | None = None,
            webhook_url: str = "", webhook_secret: str = "") -> Config:
    spotify = SpotifyConfig(client_id=client_id)
    if redirect_uri is not None:
        spotify = dataclasses.replace(spotify, redirect_uri=redirect_uri)
    return Config(spotify=spotify, security=SecurityConfig(token_key=token_key),
                  telegram=TelegramConfig(webhook_url=webhook_url,
                                          webhook_secret=webhook_secret))


@pytest.mark.parametrize(("config", "keys"), [
    (_config(), []),
    (_config("app-id", KEY), []),
    (_config("app-id", f"{KEY},{Fernet.generate_key().decode()}"), []),  # rotation: NEW,OLD
    (_config("app-id", KEY, "https://bot.example.org/spotify/callback"), []),
    (_config("app-id"), ["security.token_key"]),
    (_config("app-id", "not-a-fernet-key"), ["security.token_key"]),
    (_config("app-id", f"{KEY},short"), ["security.token_key"]),
    (_config("app-id", KEY, "http://localhost:8765/callback"), ["spotify.redirect_uri"]),
    (_config("app-id", KEY, "http://bot.example.org/callback"), ["spotify.redirect_uri"]),
    (_config("app-id", KEY, "http://127.0.0.1/callback"), ["spotify.redirect_uri"]),
    (_config(webhook_url="https://bot.example.org/telegram"), []),
    (_config(webhook_url="https://bot.example.org:8443/telegram"), []),
    (_config(webhook_url="https://bot.example.org:8080/telegram"), ["telegram.webhook_url"]),
    (_config(webhook_url="http://bot.example.org/telegram"), ["telegram.webhook_url"]),
    (_config(webhook_url="https://bot.example.org/t", webhook_secret="A-z_09"), []),
    (_config(webhook_url="https://bot.example.org/t", webhook_secret="has space"),
     ["telegram.webhook_secret"]),
    (_config(webhook_url="https://bot.example.org/t", webhook_secret="x" * 257),
     ["telegram.webhook_secret"]),
    (_config(webhook_url="https://bot.example.org/t", webhook_secret="pässword"),
     ["telegram.webhook_secret"]),
])
def test_each_problem_names_its_key(config: Config, keys: list[str]) -> None:
    assert [p.key for p in check(config)] == keys


def test_report_logs_each_problem_once_and_raises_only_for_fatal_ones(caplog) -> None:
    report(_config("app-id", "not-a-fernet-key"))  # Spotify: a warning, the bot still runs
    lines = caplog.text.splitlines()
    assert sum("security.token_key" in line for line in lines) == 1
    assert sum("Spotify linking is disabled" in line for line in lines) == 1
    assert "not-a-fernet-key" not in caplog.text  # the key's value is a secret
    with pytest.raises(ConfigError, match=r"telegram\.webhook_url"):
        report(_config(webhook_url="https://bot.example.org:8080/telegram"))


async def test_users_get_user_words_when_spotify_is_unusable(service: MoosicService) -> None:
    cfg = _config("app-id")  # a client id, but no key to encrypt tokens with
    cfg = dataclasses.replace(service.config, spotify=cfg.spotify, security=cfg.security)
    spotify_bot = MoosicService(cfg, service.catalog, service.faces, service.store)
    conversation = Conversation(spotify_bot)
    for arg in ("spotify", "spotify someone", "spotify https://x/cb?code=abcdefghijk&state=s"):
        reply = await conversation.command(ANA, "link", arg)
        assert reply.text.startswith(NOT_AVAILABLE), reply.text
        assert "token_key" not in reply.text and "MOOSIC_" not in reply.text
        assert reply.link_url is None
    assert not spotify_bot.taste.capabilities()["spotify_oauth"]
    await spotify_bot.close()


def _run(*args: str, stdin: str = "", env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], input=stdin,
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=180,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(PROJECT_ROOT), **(env or {})},
                          check=False)


def test_console_with_a_spotify_id_but_no_key(tmp_path) -> None:
    """`moosic run` (console): one log line for the operator, user words in the chat."""
    proc = _run("run", stdin="/link spotify\n/quit\n",
                env={"MOOSIC_SPOTIFY_CLIENT_ID": "0123456789abcdef",
                     "MOOSIC_PATHS_DATABASE": str(tmp_path / "db.sqlite3")})
    assert proc.returncode == 0, proc.stderr
    assert NOT_AVAILABLE_IN_CONSOLE in proc.stdout
    assert "token_key" not in proc.stdout and "Fernet" not in proc.stdout
    log_lines = proc.stderr.splitlines()
    assert sum("security.token_key" in line for line in log_lines) == 1, proc.stderr
    assert sum("Spotify linking is disabled" in line for line in log_lines) == 1


def test_a_webhook_telegram_would_refuse_stops_the_start(tmp_path) -> None:
    proc = _run("bot", "telegram", env={
        "MOOSIC_TELEGRAM_TOKEN": "123456:TEST-token-never-logged",
        "MOOSIC_TELEGRAM_WEBHOOK_URL": "https://bot.example.org:8080/telegram",
        "MOOSIC_PATHS_DATABASE": str(tmp_path / "db.sqlite3")})
    assert proc.returncode == 2
    assert "telegram.webhook_url" in proc.stderr and "443, 80, 88 and 8443" in proc.stderr
    assert sum("telegram.webhook_url: uses port 8080" in line
               for line in proc.stderr.splitlines()) == 1
    assert "service ready" not in proc.stderr  # refused before loading the models
    assert "Traceback" not in proc.stderr and "TEST-token-never-logged" not in proc.stderr


def test_a_database_url_that_is_no_postgresql_stops_the_start(tmp_path) -> None:
    proc = _run("bot", "telegram", env={
        "MOOSIC_TELEGRAM_TOKEN": "123456:TEST-token-never-logged",
        "MOOSIC_STORE_DATABASE_URL": "mysql://moosic:pw-secret-9@db.example/moosic",
        "MOOSIC_PATHS_DATABASE": str(tmp_path / "db.sqlite3")})
    assert proc.returncode == 2
    assert "store.database_url" in proc.stderr and "postgresql://" in proc.stderr
    assert "service ready" not in proc.stderr
    assert "Traceback" not in proc.stderr and "pw-secret-9" not in proc.stderr
