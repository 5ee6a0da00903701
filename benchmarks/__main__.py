"""Run every benchmark; print a table and write ``data/bench.json``."""

from __future__ import annotations

import importlib
import json
import logging
import os

from moosic_core.config import load_config

MODULES = ("benchmarks.catalog_bench", "benchmarks.service_bench", "benchmarks.face_bench",
           "benchmarks.telegram_bench", "benchmarks.burst_bench", "benchmarks.rss_bench",
           "benchmarks.store_bench", "benchmarks.replica_bench")


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    print(f"Moo-Sic benchmarks on {os.cpu_count()} cores (medians of several runs)")
    results = {}
    for name in MODULES:
        print(f"\n== {name}")
        results[name] = importlib.import_module(name).main()
    out = load_config().paths.data_dir / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(f"\nWritten {out}")


if __name__ == "__main__":
    main()
