"""Reading and preprocessing the Spotify Tracks Dataset (one row per track and genre)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from moosic_core.datasets import SPOTIFY_TRACKS, dataset_missing
from moosic_core.errors import DataError
from moosic_core.songs.title_features import TITLE_FEATURES, title_features

AUDIO_FEATURES = (
    "danceability", "energy", "key", "loudness", "mode", "speechiness", "acousticness",
    "instrumentalness", "liveness", "valence", "tempo", "time_signature",
)
SOURCE_NUMBERS = (*AUDIO_FEATURES, "duration_ms", "explicit", "popularity")
#: Every numeric column a model may use: audio features, track metadata, title and credits.
MODEL_FEATURES = (*SOURCE_NUMBERS, *TITLE_FEATURES)
REQUIRED_COLUMNS = ("track_id", "artists", "album_name", "track_name", *SOURCE_NUMBERS,
                    "track_genre")
MAX_DURATION_MS = 10 * 60 * 1000


def read_source(path: Path) -> pd.DataFrame:
    """Read and validate the dataset CSV; raise :class:`DataError` with a clear reason."""
    if not path.is_file():
        raise dataset_missing(SPOTIFY_TRACKS, path)
    try:
        frame = pd.read_csv(path, low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"Catalog source {path} is not a readable CSV: {exc}") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"Catalog source {path} lacks column(s): {', '.join(missing)}")
    frame = frame.loc[:, list(REQUIRED_COLUMNS)].copy()
    frame["explicit"] = frame["explicit"].map(_to_bool).astype("float64")
    for column in SOURCE_NUMBERS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    bad = frame[list(SOURCE_NUMBERS)].isna().any(axis=1) | frame["track_id"].isna()
    if bad.all() or frame.empty:
        raise DataError(f"Catalog source {path} has no usable rows")
    frame = frame.loc[~bad].reset_index(drop=True)
    for column in ("artists", "album_name", "track_name"):
        frame[column] = frame[column].fillna("").astype(str)
    frame["track_id"] = frame["track_id"].astype(str)
    frame["track_genre"] = frame["track_genre"].astype(str)
    counts = [len(a.split(";")) if a else 0 for a in frame["artists"]]
    derived = title_features(frame["track_name"], counts)
    return pd.concat([frame, derived.set_index(frame.index)], axis=1)


def _to_bool(value: object) -> float:
    if isinstance(value, str):
        return 1.0 if value.strip().lower() in {"true", "1", "yes"} else 0.0
    return 1.0 if bool(value) and not (isinstance(value, float) and np.isnan(value)) else 0.0


def is_trainable(frame: pd.DataFrame) -> pd.Series:
    """Rows the models learn from: a named track no longer than 10 minutes (as the original)."""
    return (frame["duration_ms"] <= MAX_DURATION_MS) & (frame["track_name"] != "")


def unique_tracks(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per track ID, with every genre it is listed under (sorted, ``;``-joined).

    Features are identical across a track's rows; popularity differs for a few hundred
    (scraped at different times), so the highest is kept.
    """
    genres = (frame.groupby("track_id", sort=False)["track_genre"]
              .agg(lambda g: ";".join(sorted(set(g)))))
    popularity = frame.groupby("track_id", sort=False)["popularity"].max()
    tracks = frame.drop_duplicates("track_id").set_index("track_id")
    tracks = tracks.drop(columns=["track_genre"])
    tracks["popularity"] = popularity
    tracks["genres"] = genres
    tracks["servable"] = is_trainable(tracks.reset_index()).to_numpy()
    return tracks.reset_index()


def single_label_rows(frame: pd.DataFrame, genres: list[str]) -> pd.DataFrame:
    """Trainable rows of the given genres, dropping tracks listed under more than one of them."""
    rows = frame.loc[is_trainable(frame) & frame["track_genre"].isin(genres)]
    return rows.drop_duplicates("track_id", keep=False).reset_index(drop=True)
