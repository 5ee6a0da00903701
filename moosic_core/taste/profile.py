"""Building a taste profile: library tracks mapped onto the catalog's genres.

Each track is understood by the most precise method that works for it, in this order:

1. ``track_id``: the track itself is in the catalog -> its catalog genres.
2. ``artist_title``: the same song under another ID (a single vs. the album version, a
   re-release), matched by normalised artist + title -> that catalog track's genres.
   It names one recording, so it is as precise as the ID and goes before artist-level guesses.
3. ``artist``: an artist of the track is in the catalog -> the genres of that artist's catalog
   tracks (averaged over the track's artists that are found).
4. ``genres``: the source's own artist genres (Spotify's free text, often localised), mapped
   onto catalog genre names by :mod:`moosic_core.taste.genre_map`.
5. ``audio_features``: audio features in the source (old Spotify apps, Exportify CSVs) -> the
   trained genre model's distribution over all catalog genres (the softest guess).

Nothing here needs Spotify to return audio features or artist genres; they only add coverage.
Each understood track adds a distribution summing to 1; the profile is their normalised sum.

Artist-level taste (:mod:`moosic_core.taste.artist_taste`): every library artist's share of
the listening, and the catalog artists most like them. An artist the catalog lacks is described
by the genre distributions of their tracks (as understood above) and, when the export has
them, the tracks' audio features.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from moosic_core.catalog.artists import SOUND_COLUMNS, library_song_keys
from moosic_core.catalog.store import Catalog
from moosic_core.memory import release_free_memory
from moosic_core.songs.models import SongModels
from moosic_core.songs.title_features import TITLE_FEATURES, title_feature_matrix
from moosic_core.taste.artist_taste import artist_weights, similar_artists
from moosic_core.taste.genre_map import GenreMapper
from moosic_core.text import normalize_artist
from moosic_core.types import LibraryTrack, SimilarArtist, TasteProfile

SOURCES = ("track_id", "artist_title", "artist", "genres", "audio_features")
#: Library artists the catalog lacks that get a vector (the heaviest first).
TOP_MISSING = 150
AUDIO_FEATURES = ("danceability", "energy", "key", "loudness", "mode", "speechiness",
                  "acousticness", "instrumentalness", "liveness", "valence", "tempo",
                  "time_signature")


class ProfileBuilder:
    """Maps tracks onto one catalog; holds per-artist caches (reuse one builder)."""

    def __init__(self, catalog: Catalog, models: SongModels | None = None) -> None:
        self.catalog = catalog
        self.models = models
        self.mapper = GenreMapper(catalog.genre_names)
        self._artist_cache: dict[str, dict[str, float]] = {}
        self._fill = self._feature_defaults()

    def _feature_defaults(self) -> dict[str, float]:
        """Values for model inputs a source may lack (popularity is often missing in 2026)."""
        defaults = {"explicit": 0.0, "popularity": 40.0, "duration_ms": 220_000.0}
        medians = self.catalog.feature_medians
        return {column: medians.get(column, value) for column, value in defaults.items()}

    def _artist_distribution(self, artist: str) -> dict[str, float]:
        cached = self._artist_cache.get(artist)
        if cached is None:
            cached = self.catalog.artist_genre_distribution(artist)
            self._artist_cache[artist] = cached
        return cached

    def _row_genres(self, row: int) -> dict[str, float]:
        genres = self.catalog.genres[row]
        return {g: 1.0 / len(genres) for g in genres}

    def _understand(self, track: LibraryTrack) -> tuple[str, dict[str, float]] | None:
        row = self.catalog.row_of(track.track_id) if track.track_id else None
        if row is not None:
            return "track_id", self._row_genres(row)
        for artist in track.artists:
            row = self.catalog.row_by_artist_title(artist, track.name)
            if row is not None:
                return "artist_title", self._row_genres(row)
        found = [d for d in (self._artist_distribution(a) for a in track.artists) if d]
        if found:
            merged: dict[str, float] = {}
            for dist in found:
                for genre, weight in dist.items():
                    merged[genre] = merged.get(genre, 0.0) + weight / len(found)
            return "artist", merged
        if track.genres:
            mapped = self.mapper.distribution(track.genres)
            if mapped:
                return "genres", mapped
        return None

    def _has_audio(self, track: LibraryTrack) -> bool:
        features = track.features or {}
        return all(f in features for f in AUDIO_FEATURES)

    def build(self, tracks: Sequence[LibraryTrack], *, similar: bool = True) -> TasteProfile:
        """The profile of these tracks (an empty profile when there are none).

        ``similar=False`` leaves ``similar_artists`` empty (no likeness product): for callers
        that need the genres and artist weights only, such as an evaluation's held-out part.
        """
        names = self.catalog.genre_names
        position = {g: i for i, g in enumerate(names)}
        per_track = np.zeros((len(tracks), len(names)), dtype=np.float64)
        sources: Counter[str] = Counter()
        by_model: list[int] = []
        for i, track in enumerate(tracks):
            result = self._understand(track)
            if result is None:
                if self.models is not None and self._has_audio(track):
                    by_model.append(i)
                continue
            source, dist = result
            sources[source] += 1
            for genre, weight in dist.items():
                per_track[i, position[genre]] += weight
        if by_model and self.models is not None:
            per_track[by_model] = self._model_genres([tracks[i] for i in by_model], position)
            sources["audio_features"] += len(by_model)
        total = per_track.sum(axis=0)
        mass = total.sum()
        genres = {names[i]: float(total[i] / mass) for i in np.flatnonzero(total)} if mass else {}
        weights = artist_weights(tracks)
        known_songs = frozenset(k for t in tracks for k in library_song_keys(t.artists, t.name))
        profile = TasteProfile(
            genres=genres,
            artists=frozenset(a for t in tracks for a in t.artists),
            known_track_ids=frozenset(t.track_id for t in tracks if t.track_id),
            tracks_total=len(tracks),
            tracks_understood=sum(sources.values()),
            sources={s: sources.get(s, 0) for s in SOURCES},
            artist_weights=weights,
            similar_artists=similar_artists(self.catalog.artists, weights,
                                            self._missing_artists(tracks, per_track, weights),
                                            known_songs)
            if similar else {},
            known_songs=known_songs,
        )
        release_free_memory()  # the genre model's and the likeness products' temporaries
        return profile

    def _missing_artists(self, tracks: Sequence[LibraryTrack], per_track: np.ndarray,
                         weights: dict[str, float]) -> dict[str, np.ndarray]:
        """Vectors for the library's artists the catalog lacks (see ``virtual_vector``)."""
        index = self.catalog.artists
        shown = {normalize_artist(name): name for name in weights}
        members: dict[str, list[int]] = {}
        for i, track in enumerate(tracks):
            for artist in track.artists:
                key = normalize_artist(artist)
                if key and key not in index.position and per_track[i].any():
                    members.setdefault(shown.get(key, artist), []).append(i)
        heaviest = sorted(members, key=lambda n: -weights.get(n, 0.0))[:TOP_MISSING]
        if not heaviest:
            return {}
        with_audio = [i for i, t in enumerate(tracks) if self._has_audio(t)]
        sound = np.zeros((len(tracks), index.sound_dims), dtype=np.float32)
        if with_audio:
            sound[with_audio] = index.sound_z(np.array(
                [[_number((tracks[i].features or {}).get(c)) for c in SOUND_COLUMNS]
                 for i in with_audio], dtype=np.float64))
        has_audio = np.zeros(len(tracks), dtype=bool)
        has_audio[with_audio] = True
        out = {}
        for name in heaviest:
            rows = members[name]
            audio_rows = [r for r in rows if has_audio[r]]
            mean_sound = sound[audio_rows].mean(axis=0) if audio_rows else None
            out[name] = index.virtual_vector(per_track[rows].sum(axis=0), mean_sound)
        return out

    def _model_genres(self, tracks: list[LibraryTrack], position: dict[str, int]) -> np.ndarray:
        """The genre model's distribution for each track: (tracks, catalog genres)."""
        assert self.models is not None
        derived = title_feature_matrix([t.name for t in tracks],
                                       [len(t.artists) for t in tracks])
        title_column = {name: j for j, name in enumerate(TITLE_FEATURES)}
        matrix = np.full((len(tracks), len(self.models.features)), np.nan, dtype=np.float64)
        for j, name in enumerate(self.models.features):
            if name in title_column:
                matrix[:, j] = derived[:, title_column[name]]
                continue
            for i, track in enumerate(tracks):
                value = (track.features or {}).get(name)
                value = self._fill.get(name) if value is None or value != value else value
                matrix[i, j] = np.nan if value is None else float(value)
        proba = self.models.genre_distribution(matrix)
        out = np.zeros((len(tracks), len(position)), dtype=np.float64)
        for j, genre in enumerate(self.models.genre_names):
            pos = position.get(genre)
            if pos is not None:
                out[:, pos] += proba[:, j]
        return out


def _number(value: object) -> float:
    """A feature value as a float; NaN when absent or not a number."""
    if value is None or isinstance(value, str):
        return math.nan
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def profile_to_json(profile: TasteProfile) -> str:
    return json.dumps({"genres": profile.genres, "artists": sorted(profile.artists),
                       "known_track_ids": sorted(profile.known_track_ids),
                       "tracks_total": profile.tracks_total,
                       "tracks_understood": profile.tracks_understood,
                       "sources": profile.sources,
                       "artist_weights": profile.artist_weights,
                       "similar_artists": {k: [s.score, s.because]
                                           for k, s in profile.similar_artists.items()},
                       "known_songs": sorted(profile.known_songs)}, ensure_ascii=False)


def profile_from_json(text: str) -> TasteProfile:
    """The profile from :func:`profile_to_json` (a profile saved before artist taste existed
    reads with empty artist fields)."""
    data = json.loads(text)
    return TasteProfile(genres={str(k): float(v) for k, v in data["genres"].items()},
                        artists=frozenset(data["artists"]),
                        known_track_ids=frozenset(data["known_track_ids"]),
                        tracks_total=int(data["tracks_total"]),
                        tracks_understood=int(data["tracks_understood"]),
                        sources={str(k): int(v) for k, v in data["sources"].items()},
                        artist_weights={str(k): float(v) for k, v in
                                        data.get("artist_weights", {}).items()},
                        similar_artists={str(k): SimilarArtist(float(v[0]), str(v[1]))
                                         for k, v in data.get("similar_artists", {}).items()},
                        known_songs=frozenset(data.get("known_songs", ())))


def profile_summary(profile: TasteProfile, top: int = 5) -> dict[str, object]:
    """The profile as the CLI prints it."""
    return {"genres": {g: round(w, 6) for g, w in
                       sorted(profile.genres.items(), key=lambda kv: -kv[1])},
            "top_genres": profile.top_genres(top), "tracks_total": profile.tracks_total,
            "tracks_understood": profile.tracks_understood,
            "coverage": round(profile.coverage, 4), "artists": len(profile.artists),
            "top_artists": profile.top_artists(top),
            "similar_artists": list(profile.similar_artists)[:top],
            "sources": profile.sources}
