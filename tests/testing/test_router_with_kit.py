"""The kit against the router's passivation: idle deadlines, stores, retries."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import boundedactors as ba
from boundedactors.stores import MemoryStore, StateStore
from boundedactors.testing import FakeClock, InMemoryStore, TestProbe, close


@pytest.fixture
def keyed(fake_clock: FakeClock) -> TestProbe:
    """A probe whose factory stands in for the router's actors."""
    return TestProbe(clock=fake_clock)


def test_memory_store_fake_is_a_state_store() -> None:
    assert isinstance(InMemoryStore(), StateStore)


@pytest.mark.parametrize("make_store", [MemoryStore, InMemoryStore])
async def test_store_contract(make_store: Any) -> None:
    """The fake behaves like the library's MemoryStore on the shared protocol."""
    store = make_store()
    state = {"items": [1]}

    assert await store.load("missing") is None
    await store.save("cart", state)
    state["items"].append(2)
    assert await store.load("cart") == {"items": [1]}

    await store.save("cart", {"items": []})
    assert await store.load("cart") == {"items": []}
    assert "cart" in store
    assert len(store) == 1

    assert await store.delete("cart") is True
    assert await store.delete("cart") is False
    assert await store.load("cart") is None


async def test_idle_actor_passivated_at_deadline(
    supervisor: ba.Supervisor,
    fake_clock: FakeClock,
    keyed: TestProbe,
    memory_store: InMemoryStore,
) -> None:
    router = ba.Router(
        supervisor, factory=keyed.factory, idle_timeout=30.0, store=memory_store
    )
    router.tell("room", "hello")
    assert await keyed.receive() == ("room", "hello")
    keyed.states["room"] = {"messages": 1}

    await fake_clock.advance(29.75)
    assert router.lookup("room") is not None
    assert memory_store.saves == 0

    await fake_clock.advance(0.25)
    assert router.lookup("room") is None
    assert memory_store.data == {"room": {"messages": 1}}
    assert [key for key, _ in keyed.stops] == ["room"]
    assert router.stats().passivations == {"idle": 1}


async def test_message_postpones_idle_deadline(
    supervisor: ba.Supervisor, fake_clock: FakeClock, keyed: TestProbe
) -> None:
    router = ba.Router(supervisor, factory=keyed.factory, idle_timeout=10.0)
    router.tell("room", "first")
    await fake_clock.advance(8.0)
    router.tell("room", "second")

    await fake_clock.advance(9.5)
    assert router.lookup("room") is not None

    await fake_clock.advance(0.5)
    assert router.lookup("room") is None


async def test_passivated_state_comes_back(
    supervisor: ba.Supervisor,
    fake_clock: FakeClock,
    keyed: TestProbe,
    memory_store: InMemoryStore,
) -> None:
    router = ba.Router(
        supervisor, factory=keyed.factory, idle_timeout=5.0, store=memory_store
    )
    router.tell("cart", "add apple")
    await keyed.receive()
    keyed.states["cart"] = ["apple"]
    await fake_clock.advance(5.0)
    assert router.lookup("cart") is None

    router.tell("cart", "checkout")

    assert await keyed.receive() == ("cart", "checkout")
    assert keyed.activations == [("cart", None), ("cart", ["apple"])]
    assert memory_store.loads == 2


async def test_load_latency_delays_delivery(
    supervisor: ba.Supervisor,
    fake_clock: FakeClock,
    keyed: TestProbe,
    memory_store: InMemoryStore,
) -> None:
    memory_store.load_latency = 5.0
    router = ba.Router(supervisor, factory=keyed.factory, store=memory_store)
    router.tell("slow", "hello")

    await keyed.expect_no_message(within=4.5)
    assert await keyed.receive(timeout=1.0) == ("slow", "hello")
    assert fake_clock.now() == 5.0
    assert memory_store.max_loads_in_flight == 1


async def test_failed_loads_are_retried(
    supervisor: ba.Supervisor,
    fake_clock: FakeClock,
    keyed: TestProbe,
    memory_store: InMemoryStore,
) -> None:
    """Two failed loads are retried with backoff in virtual time; nothing is lost."""
    memory_store.fail_next_loads(2)
    router = ba.Router(
        supervisor,
        factory=keyed.factory,
        store=memory_store,
        store_backoff=1.0,
        store_attempts=3,
    )
    router.tell("k", "first")
    router.tell("k", "second")

    assert await keyed.receive_many(2, timeout=10.0) == [
        ("k", "first"),
        ("k", "second"),
    ]
    assert memory_store.loads == 3
    assert memory_store.load_failures == 2
    assert fake_clock.now() > 0.0
    stats = router.stats()
    assert stats.load_failures == 2
    assert stats.loads == 1


async def test_failed_save_keeps_actor_until_saved(
    supervisor: ba.Supervisor,
    fake_clock: FakeClock,
    keyed: TestProbe,
    memory_store: InMemoryStore,
) -> None:
    memory_store.fail_next_saves(1, OSError)
    router = ba.Router(
        supervisor,
        factory=keyed.factory,
        idle_timeout=1.0,
        store=memory_store,
        store_backoff=2.0,
    )
    router.tell("k", "hello")
    await keyed.receive()
    keyed.states["k"] = "state"

    await fake_clock.advance(1.0)
    assert memory_store.save_failures == 1
    assert "k" not in memory_store

    saved = await fake_clock.advance_until(
        lambda: router.stats().saves == 1, timeout=10.0
    )
    assert saved
    assert memory_store.data == {"k": "state"}
    assert router.stats().save_failures == 1
    assert router.stats().passivations == {"idle": 1}


class Stuck(ba.Actor[Any, Any]):
    async def receive(self, message: Any) -> Any:
        await asyncio.Event().wait()


async def test_close_moves_clock_through_shutdown(fake_clock: FakeClock) -> None:
    """close() fires the timers a shutdown waits on: here a stuck actor's."""
    sup = ba.Supervisor(clock=fake_clock, stop_timeout=5.0)
    await sup.__aenter__()
    ref = sup.spawn(Stuck)
    ref.tell("hang")
    await fake_clock.settle()

    await close(sup)

    assert not sup.is_running
    assert not ref.is_alive
    assert fake_clock.now() == 5.0


async def test_close_with_pending_save_retry(
    fake_clock: FakeClock, keyed: TestProbe, memory_store: InMemoryStore
) -> None:
    sup = ba.Supervisor(clock=fake_clock, seed=0)
    await sup.__aenter__()
    memory_store.fail_next_saves(1)
    router = ba.Router(sup, factory=keyed.factory, idle_timeout=1.0, store=memory_store)
    router.tell("k", "hello")
    await keyed.receive()
    keyed.states["k"] = "state"
    await fake_clock.advance(1.0)
    assert memory_store.save_failures == 1

    await close(sup)

    assert memory_store.data == {"k": "state"}


async def test_close_reports_shutdown_that_waits_too_long(
    fake_clock: FakeClock,
) -> None:
    sup = ba.Supervisor(clock=fake_clock, stop_timeout=5.0)
    await sup.__aenter__()
    ref = sup.spawn(Stuck)
    ref.tell("hang")
    await fake_clock.settle()

    with pytest.raises(RuntimeError, match=r"did not close within 1\.0 virtual"):
        await close(sup, timeout=1.0)

    await close(sup)
    assert not sup.is_running
