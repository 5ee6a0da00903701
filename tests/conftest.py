"""Shared fixtures: the real built catalog, the real models, the real datasets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from moosic_core import PROJECT_ROOT
from moosic_core.catalog.store import Catalog
from moosic_core.config import Config, load_config


@pytest.fixture(scope="session")
def config() -> Config:
    return load_config(env={})


@pytest.fixture(scope="session")
def catalog(config: Config) -> Catalog:
    return Catalog.load(config.paths.catalog_dir)


@pytest.fixture
def moosic() -> Callable[..., tuple[int, Any, str]]:
    """Run the real ``moosic`` CLI in a subprocess; returns (exit code, parsed JSON, stderr)."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120
            ) -> tuple[int, Any, str]:
        full_env = {**os.environ, **(env or {})}
        proc = subprocess.run([sys.executable, "-m", "bot.cli", *args],
                              capture_output=True, text=True, env=full_env, cwd=PROJECT_ROOT,
                              timeout=timeout, check=False)
        try:
            data = json.loads(proc.stdout) if proc.stdout.strip() else None
        except json.JSONDecodeError:
            data = proc.stdout
        return proc.returncode, data, proc.stderr

    return run


def dataset_head(config: Config, tmp_path: Path, rows: int) -> Path:
    """A small CSV made from the first rows of the real dataset (never committed)."""
    lines = config.data.catalog_source.read_text(encoding="utf-8").splitlines()[: rows + 1]
    path = tmp_path / "head.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def fake_spotify():
    """A fake Spotify Web API on 127.0.0.1 (see tests/fakes/spotify.py)."""
    from tests.fakes.spotify import FakeSpotify

    fake = FakeSpotify()
    fake.start()
    yield fake
    fake.stop()
