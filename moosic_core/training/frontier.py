"""The served face model's accuracy/latency frontier: which of the selected members, over which
test-time views.

Greedy selection (:mod:`moosic_core.training.ensemble`) chooses the members on validation within
a size budget, each scored over all six test-time views; a face then costs every member over
every view. ``moosic train face-frontier`` measures every non-empty subset of the selected
members over every view set of :data:`VIEW_SETS`: validation scores (Keras), LiteRT latency on
one thread (the int8 export that would be served, median), parameters and file size. It chooses
the served point by :func:`choose_point`, a rule fixed beforehand on validation alone, exports
it and passes it through the release gate (:mod:`moosic_core.training.release`), which alone
reads test, for the chosen point only.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import numpy.typing as npt

from moosic_core.errors import DataError
from moosic_core.mood.card import FRONTIER_COMMAND, KEY_TEXT
from moosic_core.mood.evaluate import RELEASE_FLOORS
from moosic_core.mood.fer import load_split
from moosic_core.training.ensemble import SELECTION_KEYS, build_ensemble
from moosic_core.training.face import (
    MEMBERS_DIR,
    SERVED_WEIGHTS,
    TFLITE_NAME,
    _environment,
    _litert_latency_ms,
    _shelve_unserved,
    _stored_weights,
    _train_subset,
    export_tflite,
    load_model,
    read_metrics,
    write_metrics,
)
from moosic_core.training.face_views import (
    SERVED_VIEW_SIDES,
    ViewSet,
    evaluate,
    predict_views,
    probability_metrics,
    rounded,
    validation_key,
)
from moosic_core.training.members import FRONTIER_KEY, LATENCY_BUDGET_MS
from moosic_core.training.release import Release, release, served_before

log = logging.getLogger(__name__)

# The view sets of the frontier, fewest views first: the face alone, the face and its mirror,
# two zooms and three zooms with their mirrors (the six views every member is scored over).
VIEW_SETS = (ViewSet((48,), mirror=False), ViewSet((48,)), ViewSet((48, 44)),
             ViewSet(SERVED_VIEW_SIDES))
# Latency is measured in this many interleaved rounds of 200 calls; the median of the rounds'
# medians is recorded (the machine is shared, so one round can be slowed by another process).
LATENCY_ROUNDS = 3
# The two latencies of a point: the model's own time (CPU time of the one thread that runs it,
# which other processes on a shared machine do not inflate; the budget applies to it) and the
# wall time as the rest of the project measures it (the same when the core is free).
LATENCY_CLOCKS = {"latency_ms_litert_1face": time.thread_time,
                  "wall_ms_litert_1face": time.perf_counter}


@dataclass(frozen=True)
class FrontierPoint:
    """One candidate served model: some of the selected members over some test-time views."""

    members: tuple[str, ...]
    views: ViewSet


def _view_indices(views: ViewSet) -> list[int]:
    """Where ``views``' views are in :func:`predict_views` over all :data:`SERVED_VIEW_SIDES`
    with mirrors (side by side, the mirror image after each)."""
    return [2 * SERVED_VIEW_SIDES.index(side) + flip for side in views.sides
            for flip in ((0, 1) if views.mirror else (0,))]


def frontier_points(selected: list[str]) -> list[FrontierPoint]:
    """Every non-empty subset of the ``selected`` members (kept in selection order) over every
    view set of :data:`VIEW_SETS`."""
    return [FrontierPoint(subset, views)
            for k in range(1, len(selected) + 1)
            for subset in itertools.combinations(selected, k)
            for views in VIEW_SETS]


def measure_frontier(models: dict[str, keras.Model],
                     validation: tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]],
                     selected: list[str], rounds: int = LATENCY_ROUNDS) -> list[dict[str, Any]]:
    """The frontier's rows, one per :func:`frontier_points` point: ``members``, the views
    (``view_sides``, ``view_mirror``, ``views``: views per face), ``validation`` (Keras: the mean
    of the members' probabilities over the views), ``params``, ``tflite_bytes`` (the int8 export)
    and the latencies of :data:`LATENCY_CLOCKS` (one thread, one face per call; the median
    over ``rounds`` interleaved rounds of
    :func:`~moosic_core.training.face._litert_latency_ms`)."""
    x, y = validation
    per_view = {name: predict_views(models[name], x) for name in selected}
    points = frontier_points(selected)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, point in enumerate(points):
            ensemble = build_ensemble([models[n] for n in point.members])
            path = Path(tmp) / f"point{i}.tflite"
            size = export_tflite(ensemble, path, SERVED_WEIGHTS, point.views.sides,
                                 point.views.mirror)
            probs = np.mean([per_view[n][j] for n in point.members
                             for j in _view_indices(point.views)], axis=0)
            rows.append({"members": list(point.members), **point.views.record(),
                         "views": point.views.count,
                         "validation": rounded(probability_metrics(probs, y)),
                         "validation_keys": {name: [round(v, 5) for v in key(probs, y)]
                                             for name, key in SELECTION_KEYS.items()},
                         "params": int(ensemble.count_params()), "tflite_bytes": size})
            files.append(path)
        for key, clock in LATENCY_CLOCKS.items():
            times = [[_litert_latency_ms(path, clock=clock) for path in files]
                     for _ in range(rounds)]
            for row, measured in zip(rows, zip(*times, strict=True), strict=True):
                row[key] = round(float(np.median(measured)), 3)
    return rows


def choose_point(rows: list[dict[str, Any]], budget_ms: float = LATENCY_BUDGET_MS,
                 floor: float = RELEASE_FLOORS["happy_sad_accuracy"], key: str = FRONTIER_KEY
                 ) -> tuple[int, str]:
    """The served point (its index in ``rows``) and why, on validation only: among the points
    within ``budget_ms`` per face, the best on validation by ``key`` (one of
    :data:`~moosic_core.training.ensemble.SELECTION_KEYS`, recorded in each row's
    ``validation_keys``; a tie goes to the faster); if none fits, speed wins down to the floor:
    the fastest whose validation happy-vs-sad accuracy keeps ``floor``; if none keeps it, the
    best on validation."""
    keyed = all(key in r.get("validation_keys", {}) for r in rows)  # else (older rows) accuracy

    def fastest_best(i: int) -> tuple[float, ...]:
        best = (tuple(rows[i]["validation_keys"][key]) if keyed
                else validation_key(rows[i]["validation"]))
        return (*best, -rows[i]["latency_ms_litert_1face"])

    within = [i for i, r in enumerate(rows) if r["latency_ms_litert_1face"] <= budget_ms]
    if within:
        return (max(within, key=fastest_best),
                f"the best on validation ({KEY_TEXT.get(key, key)}) among the points within "
                f"{budget_ms:g} ms per face")
    keeping = [i for i, r in enumerate(rows) if r["validation"]["happy_sad_accuracy"] >= floor]
    if keeping:
        return (min(keeping, key=lambda i: rows[i]["latency_ms_litert_1face"]),
                f"no point is within {budget_ms:g} ms: the fastest whose validation "
                f"happy-vs-sad keeps {floor}")
    return (max(range(len(rows)), key=fastest_best),
            f"no point is within {budget_ms:g} ms or keeps {floor} on validation: the best "
            f"({KEY_TEXT.get(key, key)})")


def export_choice(models: dict[str, keras.Model], selected: list[str],
                  data: dict[str, tuple[Any, Any]], tflite: Path,
                  budget_ms: float = LATENCY_BUDGET_MS, key: str = FRONTIER_KEY
                  ) -> tuple[dict[str, Any], keras.Model]:
    """Measure the frontier of the ``selected`` members (``models`` by name) on
    ``data["validation"]``, choose by :func:`choose_point` and export the chosen point to
    ``tflite`` (int8). Returns its fields of ``metrics.json["model"]`` (``members``, ``params``,
    the views, ``validation``, ``test_keras`` (Keras on ``data["test"]``, reported only),
    ``tflite_bytes``, ``tflite_weights``, the latencies, ``frontier``: the rows, the chosen
    index and the rule; ``train_subset`` when ``data`` has ``"train"``) and the chosen Keras
    model."""
    rows = measure_frontier(models, data["validation"], selected)
    chosen, why = choose_point(rows, budget_ms, key=key)
    point = rows[chosen]
    views = ViewSet.of(point)
    ensemble = build_ensemble([models[n] for n in point["members"]])
    size = export_tflite(ensemble, tflite, SERVED_WEIGHTS, views.sides, views.mirror)
    record: dict[str, Any] = {
        "members": point["members"], "params": point["params"], **views.record(),
        "validation": point["validation"],
        "test_keras": rounded(evaluate(ensemble, *data["test"], sides=views.sides,
                                       mirror=views.mirror)),  # reported only
        "tflite_bytes": size, "tflite_weights": SERVED_WEIGHTS,
        "latency_ms_litert_1face": point["latency_ms_litert_1face"],
        "wall_ms_litert_1face": point["wall_ms_litert_1face"],
        "frontier": {"rows": rows, "chosen": chosen, "budget_ms": budget_ms, "key": key,
                     "rule": why,
                     "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                     "environment": _environment()},
    }
    if "train" in data:
        record["train_subset"] = rounded(evaluate(ensemble, *_train_subset(data),
                                                  sides=views.sides, mirror=views.mirror))
    return record, ensemble


def serve_frontier(fer_dir: Path, out_dir: Path, checkpoint_dir: Path,
                   budget_ms: float = LATENCY_BUDGET_MS, key: str = FRONTIER_KEY) -> Release:
    """Measure the frontier of the members greedy selection chose (``metrics.json["model"]
    ["selection"]``), record it, export the point :func:`choose_point` picks as ``mood.tflite``
    and pass it through the release gate (served if it keeps the release floors on test or the
    model served before does not; else the earlier model is put back). Raises
    :class:`DataError` when a selected member's weights are in neither ``out_dir`` nor the
    shelf."""
    metrics = read_metrics(out_dir)
    model_record = dict(metrics.get("model", {}))
    selected = [row["added"] for row in model_record.get("selection", [])]
    if not selected:
        raise DataError("No served face model is recorded yet: run `moosic train face` first.")
    shelf = checkpoint_dir / MEMBERS_DIR
    paths = {n: _stored_weights(out_dir, shelf, n) for n in selected}
    missing = [n for n, p in paths.items() if not p.exists()]
    if missing:
        raise DataError(f"The weights of {', '.join(missing)} are not here (models/face/members/ "
                        f"or {shelf}): train them again with `moosic train face --reuse`.")
    models = {n: load_model(p, metrics["members"][n]["arch"]) for n, p in paths.items()}
    data = {s: load_split(fer_dir, s) for s in ("train", "validation", "test")}
    previous = served_before(out_dir / TFLITE_NAME, metrics)
    point, _ = export_choice(models, selected, data, out_dir / TFLITE_NAME, budget_ms, key)
    # every selected member's weights stay in models/ (a later frontier needs them all, and a
    # fresh clone has no shelf), also those the chosen point leaves out
    _shelve_unserved(out_dir, shelf, selected, selected)
    result = {**model_record, **point}
    result.pop("release_failures", None)
    outcome = release(out_dir, out_dir / TFLITE_NAME, metrics, result, data["test"], previous,
                      f"{FRONTIER_COMMAND} --budget-ms {budget_ms:g} --key {key}",
                      lambda _kept: _shelve_unserved(out_dir, shelf, selected, selected))
    write_metrics(out_dir, metrics)
    return outcome
