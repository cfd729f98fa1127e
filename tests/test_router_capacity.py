"""Router(max_active=...): passivate to make room, chosen by the eviction policy."""

from __future__ import annotations

from typing import Any

import pytest

import boundedactors as ba
from boundedactors.testing import FakeClock, InMemoryStore


class Box(ba.Actor[Any, Any]):
    """Keeps the last message; restored from its state."""

    def __init__(self, key: object, state: Any = None) -> None:
        self.value = state

    async def receive(self, message: Any) -> Any:
        if message != "get":
            self.value = message
        return self.value

    def snapshot(self) -> object:
        return self.value


async def test_capacity_passivates_to_make_room() -> None:
    """Activating one key past max_active passivates another instead of failing."""
    clock = FakeClock()
    store = InMemoryStore(clock=clock)
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(sup, factory=Box, store=store, max_active=3)
        for index in range(10):
            router.tell(f"k{index}", index)
            await sup.settle()
            assert len(router) <= 3
            assert len(sup) <= 3
            router.check_invariants()
        stats = router.stats()
        assert stats.passivations == {"capacity": 7}
        assert stats.activations == 10
        assert len(store.data) == 7
        # Every key still has its value, active or saved.
        for index in range(10):
            assert await router.ask(f"k{index}", "get") == index
            await sup.settle()


async def test_capacity_without_store() -> None:
    """Without a store, capacity passivation just stops the victim."""
    clock = FakeClock()
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(sup, factory=Box, max_active=2)
        for index in range(5):
            router.tell(f"k{index}", index)
            await sup.settle()
            assert len(sup) <= 2
        assert router.stats().passivations == {"capacity": 3}
        router.check_invariants()


async def test_capacity_equal_to_max_children() -> None:
    """max_active equal to the supervisor's max_children still evicts, not rejects."""
    clock = FakeClock()
    async with ba.Supervisor(clock=clock, max_children=2) as sup:
        router = ba.Router(sup, factory=Box, max_active=2)
        for index in range(4):
            router.tell(f"k{index}", index)
            await sup.settle()
        assert len(sup) == 2
        assert router.stats().passivations == {"capacity": 2}
        assert sup.stats().rejected_total == 0


async def test_quota_rejection_at_capacity_raised() -> None:
    """A quota that rejects at max_active raises before anything is evicted."""
    clock = FakeClock()
    letters: list[ba.DeadLetter] = []
    async with ba.Supervisor(
        clock=clock, spawn_rate=1.0, spawn_burst=1, dead_letters=letters.append
    ) as sup:
        router = ba.Router(sup, factory=Box, max_active=1)
        router.tell("a", 1)
        with pytest.raises(ba.SpawnLimitExceeded) as caught:
            router.tell("b", 2)
        assert caught.value.reason == "spawn_rate"
        await sup.settle()
        assert letters == []
        assert router.lookup("b") is None
        assert router.lookup("a") is not None
        assert router.stats().passivations == {}
        router.check_invariants()
        sup.check_invariants()


async def test_capacity_get_without_room_raises() -> None:
    """get() cannot wait for a capacity passivation; activate() can."""
    clock = FakeClock()
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(sup, factory=Box, max_active=1)
        assert router.get("a") is router.lookup("a")
        with pytest.raises(ba.ActorNotFound):
            router.get("b")
        ref = await router.activate("b")
        assert ref is router.lookup("b")
        assert router.lookup("a") is None


async def test_hot_keys_survive_flood() -> None:
    """Under TinyLFU, a flood of one-off keys leaves the frequent keys active."""
    clock = FakeClock()
    store = InMemoryStore(clock=clock)
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(sup, factory=Box, store=store, max_active=20)
        hot = [f"hot{i}" for i in range(10)]
        for _ in range(5):
            for key in hot:
                router.tell(key, key)
            await sup.settle()
        hot_misses = 0
        for index in range(300):
            router.tell(f"once{index}", index)
            key = hot[index % len(hot)]
            hot_misses += router.lookup(key) is None
            router.tell(key, key)
            await sup.settle()
        # At most 1% misses: sketch collisions depend on the string hash seed.
        assert hot_misses <= 3
        assert sum(router.lookup(key) is not None for key in hot) >= 9
        assert router.stats().passivations["capacity"] >= 280
        router.check_invariants()


async def test_lru_loses_hot_keys_in_flood() -> None:
    """The LRU baseline passivates hot keys under the same flood."""
    clock = FakeClock()
    store = InMemoryStore(clock=clock)
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(sup, factory=Box, store=store, max_active=12, eviction="lru")
        hot = [f"hot{i}" for i in range(10)]
        for key in hot:
            router.tell(key, key)
        await sup.settle()
        hot_misses = 0
        for index in range(100):
            for burst in range(3):
                router.tell(f"once{index}-{burst}", index)
            key = hot[index % len(hot)]
            hot_misses += router.lookup(key) is None
            router.tell(key, key)
            await sup.settle()
        assert hot_misses > 50


async def test_traffic_to_victim_during_eviction_not_lost() -> None:
    """Messages for a key being evicted reach its next incarnation in order."""
    clock = FakeClock()
    store = InMemoryStore(clock=clock, save_latency=1.0)
    seen: list[Any] = []

    class Recorder(Box):
        async def receive(self, message: Any) -> Any:
            seen.append(message)
            return await super().receive(message)

    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(sup, factory=Recorder, store=store, max_active=1)
        router.tell("a", "a1")
        await sup.settle()
        router.tell("b", "b1")  # evicts "a"; its save takes 1 s
        await clock.settle()
        assert router.lookup("a") is None
        router.tell("a", "a2")
        router.tell("a", "a3")
        await clock.advance(1.0)  # "a" saved and stopped, then "b" starts
        await clock.advance(1.0)  # "b" evicted for "a" to return
        await clock.advance(1.0)
        await sup.settle()
        assert [m for m in seen if str(m).startswith("a")] == ["a1", "a2", "a3"]
        assert "b1" in seen
        assert sup.stats().dead_letters == 0
        store.save_latency = 0.0
        router.check_invariants()


async def test_max_active_validated() -> None:
    """max_active and eviction are checked at construction."""
    async with ba.Supervisor() as sup:
        with pytest.raises(ValueError, match="max_active"):
            ba.Router(sup, factory=Box, max_active=0)
        with pytest.raises(ValueError, match="eviction"):
            ba.Router(sup, factory=Box, max_active=2, eviction="fifo")
