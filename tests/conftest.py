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

#: Fixtures of the Telegram front-end's tests (``fake``, ``tg``), for every module.
pytest_plugins = ["tests.telegram_fixtures"]


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


@pytest.fixture(scope="session")
def song_models(config: Config):
    from moosic_core.songs.models import SongModels

    return SongModels.load(config.paths.models_dir / "songs")


@pytest.fixture(scope="session")
def face_reader(config: Config):
    from moosic_core.mood.reader import FaceMoodReader, model_path

    return FaceMoodReader(model_path(config.paths.models_dir))


@pytest.fixture
async def service(config: Config, catalog: Catalog, song_models, face_reader, tmp_path: Path):
    """The real service over a fresh SQLite file (models and catalog shared across tests)."""
    import dataclasses

    from bot.hints import CHAT_HINTS
    from moosic_core.service import MoosicService
    from moosic_core.store import Store

    paths = dataclasses.replace(config.paths, database=tmp_path / "moosic.sqlite3")
    cfg = dataclasses.replace(config, paths=paths)
    store = Store(paths.database)
    await store.open()
    svc = MoosicService(cfg, catalog, face_reader, store, song_models, hint_words=CHAT_HINTS)
    yield svc
    await svc.close()
    await store.close()


def jpeg_bytes(image, quality: int = 90) -> bytes:
    """Encode an RGB array or PIL image as JPEG bytes in memory."""
    import io

    from PIL import Image

    pil = image if isinstance(image, Image.Image) else Image.fromarray(image)
    buffer = io.BytesIO()
    pil.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def selfie() -> bytes:
    """A real smiling face (scikit-image's astronaut) as a 640x640 JPEG."""
    from PIL import Image
    from skimage import data

    return jpeg_bytes(Image.fromarray(data.astronaut()).resize((640, 640)))


@pytest.fixture(scope="session")
def no_face() -> bytes:
    """A real photo without a face (scikit-image's coffee cup)."""
    from skimage import data

    return jpeg_bytes(data.coffee())


# --- the store over both backends ----------------------------------------------------------
POSTGRES_URL_ENV = "MOOSIC_TEST_POSTGRES_URL"  # set by scripts/with_postgres.sh (make test)


async def fresh_postgres_database(url: str, name: str) -> str:
    """Create an empty database ``name`` on the server of ``url``; its URL."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from moosic_core.store.db import database_url

    admin = create_async_engine(database_url(url), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgres"])
async def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """Where a test's store lives: a fresh SQLite file, or a fresh PostgreSQL database (a URL
    string) on the server named by ``MOOSIC_TEST_POSTGRES_URL``. Without that server the
    PostgreSQL case skips, except in CI (``CI=true``), where it fails."""
    if request.param == "sqlite":
        return tmp_path / "db.sqlite3"
    import uuid

    return await fresh_postgres_database(postgres_server_url(),
                                         f"moosic_test_{uuid.uuid4().hex[:12]}")


def postgres_server_url() -> str:
    """The test PostgreSQL server's URL (``MOOSIC_TEST_POSTGRES_URL``); without it the test
    skips, except in CI (``CI=true``), where it fails."""
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        reason = (f"no PostgreSQL server: {POSTGRES_URL_ENV} is not set (run the tests through "
                  "`make test` or scripts/with_postgres.sh)")
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return url
