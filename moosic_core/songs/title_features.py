"""Features from a track's title and credits, known for any track (no Spotify API needed).

Version words in titles carry genre: dance music is released as "Remix", "Extended Mix",
"VIP" or "Radio Edit"; rock as "Remastered" or "Live"; and the number of credited artists
separates collaborative genres (EDM, hip-hop) from bands. Each word is a 0/1 flag matched at
a word start, case-insensitively.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

TITLE_TOKENS = ("remix", "mix", "edit", "live", "remaster", "feat", "acoustic", "version",
                "radio", "original", "bootleg", "vip", "instrumental", "demo")
TITLE_FEATURES = (*(f"title_{t}" for t in TITLE_TOKENS), "n_artists")


def title_features(titles: Iterable[str], artist_counts: Sequence[int]) -> pd.DataFrame:
    """One row per track: the title-word flags and the number of credited artists."""
    lowered = pd.Series([str(t).lower() for t in titles], dtype=object)
    columns = {f"title_{token}": lowered.str.contains(rf"\b{token}", regex=True)
               .to_numpy(dtype=np.float64) for token in TITLE_TOKENS}
    columns["n_artists"] = np.asarray(artist_counts, dtype=np.float64)
    return pd.DataFrame(columns)
