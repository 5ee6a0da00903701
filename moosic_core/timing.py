"""Timing helpers shared by evaluations and benchmarks: several runs after a warm-up."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def run_times_ms(fn: Callable[[], object], runs: int, warmup: int = 1) -> list[float]:
    """Wall times of ``runs`` calls of ``fn`` in milliseconds, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return times


def median_ms(fn: Callable[[], object], runs: int, warmup: int = 1) -> float:
    """Median wall time of ``fn`` in milliseconds."""
    return round(statistics.median(run_times_ms(fn, runs, warmup)), 2)
