"""One contract for every state store: MemoryStore, SQLiteStore, the test fake."""

from __future__ import annotations

import pickle
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from boundedactors.errors import StoreFull
from boundedactors.stores import MemoryStore, SQLiteStore, StateStore
from boundedactors.testing import InMemoryStore


@pytest.fixture(params=["memory", "sqlite-file", "sqlite-memory", "fake"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """Each store kind, opened and closed around one test."""
    kind = request.param
    if kind == "memory":
        yield MemoryStore()
    elif kind == "fake":
        yield InMemoryStore()
    else:
        path = str(tmp_path / "state.db") if kind == "sqlite-file" else ":memory:"
        async with SQLiteStore(path) as sqlite_store:
            yield sqlite_store


async def test_store_implements_protocol(store: Any) -> None:
    """Every store passes the runtime StateStore check."""
    assert isinstance(store, StateStore)


async def test_load_missing_returns_none(store: Any) -> None:
    """A key never saved loads as None."""
    assert await store.load("nobody") is None


async def test_save_then_load_round_trips(store: Any) -> None:
    """The state saved is the state loaded, for nested JSON-like values."""
    state = {"count": 3, "items": ["a", "b"], "nested": {"x": 1.5, "ok": True}}
    await store.save("cart-1", state)
    assert await store.load("cart-1") == state


async def test_save_replaces_previous_state(store: Any) -> None:
    """A second save of one key replaces the first."""
    await store.save("k", {"v": 1})
    await store.save("k", {"v": 2})
    assert await store.load("k") == {"v": 2}


async def test_keys_are_independent(store: Any) -> None:
    """Saving one key leaves the others as they were."""
    await store.save("a", [1])
    await store.save("b", [2])
    assert await store.load("a") == [1]
    assert await store.load("b") == [2]


async def test_int_and_str_keys_differ(store: Any) -> None:
    """The key 1 and the key "1" hold separate states."""
    await store.save(1, "int")
    await store.save("1", "str")
    assert await store.load(1) == "int"
    assert await store.load("1") == "str"


async def test_tuple_keys(store: Any) -> None:
    """Tuple keys round-trip."""
    await store.save(("room", 7), {"n": 7})
    assert await store.load(("room", 7)) == {"n": 7}
    assert await store.load(("room", 8)) is None


async def test_saved_state_is_a_copy(store: Any) -> None:
    """Mutating a state after saving it does not change what was saved."""
    state = {"items": [1]}
    await store.save("k", state)
    state["items"].append(2)
    loaded = await store.load("k")
    assert loaded == {"items": [1]}
    loaded["items"].append(3)
    assert await store.load("k") == {"items": [1]}


async def test_none_like_states(store: Any) -> None:
    """Empty containers and zero are states, distinct from a missing key."""
    await store.save("zero", 0)
    await store.save("empty", [])
    assert await store.load("zero") == 0
    assert await store.load("empty") == []


async def test_sqlite_state_survives_reopen(tmp_path: Path) -> None:
    """A file-backed SQLiteStore keeps states across connections."""
    path = str(tmp_path / "state.db")
    async with SQLiteStore(path) as first:
        await first.save("k", {"v": 1})
    async with SQLiteStore(path) as second:
        assert await second.load("k") == {"v": 1}
        assert await second.count() == 1
        assert await second.delete("k")
        assert not await second.delete("k")
        assert await second.load("k") is None


async def test_sqlite_custom_codec(tmp_path: Path) -> None:
    """dumps and loads replace JSON, for states JSON cannot hold."""
    async with SQLiteStore(
        str(tmp_path / "p.db"), dumps=pickle.dumps, loads=pickle.loads
    ) as store:
        await store.save("k", {1, 2, 3})
        assert await store.load("k") == {1, 2, 3}


async def test_sqlite_closed_store_raises(tmp_path: Path) -> None:
    """Calls after aclose raise instead of hanging."""
    store = SQLiteStore(str(tmp_path / "c.db"))
    await store.save("k", 1)
    await store.aclose()
    await store.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await store.load("k")


def test_sqlite_options_validated() -> None:
    """Bad table names and codecs are rejected at construction."""
    with pytest.raises(ValueError, match="table"):
        SQLiteStore(":memory:", table="x; DROP TABLE y")
    with pytest.raises(TypeError, match="dumps"):
        SQLiteStore(":memory:", dumps="json")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="path"):
        SQLiteStore(3)  # type: ignore[arg-type]


async def test_memory_store_limit() -> None:
    """MemoryStore rejects a new key past its limit but still updates old ones."""
    store = MemoryStore(limit=2)
    await store.save("a", 1)
    await store.save("b", 2)
    with pytest.raises(StoreFull) as caught:
        await store.save("c", 3)
    assert caught.value.limit == 2
    assert caught.value.current == 2
    await store.save("a", 10)
    assert await store.load("a") == 10
    assert len(store) == 2
    assert await store.delete("a")
    await store.save("c", 3)
    assert "c" in store
