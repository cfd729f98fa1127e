"""settle() and close(): wait for a supervisor's work in virtual or real time."""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING

from .clock import FakeClock

if TYPE_CHECKING:
    from ..supervisor import Supervisor

__all__ = ["close", "settle"]


async def settle(supervisor: Supervisor) -> None:
    """Wait until ``supervisor``'s actors have no mail and no work is in flight.

    With a :class:`FakeClock`, this runs the timers already due and waits until
    every task on the event loop is blocked (``FakeClock.settle``), so it returns
    even while a handler waits for virtual time to pass. With any other clock it
    is ``Supervisor.settle``, which also waits for handlers that are running.
    """
    clock = supervisor.clock
    if isinstance(clock, FakeClock):
        await clock.settle()
    else:
        await supervisor.settle()


async def close(supervisor: Supervisor, *, timeout: float = 3600.0) -> None:
    """Close ``supervisor``, moving its fake clock while shutdown waits on it.

    Shutdown waits on the supervisor's clock: for ``on_stop`` and the
    ``stop_timeout`` of a stuck actor, for a router saving its actors, for a
    store retry's backoff. With a :class:`FakeClock` nothing moves that time
    while ``await supervisor.aclose()`` waits, so this fires the clock's timers
    in deadline order until the shutdown has finished. With any other clock it
    is ``supervisor.aclose()``. Closing does not raise the supervisor's
    failure; check ``supervisor.failure``.

    Raises:
        RuntimeError: the shutdown had not finished after ``timeout`` virtual
            seconds (it waits on something other than the clock).
    """
    if not (math.isfinite(timeout) and timeout >= 0):
        raise ValueError(f"timeout must be a finite number >= 0, got {timeout!r}")
    clock = supervisor.clock
    if not isinstance(clock, FakeClock):
        await supervisor.aclose()
        return
    closing = asyncio.ensure_future(supervisor.aclose())
    if not await clock.advance_until(closing.done, timeout=timeout):
        closing.cancel()
        raise RuntimeError(
            f"supervisor {supervisor.name!r} did not close within {timeout} "
            "virtual seconds; a task it waits for does not depend on the clock"
        )
    await closing
