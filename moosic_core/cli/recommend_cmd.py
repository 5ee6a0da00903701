"""``moosic recommend``: a ranked, explained list for a selfie or a stated mood."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from moosic_core.cli.common import (
    CommandTree,
    print_json,
    publish_report,
    read_playlist_file,
    whole_number,
)
from moosic_core.config import MAX_LIST_SIZE, Config
from moosic_core.datasets import PLAYLISTS, dataset_missing
from moosic_core.errors import DataError
from moosic_core.service import HintWords, MoosicService, Suggestions
from moosic_core.taste.csv_export import IMPORT_HINT, playlist_csv
from moosic_core.types import MoodReading, Recommendation, UserRef

CLI_USER = UserRef("cli", "local")


def mood_to_dict(mood: MoodReading) -> dict[str, Any]:
    return {"mood_score": round(mood.mood_score, 4),
            "energy": None if mood.energy is None else round(mood.energy, 4),
            "source": mood.source,
            "faces": [{"box": list(f.box), "mood_score": round(f.mood_score, 4),
                       "emotions": {k: round(v, 4) for k, v in f.emotions.items()}}
                      for f in mood.faces]}


def suggestions_to_dict(s: Suggestions) -> dict[str, Any]:
    """The JSON shape of ``moosic recommend``."""
    return {
        "mood": mood_to_dict(s.mood), "mode": s.mode, "has_taste": s.has_taste,
        "hints": list(s.hints),
        "tracks": tracks_to_dicts(s.items),
    }


def tracks_to_dicts(items: Iterable[Recommendation]) -> list[dict[str, Any]]:
    """The JSON shape of each song in a list."""
    return [{"track_id": r.track.track_id, "name": r.track.name,
             "artists": list(r.track.artists), "genres": list(r.track.genres),
             "mood_score": round(r.track.mood_score, 4),
             "energy": round(r.track.energy, 4), "url": r.track.url,
             "score": r.score, "reasons": [dataclasses.asdict(x) for x in r.reasons]}
            for r in items]


async def load_taste(service: MoosicService, user: UserRef, args: argparse.Namespace) -> None:
    """Attach the taste source named on the command line (a CSV or a Spotify user)."""
    if args.playlist:
        path = Path(args.playlist)
        profile = await service.import_playlist(user, read_playlist_file(path), path.name)
        for note in profile.notes:  # a library read in part: say so
            print(note, file=sys.stderr)
    elif args.spotify_user:
        await service.link_spotify_user(user, args.spotify_user)


#: The service's hints in this command's own options.
CLI_HINTS = HintWords(
    link_taste="Add --playlist CSV (an Exportify export) or --spotify-user ID and I'll pick "
               "from the genres you love.",
    try_lift="Want to feel better? Try --mode lift: songs that start where you are and get "
             "happier step by step.",
)


async def _recommend(args: argparse.Namespace, config: Config) -> Suggestions:
    from moosic_core.app import open_service

    with tempfile.TemporaryDirectory(prefix="moosic-cli-") as tmp:
        # A throw-away database: one command is one session.
        paths = dataclasses.replace(config.paths, database=Path(tmp) / "cli.sqlite3")
        async with open_service(dataclasses.replace(config, paths=paths),
                                hint_words=CLI_HINTS) as service:
            await load_taste(service, CLI_USER, args)
            if args.selfie:
                path = Path(args.selfie)
                if not path.is_file():
                    raise DataError(f"Image not found: {path}")
                await service.give_consent(CLI_USER)  # the operator's own photo
                mood = await service.read_photo(CLI_USER, path.read_bytes())
            else:
                mood = service.stated_mood(args.mood)
            return await service.recommend(CLI_USER, mood, args.mode, args.n)


def print_tracks(items: Sequence[Recommendation]) -> None:
    """The ranked list as text: title, artists, genres, mood, link, then the reasons."""
    for i, r in enumerate(items, 1):
        t = r.track
        print(f"{i:2}. {t.name} — {', '.join(t.artists)} [{', '.join(t.genres[:2])}] "
              f"mood {t.mood_score:.2f}  {t.url}")
        print(f"    {'; '.join(x.text for x in r.reasons)}")


def save_csv(items: Sequence[Recommendation], target: str | None) -> None:
    """``--save-csv PATH``: write the list as a playlist CSV (Exportify's import reads it) and
    say so on stderr (stdout stays the list, or its JSON). Raises :class:`DataError` when the
    file can't be written."""
    if not target:
        return
    path = Path(target).expanduser()
    try:
        path.write_bytes(playlist_csv([r.track for r in items]))
    except OSError as exc:
        raise DataError(f"Can't write {path}: {exc.strerror or exc}") from None
    print(f"Saved {len(items)} songs to {path}. {IMPORT_HINT}", file=sys.stderr)


def add_save_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--save-csv", metavar="PATH",
                        help="also write the list to PATH as a playlist CSV (Track URI, Track "
                             "Name, Artist Name(s), Album Name; exportify.app imports it)")


def recommend_command(args: argparse.Namespace, config: Config) -> int:
    suggestions = asyncio.run(_recommend(args, config))
    save_csv(suggestions.items, args.save_csv)
    if args.json:
        print_json(suggestions_to_dict(suggestions))
        return 0
    m = suggestions.mood
    print(f"Mood {m.mood_score:.2f} ({suggestions.mood_words}, {m.source}); mode {args.mode}")
    print_tracks(suggestions.items)
    for hint in suggestions.hints:
        print(hint)
    return 0


def eval_recommend_command(args: argparse.Namespace, config: Config) -> int:
    from moosic_core.app import load_tool_catalog
    from moosic_core.recommend.evaluate import SPLITS, evaluate_ranking, report_markdown
    from moosic_core.songs.models import SongModels

    catalog = load_tool_catalog(config)
    models = SongModels.load(config.paths.models_dir / "songs")
    playlists = sorted(config.data.playlists_dir.glob("*.csv"))
    if not playlists:
        raise dataset_missing(PLAYLISTS, config.data.playlists_dir, "Playlist CSVs")
    splits = SPLITS if args.splits is None else args.splits
    result = evaluate_ranking(catalog, models, playlists, splits)
    publish_report(config.paths.models_dir / "recommend" / "REPORT.md", report_markdown(result),
                   result, args.json)
    return 0


def add_taste_arguments(parser: argparse.ArgumentParser) -> None:
    taste = parser.add_mutually_exclusive_group()
    taste.add_argument("--playlist", help="an exported playlist CSV (Exportify format)")
    taste.add_argument("--spotify-user", help="a Spotify user ID, profile URL or URI")


def register(tree: CommandTree) -> None:
    parser = tree.add("recommend", recommend_command,
                      help="songs for a selfie or a stated mood, inside a taste")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--selfie", help="a photo with a face")
    source.add_argument("--mood", help="happy, sad, calm, ... or a number 0..1")
    add_taste_arguments(parser)
    parser.add_argument("--mode", choices=("match", "lift"), default="match")
    parser.add_argument("-n", type=whole_number(1, MAX_LIST_SIZE), default=10,
                        help=f"how many songs, 1-{MAX_LIST_SIZE} (default 10)")
    add_save_argument(parser)
    evaluate = tree.add("eval recommend", eval_recommend_command,
                        help="offline ranking quality on the example playlists; writes a report")
    evaluate.add_argument("--splits", type=whole_number(1, 100), metavar="N",
                          help="random library splits per playlist, 1-100 (default 10)")
