"""Fakes for testing actors: virtual time, settling, probes and stores.

``FakeClock`` replaces the supervisor's clock so that every timer (ask timeouts,
token buckets, restart windows and backoff, idle timeouts) runs in virtual time::

    clock = FakeClock()
    async with Supervisor(clock=clock) as sup:
        ...
        await clock.advance(5.0)   # fires what is due, then waits for the work
"""

from .clock import FakeClock

__all__ = ["FakeClock"]
