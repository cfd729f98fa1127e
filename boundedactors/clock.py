"""Clocks: every timer in boundedactors reads time and schedules through one.

A :class:`Clock` gives monotonic seconds and schedules callbacks. The default,
:class:`LoopClock`, uses the running event loop. ``boundedactors.testing.FakeClock``
implements the same protocol in virtual time, so tests never sleep.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Protocol, TypeVar, runtime_checkable

__all__ = ["Clock", "LoopClock", "TimerHandle"]

_T = TypeVar("_T")


class TimerHandle(Protocol):
    """A scheduled callback that can be cancelled."""

    def cancel(self) -> None:
        """Cancel the callback; does nothing if it already ran."""


@runtime_checkable
class Clock(Protocol):
    """Monotonic time in seconds, and callbacks at a time."""

    def now(self) -> float:
        """Return the current time in seconds."""

    def call_at(self, when: float, callback: Callable[[], object]) -> TimerHandle:
        """Run ``callback()`` on the event loop at time ``when``."""

    async def sleep(self, delay: float) -> None:
        """Return after ``delay`` seconds of this clock's time."""


class LoopClock:
    """The event loop's monotonic clock (``loop.time()``)."""

    def now(self) -> float:
        """Return ``loop.time()`` of the running loop."""
        return asyncio.get_running_loop().time()

    def call_at(self, when: float, callback: Callable[[], object]) -> TimerHandle:
        """Schedule ``callback`` with ``loop.call_at``.

        Raises:
            ValueError: ``when`` is NaN or infinite, which would corrupt the order
                of the event loop's timers.
        """
        if not math.isfinite(when):
            raise ValueError(f"when must be a finite time, got {when!r}")
        return asyncio.get_running_loop().call_at(when, callback)

    async def sleep(self, delay: float) -> None:
        """Sleep with ``asyncio.sleep``."""
        await asyncio.sleep(delay)


def call_later(
    clock: Clock, delay: float, callback: Callable[[], object]
) -> TimerHandle:
    """Run ``callback`` after ``delay`` seconds of ``clock``'s time."""
    return clock.call_at(clock.now() + delay, callback)


async def run_with_timeout(
    clock: Clock, awaitable: asyncio.Future[_T], timeout: float | None
) -> _T:
    """Await ``awaitable`` and cancel it after ``timeout`` seconds of clock time.

    Raises ``TimeoutError`` when the timeout fires first.
    """
    if timeout is None:
        return await awaitable
    fired = False

    def expire() -> None:
        nonlocal fired
        if not awaitable.done():
            fired = True
            awaitable.cancel()

    handle = call_later(clock, timeout, expire)
    try:
        return await awaitable
    except asyncio.CancelledError:
        if fired:
            raise TimeoutError(f"timed out after {timeout} s") from None
        raise
    finally:
        handle.cancel()
