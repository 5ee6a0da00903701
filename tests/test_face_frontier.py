"""The accuracy/latency frontier of the served face model (members x test-time views): the
points measured, the rule that chooses one on validation, and its table in the model card."""

from __future__ import annotations

import json
from typing import Any

import pytest

from moosic_core.mood.card import render
from moosic_core.training.members import LATENCY_BUDGET_MS


def row(members: list[str], sides: list[int], mirror: bool, happy_sad: float, ms: float
        ) -> dict[str, Any]:
    return {"members": members, "view_sides": sides, "view_mirror": mirror,
            "views": len(sides) * (2 if mirror else 1),
            "validation": {"happy_sad_accuracy": happy_sad, "accuracy_7class": 0.6},
            "params": 1000 * len(members), "tflite_bytes": 700_000 * len(members),
            "latency_ms_litert_1face": ms, "wall_ms_litert_1face": ms * 1.1}


def test_points_are_every_member_subset_over_every_view_set() -> None:
    pytest.importorskip("tensorflow")
    from moosic_core.training.frontier import VIEW_SETS, _view_indices, frontier_points

    points = frontier_points(["a", "b"])
    assert len(points) == 3 * len(VIEW_SETS)
    assert {p.members for p in points} == {("a",), ("b",), ("a", "b")}
    assert sorted(v.count for v in VIEW_SETS) == [1, 2, 4, 6]
    # the views' places among the six (48, 48 mirrored, 44, 44 mirrored, 52, 52 mirrored)
    assert [_view_indices(v) for v in VIEW_SETS] == [[0], [0, 1], [0, 1, 2, 3],
                                                    [0, 1, 2, 3, 4, 5]]


def test_the_rule_takes_the_best_on_validation_within_the_budget() -> None:
    pytest.importorskip("tensorflow")
    from moosic_core.training.frontier import choose_point

    rows = [row(["a"], [48], False, 0.930, 1.0),
            row(["a", "b"], [48], True, 0.948, 3.2),
            row(["a", "b"], [48], False, 0.948, 1.6),  # as good and faster: the tie goes here
            row(["a", "b"], [48, 44, 52], True, 0.951, 9.8)]  # best, but over the budget
    chosen, why = choose_point(rows, budget_ms=5.0)
    assert chosen == 2 and "within 5 ms" in why
    # nothing within the budget: speed wins down to the floor (on validation)
    slow = [row(["a"], [48], True, 0.935, 7.0), row(["b"], [48], True, 0.941, 8.0),
            row(["a", "b"], [48], True, 0.950, 12.0)]
    chosen, why = choose_point(slow, budget_ms=5.0, floor=0.94)
    assert chosen == 1 and "fastest" in why
    chosen, _ = choose_point(slow[:1], budget_ms=5.0, floor=0.94)  # none keeps it: the best
    assert chosen == 0
    assert LATENCY_BUDGET_MS == 5.0  # the face issue's target

    # the key decides within the budget: the log-loss (the default) over the accuracy
    for r, log_loss in zip(rows, (-1.2, -0.90, -0.95, -0.80), strict=True):
        r["validation_keys"] = {"log-loss": [log_loss], "accuracy": [
            r["validation"]["happy_sad_accuracy"], 0.6]}
    assert choose_point(rows, budget_ms=5.0)[0] == 1
    assert choose_point(rows, budget_ms=5.0, key="accuracy")[0] == 2


def test_card_shows_the_frontier_and_the_chosen_point() -> None:
    rows = [row(["wide"], [48], False, 0.941, 1.2), row(["wide", "small"], [48], True, 0.947, 3.3),
            row(["wide", "small"], [48, 44, 52], True, 0.950, 9.9)]
    frontier = {"rows": rows, "chosen": 1, "budget_ms": 5.0, "date": "2026-11-29T10:00:00",
                "rule": "the best on validation among the points within 5 ms per face",
                "environment": {"cpu_count": 2, "machine": "x86_64"}}
    model = {"members": ["wide", "small"], "view_sides": [48], "view_mirror": True,
             "frontier": frontier}
    card = render({"model": model}, {}, {}, {})
    assert "### Accuracy and latency: members x test-time views" in card
    assert ("| **wide + small** | the face and its mirror image (2 views) | 0.947 | 0.600 | "
            "3.30 | 3.63 | 2,000 | 1.40 |") in card
    assert "| wide | the face as framed (1 view: no test-time averaging) | 0.941 |" in card
    assert "zoomed out over a 2 px mirrored border, each with its mirror image (6 views)" in card
    assert "held back" not in card.split("### Accuracy and latency")[1].split("###")[0]

    # a frontier choice held back at the release floors: its table, and that it was held back
    held = {"frontier": {**frontier, "chosen": 0, "date": "2026-11-30T10:00:00"},
            "selection": [{"added": "wide"}], "release_failures": ["happy_sad_accuracy 0.93"],
            "commands": ["moosic train face-frontier"]}
    card = render(json.loads(json.dumps({"model": model, "held_back": [held]})), {}, {}, {})
    section = card.split("### Accuracy and latency")[1]
    assert "| **wide** |" in section and "was held back at the release floors" in section
    assert "- Held back: wide over the face as framed (1 view" in section
    assert "happy_sad_accuracy 0.93 (`moosic train face-frontier`)" in section
