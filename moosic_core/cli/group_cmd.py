"""``moosic group``: one fair list for several members; ``moosic eval group``: its fairness."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import tempfile
from pathlib import Path
from typing import Any

from moosic_core.cli.common import (
    CommandTree,
    print_json,
    publish_report,
    read_playlist_file,
    whole_number,
)
from moosic_core.cli.recommend_cmd import (
    add_save_argument,
    mood_to_dict,
    print_tracks,
    save_csv,
    tracks_to_dicts,
)
from moosic_core.config import MAX_LIST_SIZE, Config
from moosic_core.datasets import PLAYLISTS, dataset_missing
from moosic_core.errors import DataError
from moosic_core.recommend.group import GroupList
from moosic_core.types import MoodReading, UserRef


def group_to_dict(g: GroupList) -> dict[str, Any]:
    """The JSON shape of ``moosic group``."""
    return {"mood": mood_to_dict(g.mood), "mode": g.mode, "members": list(g.members),
            "tracks": tracks_to_dicts(g.items), "member_fit": g.member_fit,
            "taste_match": {"overall": g.taste_match.overall,
                            "pairs": {f"{a} + {b}": v for (a, b), v in
                                      g.taste_match.pairs.items()}},
            "together": None if g.together is None else g.together.track.track_id}


async def _group(args: argparse.Namespace, config: Config) -> GroupList:
    from moosic_core.app import open_service

    paths_ = [Path(p) for p in args.member]
    files = [read_playlist_file(path) for path in paths_]  # every problem before loading
    with tempfile.TemporaryDirectory(prefix="moosic-cli-") as tmp:
        paths = dataclasses.replace(config.paths, database=Path(tmp) / "cli.sqlite3")
        async with open_service(dataclasses.replace(config, paths=paths)) as service:
            members = []
            for i, (path, data) in enumerate(zip(paths_, files, strict=True), 1):
                user = UserRef("cli", f"member{i}")
                await service.import_playlist(user, data, path.name)
                members.append((user, path.stem))
            readings: list[MoodReading]
            if args.selfie:
                image = Path(args.selfie)
                if not image.is_file():
                    raise DataError(f"Image not found: {image}")
                operator = UserRef("cli", "operator")
                await service.give_consent(operator)  # the operator's own (group) photo
                read = await service.read_photo(operator, image.read_bytes())
                readings = [MoodReading(f.mood_score, f.arousal, "face") for f in read.faces]
            else:
                readings = [service.stated_mood(args.mood)]
            return await service.recommend_group(members, readings, args.mode, args.n)


def group_command(args: argparse.Namespace, config: Config) -> int:
    result = asyncio.run(_group(args, config))
    save_csv(result.items, args.save_csv)
    if args.json:
        print_json(group_to_dict(result))
        return 0
    m, match = result.mood, result.taste_match.overall
    print(f"Group mood {m.mood_score:.2f} ({m.source}); mode {result.mode}; taste match "
          + ("-" if match is None else f"{match:.0%}"))
    print_tracks(result.items)
    print("Genre precision per member: "
          + ", ".join(f"{k} {v:.2f}" for k, v in result.member_fit.items()))
    return 0


def eval_group_command(args: argparse.Namespace, config: Config) -> int:
    from moosic_core.app import load_tool_catalog
    from moosic_core.recommend.group_eval import evaluate_groups, load_members, report_markdown
    from moosic_core.songs.models import SongModels

    catalog = load_tool_catalog(config)
    models = SongModels.load(config.paths.models_dir / "songs")
    playlists = sorted(config.data.playlists_dir.glob("*.csv"))
    if len(playlists) < 2:
        raise dataset_missing(PLAYLISTS, config.data.playlists_dir, "Two or more playlist CSVs")
    result = evaluate_groups(catalog, load_members(catalog, models, playlists))
    publish_report(config.paths.models_dir / "recommend" / "GROUP_REPORT.md",
                   report_markdown(result), result, args.json)
    return 0


def register(tree: CommandTree) -> None:
    parser = tree.add("group", group_command,
                      help="one fair list for several members' playlists and a mood")
    parser.add_argument("--member", action="append", required=True,
                        help="a member's playlist CSV (repeat for each member)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--selfie", help="a photo: every face counts for the group's mood")
    source.add_argument("--mood", help="happy, sad, calm, ... or a number 0..1")
    parser.add_argument("--mode", choices=("match", "lift"), default="match")
    parser.add_argument("-n", type=whole_number(1, MAX_LIST_SIZE), default=10,
                        help=f"how many songs, 1-{MAX_LIST_SIZE} (default 10)")
    add_save_argument(parser)
    tree.add("eval group", eval_group_command,
             help="fairness of group lists on the example playlists; writes a report")
