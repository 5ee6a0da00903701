"""The serving path: selfie -> ranked list end to end, throughput, and the process's memory.

Runs in a fresh child process so that its peak RSS is the serving process's own (and so that
we can check TensorFlow was never imported).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.timing import row


def _selfie() -> bytes:
    import io

    from PIL import Image
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).resize((640, 480)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _config(work: Path) -> Any:
    from moosic_core.config import load_config

    config = load_config()
    paths = dataclasses.replace(config.paths, database=work / "bench.sqlite3")
    return dataclasses.replace(config, paths=paths)


USER = ("bench", "one")


async def _prepare(work: Path) -> dict[str, Any]:
    """Import a real playlist (with audio features) and cache its profile in the database."""
    from moosic_core.app import open_service
    from moosic_core.types import UserRef

    config = _config(work)
    async with open_service(config) as service:
        playlist = config.data.playlists_dir / "liked_songs_a.csv"
        user = UserRef(*USER)
        await service.import_playlist(user, playlist.read_bytes(), playlist.name)
        await service.give_consent(user)
        mood = await service.read_photo(user, (work / "selfie.jpg").read_bytes())
        await service.recommend(user, mood)
    return {"peak_rss_mb": _peak_rss_mb()}


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


async def _serve(work: Path) -> dict[str, Any]:
    """A fresh serving process: profiles come from the database cache."""
    from moosic_core.app import open_service
    from moosic_core.types import UserRef

    config = _config(work)
    selfie = (work / "selfie.jpg").read_bytes()
    results: dict[str, Any] = {}
    start = time.perf_counter()
    async with open_service(config) as service:
        results["startup_ms"] = round((time.perf_counter() - start) * 1000, 1)
        user = UserRef(*USER)

        async def once(u: UserRef) -> None:
            mood = await service.read_photo(u, selfie)
            await service.recommend(u, mood)

        await once(user)  # warm-up
        times = []
        for _ in range(25):
            t0 = time.perf_counter()
            await once(user)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        results["selfie -> ranked list (640x480, cached profile)"] = {
            "median_ms": round(times[len(times) // 2], 2),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2), "runs": len(times)}
        users = [UserRef("bench", f"u{i}") for i in range(50)]
        for u in users:
            await service.give_consent(u)
        rates = []
        for _ in range(3):
            t0 = time.perf_counter()
            await asyncio.gather(*(once(u) for u in users))
            rates.append(len(users) / (time.perf_counter() - t0))
        results["throughput, 50 concurrent selfies (req/s)"] = round(sorted(rates)[1], 1)
    results["peak_rss_mb (serving, cached profiles)"] = _peak_rss_mb()
    results["tensorflow_imported"] = "tensorflow" in sys.modules
    results["sklearn_imported"] = "sklearn" in sys.modules
    return results


def _run_child(step: str, work: Path) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "benchmarks.service_bench", step, str(work)],
                          capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="moosic-bench-") as tmp:
        work = Path(tmp)
        (work / "selfie.jpg").write_bytes(_selfie())
        prepared = _run_child("--prepare", work)
        results = _run_child("--serve", work)
    results["peak_rss_mb (a process that imported a CSV with audio features)"] = \
        prepared["peak_rss_mb"]
    for name, value in results.items():
        if isinstance(value, dict):
            print(row(name, value))
        else:
            print(f"{name:<48} {value}")
    return results


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in {"--prepare", "--serve"}:
        step = _prepare if sys.argv[1] == "--prepare" else _serve
        print(json.dumps(asyncio.run(step(Path(sys.argv[2])))))
    else:
        main()
