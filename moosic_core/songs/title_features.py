"""Features from a track's title and credits, known for any track (no Spotify API needed).

Version words in titles carry genre: dance music is released as "Remix", "Extended Mix",
"VIP" or "Radio Edit"; rock as "Remastered" or "Live"; and the number of credited artists
separates collaborative genres (EDM, hip-hop) from bands. Each word is a 0/1 flag matched at
a word start, case-insensitively.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

TITLE_TOKENS = ("remix", "mix", "edit", "live", "remaster", "feat", "acoustic", "version",
                "radio", "original", "bootleg", "vip", "instrumental", "demo")
TITLE_FEATURES = (*(f"title_{t}" for t in TITLE_TOKENS), "n_artists")


_TOKEN_PATTERNS = tuple(re.compile(rf"\b{token}") for token in TITLE_TOKENS)


def title_feature_matrix(titles: Iterable[str], artist_counts: Sequence[int]) -> np.ndarray:
    """(n, len(TITLE_FEATURES)) float64: the title-word flags, then the artist count."""
    lowered = [str(t).lower() for t in titles]
    out = np.zeros((len(lowered), len(TITLE_FEATURES)), dtype=np.float64)
    for j, pattern in enumerate(_TOKEN_PATTERNS):
        out[:, j] = [pattern.search(t) is not None for t in lowered]
    out[:, -1] = np.asarray(artist_counts, dtype=np.float64)
    return out


def title_features(titles: Iterable[str], artist_counts: Sequence[int]) -> pd.DataFrame:
    """One row per track: the title-word flags and the number of credited artists."""
    import pandas

    return pandas.DataFrame(title_feature_matrix(titles, artist_counts),
                            columns=list(TITLE_FEATURES))
