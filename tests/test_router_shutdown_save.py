"""Supervisor shutdown saves a router's active actors and returns."""

from __future__ import annotations

import asyncio

import boundedactors as ba
from boundedactors.stores import MemoryStore
from boundedactors.testing import FakeClock


class Counter(ba.Actor[str, int]):
    def __init__(self, key: object, state: int | None) -> None:
        self.count = state or 0

    async def receive(self, message: str) -> int:
        self.count += 1
        return self.count

    def snapshot(self) -> object:
        return self.count


async def test_shutdown_saves_without_time_passing() -> None:
    """Shutdown waits for saves that finish at once, with no clock advance."""
    store = MemoryStore()
    supervisor = ba.Supervisor(clock=FakeClock())
    await supervisor.__aenter__()
    router = ba.Router(supervisor, factory=Counter, idle_timeout=60.0, store=store)
    assert await router.ask("a", "inc") == 1
    assert await router.ask("b", "inc") == 1
    assert await router.ask("a", "inc") == 2

    # The fake clock never moves, so only a bounded real wait can catch a hang.
    await asyncio.wait_for(supervisor.aclose(), timeout=5.0)
    stats = router.stats()
    assert stats.passivations == {"shutdown": 2}
    assert stats.saves == 2
    assert await store.load("a") == 2
    assert await store.load("b") == 1
