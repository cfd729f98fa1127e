"""Footprint of an idle actor, measured against a plain dict of the same objects.

An idle actor that has handled a message must cost at most 512 bytes beyond the
user's own object. The test keeps 20,000 objects in a plain dict keyed by their
keys, then the same objects as actors behind a Router, each after one message,
and compares what tracemalloc traces for the two.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from typing import Any

import boundedactors as ba
from boundedactors.runtime import IDLE
from boundedactors.testing import FakeClock

COUNT = 20_000
BUDGET_PER_ACTOR = 512


class Room(ba.Actor):
    """A chat room: its key and a message count."""

    __slots__ = ("count", "key")

    def __init__(self, key: str) -> None:
        self.key = key
        self.count = 0

    async def receive(self, message: Any) -> int:
        self.count += 1
        return self.count


def keys() -> list[str]:
    return [f"room-{number}" for number in range(COUNT)]


def measure_dict(names: list[str]) -> tuple[int, dict[str, Room]]:
    """Return the bytes traced for COUNT rooms held in a dict, and the dict."""
    gc.collect()
    base = tracemalloc.get_traced_memory()[0]
    rooms = {name: Room(name) for name in names}
    for room in rooms.values():
        room.count += 1
    return tracemalloc.get_traced_memory()[0] - base, rooms


async def measure_router(names: list[str]) -> tuple[int, ba.Router]:
    """Return the bytes traced for COUNT idle actors behind a Router."""
    clock = FakeClock()
    sup = ba.Supervisor(clock=clock, max_children=None, workers=4)
    await sup.__aenter__()
    router: ba.Router = ba.Router(sup, factory=Room)
    # Warm up: start the workers and build the shared spawn options once.
    router.tell("warm-up", "hello")
    await sup.settle()
    gc.collect()
    base = tracemalloc.get_traced_memory()[0]
    for name in names:
        router.tell(name, "hello")
    await sup.settle()
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - base
    return used, router


async def test_idle_actor_costs_under_512_bytes() -> None:
    """20,000 idle actors cost at most 512 bytes each beyond a dict of them."""
    names = keys()
    tracemalloc.start()
    try:
        plain, rooms = measure_dict(names)
        del rooms
        actors, router = await measure_router(names)
    finally:
        tracemalloc.stop()

    for name in names[:100]:
        ref = router.lookup(name)
        assert ref is not None
        assert ref._state == IDLE
        assert ref._mailbox is None
        assert ref._extra is None
        actor = ref.actor
        assert isinstance(actor, Room)
        assert actor.count == 1
    assert len(router) == COUNT + 1
    overhead = (actors - plain) / COUNT
    assert overhead <= BUDGET_PER_ACTOR, (
        f"idle actor overhead {overhead:.0f} B (dict {plain} B, router {actors} B)"
    )
    await router.supervisor.aclose()


async def test_spawn_cost_is_bounded() -> None:
    """Spawning 20,000 actors averages well under a millisecond each."""
    async with ba.Supervisor(clock=FakeClock(), max_children=None) as sup:
        names = keys()
        start = time.perf_counter()
        for name in names:
            sup.spawn(Room, name)
        elapsed = time.perf_counter() - start
        assert len(sup) == COUNT
    # A spawn costs a few microseconds; the bound only catches a change of
    # complexity class (such as a scan over the children on every spawn).
    assert elapsed / COUNT < 200e-6
