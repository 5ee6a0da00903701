"""Configuration: file, environment overrides, validation, secrets."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from moosic_core import PROJECT_ROOT
from moosic_core.config import describe, load_config
from moosic_core.errors import ConfigError


def test_defaults_point_at_the_shared_data() -> None:
    config = load_config(env={})
    assert config.data.catalog_source.is_file()
    assert config.paths.models_dir == PROJECT_ROOT / "models"


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[telegram]\ntoken = "from-file"\n[service]\nworkers = 3\n'
                    '[paths]\ndata_dir = "here"\n')
    config = load_config(path, env={"MOOSIC_TELEGRAM_TOKEN": "from-env",
                                    "MOOSIC_SPOTIFY_API_URL": "http://127.0.0.1:9/v1/"})
    assert config.telegram.token == "from-env"
    assert config.spotify.api_url == "http://127.0.0.1:9/v1/"
    assert config.service.workers == 3
    assert config.paths.data_dir == tmp_path / "here"


def test_example_config_documents_every_key() -> None:
    config = load_config(PROJECT_ROOT / "config.example.toml", env={})
    text = (PROJECT_ROOT / "config.example.toml").read_text()
    for section, values in describe(config).items():
        assert f"[{section}]" in text
        for key in values:
            assert f"\n{key} =" in text, f"{section}.{key} is not documented"


@pytest.mark.parametrize("content, message", [
    ("[nope]\n", "Unknown config section"),
    ("[service]\nthreads = 2\n", "Unknown config key"),
    ("[service]\nworkers = 'many'\n", "invalid value"),
    ("[service\n", "not valid TOML"),
])
def test_bad_config_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_config(path, env={})


def test_secrets_are_masked() -> None:
    config = load_config(env={"MOOSIC_TELEGRAM_TOKEN": "123:SECRET",
                              "MOOSIC_SECURITY_TOKEN_KEY": "k" * 44,
                              "MOOSIC_TELEGRAM_WEBHOOK_SECRET": "HOOKSECRET"})
    text = repr(describe(config))
    assert "SECRET" not in text and "kkkk" not in text
    assert describe(config)["telegram"]["token"] == "***"
    assert describe(config)["telegram"]["webhook_secret"] == "***"  # it lets one post updates


def test_cli_reports_config_errors_as_json(moosic, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[service]\nworkers = 'x'\n")
    code, data, stderr = moosic("--config", str(path), "config", "--json")
    assert code == 2
    assert data["kind"] == "ConfigError"
    assert "Traceback" not in stderr


@pytest.mark.parametrize("key, value, message", [
    ("recommendations", "0", "service.recommendations must be from 1 to 100, not 0"),
    ("recommendations", "-5", "service.recommendations must be from 1 to 100"),
    ("workers", "0", "service.workers must be from 1"),
    ("workers", "-1", "service.workers must be from 1"),
    ("workers", "2.5", "service.workers has an invalid value: 2.5 is not a whole number"),
    ("workers", "true", "service.workers has an invalid value: True is not a number"),
    ("selfies_per_minute", "-1", "service.selfies_per_minute must be 0 or more"),
    ("max_queue_wait_s", "0", "service.max_queue_wait_s must be more than 0"),
])
def test_numeric_keys_are_checked_for_type_and_range(tmp_path: Path, key: str, value: str,
                                                     message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f"[service]\n{key} = {value}\n")
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(path, env={})


def test_every_bad_key_is_reported_at_once_and_zero_is_allowed_where_documented(
        tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[service]\nworkers = 0\nselfies_per_minute = 0\n"
                    "[telegram]\nwebhook_port = 70000\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={"MOOSIC_SPOTIFY_TRACK_CAP": "2.0"})
    text = str(caught.value)
    for key in ("service.workers", "telegram.webhook_port", "spotify.track_cap"):
        assert key in text
    assert "selfies_per_minute" not in text  # 0 = no limit (documented)
    assert load_config(env={"MOOSIC_SERVICE_SELFIES_PER_MINUTE": "0"}
                       ).service.selfies_per_minute == 0


def test_config_command_shows_numbers_and_bools_as_their_types(moosic) -> None:
    code, data, _ = moosic("config", "--json", env={"MOOSIC_SERVICE_WORKERS": "3"})
    assert code == 0
    assert data["service"]["workers"] == 3 and data["spotify"]["callback_port"] == 8765
    assert data["service"]["max_queue_wait_s"] == 5.0 and data["paths"]["database"]
    plain = subprocess.run([sys.executable, "-m", "bot.cli", "config"], capture_output=True,
                           text=True, cwd=PROJECT_ROOT, check=True, timeout=120).stdout
    assert "callback_port = 8765\n" in plain and "level = \"INFO\"\n" in plain


def test_a_bad_number_stops_the_cli_with_exit_2(moosic) -> None:
    code, data, stderr = moosic("config", "--json",
                                env={"MOOSIC_SERVICE_RECOMMENDATIONS": "0"})
    assert code == 2 and data["kind"] == "ConfigError"
    assert "service.recommendations" in data["error"] and "Traceback" not in stderr
