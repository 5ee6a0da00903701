"""Keeping a song list: what a list to save is, and what saving it produced.

A list goes to the user's Spotify as a private playlist when they signed in with Spotify and
granted ``playlist-modify-private``; otherwise (a user-ID link, a playlist CSV, no link, or a
save that failed) it becomes a CSV file Exportify's "Import playlist" reads
(:mod:`moosic_core.taste.csv_export`). :meth:`moosic_core.service.MoosicService.save_list`
decides; adapters only render the :class:`SaveResult`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from moosic_core.errors import MoosicError
from moosic_core.spotify.playlists import SavedPlaylist
from moosic_core.types import Track

BRAND = "Moo-Sic"


def list_title(mood_words: str, day: date) -> str:
    """The name a saved list gets: ``"Moo-Sic · calm · 29 Nov"`` (mood words, day, month)."""
    words = " ".join(mood_words.split())[:60] or "mixed"
    return f"{BRAND} · {words} · {day.day} {day:%b}"


@dataclass(frozen=True)
class SongList:
    """A list as it was shown: its title (:func:`list_title`) and tracks in order.

    ``group`` marks a group round's list (any member may save it).
    """

    title: str
    tracks: tuple[Track, ...]
    group: bool = False

    @property
    def track_ids(self) -> list[str]:
        return [t.track_id for t in self.tracks]


@dataclass(frozen=True)
class SaveResult:
    """What saving a list produced.

    - ``playlist``: the playlist made in the user's Spotify (with ``problem`` set it holds only
      ``playlist.added`` of the tracks);
    - ``csv`` and ``filename``: the list as a file (sent when Spotify isn't available for this
      user or the save failed);
    - ``sign_in_url``: Spotify needs the user's permission first (a sign-in link that adds
      ``playlist-modify-private``);
    - ``problem``: why the list is not (all) in Spotify, with the user's message.
    """

    playlist: SavedPlaylist | None = None
    csv: bytes | None = None
    filename: str = ""
    sign_in_url: str | None = None
    problem: MoosicError | None = None


__all__ = ["BRAND", "SaveResult", "SavedPlaylist", "SongList", "list_title"]
