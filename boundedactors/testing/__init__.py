"""Fakes for testing actors: virtual time, settling, probes and stores.

``FakeClock`` replaces the supervisor's clock so that every timer (ask timeouts,
token buckets, restart windows and backoff, idle timeouts) runs in virtual time::

    clock = FakeClock()
    async with Supervisor(clock=clock) as sup:
        ...
        await clock.advance(5.0)   # fires what is due, then waits for the work

``settle(sup)`` waits until the actors have handled their mail, and ``close(sup)``
closes a supervisor while moving its fake clock through the timers shutdown
waits on. ``TestProbe`` records the messages an actor, a router's actors or the
dead-letter hook receive; ``InMemoryStore`` is a state store that fails on
request. The
pytest plugin (``boundedactors.testing.pytest_plugin``, loaded automatically once
the package is installed) provides the fixtures ``fake_clock``, ``supervisor``,
``probe`` and ``memory_store``. docs/testing.md is the guide.
"""

from ._settle import close, settle
from .clock import FakeClock, FakeTimer
from .probe import TestProbe
from .store import InMemoryStore, StoreCall

__all__ = [
    "FakeClock",
    "FakeTimer",
    "InMemoryStore",
    "StoreCall",
    "TestProbe",
    "close",
    "settle",
]
