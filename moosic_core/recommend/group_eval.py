"""Offline fairness of group lists on the real playlist exports.

Each playlist is one member (its whole export builds the taste, as when a member links it).
For the group of all members and for every pair, at moods 0.1, 0.5 and 0.9 in ``match`` mode,
each member's fit is the share of the 10-song group list in that member's top-5 genres or by
one of their own artists. Compared: the fairness rule (mean taste with a per-member floor) and
a plain average (the mean taste alone).
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from moosic_core.catalog.store import Catalog
from moosic_core.recommend.group import Fairness, GroupMember, GroupRanker, floor_for
from moosic_core.recommend.ranking import Ranker
from moosic_core.songs.models import SongModels
from moosic_core.taste.csv_import import read_playlist_csv
from moosic_core.taste.profile import ProfileBuilder
from moosic_core.types import MoodReading

MOODS = (0.1, 0.5, 0.9)
N = 10
RULES: tuple[Fairness, ...] = ("average", "floor")


def load_members(catalog: Catalog, models: SongModels, playlists: list[Path]
                 ) -> list[GroupMember]:
    """One member per playlist export, named after its file."""
    builder = ProfileBuilder(catalog, models)
    return [GroupMember.from_profile(p.stem, builder.build(read_playlist_csv(p.read_bytes(),
                                                                             p.name)))
            for p in playlists]


def evaluate_groups(catalog: Catalog, members: list[GroupMember]) -> dict[str, Any]:
    """Per group and rule: each member's mean fit over the moods, and the minimum."""
    ranker = GroupRanker(Ranker(catalog))
    groups = [members, *([list(p) for p in combinations(members, 2)] if len(members) > 2
                         else [])]
    result: dict[str, Any] = {"moods": list(MOODS), "n": N, "groups": []}
    for group in groups:
        entry: dict[str, Any] = {"members": [m.name for m in group],
                                 "floor": floor_for(N, len(group)), "rules": {}}
        for rule in RULES:
            fits = [ranker.rank(group, MoodReading(mood), n=N, fairness=rule).member_fit
                    for mood in MOODS]
            per_member = {m.name: round(float(np.mean([f[m.name] for f in fits])), 3)
                          for m in group}
            entry["rules"][rule] = {"member_fit": per_member,
                                    "worst_served": round(min(min(f.values()) for f in fits), 3)}
        entry["taste_match"] = ranker.rank(group, MoodReading(0.5), n=N).taste_match.overall
        result["groups"].append(entry)
    return result


def report_markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Group lists: how fairly each member is served (offline)",
        "",
        "Reproduce: `moosic eval group` (`--json` for the numbers). Each real playlist export"
        " is one member. For the whole group and every pair, a 10-song group list is made at"
        " moods 0.1, 0.5 and 0.9 (match mode); a member's fit is the share of the list in"
        " that member's top-5 genres or by one of their own artists, averaged over the three"
        " moods. *worst* is the lowest fit of any member at any mood.",
        "",
        "Rules: **plain average** ranks for the mean of the members' genre distributions and"
        " artist shares (with the catalog artists like theirs);"
        " **floor** (what the bot uses) does the same, then guarantees every member with a taste"
        " ceil(n / 2k) songs from their own top-5 genres or artists (k members), replacing the"
        " weakest"
        " songs that nobody else needs for their floor.",
        "",
        "| group | taste match | rule | fit per member | worst |",
        "|---|---|---|---|---|",
    ]
    for g in result["groups"]:
        for rule, label in (("average", "plain average"), ("floor", f"floor ({g['floor']})")):
            r = g["rules"][rule]
            fits = ", ".join(f"{name} {fit:.2f}" for name, fit in r["member_fit"].items())
            match = "–" if g["taste_match"] is None else f"{g['taste_match']:.0%}"
            lines.append(f"| {' + '.join(g['members'])} | {match} | {label} | {fits} |"
                         f" {r['worst_served']:.2f} |")
    lines += [
        "",
        "Limits: three playlists are a small sample; precision counts catalog genres of known"
        " artists (liked_songs_c is only a third understood); the floor only acts when the"
        " plain average leaves a member under it, so on groups whose tastes overlap enough both"
        " rules give the same list (see tests/test_group.py for a group where the plain average"
        " leaves a member at 0 and the floor does not).",
        "",
    ]
    return "\n".join(lines)
