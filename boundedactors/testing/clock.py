"""Virtual monotonic time for tests."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["FakeClock", "FakeTimer"]

# Passes of the event loop that settle() allows before it concludes that some task
# never blocks. One pass runs the callbacks in the loop's ready queue once.
_MAX_SETTLE_ROUNDS = 100_000

# Futures of executor calls (loop.run_in_executor, asyncio.to_thread) still running,
# per event loop, for the loops a FakeClock has been used on.
_executor_calls: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, set[asyncio.Future[Any]]
] = weakref.WeakKeyDictionary()


def _track_executor_calls(loop: asyncio.AbstractEventLoop) -> set[asyncio.Future[Any]]:
    """Return the running executor calls of ``loop``, tracking them from now on.

    The first call wraps ``loop.run_in_executor`` on this loop object only.
    ``asyncio.to_thread`` goes through it too.
    """
    calls = _executor_calls.get(loop)
    if calls is not None:
        return calls
    running: set[asyncio.Future[Any]] = set()
    original = loop.run_in_executor

    def run_in_executor(executor: Any, func: Callable[..., Any], *args: Any) -> Any:
        future = original(executor, func, *args)
        running.add(future)
        future.add_done_callback(running.discard)
        return future

    loop.run_in_executor = run_in_executor  # type: ignore[method-assign,assignment]
    _executor_calls[loop] = running
    return running


_MIN_COMPACT = 64


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

    Pass it as ``Supervisor(clock=FakeClock())``: every timer of that supervisor and
    of what it runs (nested supervisors, routers, spawn rate buckets, restart
    windows and backoff, ``ask`` and ``send`` timeouts, ``on_stop`` timeouts,
    throttled log windows) then reads this clock, and no test has to sleep.

    Timers fire in deadline order, and timers with equal deadlines fire in the
    order they were scheduled. A timer scheduled at or before :meth:`now` runs on
    the next pass of the event loop, as ``loop.call_at`` would run it.

    Runtime complexity: O(log n) to schedule and to fire a timer, for n timers
    pending; cancelling is O(1) and the cancelled entry is dropped when it reaches
    the front of the heap.

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
        self._advancing = False
        self._compact_at = _MIN_COMPACT

    def __repr__(self) -> str:
        return f"<FakeClock now={self._now} pending={self.pending}>"

    def now(self) -> float:
        """Return the virtual time in seconds."""
        return self._now

    def call_at(
        self, when: float, callback: Callable[[], object]
    ) -> FakeTimer | asyncio.Handle:
        """Schedule ``callback`` at virtual time ``when``.

        A ``when`` at or before :meth:`now` runs ``callback`` on the next pass of
        the running event loop, without waiting for :meth:`advance`.

        Raises:
            ValueError: ``when`` is NaN or infinite, which has no place in the
                deadline order.
        """
        if not math.isfinite(when):
            raise ValueError(f"when must be a finite time, got {when!r}")
        if when <= self._now:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                pass  # no loop yet: the next advance() or settle() runs it
            else:
                return loop.call_soon(callback)
        timer = FakeTimer(when, callback)
        heapq.heappush(self._timers, (when, next(self._sequence), timer))
        if len(self._timers) >= self._compact_at:
            self._compact()
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
        """Number of timers scheduled and not cancelled. O(n)."""
        return sum(1 for _, _, timer in self._timers if not timer.cancelled)

    def next_deadline(self) -> float | None:
        """Return the time of the next timer, or ``None`` when none is scheduled."""
        self._drop_cancelled()
        return self._timers[0][0] if self._timers else None

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, firing due timers in deadline order.

        Before the first timer, after each timer and at the end, this waits until
        the event loop is quiet (see :meth:`settle`), so a timer sees the work
        caused by the ones before it and the test sees the state after all of it.

        Raises:
            ValueError: ``seconds`` is negative, infinite or NaN.
            RuntimeError: another ``advance`` of this clock is still running.
        """
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"seconds must be a finite number >= 0, got {seconds!r}")
        await self._advance(self._now + seconds, None)

    async def advance_to(self, when: float) -> None:
        """Move time forward to ``when``, as :meth:`advance` does.

        Raises:
            ValueError: ``when`` is before :meth:`now`, infinite or NaN.
        """
        if not (math.isfinite(when) and when >= self._now):
            raise ValueError(
                f"when must be a finite time >= now ({self._now}), got {when!r}"
            )
        await self._advance(when, None)

    async def advance_until(
        self, condition: Callable[[], bool], *, timeout: float
    ) -> bool:
        """Fire timers in deadline order until ``condition()`` holds.

        Time stops at the timer after which ``condition()`` became true, so the
        test can check what else happened at that moment; otherwise it stops
        ``timeout`` seconds from now. Returns whether ``condition()`` holds.
        """
        if not (math.isfinite(timeout) and timeout >= 0):
            raise ValueError(f"timeout must be a finite number >= 0, got {timeout!r}")
        await self._advance(self._now + timeout, condition)
        return condition()

    async def settle(self) -> None:
        """Run due timers, then wait until every task on the event loop is blocked.

        A task waiting on this clock, on real I/O or on a real timer counts as
        blocked, so a handler asleep in virtual time does not stop ``settle``.
        Work sent to a thread with ``loop.run_in_executor`` or
        ``asyncio.to_thread`` after the clock was first used on the loop (a
        supervisor on it was entered, or ``settle`` ran) is waited for, because it
        finishes without virtual time.

        Runtime complexity: a few passes of the event loop once it is quiet, plus
        the passes the pending work needs.

        Raises:
            RuntimeError: tasks kept the loop busy for 100,000 passes (a task that
                never awaits anything that blocks).
        """
        self._fire_due()
        loop = asyncio.get_running_loop()
        executor_calls = _track_executor_calls(loop)
        # NOTE: asyncio has no public "every task is blocked" check. The ready queue
        # of the default event loop is the most direct signal. Loops without it
        # (uvloop) fall back to the supervisors' own settle, which also waits for
        # handlers asleep in virtual time and so can wait forever on them.
        ready = getattr(loop, "_ready", None)
        if ready is None:
            for runtime in list(self._runtimes):
                if runtime.running:
                    await runtime.settle()
            return
        quiet = 0
        for _ in range(_MAX_SETTLE_ROUNDS):
            await asyncio.sleep(0)
            if ready or self._fire_due():
                quiet = 0
                continue
            quiet += 1
            if quiet >= 3 and executor_calls:
                await asyncio.wait(list(executor_calls))
                quiet = 0
            elif quiet >= 3:
                return
        raise RuntimeError(
            f"the event loop did not settle within {_MAX_SETTLE_ROUNDS} passes; "
            "a task may be looping without blocking"
        )

    def attach(self, runtime: Runtime) -> None:
        """Register a runtime that :meth:`settle` waits for. Called by supervisors."""
        self._runtimes.append(runtime)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        _track_executor_calls(loop)

    def detach(self, runtime: Runtime) -> None:
        """Forget a runtime that has stopped."""
        if runtime in self._runtimes:
            self._runtimes.remove(runtime)

    async def _advance(
        self, target: float, condition: Callable[[], bool] | None
    ) -> None:
        if self._advancing:
            raise RuntimeError(
                "FakeClock.advance is already running in another task; "
                "await it before advancing again"
            )
        self._advancing = True
        try:
            await self.settle()
            while condition is None or not condition():
                self._drop_cancelled()
                if not self._timers or self._timers[0][0] > target:
                    break
                when, _, timer = heapq.heappop(self._timers)
                self._now = max(self._now, when)
                self._fire(timer)
                await self.settle()
            else:
                return  # condition() holds: time stays at the last timer fired
            self._now = max(self._now, target)
            await self.settle()
        finally:
            self._advancing = False

    def _fire_due(self) -> bool:
        """Fire every timer due at or before now; return whether any fired."""
        fired = False
        timers = self._timers
        while True:
            self._drop_cancelled()
            if not timers or timers[0][0] > self._now:
                return fired
            _, _, timer = heapq.heappop(timers)
            self._fire(timer)
            fired = True

    @staticmethod
    def _fire(timer: FakeTimer) -> None:
        callback = timer.callback
        timer.cancel()
        if callback is not None:
            callback()

    def _compact(self) -> None:
        """Drop every cancelled timer, not only those at the front of the heap.

        Timers cancelled long before their deadline (the timeout of an ``ask``
        answered in time) would otherwise stay until time reaches them. Compacting
        only once the heap has doubled keeps scheduling amortised O(log n).
        """
        timers = self._timers
        # In place, because _fire_due() holds the list while callbacks schedule.
        timers[:] = [entry for entry in timers if not entry[2].cancelled]
        heapq.heapify(timers)
        self._compact_at = max(_MIN_COMPACT, 2 * len(timers))

    def _drop_cancelled(self) -> None:
        timers = self._timers
        while timers and timers[0][2].cancelled:
            heapq.heappop(timers)
