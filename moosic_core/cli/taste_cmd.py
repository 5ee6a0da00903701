"""``moosic taste``: a taste profile from a Spotify user's public playlists or a playlist CSV."""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from pathlib import Path

from moosic_core.cli.common import CommandTree, print_json, progress, whole_number
from moosic_core.config import Config
from moosic_core.errors import DataError, ModelMissing
from moosic_core.types import LibraryTrack

log = logging.getLogger(__name__)


async def _spotify_tracks(config: Config, user_ref: str) -> list[LibraryTrack]:
    from moosic_core.spotify.client import SpotifyClient
    from moosic_core.spotify.library import (
        add_audio_features,
        parse_user_ref,
        read_public_playlists,
    )

    client = SpotifyClient(config.spotify)
    library = await read_public_playlists(client, parse_user_ref(user_ref),
                                          config.spotify.track_cap)
    return await add_audio_features(client, client.app(), library.tracks)


def taste_command(args: argparse.Namespace, config: Config) -> int:
    from moosic_core.app import load_tool_catalog
    from moosic_core.songs.models import SongModels
    from moosic_core.taste.csv_import import read_playlist_export
    from moosic_core.taste.profile import ProfileBuilder, profile_summary

    steps = ["catalog", "tracks", "profile"]
    tracks: list[LibraryTrack] = []
    note: str | None = None
    builder: ProfileBuilder | None = None
    for step in progress(steps, desc="taste"):
        if step == "catalog":
            catalog = load_tool_catalog(config)
            try:
                models: SongModels | None = SongModels.load(config.paths.models_dir / "songs")
            except ModelMissing:
                log.warning("no song models: audio features will not be used")
                models = None
            builder = ProfileBuilder(catalog, models)
        elif step == "tracks":
            if args.playlist is not None:
                try:
                    data = Path(args.playlist).read_bytes()
                except OSError as exc:
                    raise DataError(f"Cannot read {args.playlist}: {exc.strerror}") from None
                export = read_playlist_export(data, Path(args.playlist).name)
                tracks, note = export.tracks, export.note
            else:
                tracks = asyncio.run(_spotify_tracks(config, args.spotify_user))
        else:
            assert builder is not None
            if args.limit is not None:
                tracks = tracks[: args.limit]
            profile = builder.build(tracks)
    summary = profile_summary(profile, top=args.top)
    if note:
        summary["note"] = note
    if args.repeat > 1:
        summary["build_seconds"] = _time_builds(builder, tracks, args.repeat)
    if args.json:
        print_json(summary)
    else:
        print(f"{summary['tracks_understood']} of {summary['tracks_total']} tracks understood "
              f"({summary['coverage']:.0%}); {summary['artists']} artists", file=sys.stdout)
        print("top genres: " + ", ".join(profile.top_genres(args.top)))
        print("understood by: " + ", ".join(f"{k} {v}" for k, v in profile.sources.items()))
        if note:
            print(note)
    return 0


def _time_builds(builder: object, tracks: list[LibraryTrack], repeat: int) -> dict[str, float]:
    """Median seconds to build the profile with a fresh builder (catalog indexes warm)."""
    from moosic_core.taste.profile import ProfileBuilder

    assert isinstance(builder, ProfileBuilder)
    times = []
    for _ in range(repeat):
        fresh = ProfileBuilder(builder.catalog, builder.models)
        start = time.perf_counter()
        fresh.build(tracks)
        times.append(time.perf_counter() - start)
    return {"median": round(statistics.median(times), 4), "min": round(min(times), 4),
            "max": round(max(times), 4), "runs": repeat, "tracks": len(tracks)}


def register(tree: CommandTree) -> None:
    parser = tree.add("taste", taste_command,
                      help="build a taste profile from a Spotify user or a playlist CSV")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--spotify-user", metavar="ID",
                        help="a Spotify user ID, profile URL or spotify:user: URI (public "
                             "playlists; needs an app with that access)")
    source.add_argument("--playlist", metavar="CSV", type=Path,
                        help="an exported playlist CSV (Exportify format)")
    parser.add_argument("--top", type=whole_number(1), default=5,
                        help="how many top genres (default 5)")
    parser.add_argument("--limit", type=whole_number(1), help="use only the first N tracks")
    parser.add_argument("--repeat", type=whole_number(1), default=1,
                        help="also time N more profile builds and report the median")
