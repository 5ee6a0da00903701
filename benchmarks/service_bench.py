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


async def _child() -> dict[str, Any]:
    from moosic_core.app import open_service
    from moosic_core.config import load_config
    from moosic_core.types import UserRef

    config = load_config()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = dataclasses.replace(config.paths, database=Path(tmp) / "bench.sqlite3")
        # Room for all 50 concurrent requests (the default refuses past 32 waiting).
        service_cfg = dataclasses.replace(config.service, max_pending=64)
        config = dataclasses.replace(config, paths=paths, service=service_cfg)
        start = time.perf_counter()
        async with open_service(config) as service:
            results["startup_ms"] = round((time.perf_counter() - start) * 1000, 1)
            selfie = _selfie()
            user = UserRef("bench", "one")
            playlist = config.data.playlists_dir / "liked_songs_a.csv"
            await service.import_playlist(user, playlist.read_bytes(), playlist.name)
            await service.give_consent(user)

            async def once(u: UserRef) -> None:
                mood = await service.read_photo(u, selfie)
                await service.recommend(u, mood)

            await once(user)  # warm-up (also caches the profile)
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
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    results["tensorflow_imported"] = "tensorflow" in sys.modules
    return results


def main() -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "benchmarks.service_bench", "--child"],
                          capture_output=True, text=True, check=True)
    results: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, value in results.items():
        if isinstance(value, dict):
            print(row(name, value))
        else:
            print(f"{name:<48} {value}")
    return results


if __name__ == "__main__":
    if "--child" in sys.argv:
        print(json.dumps(asyncio.run(_child())))
    else:
        main()
