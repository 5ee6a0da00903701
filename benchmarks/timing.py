"""Small helpers for honest timings: warm-up, several runs, medians."""

from __future__ import annotations

import platform
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from moosic_core.timing import run_times_ms


def measure(fn: Callable[[], Any], runs: int = 7, warmup: int = 1) -> dict[str, float]:
    """Median, min and p95 wall time of ``fn`` in milliseconds."""
    times = sorted(run_times_ms(fn, runs, warmup))
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return {"median_ms": round(statistics.median(times), 3), "min_ms": round(times[0], 3),
            "p95_ms": round(p95, 3), "runs": runs}


def row(name: str, result: dict[str, float]) -> str:
    return f"{name:<48} median {result['median_ms']:>10.3f} ms   p95 {result['p95_ms']:>10.3f} ms"


def cpu_description() -> str:
    """The CPU's model name and its vector extensions: LiteRT's speed, int8 kernels above all,
    differs several-fold between hosts of the same core count, so timings name the CPU."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or platform.machine()
    fields = {key.strip(): value.strip()
              for key, value in (line.split(":", 1) for line in lines if ":" in line)}
    name = fields.get("model name") or platform.machine()
    flags = set(fields.get("flags", "").split())
    vector = [label for label, flag in (("AVX2", "avx2"), ("AVX-512", "avx512f"),
                                        ("AVX-512 VNNI", "avx512_vnni"),
                                        ("AVX-VNNI", "avx_vnni")) if flag in flags]
    return f"{name} ({', '.join(vector) or 'no AVX2'})"
