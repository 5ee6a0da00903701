"""Assembling the service from the configuration: models, catalog and store load once."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from moosic_core.catalog.store import Catalog
from moosic_core.config import Config
from moosic_core.metrics import Metrics
from moosic_core.mood.reader import FaceMoodReader, model_path
from moosic_core.service import MoosicService
from moosic_core.songs.models import SongModels
from moosic_core.store import Store

log = logging.getLogger(__name__)


@asynccontextmanager
async def open_service(config: Config, metrics: Metrics | None = None
                       ) -> AsyncIterator[MoosicService]:
    """The ready service; closes the thread pool and the database on exit.

    ``metrics`` (one is made when None) is what a monitor endpoint already serves."""
    catalog = Catalog.load(config.paths.catalog_dir)
    models = SongModels.load(config.paths.models_dir / "songs")
    faces = FaceMoodReader(model_path(config.paths.models_dir))
    store = Store(config.paths.database)
    await store.open()
    service = MoosicService(config, catalog, faces, store, models, metrics)
    log.info("service ready: %d tracks, database %s", len(catalog), config.paths.database)
    try:
        yield service
    finally:
        await service.close()
        await store.close()
