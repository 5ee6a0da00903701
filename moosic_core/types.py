"""Small frozen domain types shared by every module and adapter."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class UserRef:
    """A chat user on one platform ("telegram", "discord", "console")."""

    platform: str
    user_id: str

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True, slots=True)
class FaceReading:
    """One face in a photo: its box (x, y, w, h in original pixels) and its mood."""

    box: tuple[int, int, int, int]
    mood_score: float
    emotions: dict[str, float] = field(default_factory=dict)
    valence: float | None = None
    arousal: float | None = None


@dataclass(frozen=True, slots=True)
class MoodReading:
    """The mood the recommender works from: 0 = saddest, 1 = happiest; energy in [0, 1].

    ``label`` is how the user named a stated mood ("very happy", "angry 😡"), for headlines.
    """

    mood_score: float
    energy: float | None = None
    source: str = "stated"
    faces: tuple[FaceReading, ...] = ()
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Track:
    """A catalog track with its scores (all in [0, 1])."""

    track_id: str
    name: str
    artists: tuple[str, ...]
    genres: tuple[str, ...]
    mood_score: float
    energy: float
    popularity: float

    @property
    def url(self) -> str:
        return spotify_track_url(self.track_id)


@dataclass(frozen=True, slots=True)
class LibraryTrack:
    """One track from a user's listening (Spotify library or an exported playlist file).

    ``genres`` are the source's free-text artist genres and ``features`` its audio features;
    either may be empty: Spotify no longer returns them to new apps.
    """

    name: str
    artists: tuple[str, ...]
    track_id: str | None = None
    genres: tuple[str, ...] = ()
    features: dict[str, float] | None = None


@dataclass(frozen=True, slots=True)
class SimilarArtist:
    """A catalog artist like the user's own: likeness in [0, 1] and the user's artist behind it."""

    score: float
    because: str


@dataclass(frozen=True, slots=True)
class TasteProfile:
    """What we know of a user's listening.

    ``artist_weights``: every library artist (as the library spells it) -> its share of the
    listening (each track's 1 split among its artists; sums to 1). ``similar_artists``: catalog
    artists (normalised keys) most like those, not the user's own. ``known_songs``: the song
    keys (:func:`moosic_core.catalog.artists.song_key`) of the library, so that copies of a
    song the user has are never suggested.
    """

    genres: dict[str, float]
    artists: frozenset[str]
    known_track_ids: frozenset[str]
    tracks_total: int
    tracks_understood: int
    sources: dict[str, int] = field(default_factory=dict)
    artist_weights: dict[str, float] = field(default_factory=dict)
    similar_artists: dict[str, SimilarArtist] = field(default_factory=dict)
    known_songs: frozenset[str] = frozenset()
    #: What the user should know about how the library was read, in user words ("I used the
    #: first 20,000 songs ..."); set at import only, not cached.
    notes: tuple[str, ...] = ()

    @property
    def coverage(self) -> float:
        return self.tracks_understood / self.tracks_total if self.tracks_total else 0.0

    def top_genres(self, n: int = 5) -> list[str]:
        return [g for g, _ in sorted(self.genres.items(), key=lambda kv: -kv[1])[:n]]

    def top_artists(self, n: int = 5) -> list[str]:
        """The ``n`` artists with the largest share of the listening."""
        return [a for a, _ in sorted(self.artist_weights.items(), key=lambda kv: -kv[1])[:n]]


@dataclass(frozen=True, slots=True)
class Reason:
    """One named part of a recommendation's score, with a sentence for users."""

    name: str
    value: float
    text: str


@dataclass(frozen=True, slots=True)
class Recommendation:
    track: Track
    score: float
    reasons: tuple[Reason, ...]


def spotify_track_url(track_id: str) -> str:
    """The public Spotify web link of a track."""
    return f"https://open.spotify.com/track/{track_id}"
