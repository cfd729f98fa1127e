"""Virtual monotonic time for tests."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["FakeClock"]


class FakeTimer:
    """A callback scheduled on a :class:`FakeClock`."""

    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], object]) -> None:
        self.when = when
        self.callback: Callable[[], object] | None = callback
        self.cancelled = False

    def cancel(self) -> None:
        """Cancel the callback; does nothing if it already ran."""
        self.cancelled = True
        self.callback = None


class FakeClock:
    """A clock that moves only when a test calls :meth:`advance`.

    Pass it as ``Supervisor(clock=FakeClock())``; everything that supervisor times
    then reads this clock. Timers fire in deadline order, and timers with equal
    deadlines fire in the order they were scheduled.

    >>> clock = FakeClock(start=100.0)
    >>> clock.now()
    100.0
    """

    def __init__(self, start: float = 0.0) -> None:
        if not math.isfinite(start):
            raise ValueError(f"start must be a finite number, got {start!r}")
        self._now = float(start)
        self._timers: list[tuple[float, int, FakeTimer]] = []
        self._sequence = itertools.count()
        self._runtimes: list[Runtime] = []

    def now(self) -> float:
        """Return the virtual time in seconds."""
        return self._now

    def call_at(self, when: float, callback: Callable[[], object]) -> FakeTimer:
        """Schedule ``callback`` at virtual time ``when``."""
        timer = FakeTimer(when, callback)
        heapq.heappush(self._timers, (when, next(self._sequence), timer))
        return timer

    async def sleep(self, delay: float) -> None:
        """Return once virtual time has advanced by ``delay`` seconds."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not future.done():
                future.set_result(None)

        timer = self.call_at(self._now + delay, wake)
        try:
            await future
        finally:
            timer.cancel()

    @property
    def pending(self) -> int:
        """Number of timers scheduled and not cancelled."""
        return sum(1 for _, _, timer in self._timers if not timer.cancelled)

    def next_deadline(self) -> float | None:
        """Return the time of the next timer, or ``None`` when none is scheduled."""
        self._drop_cancelled()
        return self._timers[0][0] if self._timers else None

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, firing due timers in deadline order.

        After each timer fires, this waits until the work it caused has settled, so
        the test sees the state after all of it.
        """
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"seconds must be a finite number >= 0, got {seconds!r}")
        target = self._now + seconds
        await self.settle()
        while True:
            self._drop_cancelled()
            if not self._timers or self._timers[0][0] > target:
                break
            when, _, timer = heapq.heappop(self._timers)
            self._now = max(self._now, when)
            callback = timer.callback
            timer.cancel()
            if callback is not None:
                callback()
            await self.settle()
        self._now = target
        await self.settle()

    async def settle(self) -> None:
        """Wait until every task on the event loop is blocked.

        Work waiting on this clock, on real I/O or on real timers counts as blocked,
        so a handler asleep in virtual time does not stop ``advance``.

        Raises:
            RuntimeError: tasks kept the loop busy for 100,000 rounds (a task that
                never awaits anything that blocks).
        """
        loop = asyncio.get_running_loop()
        # NOTE: asyncio has no public "all tasks blocked" check; the ready queue of
        # the default event loop is the most direct signal. Loops without it fall
        # back to waiting for the supervisors' own work.
        ready = getattr(loop, "_ready", None)
        if ready is None:
            for runtime in list(self._runtimes):
                if runtime.running:
                    await runtime.settle()
            return
        quiet = 0
        for _ in range(100_000):
            await asyncio.sleep(0)
            quiet = quiet + 1 if not ready else 0
            if quiet >= 3:
                return
        raise RuntimeError("the event loop did not settle within 100,000 rounds")

    def attach(self, runtime: Runtime) -> None:
        """Register a runtime that :meth:`advance` waits for. Called by supervisors."""
        self._runtimes.append(runtime)

    def detach(self, runtime: Runtime) -> None:
        """Forget a runtime that has stopped."""
        if runtime in self._runtimes:
            self._runtimes.remove(runtime)

    def _drop_cancelled(self) -> None:
        timers = self._timers
        while timers and timers[0][2].cancelled:
            heapq.heappop(timers)
