"""Assembling the service from the configuration: models, catalog and store load once."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from moosic_core.catalog.store import Catalog
from moosic_core.config import Config
from moosic_core.datasets import SPOTIFY_TRACKS
from moosic_core.errors import CatalogMissing
from moosic_core.metrics import Metrics
from moosic_core.mood.reader import FaceMoodReader, model_path
from moosic_core.service import HintWords, MoosicService
from moosic_core.songs.models import SongModels
from moosic_core.store import Store

log = logging.getLogger(__name__)


def load_serving_catalog(config: Config) -> Catalog:
    """The packed catalog the bot serves (``paths.packed_catalog``; it ships with the code).

    Raises :class:`CatalogMissing` saying how to restore or rebuild it when it is absent.
    """
    path = config.paths.packed_catalog
    try:
        return Catalog.load_packed(path)
    except CatalogMissing:
        raise CatalogMissing(
            f"The song catalog {path} is missing. It ships with the repository: restore it "
            f"with `git checkout -- {path.parent.name}/`, or build it from "
            f"{SPOTIFY_TRACKS.name} (download: {SPOTIFY_TRACKS.download}; config key "
            f"{SPOTIFY_TRACKS.config_key}) with `make catalog`.") from None


def load_tool_catalog(config: Config) -> Catalog:
    """The catalog the CLI tools read (``taste``, ``catalog show``, ``eval ...``): the full
    table ``moosic catalog build`` writes under ``paths.data_dir`` when it was built here, else
    the packed serving catalog that ships with the code (a fresh clone: no dataset needed).

    Both hold every track with the same columns; raises :class:`CatalogMissing` (how to restore
    or rebuild) only when neither exists.
    """
    try:
        return Catalog.load(config.paths.catalog_dir)
    except CatalogMissing:
        log.debug("no built catalog table under %s; reading the packed catalog %s",
                  config.paths.catalog_dir, config.paths.packed_catalog)
    return load_serving_catalog(config)


@asynccontextmanager
async def open_service(config: Config, metrics: Metrics | None = None,
                       hint_words: HintWords | None = None,
                       open_store: Callable[[Store], Awaitable[None]] | None = None,
                       ) -> AsyncIterator[MoosicService]:
    """The ready service; closes the thread pool and the database on exit.

    ``metrics`` (one is made when None) is what a monitor endpoint already serves;
    ``hint_words`` word the lists' hints in the caller's commands (None: no hints);
    ``open_store`` opens the store (None: :meth:`Store.open`, once; the bots pass one that
    retries while the database server is unreachable)."""
    catalog = load_serving_catalog(config)
    models = SongModels.load(config.paths.models_dir / "songs")
    faces = FaceMoodReader(model_path(config.paths.models_dir))
    store = Store.from_config(config)
    await (open_store or Store.open)(store)
    service = MoosicService(config, catalog, faces, store, models, metrics, hint_words)
    log.info("service ready: %d tracks, database %s", len(catalog), store.name)
    try:
        yield service
    finally:
        await service.close()
        await store.close()
