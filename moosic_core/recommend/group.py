"""Group suggestions: one list for several people, fair to each of them (pure, no I/O).

Fairness rule ("average with a floor"):

1. Every member with a known taste counts equally: the group taste is the plain mean of the
   members' genre distributions (each sums to 1, so a heavy listener weighs no more than a
   light one). The :class:`Ranker` ranks the catalog for that mean taste and the group mood.
2. Floor: every member with a taste gets at least ``ceil(n / (2·k))`` of the ``n`` songs
   (``k`` members with a taste) from their own top-5 genres. While a member is under the floor,
   the weakest song of the list whose removal leaves nobody else under the floor is replaced by
   that member's best song for the same list position (the member's own ranking at the group
   mood, so ``lift`` keeps its step-by-step targets).

So the list is never one member's taste, yet songs everybody likes still come first.
Members without a taste still count for the group mood (the mean of every reading); with
nobody's taste the list is popular songs that fit the mood.

Reasons name whose taste a song draws on with genre names only (never shares of listening).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import Literal

import numpy as np

from moosic_core.recommend.ranking import Mode, Ranker, RankRequest
from moosic_core.types import MoodReading, Reason, Recommendation

Fairness = Literal["floor", "average"]
TOP_GENRES = 5
NEUTRAL_MOOD = 0.5


@dataclass(frozen=True)
class GroupMember:
    """One person in a group: the name the group sees, their taste (may be empty)."""

    name: str
    taste: dict[str, float] = field(default_factory=dict)

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


# --- ranking --------------------------------------------------------------------------------
def floor_for(n: int, tasted: int) -> int:
    """The songs each member with a taste is guaranteed from their own top genres."""
    return math.ceil(n / (2 * tasted)) if tasted else 0


def genre_precision(items: Sequence[Recommendation], core: frozenset[str]) -> float:
    """The share of the list in one of these genres."""
    if not items:
        return 0.0
    return sum(bool(core & set(r.track.genres)) for r in items) / len(items)


class GroupRanker:
    """Ranks for a group with :class:`Ranker` (once for the mean taste, once per member)."""

    def __init__(self, ranker: Ranker) -> None:
        self.ranker = ranker

    def rank(self, members: Sequence[GroupMember], mood: MoodReading, mode: Mode = "match",
             n: int = 10, exclude_ids: frozenset[str] = frozenset(),
             fairness: Fairness = "floor") -> GroupList:
        tasted = [m for m in members if m.taste]
        base = RankRequest(mood=mood.mood_score, energy=mood.energy, mode=mode, n=n,
                           taste=mean_taste(tasted), exclude_ids=exclude_ids)
        items = list(self.ranker.rank(base))
        if fairness == "floor" and len(tasted) > 1:
            items = self._apply_floor(items, tasted, base)
        explained = tuple(self._explain(r, members, tasted, mood, mode, i, len(items))
                          for i, r in enumerate(items))
        fit = {m.name: round(genre_precision(explained, m.core_genres()), 3) for m in tasted}
        return GroupList(mood, mode, explained, fit, taste_match(members),
                         self._together(explained, tasted),
                         tuple(m.name for m in members), fairness)

    def _apply_floor(self, items: list[Recommendation], tasted: Sequence[GroupMember],
                     base: RankRequest) -> list[Recommendation]:
        floor = floor_for(len(items), len(tasted))
        cores = {m.name: m.core_genres() for m in tasted}
        own: dict[str, list[Recommendation]] = {}

        def hits(name: str, songs: Sequence[Recommendation]) -> int:
            return sum(bool(cores[name] & set(r.track.genres)) for r in songs)

        for _ in range(len(items)):
            under = [m for m in tasted if hits(m.name, items) < floor]
            if not under:
                break
            member = min(under, key=lambda m: hits(m.name, items))
            if member.name not in own:
                own[member.name] = self.ranker.rank(replace(base, taste=member.taste))
            taken = {r.track.track_id for r in items}
            candidates = [r for r in own[member.name] if r.track.track_id not in taken
                          and cores[member.name] & set(r.track.genres)]
            victims = [i for i in range(len(items))
                       if not cores[member.name] & set(items[i].track.genres)
                       and all(hits(o.name, items[:i] + items[i + 1:]) >= floor
                               or not cores[o.name] & set(items[i].track.genres)
                               for o in tasted)]
            if not candidates or not victims:
                break
            victim = min(victims, key=lambda i: items[i].score)
            # The member's song closest to the victim's position keeps lift's mood steps.
            ranks = {r.track.track_id: j for j, r in enumerate(own[member.name])}
            pick = min(candidates, key=lambda r: abs(ranks[r.track.track_id] - victim))
            items[victim] = pick
        return items

    @staticmethod
    def _explain(rec: Recommendation, members: Sequence[GroupMember],
                 tasted: Sequence[GroupMember], mood: MoodReading, mode: Mode,
                 position: int, count: int) -> Recommendation:
        """Group reasons: the mood fit, whose taste (genre names only), the lift step."""
        by_name = {r.name: r for r in rec.reasons}
        mood_fit = by_name["mood"].value if "mood" in by_name else 0.0
        reasons = [Reason("mood", mood_fit, f"fits the group's mood {mood_fit:.2f}")]
        fans = [(m.name, sorted(m.core_genres() & set(rec.track.genres))) for m in tasted]
        fans = [(name, genres) for name, genres in fans if genres]
        if fans:
            genres = sorted({g for _, gs in fans for g in gs})
            reasons.append(Reason("taste", round(len(fans) / len(tasted), 3),
                                  f"{', '.join(genres)} — from {_names([n for n, _ in fans])}'s"
                                  " taste"))
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
            return sum(bool(m.core_genres() & set(r.track.genres)) for m in tasted)

        best = max(items, key=lambda r: (fans(r), r.score))
        return best if fans(best) >= 2 else None


def _names(names: Sequence[str]) -> str:
    """'Ana', 'Ana and Ben', 'Ana, Ben and Cy'."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"
