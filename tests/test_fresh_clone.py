"""A fresh clone with nothing beside it (no ../shared datasets) serves songs at once.

The repository is cloned into a temporary directory (what a new user gets: committed files
only) and its console chat is started with the shared virtualenv, the clone's code first on
the path. It must answer ``/mood happy`` with songs from the packed catalog that ships in the
repository, without a dataset, a build step or a download.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from moosic_core import PROJECT_ROOT


def test_bare_clone_console_answers_a_mood(tmp_path) -> None:
    clone = tmp_path / "moosic"
    subprocess.run(["git", "clone", "--quiet", str(PROJECT_ROOT), str(clone)], check=True,
                   timeout=120)
    assert not (tmp_path / "shared").exists()
    assert not (clone / "data" / "catalog").exists()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOOSIC_")}
    env["PYTHONPATH"] = str(clone)
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "run"], input="/mood happy\n/quit\n",
                          capture_output=True, text=True, cwd=clone, env=env, timeout=180,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Songs for feeling happy" in proc.stdout
    assert proc.stdout.count("https://open.spotify.com/track/") == 10
    assert "catalog build" not in proc.stderr and "not found" not in proc.stderr


def test_bare_clone_tools_read_the_packed_catalog(tmp_path) -> None:
    """``taste``, ``catalog show`` and ``recommend --playlist`` need no built catalog table."""
    from moosic_core.catalog.store import Catalog

    clone = tmp_path / "moosic"
    subprocess.run(["git", "clone", "--quiet", str(PROJECT_ROOT), str(clone)], check=True,
                   timeout=120)
    assert not (clone / "data" / "catalog").exists()
    catalog = Catalog.load_packed(clone / "catalog" / "moosic_catalog.npz")
    rows = ['"Track URI","Track Name","Artist Name(s)"']
    for i in range(0, 4000, 100):
        name, artists = (str(v) for v in catalog.frame.loc[i, ["track_name", "artists"]])
        rows.append(f'"spotify:track:{catalog.track_ids[i]}","{name.replace(chr(34), "")}",'
                    f'"{artists.replace(chr(34), "")}"')
    playlist = tmp_path / "mine.csv"
    playlist.write_text("\n".join(rows) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOOSIC_")}
    env["PYTHONPATH"] = str(clone)

    def moosic(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True,
                              text=True, cwd=clone, env=env, timeout=180, check=False)

    taste = moosic("taste", "--playlist", str(playlist), "--json")
    assert taste.returncode == 0, taste.stdout + taste.stderr[-2000:]
    assert json.loads(taste.stdout)["tracks_total"] == 40
    shown = moosic("catalog", "show", "--limit", "3", "--json")
    assert shown.returncode == 0, shown.stdout + shown.stderr[-2000:]
    assert len(json.loads(shown.stdout)) == 3
    for out in (taste, shown):
        assert "catalog build" not in out.stdout + out.stderr
