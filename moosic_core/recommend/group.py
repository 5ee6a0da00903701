"""Group suggestions: one list for several people, fair to each of them (pure, no I/O).

Fairness rule ("average with a floor"):

1. Every member with a known taste counts equally: the group taste is the plain mean of the
   members' genre distributions (each sums to 1, so a heavy listener weighs no more than a
   light one). The :class:`Ranker` ranks the catalog for that mean taste and the group mood.
2. Floor: every member with a taste gets at least ``ceil(n / (2·k))`` of the ``n`` songs
   (``k`` members with a taste) from their own top-5 genres or by their own artists. While a
   member is under the floor, the weakest song of the list whose removal leaves nobody else
   under the floor is replaced by that member's best song for the same list position (the
   member's own ranking at the group mood, so ``lift`` keeps its step-by-step targets).

So the list is never one member's taste, yet songs everybody likes still come first.
Members without a taste still count for the group mood (the mean of every reading); with
nobody's taste the list is popular songs that fit the mood.

Artist-level taste counts the same way: the group's artists are the mean of the members'
artist shares (each member's sum to 1) and its similar artists the mean of the members'
likeness scores, so the ranker mixes every member's own artists and the artists like them.

Reasons name whose taste a song draws on: "Ana listens to Nas", "new to you, like Nas (Ana's
taste)", or genre names (never shares of listening).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import Literal

import numpy as np

from moosic_core.recommend.ranking import Mode, Ranker, RankRequest
from moosic_core.text import normalize_artist
from moosic_core.types import MoodReading, Reason, Recommendation, SimilarArtist, TasteProfile

Fairness = Literal["floor", "average"]
TOP_GENRES = 5
NEUTRAL_MOOD = 0.5


@dataclass(frozen=True)
class GroupMember:
    """One person in a group: the name the group sees, their taste (may be empty)."""

    name: str
    taste: dict[str, float] = field(default_factory=dict)
    artists: dict[str, float] = field(default_factory=dict)
    similar: dict[str, SimilarArtist] = field(default_factory=dict)

    @classmethod
    def from_profile(cls, name: str, profile: TasteProfile | None) -> GroupMember:
        """A member with the genres, artists and similar artists of their profile (if any)."""
        if profile is None:
            return cls(name)
        return cls(name, profile.genres, profile.artist_weights, profile.similar_artists)

    def listens_to(self, artists: Sequence[str]) -> str | None:
        """The first of these artists that is one of the member's own (their spelling)."""
        mine = {normalize_artist(a): a for a in self.artists}
        for artist in artists:
            if normalize_artist(artist) in mine:
                return mine[normalize_artist(artist)]
        return None

    def serves(self, rec: Recommendation) -> bool:
        """Whether a song is for this member: one of their top genres, or one of their artists."""
        return bool(self.core_genres() & set(rec.track.genres)) or \
            self.listens_to(rec.track.artists) is not None

    def core_genres(self, top: int = TOP_GENRES) -> frozenset[str]:
        """The member's ``top`` heaviest genres."""
        ordered = sorted(self.taste.items(), key=lambda kv: (-kv[1], kv[0]))
        return frozenset(g for g, w in ordered[:top] if w > 0)


@dataclass(frozen=True)
class TasteMatch:
    """How alike the members' tastes are: 1 - Jensen-Shannon divergence (base 2), in [0, 1]."""

    overall: float | None
    pairs: dict[tuple[str, str], float] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupList:
    """A ranked, explained list for a group, with how well it serves each member."""

    mood: MoodReading
    mode: Mode
    items: tuple[Recommendation, ...]
    member_fit: dict[str, float]
    taste_match: TasteMatch
    together: Recommendation | None
    members: tuple[str, ...]
    fairness: Fairness = "floor"


# --- mood -----------------------------------------------------------------------------------
def group_mood(readings: Sequence[MoodReading]) -> MoodReading:
    """The mean of every reading (a face counts as one reading); neutral when there is none."""
    if not readings:
        return MoodReading(mood_score=NEUTRAL_MOOD, source="default")
    energies = [r.energy for r in readings if r.energy is not None]
    faces = tuple(f for r in readings for f in r.faces)
    return MoodReading(
        mood_score=float(np.mean([r.mood_score for r in readings])),
        energy=float(np.mean(energies)) if energies else None,
        source="group", faces=faces)


# --- taste match ----------------------------------------------------------------------------
def _distribution(taste: dict[str, float], genres: Sequence[str]) -> np.ndarray:
    vector = np.array([max(taste.get(g, 0.0), 0.0) for g in genres], dtype=np.float64)
    total = vector.sum()
    return vector / total if total > 0 else vector


def js_similarity(a: dict[str, float], b: dict[str, float]) -> float:
    """1 - the Jensen-Shannon divergence (base 2) of two genre distributions."""
    genres = sorted(set(a) | set(b))
    p, q = _distribution(a, genres), _distribution(b, genres)
    if not p.any() or not q.any():
        return 0.0
    m = 0.5 * (p + q)

    def kl(x: np.ndarray) -> float:
        nz = x > 0
        return float(np.sum(x[nz] * np.log2(x[nz] / m[nz])))

    return float(np.clip(1.0 - 0.5 * (kl(p) + kl(q)), 0.0, 1.0))


def taste_match(members: Sequence[GroupMember]) -> TasteMatch:
    """Pairwise similarity of the members with a taste, and its mean."""
    tasted = [m for m in members if m.taste]
    pairs = {(a.name, b.name): round(js_similarity(a.taste, b.taste), 4)
             for a, b in combinations(tasted, 2)}
    overall = round(float(np.mean(list(pairs.values()))), 4) if pairs else None
    return TasteMatch(overall, pairs)


def mean_taste(members: Iterable[GroupMember]) -> dict[str, float]:
    """The plain mean of the members' normalised genre distributions."""
    tastes = [m.taste for m in members if m.taste]
    merged: dict[str, float] = {}
    for taste in tastes:
        total = sum(max(w, 0.0) for w in taste.values())
        if total <= 0:
            continue
        for genre, weight in taste.items():
            merged[genre] = merged.get(genre, 0.0) + max(weight, 0.0) / total / len(tastes)
    return merged


def mean_artists(members: Iterable[GroupMember]
                 ) -> tuple[dict[str, float], dict[str, SimilarArtist]]:
    """The plain mean of the members' artist shares and of their similar-artist scores."""
    with_artists = [m for m in members if m.artists]
    weights: dict[str, float] = {}
    similar: dict[str, SimilarArtist] = {}
    for member in with_artists:
        total = sum(max(w, 0.0) for w in member.artists.values()) or 1.0
        for artist, weight in member.artists.items():
            weights[artist] = weights.get(artist, 0.0) + max(weight, 0.0) / total / \
                len(with_artists)
        for key, like in member.similar.items():
            old = similar.get(key)
            score = (old.score if old else 0.0) + like.score / len(with_artists)
            because = old.because if old and old.score >= like.score else like.because
            similar[key] = SimilarArtist(score, because)
    return weights, similar


# --- ranking --------------------------------------------------------------------------------
def floor_for(n: int, tasted: int) -> int:
    """The songs each member with a taste is guaranteed from their own top genres."""
    return math.ceil(n / (2 * tasted)) if tasted else 0


class GroupRanker:
    """Ranks for a group with :class:`Ranker` (once for the mean taste, once per member)."""

    def __init__(self, ranker: Ranker) -> None:
        self.ranker = ranker

    def rank(self, members: Sequence[GroupMember], mood: MoodReading, mode: Mode = "match",
             n: int = 10, exclude_ids: frozenset[str] = frozenset(),
             fairness: Fairness = "floor") -> GroupList:
        tasted = [m for m in members if m.taste]
        artists, similar = mean_artists(members)
        base = RankRequest(mood=mood.mood_score, energy=mood.energy, mode=mode, n=n,
                           taste=mean_taste(tasted), exclude_ids=exclude_ids,
                           artists=artists, similar=similar)
        items = list(self.ranker.rank(base))
        if fairness == "floor" and len(tasted) > 1:
            items = self._apply_floor(items, tasted, base)
        explained = tuple(self._explain(r, members, tasted, mood, mode, i, len(items))
                          for i, r in enumerate(items))
        fit = {m.name: round(sum(m.serves(r) for r in explained) / len(explained), 3)
               if explained else 0.0 for m in tasted}
        return GroupList(mood, mode, explained, fit, taste_match(members),
                         self._together(explained, tasted),
                         tuple(m.name for m in members), fairness)

    def _apply_floor(self, items: list[Recommendation], tasted: Sequence[GroupMember],
                     base: RankRequest) -> list[Recommendation]:
        floor = floor_for(len(items), len(tasted))
        by_name = {m.name: m for m in tasted}
        own: dict[str, list[Recommendation]] = {}

        def hits(name: str, songs: Sequence[Recommendation]) -> int:
            return sum(by_name[name].serves(r) for r in songs)

        for _ in range(len(items)):
            under = [m for m in tasted if hits(m.name, items) < floor]
            if not under:
                break
            member = min(under, key=lambda m: hits(m.name, items))
            if member.name not in own:
                own[member.name] = self.ranker.rank(replace(
                    base, taste=member.taste, artists=member.artists, similar=member.similar))
            taken = {self._song(r) for r in items}  # a song and all its copies
            candidates = [r for r in own[member.name] if self._song(r) not in taken
                          and member.serves(r)]
            victims = [i for i in range(len(items))
                       if not member.serves(items[i])
                       and all(hits(o.name, items[:i] + items[i + 1:]) >= floor
                               or not o.serves(items[i])
                               for o in tasted)]
            if not candidates or not victims:
                break
            victim = min(victims, key=lambda i: items[i].score)
            # The member's song closest to the victim's position keeps lift's mood steps.
            ranks = {r.track.track_id: j for j, r in enumerate(own[member.name])}
            pick = min(candidates, key=lambda r: abs(ranks[r.track.track_id] - victim))
            items[victim] = pick
        return items

    def _song(self, rec: Recommendation) -> int:
        """The song id of a recommended track (its copies share it)."""
        row = self.ranker.catalog.row_of(rec.track.track_id)
        return int(self.ranker.index.song_ids[row]) if row is not None else -1

    @staticmethod
    def _explain(rec: Recommendation, members: Sequence[GroupMember],
                 tasted: Sequence[GroupMember], mood: MoodReading, mode: Mode,
                 position: int, count: int) -> Recommendation:
        """Group reasons: the mood fit, whose taste (genre names only), the lift step."""
        by_name = {r.name: r for r in rec.reasons}
        mood_fit = by_name["mood"].value if "mood" in by_name else 0.0
        reasons = [Reason("mood", mood_fit, "fits the group's mood")]
        listeners = [(m.name, m.listens_to(rec.track.artists)) for m in members]
        listeners = [(name, artist) for name, artist in listeners if artist]
        fans = [(m.name, sorted(m.core_genres() & set(rec.track.genres))) for m in tasted]
        fans = [(name, genres) for name, genres in fans if genres]
        like = by_name.get("similar")
        if listeners:
            names = _names([n for n, _ in listeners])
            verb = "listens" if len(listeners) == 1 and names != YOU else "listen"
            reasons.insert(0, Reason("artist", round(len(listeners) / len(members), 3),
                                     f"{names} {verb} to {listeners[0][1]}"))
        elif like is not None:
            because = like.text.removeprefix("new to you, like ")
            whose = [m.name for m in members if m.listens_to([because])]
            suffix = f" ({_possessive(_names(whose))} taste)" if whose else ""
            reasons.insert(0, Reason("similar", like.value, f"new to you, like {because}{suffix}"))
        elif fans:
            genres = sorted({g for _, gs in fans for g in gs})
            reasons.append(Reason("taste", round(len(fans) / len(tasted), 3),
                                  f"{', '.join(genres)} — from "
                                  f"{_possessive(_names([n for n, _ in fans]))} taste"))
        else:
            reasons.append(Reason("popularity", round(rec.track.popularity, 3),
                                  f"popular in {rec.track.genres[0]}"))
        if mode == "lift" and count > 1:
            reasons.append(Reason("lift", round(position / (count - 1), 3),
                                  f"step {position + 1} of {count} towards a happier mood"))
        return Recommendation(rec.track, rec.score, tuple(reasons))

    @staticmethod
    def _together(items: Sequence[Recommendation], tasted: Sequence[GroupMember]
                  ) -> Recommendation | None:
        """The song in the most members' top genres (ties: the higher score); needs two fans."""
        if len(tasted) < 2 or not items:
            return None

        def fans(r: Recommendation) -> int:
            return sum(m.serves(r) for m in tasted)

        best = max(items, key=lambda r: (fans(r), r.score))
        return best if fans(best) >= 2 else None


#: The name the console gives its one user; texts then speak to them ("you listen to ...",
#: "your taste", "You're in").
YOU = "you"


def _possessive(names: str) -> str:
    """"Ana's", "Ana and Ben's", or "your" for the console's "you"."""
    return "your" if names == YOU else f"{names}'s"


def _names(names: Sequence[str]) -> str:
    """'Ana', 'Ana and Ben', 'Ana, Ben and Cy'."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"
