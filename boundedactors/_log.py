"""The ``boundedactors`` logger, and a throttle so floods log summaries, not lines."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

from .clock import Clock, TimerHandle

logger = logging.getLogger("boundedactors")


class ThrottledLog:
    """Log at most ``burst`` detailed lines per ``interval`` for one kind of event.

    Past ``burst``, events are only counted by reason, and one summary line with
    the counts is logged when the interval ends. ``burst=0`` logs summaries only.
    Runtime complexity: O(1) per event; memory is one counter per distinct reason,
    and reasons come from a fixed set chosen by the library.
    """

    def __init__(
        self,
        clock: Clock,
        what: str,
        *,
        level: int = logging.WARNING,
        interval: float = 1.0,
        burst: int = 0,
    ) -> None:
        self._clock = clock
        self._what = what
        self._level = level
        self._interval = interval
        self._burst = burst
        self._window_end = float("-inf")
        self._lines = 0
        self._suppressed: Counter[str] = Counter()
        self._timer: TimerHandle | None = None

    def record(self, reason: str, detail: Callable[[], None] | None = None) -> None:
        """Count one event; call ``detail()`` to log it in full if the burst allows."""
        if detail is None and self._timer is not None:
            # A summary is already scheduled, so counting is all there is to do and
            # a flood of events pays no clock read.
            self._suppressed[reason] += 1
            return
        now = self._clock.now()
        if now >= self._window_end:
            self._window_end = now + self._interval
            self._lines = 0
        if detail is not None and self._lines < self._burst:
            self._lines += 1
            detail()
            return
        self._suppressed[reason] += 1
        if self._timer is None:
            self._timer = self._clock.call_at(self._window_end, self.flush)

    def flush(self) -> None:
        """Log the summary of counted events now, if there are any."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._suppressed:
            return
        total = sum(self._suppressed.values())
        counts = ", ".join(
            f"{reason}={n}" for reason, n in sorted(self._suppressed.items())
        )
        self._suppressed.clear()
        logger.log(
            self._level,
            "%s: %d since the last summary, in windows of %.1f s (%s)",
            self._what,
            total,
            self._interval,
            counts,
        )
