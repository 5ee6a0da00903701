"""Admission control for the CPU pool: work is admitted by its expected queue wait.

Counting requests treats a 4 ms ranking like a 60 ms selfie, so a burst of cheap requests
(Telegram hands out up to 100 updates per ``getUpdates``) was refused while the pool had
time to spare. Instead each kind of work carries an expected service time (a running mean of
what it really took), and the expected queue wait of a new request is the expected work
already admitted divided by the number of workers (the M/M/c-style backlog estimate).

The one rule: **expensive work (selfies) is admitted while the expected queue wait is at most
``service.max_queue_wait_s``; beyond it the user gets "busy" at once. Cheap work (stated moods,
buttons, taste, playlist files) is always admitted up to ``LIGHT_MAX_QUEUE_WAIT_S``**, a flood
guard far above any real burst (about 30,000 rankings on two workers).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

from moosic_core.errors import Busy

Cost = Literal["light", "expensive"]

#: Cheap work is refused only past this expected queue wait (a guard against floods).
LIGHT_MAX_QUEUE_WAIT_S = 60.0
#: First guesses of the service time, until real runs are measured (seconds).
INITIAL_SERVICE_S: dict[Cost, float] = {"light": 0.01, "expensive": 0.25}
#: Weight of the newest measurement in the running mean (exponential smoothing).
SMOOTHING = 0.2


class SelfiesBusy(Busy):
    user_message = ("I'm busy reading a lot of selfies right now. Please send yours again in a "
                    "minute, or tell me your mood with /mood (that works right away).")


@dataclass(frozen=True)
class Ticket:
    """One admitted piece of work: its kind and the service time expected when admitted."""

    cost: Cost
    expected_s: float


class AdmissionControl:
    """Admits or refuses CPU work by its expected queue wait; thread-safe.

    ``workers`` is the size of the pool; ``max_queue_wait_s`` bounds the expected wait of
    expensive work.
    """

    def __init__(self, workers: int, max_queue_wait_s: float) -> None:
        self.workers = max(1, workers)
        self.max_queue_wait_s = max_queue_wait_s
        self._lock = threading.Lock()
        self._backlog_s = 0.0
        self._service_s: dict[Cost, float] = dict(INITIAL_SERVICE_S)
        self.refused: dict[Cost, int] = {"light": 0, "expensive": 0}

    def expected_wait_s(self) -> float:
        """Seconds a request admitted now would wait before a worker starts it (estimate)."""
        with self._lock:
            return self._backlog_s / self.workers

    def service_s(self, cost: Cost) -> float:
        """The running mean of how long one piece of this kind of work takes (seconds)."""
        with self._lock:
            return self._service_s[cost]

    def admit(self, cost: Cost) -> Ticket:
        """A ticket for the work, or :class:`Busy` (:class:`SelfiesBusy` for expensive work)."""
        limit = self.max_queue_wait_s if cost == "expensive" else LIGHT_MAX_QUEUE_WAIT_S
        with self._lock:
            if self._backlog_s / self.workers > limit:
                self.refused[cost] += 1
                raise SelfiesBusy() if cost == "expensive" else Busy()
            ticket = Ticket(cost, self._service_s[cost])
            self._backlog_s += ticket.expected_s
            return ticket

    def finished(self, ticket: Ticket, took_s: float | None) -> None:
        """Release the ticket's share of the backlog; ``took_s`` (when it ran) updates the mean."""
        with self._lock:
            self._backlog_s = max(0.0, self._backlog_s - ticket.expected_s)
            if took_s is not None:
                old = self._service_s[ticket.cost]
                self._service_s[ticket.cost] = (1 - SMOOTHING) * old + SMOOTHING * took_s
