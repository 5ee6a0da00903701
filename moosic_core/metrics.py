"""All of Moo-Sic's instrumentation, in one place: Prometheus metrics and the hooks that feed them.

Core code calls small hooks and stays readable: ``with metrics.time("rank"): ...`` or
``metrics.timed("rank", fn)`` (a function that times itself, for the thread pool),
``metrics.request("photo")``, ``metrics.answered_error(exc)``. Each :class:`Metrics` has its own
``CollectorRegistry`` (prometheus-client), so several services (tests) never clash;
:meth:`Metrics.exposition` renders the text format that ``/metrics`` serves.

Metric names follow Prometheus conventions (``_seconds`` histograms, ``_total`` counters):

- ``moosic_step_seconds{step}``: latency of decode, detect, mood (crops and the face model),
  rank and group_rank; its ``_count`` is the number of times each step ran.
- ``moosic_requests_total{kind}``: photo, recommend, group, playlist, spotify_link.
- ``moosic_busy_answers_total``: "I'm busy" answers sent to users.
- ``moosic_spotify_errors_total{kind}``: Spotify failures shown to users, by error class.
- ``moosic_errors_total{kind}``: every expected error answered to a user, by class.
- ``moosic_users{kind}``: users in the store (``all``) and linked users per link kind, read
  from the database when scraped.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from moosic_core.errors import (
    Busy,
    MoosicError,
    OAuthFailed,
    SpotifyAuthExpired,
    SpotifyFeatureUnavailable,
    SpotifyNotConfigured,
    SpotifyUnavailable,
    SpotifyUserNotFound,
)

P = ParamSpec("P")
T = TypeVar("T")

STEPS = ("decode", "detect", "mood", "rank", "group_rank")
#: Seconds; from 1 ms (a ranking) to 10 s (a 3,000-track profile on a busy machine).
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Errors that come from talking to Spotify (not a bot without a Spotify set-up).
SPOTIFY_ERRORS = (SpotifyUnavailable, SpotifyAuthExpired, OAuthFailed, SpotifyFeatureUnavailable,
                  SpotifyUserNotFound)
CONTENT_TYPE = CONTENT_TYPE_LATEST

StepTimer = Callable[[str], contextlib.AbstractContextManager[None]]


@contextlib.contextmanager
def no_timer(step: str) -> Iterator[None]:
    """A :data:`StepTimer` that measures nothing (models used without a service)."""
    yield


class Metrics:
    """The service's counters and histograms, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.step_seconds = Histogram("moosic_step_seconds", "Latency of one processing step",
                                      ["step"], buckets=BUCKETS, registry=self.registry)
        self.requests = Counter("moosic_requests", "Requests by kind", ["kind"],
                                registry=self.registry)
        self.busy = Counter("moosic_busy_answers", "Answers saying the bot is busy",
                            registry=self.registry)
        self.spotify_errors = Counter("moosic_spotify_errors", "Spotify failures shown to users",
                                      ["kind"], registry=self.registry)
        self.errors = Counter("moosic_errors", "Expected errors answered to users", ["kind"],
                              registry=self.registry)
        self.users = Gauge("moosic_users", "Users in the store (all) and linked, by link kind",
                           ["kind"], registry=self.registry)
        for step in STEPS:  # every step shows up (with 0) before its first use
            self.step_seconds.labels(step)

    @contextlib.contextmanager
    def time(self, step: str) -> Iterator[None]:
        """Observe the body's wall time as ``step`` (also when it raises)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.step_seconds.labels(step).observe(time.perf_counter() - start)

    def timed(self, step: str, fn: Callable[P, T]) -> Callable[P, T]:
        """``fn`` timing itself as ``step`` (for work handed to a thread pool)."""
        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            with self.time(step):
                return fn(*args, **kwargs)
        return run

    def request(self, kind: str) -> None:
        """Count one request of ``kind`` (photo, recommend, group, playlist, spotify_link)."""
        self.requests.labels(kind).inc()

    def answered_error(self, exc: MoosicError) -> None:
        """Count an expected error that became the user's answer."""
        self.errors.labels(exc.kind).inc()
        if isinstance(exc, Busy):
            self.busy.inc()
        if isinstance(exc, SPOTIFY_ERRORS) and not isinstance(exc, SpotifyNotConfigured):
            self.spotify_errors.labels(exc.kind).inc()

    def set_users(self, counts: dict[str, int]) -> None:
        """Users per kind (``all`` and link kinds), as read from the store."""
        for kind, n in counts.items():
            self.users.labels(kind).set(n)

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric (what ``/metrics`` serves)."""
        return generate_latest(self.registry)
