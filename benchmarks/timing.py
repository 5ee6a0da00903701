"""Small helpers for honest timings: warm-up, several runs, medians."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def measure(fn: Callable[[], Any], runs: int = 7, warmup: int = 1) -> dict[str, float]:
    """Median, min and p95 wall time of ``fn`` in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return {"median_ms": round(statistics.median(times), 3), "min_ms": round(times[0], 3),
            "p95_ms": round(p95, 3), "runs": runs}


def row(name: str, result: dict[str, float]) -> str:
    return f"{name:<48} median {result['median_ms']:>10.3f} ms   p95 {result['p95_ms']:>10.3f} ms"
