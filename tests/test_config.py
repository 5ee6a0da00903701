"""Configuration: file, environment overrides, validation, secrets."""

from __future__ import annotations

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
                              "MOOSIC_SECURITY_TOKEN_KEY": "k" * 44})
    text = repr(describe(config))
    assert "SECRET" not in text and "kkkk" not in text
    assert describe(config)["telegram"]["token"] == "***"


def test_cli_reports_config_errors_as_json(moosic, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[service]\nworkers = 'x'\n")
    code, data, stderr = moosic("--config", str(path), "config", "--json")
    assert code == 2
    assert data["kind"] == "ConfigError"
    assert "Traceback" not in stderr
