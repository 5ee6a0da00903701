"""The packed serving catalog and the pandas-free serving path."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from moosic_core import PROJECT_ROOT
from moosic_core.app import load_serving_catalog
from moosic_core.catalog.dataset import read_source
from moosic_core.catalog.packed import content_hash, manifest_path, pack, write_packed
from moosic_core.catalog.store import Catalog
from moosic_core.errors import CatalogMissing, DataError
from moosic_core.recommend.ranking import Ranker, RankRequest
from moosic_core.songs.genre_net import GenreNet
from moosic_core.store import Store


@pytest.fixture(scope="module")
def packed(config) -> Catalog:
    return Catalog.load_packed(config.paths.packed_catalog)


def test_committed_file_matches_the_built_catalog_and_is_not_rewritten(config, catalog,
                                                                         tmp_path) -> None:
    shipped = config.paths.packed_catalog
    assert shipped.stat().st_size <= 10_000_000
    manifest = json.loads(manifest_path(shipped).read_text())
    assert manifest["content_sha256"] == content_hash(pack(catalog))
    copy = tmp_path / shipped.name
    shutil.copy(shipped, copy)
    shutil.copy(manifest_path(shipped), manifest_path(copy))
    before = copy.read_bytes()
    assert write_packed(catalog, copy) is False  # same contents: left alone
    assert copy.read_bytes() == before
    assert (PROJECT_ROOT / "catalog" / "NOTICE.md").read_text().count("ODbL") >= 1


def test_changed_contents_rewrite_the_file(catalog, tmp_path) -> None:
    path = tmp_path / "cat.npz"
    assert write_packed(catalog, path) is True
    first = json.loads(manifest_path(path).read_text())["content_sha256"]
    original = float(catalog.mood[0])
    catalog.mood[0] = original + 0.5
    try:
        assert write_packed(catalog, path) is True
    finally:
        catalog.mood[0] = original
    assert json.loads(manifest_path(path).read_text())["content_sha256"] != first


def test_packed_catalog_serves_the_same_songs(catalog, packed) -> None:
    assert len(packed) == len(catalog) and packed.genre_names == catalog.genre_names
    assert packed.genres == catalog.genres
    assert np.array_equal(packed.mood, catalog.mood)
    assert packed.row_by_artist_title("Adele", "Hello") == \
        catalog.row_by_artist_title("Adele", "Hello") is not None
    assert list(packed.rows_by_artist("Queen")) == list(catalog.rows_by_artist("Queen"))
    liked = tuple(str(t) for t in catalog.track_ids[catalog.rows_by_artist("Queen")[:2]])
    request = RankRequest(mood=0.8, energy=0.6, taste={"rock": 0.6, "jazz": 0.4},
                          liked_ids=liked, mode="lift")
    ours, theirs = Ranker(packed).rank(request), Ranker(catalog).rank(request)
    assert [r.track.track_id for r in ours] == [r.track.track_id for r in theirs]
    assert [r.score for r in ours] == pytest.approx([r.score for r in theirs], abs=1e-4)


def test_genre_net_reproduces_the_scikit_learn_pipeline(catalog, song_models) -> None:
    net = GenreNet.from_pipeline(song_models.genre_all)
    x = catalog.frame.loc[:2000, list(song_models.features)].to_numpy(dtype=np.float64)
    x[0, 0], x[1, 1] = -5.0, 1e9  # outside the fitted quantiles on both sides
    expected = song_models.genre_all.predict_proba(x)
    assert np.allclose(net.predict_proba(x), expected, atol=1e-9)
    assert net.classes == [str(c) for c in song_models.genre_all.classes_]


def test_missing_dataset_names_it_where_to_get_it_and_the_key(tmp_path) -> None:
    with pytest.raises(DataError) as error:
        read_source(tmp_path / "dataset.csv")
    message = error.value.user_message
    assert "Spotify Tracks Dataset" in message and "kaggle.com" in message
    assert "data.catalog_source" in message and "MOOSIC_DATA_CATALOG_SOURCE" in message


def test_missing_serving_catalog_says_how_to_restore_it(config, tmp_path) -> None:
    import dataclasses

    paths = dataclasses.replace(config.paths, packed_catalog=tmp_path / "gone.npz")
    with pytest.raises(CatalogMissing) as error:
        load_serving_catalog(dataclasses.replace(config, paths=paths))
    message = error.value.user_message
    assert "git checkout" in message and "data.catalog_source" in message


def test_serving_loads_no_training_libraries(config, tmp_path) -> None:
    """Open the service as `moosic run` does, import a playlist with audio features (the genre
    model runs) and check pandas, pyarrow, SciPy, scikit-learn and TensorFlow stayed out; and
    Alembic (with Mako), since the database is already at the head revision (any start but
    the first: migrations only run for a database that needs them)."""
    playlist = config.data.playlists_dir / "liked_songs_b.csv"
    database = tmp_path / "db.sqlite3"
    asyncio.run(_create_store(database))
    code = f"""
import asyncio, dataclasses, sys
from pathlib import Path
from moosic_core.app import open_service
from moosic_core.config import load_config
from moosic_core.types import UserRef
import bot.conversation, bot.console
async def main():
    config = load_config(env={{}})
    paths = dataclasses.replace(config.paths, database=Path({str(database)!r}))
    async with open_service(dataclasses.replace(config, paths=paths)) as service:
        profile = await service.import_playlist(UserRef("t", "1"), Path({str(playlist)!r})
                                                .read_bytes(), "liked.csv")
        assert profile.sources["audio_features"] > 0, profile.sources
        await service.recommend(UserRef("t", "1"), service.stated_mood("happy"))
asyncio.run(main())
print(",".join(m for m in ("pandas", "pyarrow", "scipy", "sklearn", "tensorflow", "joblib",
                          "alembic", "mako") if m in sys.modules))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == ""


async def _create_store(path: Path) -> None:
    """Create an up-to-date database, as an earlier start of the bot did."""
    async with Store(path):
        pass
