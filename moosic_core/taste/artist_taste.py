"""Artist-level taste: the user's artists by share of listening, and the catalog artists like them.

- **Weights**: each library track counts 1, split equally among its credited artists; an
  artist's weight is its sum over the library divided by the number of tracks (so weights sum
  to 1). Names are grouped by :func:`moosic_core.text.normalize_artist` and shown as the
  library spells them first.
- **Likeness** (:meth:`moosic_core.catalog.artists.ArtistIndex.likeness`): the share-weighted
  mean of genre-TF-IDF, sound and popularity cosines, plus a co-credit bonus. Within a genre
  that mean is compressed near 1 (hip-hop artists score 0.85-0.95 against each other whatever
  their scene), so it is sharpened by the power :data:`SHARPNESS` (a kernel: 0.95 -> 0.66,
  0.85 -> 0.27), then the co-credit bonus is added. 8 was chosen on liked_songs_b alone (the
  file of the reported scene drift), looking at the catalog artists it ranks first, and is
  reported on all three files.
- **Similar artists**: two views that must agree (their geometric mean, each divided by its
  best value; no weight to tune). *Content* = sum over the user's artists a of
  weight(a) * likeness(a, b). *Scene* = how close b is to the user's artists through chains
  of co-credits (:meth:`ArtistIndex.scene`, a truncated personalised PageRank). Content alone
  finds look-alikes across scenes (Indian trap sounds like US trap); the scene view keeps to
  the people who actually work with the user's artists. Every catalog artist b that is not
  one of the user's own gets the fused score, divided by the best, so in [0, 1]; artists the
  scene view does not reach come after every reached one (see :func:`_fuse`). The user's
  artist contributing most to the content view is named ("new to you, like Nas"). Artists
  the catalog lacks take part through a vector built from what the library says of them
  (their tracks' catalog genres as the profile builder understood them, and their audio
  features when the export has them).

Cost: one (k x 128) @ (128 x 29,728) product for the k <= 2·:data:`TOP_USER_ARTISTS` heaviest
artists, once per profile build (about 50-100 ms), done 4,096 catalog artists at a time so
that the k x 29,728 likeness matrix never exists (a few MB instead of ~100 MB at the peak);
the profile stores the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from moosic_core.catalog.artists import ArtistIndex
from moosic_core.text import normalize_artist
from moosic_core.types import LibraryTrack, SimilarArtist

SHARPNESS = 8.0
#: The heaviest catalog artists and the heaviest artists the catalog lacks that count.
TOP_USER_ARTISTS = 150
#: Similar artists kept in the profile.
SIMILAR_KEEP = 400


def artist_weights(tracks: Sequence[LibraryTrack]) -> dict[str, float]:
    """Library artist (as first spelled) -> share of the listening; empty for no tracks."""
    shown: dict[str, str] = {}
    mass: dict[str, float] = {}
    counted = 0
    for track in tracks:
        keys = [(normalize_artist(a), a) for a in track.artists if normalize_artist(a)]
        if not keys:
            continue
        counted += 1
        for key, name in keys:
            shown.setdefault(key, name)
            mass[key] = mass.get(key, 0.0) + 1.0 / len(keys)
    return {shown[k]: m / counted for k, m in mass.items()} if counted else {}


def similar_artists(index: ArtistIndex, weights: dict[str, float],
                    virtual: dict[str, np.ndarray], songs: Iterable[str] = ()
                    ) -> dict[str, SimilarArtist]:
    """The catalog artists most like the user's, best first (see the module doc).

    ``weights``: from :func:`artist_weights`; ``virtual``: vectors (see
    :meth:`ArtistIndex.virtual_vector`) for library artists the catalog lacks, by the name
    used in ``weights``; ``songs``: the library's song keys, to find the user's artists that the
    catalog spells otherwise (:meth:`ArtistIndex.same_artists`), who are never "similar".
    Returns normalised catalog artist key -> :class:`SimilarArtist`.
    """
    found = index.match(weights)
    own = set(found.positions.tolist()) | set(index.same_artists(songs))
    in_catalog = list(zip(found.positions[:TOP_USER_ARTISTS].tolist(),
                          found.weights[:TOP_USER_ARTISTS].tolist(),
                          found.names[:TOP_USER_ARTISTS], strict=True))
    missing = sorted(((weights[n], n) for n in virtual if n in weights), reverse=True)
    missing = missing[:TOP_USER_ARTISTS]
    if not in_catalog and not missing:
        return {}
    catalog_vectors = index.vectors_of([p for p, _, _ in in_catalog])
    vectors = np.vstack([catalog_vectors, *(virtual[n][None] for _, n in missing)]) \
        if missing else catalog_vectors
    positions: list[int | None] = [p for p, _, _ in in_catalog] + [None] * len(missing)
    names = [n for _, _, n in in_catalog] + [n for _, n in missing]
    w = np.array([w for _, w, _ in in_catalog] + [w for w, _ in missing], dtype=np.float32)
    content = index.weighted_likeness(vectors, positions, w, SHARPNESS)
    start = np.zeros(len(index), dtype=np.float32)
    start[found.positions] = found.weights
    scene = index.scene(start)
    if own:
        content[list(own)] = 0.0
        scene[list(own)] = 0.0
    score = _fuse(content, scene)
    keep = min(SIMILAR_KEEP, int(np.count_nonzero(score)))
    if keep == 0:
        return {}
    best = np.argpartition(-score, keep - 1)[:keep]
    best = best[np.argsort(-score[best], kind="stable")]
    top = float(score[best[0]])
    contribution = index.likeness(vectors, positions, SHARPNESS, columns=best) * w[:, None]
    because = contribution.argmax(axis=0)
    return {index.keys[b]: SimilarArtist(round(float(score[b]) / top, 4), names[i])
            for b, i in zip(best.tolist(), because.tolist(), strict=True)}


def _fuse(content: np.ndarray, scene: np.ndarray) -> np.ndarray:
    """Both views must agree: the geometric mean of the two, each divided by its best value.

    Artists the scene view does not reach follow every reached one, ordered by content (their
    score is content times the lowest reached score); when no co-credit reaches anybody, the
    content view alone decides. That includes the 28% of catalog artists with no co-credit at
    all, whom the scene view cannot judge: scoring them by content alone (the scene view
    abstaining) put look-alikes first and lowered the held-out artist hit rate on all three
    example playlists (10 splits: 0.670 / 0.667 / 0.590 -> 0.613 / 0.620 / 0.543), and giving
    them the median scene value of artists with as much content likeness changed nothing
    (docs/taste.md, "Evaluation").
    """
    content = content / content.max() if content.max() > 0 else content
    if not np.any(scene > 0):
        return content
    fused = np.sqrt(content * (scene / scene.max()))
    reached = fused > 0
    if reached.any():
        fused = np.where(reached, fused, content * float(fused[reached].min()))
    return fused
