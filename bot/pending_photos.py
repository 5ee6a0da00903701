"""Photos waiting for the user's consent: in memory only, expiring, with a total byte cap.

A user who sends a selfie before agreeing to face analysis is asked first; the photo waits in
memory for the answer. Unanswered photos must not pile up (100 users x 5 MB once held 500 MB),
so each waits at most ``max_age_s`` and all together hold at most ``max_bytes``: past the cap
the oldest goes first. A user whose photo was dropped is told so when they answer (a short
record of whose photo was dropped is kept, never the photo). Expiry is checked on every use.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

W = TypeVar("W")

#: How long (and how many) "your photo was dropped" notes are kept for users who never answer.
DROPPED_NOTE_S = 24 * 3600.0
MAX_DROPPED_NOTES = 10_000


@dataclass(frozen=True)
class WaitingPhoto(Generic[W]):
    """One photo in memory, where it came from, and when it arrived (clock seconds)."""

    image: bytes
    where: W
    at: float


@dataclass(frozen=True)
class Taken(Generic[W]):
    """What a user's answer finds: their waiting photo, or whether it was dropped meanwhile."""

    photo: WaitingPhoto[W] | None
    dropped: bool


class PendingPhotos(Generic[W]):
    """Per user key, at most one waiting photo (a newer one replaces it)."""

    def __init__(self, max_age_s: float, max_bytes: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age_s = max_age_s
        self.max_bytes = max_bytes
        self._clock = clock
        self._photos: OrderedDict[str, WaitingPhoto[W]] = OrderedDict()  # oldest first
        self._dropped: OrderedDict[str, float] = OrderedDict()
        self.total_bytes = 0

    def __len__(self) -> int:
        self._expire()
        return len(self._photos)

    def put(self, key: str, image: bytes, where: W) -> None:
        """Keep ``image`` for ``key``; drop expired photos, then the oldest past the byte cap."""
        self._remove(key)
        self._dropped.pop(key, None)
        self._photos[key] = WaitingPhoto(image, where, self._clock())
        self.total_bytes += len(image)
        self._expire()
        while self.total_bytes > self.max_bytes and self._photos:
            self._drop(next(iter(self._photos)))

    def take(self, key: str) -> Taken[W]:
        """Remove and return ``key``'s photo; ``dropped`` says it expired or was pushed out."""
        self._expire()
        photo = self._remove(key)
        dropped = self._dropped.pop(key, None) is not None
        return Taken(photo, dropped and photo is None)

    def discard(self, key: str) -> None:
        """Forget ``key``'s photo and any note about it (``/forget``)."""
        self._remove(key)
        self._dropped.pop(key, None)

    def _remove(self, key: str) -> WaitingPhoto[W] | None:
        photo = self._photos.pop(key, None)
        if photo is not None:
            self.total_bytes -= len(photo.image)
        return photo

    def _drop(self, key: str) -> None:
        self._remove(key)
        self._dropped[key] = self._clock()
        while len(self._dropped) > MAX_DROPPED_NOTES:
            self._dropped.popitem(last=False)

    def _expire(self) -> None:
        now = self._clock()
        while self._photos:
            key, oldest = next(iter(self._photos.items()))
            if now - oldest.at < self.max_age_s:
                break
            self._drop(key)
        while self._dropped and now - next(iter(self._dropped.values())) > DROPPED_NOTE_S:
            self._dropped.popitem(last=False)


def dropped_text(max_age_s: float) -> str:
    """What a user hears when they agree after their waiting photo was dropped."""
    minutes = max(1, round(max_age_s / 60))
    return ("Thanks! I no longer have the photo you sent before: I keep a photo waiting for "
            f"your answer only {minutes} minutes, and never store it. Please send it again.")
