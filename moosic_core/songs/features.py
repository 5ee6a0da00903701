"""Feature selection for the song models: correlations and mutual information, redone."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.feature_selection import mutual_info_classif

from moosic_core.catalog.dataset import MODEL_FEATURES

#: Features below this mutual information with the genre (nats) carry no usable signal.
MI_FLOOR = 0.01


def correlation_matrix(rows: pd.DataFrame) -> pd.DataFrame:
    """Pearson correlations between the model features."""
    return rows.loc[:, list(MODEL_FEATURES)].corr().round(3)


def mutual_information(rows: pd.DataFrame, label: str = "track_genre", seed: int = 42
                       ) -> pd.Series:
    """Mutual information (nats) between each feature and the label, highest first."""
    x = rows.loc[:, list(MODEL_FEATURES)].to_numpy(dtype=np.float64)
    discrete = [f in {"key", "mode", "time_signature", "explicit", "n_artists"}
                or f.startswith("title_") for f in MODEL_FEATURES]
    mi = mutual_info_classif(x, rows[label].to_numpy(dtype=str), discrete_features=discrete,
                             random_state=seed)
    return pd.Series(mi, index=list(MODEL_FEATURES)).sort_values(ascending=False).round(4)


def select_features(mi: pd.Series) -> tuple[str, ...]:
    """Keep every feature with measurable information about genre, in the canonical order."""
    kept = set(mi[mi >= MI_FLOOR].index)
    return tuple(f for f in MODEL_FEATURES if f in kept)
