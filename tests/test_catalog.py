"""The catalog's contents and the ``moosic catalog`` commands."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from moosic_core.catalog.dataset import read_source
from moosic_core.catalog.store import CATALOG_FILE, Catalog, build_catalog
from tests.conftest import dataset_head

URL = re.compile(r"^https://open\.spotify\.com/track/[0-9A-Za-z]{22}$")


def test_one_row_per_unique_track(catalog: Catalog) -> None:
    assert len(catalog) == 89_741
    assert len(set(catalog.track_ids)) == len(catalog)
    assert len(catalog.genre_names) == 114


def test_scores_are_in_range(catalog: Catalog) -> None:
    frame = catalog.frame
    for column in ("mood_score", "arousal", "emotion_proxy", "valence", "energy"):
        values = frame[column].to_numpy()
        assert np.isfinite(values).all(), column
        assert values.min() >= 0.0 and values.max() <= 1.0, column
    # A percentile score spreads over the whole range.
    assert frame["mood_score"].quantile(0.05) < 0.1 < 0.9 < frame["mood_score"].quantile(0.95)


def test_urls_are_well_formed(catalog: Catalog) -> None:
    shown = catalog.show(limit=None)
    assert all(URL.match(u) for u in shown["url"])


def test_tracks_keep_every_genre_they_are_listed_under(config, catalog: Catalog) -> None:
    raw = read_source(config.data.catalog_source)
    listed = raw.groupby("track_id")["track_genre"].agg(frozenset)
    multi = listed[listed.map(len) >= 3].head(50)
    for track_id, genres in multi.items():
        row = catalog.row_of(str(track_id))
        assert row is not None
        assert set(catalog.genres[row]) == genres


def test_long_and_nameless_tracks_are_not_served(catalog: Catalog) -> None:
    frame = catalog.frame
    long_tracks = frame["duration_ms"] > 600_000
    assert long_tracks.sum() > 0
    assert not catalog.servable[long_tracks.to_numpy()].any()
    assert not catalog.servable[(frame["track_name"] == "").to_numpy()].any()


def test_lookup_by_artist_and_title(catalog: Catalog) -> None:
    row = catalog.row_of("5SuOikwiRyPMVoIQDJUgSV")
    assert row is not None
    track = catalog.track(row)
    assert catalog.row_by_artist_title(track.artists[0].upper(), track.name + " - Remastered") \
        == row
    assert row in set(catalog.rows_by_artist(f"  {track.artists[0].lower()} "))
    shares = catalog.artist_genre_distribution(track.artists[0])
    assert abs(sum(shares.values()) - 1.0) < 1e-6


def test_show_json_has_required_columns(moosic) -> None:
    code, rows, _ = moosic("catalog", "show", "--genre", "rock", "--limit", "5",
                           "--format", "json")
    assert code == 0
    assert len(rows) == 5
    for row in rows:
        assert {"track_id", "artists", "track_name", "genres", "valence", "energy",
                "mood_score", "url"} <= set(row)
        assert "rock" in row["genres"].split(";")
        assert 0.0 <= row["mood_score"] <= 1.0
        assert URL.match(row["url"])


def test_show_csv(moosic) -> None:
    code, out, _ = moosic("catalog", "show", "--limit", "3", "--format", "csv")
    assert code == 0
    assert isinstance(out, str)
    header, *rows = out.strip().splitlines()
    assert header.startswith("track_id,artists,track_name,genres,valence,energy,mood_score")
    assert len(rows) == 3


def test_show_unknown_genre_is_a_clear_error(moosic) -> None:
    code, data, stderr = moosic("catalog", "show", "--genre", "polka-metal", "--json")
    assert code == 2
    assert data["kind"] == "DataError" and "polka-metal" in data["error"]
    assert "Traceback" not in stderr


def test_build_from_a_small_csv(config, tmp_path) -> None:
    source = dataset_head(config, tmp_path, 300)
    report = build_catalog(source, config.paths.models_dir / "songs", tmp_path / "out")
    built = Catalog.load(tmp_path / "out")
    assert report.rows == len(built) == pd.read_csv(source)["track_id"].nunique()
    assert built.frame["mood_score"].between(0, 1).all()


def test_build_errors_write_nothing(moosic, config, tmp_path) -> None:
    out_dir = tmp_path / "data"
    env = {"MOOSIC_PATHS_DATA_DIR": str(out_dir)}
    cases = {
        "missing.csv": None,
        "binary.csv": b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe",
        "wrong_columns.csv": b"a,b,c\n1,2,3\n",
        "empty.csv": b"",
    }
    for name, content in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        code, data, stderr = moosic("catalog", "build", "--source", str(path), "--json", env=env)
        assert code == 2, (name, data, stderr)
        assert data["kind"] == "DataError", name
        assert "Traceback" not in stderr
        assert not (out_dir / "catalog" / CATALOG_FILE).exists()


def test_failed_rebuild_keeps_the_old_catalog(config, tmp_path) -> None:
    source = dataset_head(config, tmp_path, 50)
    build_catalog(source, config.paths.models_dir / "songs", tmp_path)
    before = (tmp_path / CATALOG_FILE).read_bytes()
    broken = tmp_path / "broken.csv"
    broken.write_text("track_id,artists\nx,y\n")
    try:
        build_catalog(broken, config.paths.models_dir / "songs", tmp_path)
    except Exception as exc:
        assert type(exc).__name__ == "DataError"
    assert (tmp_path / CATALOG_FILE).read_bytes() == before
    assert not list(tmp_path.glob("*.tmp"))
