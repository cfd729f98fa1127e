"""settle(): wait for a supervisor's work in virtual or real time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .clock import FakeClock

if TYPE_CHECKING:
    from ..supervisor import Supervisor

__all__ = ["settle"]


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
