"""InMemoryStore: the store protocol, failure injection, virtual latency."""

from __future__ import annotations

import asyncio
import math

import pytest

from boundedactors.testing import FakeClock, InMemoryStore, StoreCall


async def test_load_missing_key_returns_none(memory_store: InMemoryStore) -> None:
    assert await memory_store.load("missing") is None
    assert memory_store.loads == 1


async def test_save_then_load_round_trip(memory_store: InMemoryStore) -> None:
    await memory_store.save("cart", {"items": [1, 2]})

    assert await memory_store.load("cart") == {"items": [1, 2]}
    assert memory_store.data == {"cart": {"items": [1, 2]}}
    assert memory_store.saves == 1


async def test_states_are_copied(memory_store: InMemoryStore) -> None:
    """Changing a state after save, or after load, does not change the store."""
    state = {"items": [1]}
    await memory_store.save("cart", state)
    state["items"].append(2)

    loaded = await memory_store.load("cart")
    loaded["items"].append(3)

    assert memory_store.data["cart"] == {"items": [1]}


async def test_copy_states_off_keeps_identity() -> None:
    store = InMemoryStore(copy_states=False)
    state = {"n": 1}
    await store.save("k", state)

    assert await store.load("k") is state


async def test_initial_data_is_loaded() -> None:
    store = InMemoryStore({"a": 1})

    assert await store.load("a") == 1


async def test_fail_next_loads_default_error(memory_store: InMemoryStore) -> None:
    await memory_store.save("k", 1)
    memory_store.fail_next_loads(2)

    for _ in range(2):
        with pytest.raises(ConnectionError, match="injected load failure"):
            await memory_store.load("k")
    assert await memory_store.load("k") == 1
    assert memory_store.loads == 3
    assert memory_store.load_failures == 2
    assert memory_store.pending_load_failures == 0


async def test_fail_next_saves_stores_nothing(memory_store: InMemoryStore) -> None:
    memory_store.fail_next_saves(1, TimeoutError)

    with pytest.raises(TimeoutError, match="injected save failure"):
        await memory_store.save("k", "lost")
    assert "k" not in memory_store.data

    await memory_store.save("k", "kept")
    assert memory_store.data["k"] == "kept"
    assert memory_store.save_failures == 1


async def test_failure_with_exception_instance(memory_store: InMemoryStore) -> None:
    error = OSError("disk full")
    memory_store.fail_next_saves(1, error)

    with pytest.raises(OSError) as raised:
        await memory_store.save("k", 1)
    assert raised.value is error


async def test_failures_queue_in_order(memory_store: InMemoryStore) -> None:
    memory_store.fail_next_loads(1, KeyError)
    memory_store.fail_next_loads(1, ValueError)

    with pytest.raises(KeyError):
        await memory_store.load("k")
    with pytest.raises(ValueError):
        await memory_store.load("k")
    assert await memory_store.load("k") is None


async def test_calls_log_records_outcomes(
    fake_clock: FakeClock, memory_store: InMemoryStore
) -> None:
    await memory_store.save("a", 1)
    memory_store.fail_next_loads(1)
    with pytest.raises(ConnectionError):
        await memory_store.load("a")
    await memory_store.load("a")

    save, failed, loaded = memory_store.calls
    assert save == StoreCall("save", "a", 1, None, 0.0, 0.0)
    assert failed.operation == "load"
    assert isinstance(failed.error, ConnectionError)
    assert failed.state is None
    assert loaded == StoreCall("load", "a", 1, None, 0.0, 0.0)
    assert memory_store.calls_for("a", "load") == [failed, loaded]
    assert memory_store.calls_for("b") == []


async def test_load_latency_in_virtual_time(
    fake_clock: FakeClock, memory_store: InMemoryStore
) -> None:
    memory_store.load_latency = 2.0
    await memory_store.save("k", "v")
    load = asyncio.create_task(memory_store.load("k"))

    await fake_clock.advance(1.75)
    assert not load.done()
    assert memory_store.loads_in_flight == 1

    await fake_clock.advance(0.25)
    assert load.result() == "v"
    assert memory_store.loads_in_flight == 0
    assert memory_store.calls[-1].started == 0.0
    assert memory_store.calls[-1].finished == 2.0


async def test_save_latency_then_failure(fake_clock: FakeClock) -> None:
    """An injected failure is raised after the latency, as a timeout would be."""
    store = InMemoryStore(clock=fake_clock, save_latency=1.0)
    store.fail_next_saves(1)
    save = asyncio.create_task(store.save("k", 1))

    await fake_clock.advance(0.5)
    assert not save.done()

    await fake_clock.advance(0.5)
    with pytest.raises(ConnectionError):
        save.result()


async def test_max_loads_in_flight(fake_clock: FakeClock) -> None:
    store = InMemoryStore(clock=fake_clock, load_latency=1.0)
    loads = [asyncio.create_task(store.load(index)) for index in range(5)]
    await fake_clock.settle()
    assert store.loads_in_flight == 5

    await fake_clock.advance(1.0)

    assert [load.result() for load in loads] == [None] * 5
    assert store.max_loads_in_flight == 5
    assert store.loads_in_flight == 0


async def test_cancelled_load_is_logged(fake_clock: FakeClock) -> None:
    store = InMemoryStore(clock=fake_clock, load_latency=1.0)
    load = asyncio.create_task(store.load("k"))
    await fake_clock.settle()

    load.cancel()
    await fake_clock.settle()

    assert isinstance(store.calls[0].error, asyncio.CancelledError)
    assert store.loads_in_flight == 0


@pytest.mark.parametrize("latency", [-1.0, math.inf, math.nan])
def test_rejects_bad_latency(latency: float) -> None:
    with pytest.raises(ValueError, match="load_latency must be a finite number"):
        InMemoryStore(load_latency=latency)


def test_rejects_non_number_latency() -> None:
    with pytest.raises(TypeError, match="save_latency must be a number"):
        InMemoryStore(save_latency="1")  # type: ignore[arg-type]


def test_rejects_bad_failure_arguments() -> None:
    store = InMemoryStore()
    with pytest.raises(ValueError, match="count must be an int >= 0"):
        store.fail_next_loads(-1)
    with pytest.raises(TypeError, match="error must be an exception"):
        store.fail_next_saves(1, "boom")  # type: ignore[arg-type]


async def test_delete_and_membership(memory_store: InMemoryStore) -> None:
    await memory_store.save("k", 1)
    assert "k" in memory_store
    assert len(memory_store) == 1

    assert await memory_store.delete("k") is True
    assert await memory_store.delete("k") is False
    assert "k" not in memory_store
    assert [call.operation for call in memory_store.calls] == [
        "save",
        "delete",
        "delete",
    ]
