"""Tests of Registry: unique keys, groups and the entry limit."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from boundedactors import AlreadyRegistered, Registry, RegistryFull


def test_register_lookup_unregister() -> None:
    """A registered value is found by key until it is unregistered."""
    registry = Registry()
    registry.register("alice", 1, meta={"role": "admin"})
    assert registry.lookup("alice") == 1
    assert registry.meta("alice") == {"role": "admin"}
    assert "alice" in registry
    assert len(registry) == 1
    assert registry.unregister("alice") == 1
    assert registry.unregister("alice") is None
    assert registry.lookup("alice") is None
    assert registry.meta("alice") is None
    assert "alice" not in registry
    assert len(registry) == 0
    registry.check_invariants()


def test_duplicate_key_raises() -> None:
    """Registering a taken key raises AlreadyRegistered naming the key."""
    registry = Registry()
    registry.register(("room", 1), "first")
    with pytest.raises(AlreadyRegistered, match=r"\('room', 1\)"):
        registry.register(("room", 1), "second")
    assert registry.lookup(("room", 1)) == "first"


def test_limit_raises_and_grows_nothing() -> None:
    """At the limit, register and join raise RegistryFull and change nothing."""
    registry = Registry(limit=2)
    registry.register("a", 1)
    registry.join("g", "member")
    before = (dict(registry._names), {k: dict(v) for k, v in registry._groups.items()})
    with pytest.raises(RegistryFull) as caught:
        registry.register("b", 2, meta="m")
    assert caught.value.limit == 2
    assert caught.value.current == 2
    with pytest.raises(RegistryFull):
        registry.join("h", "member")
    with pytest.raises(RegistryFull):
        registry.join("g", "other")
    after = (dict(registry._names), {k: dict(v) for k, v in registry._groups.items()})
    assert after == before
    assert registry._meta == {}
    assert len(registry) == 2
    registry.check_invariants()


def test_failed_registration_allocates_nothing() -> None:
    """A flood of rejected registrations leaves the registry's memory flat."""
    registry = Registry(limit=10)
    for number in range(10):
        registry.register(number, number)

    def flood(count: int) -> int:
        rejected = 0
        for number in range(10, 10 + count):
            try:
                registry.register(number % 20, number, meta="m")
            except (RegistryFull, AlreadyRegistered):
                rejected += 1
        return rejected

    flood(1000)  # warm up caches outside the measurement
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        rejected = flood(20_000)
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert rejected == 20_000
    assert len(registry) == 10
    assert registry._meta == {}
    assert grown < 4096


def test_keys_of_mixed_types() -> None:
    """Equal int, float and bool keys are one key; keys() yields originals."""
    registry = Registry()
    registry.register(1, "one")
    with pytest.raises(AlreadyRegistered):
        registry.register(1.0, "float one")
    registry.register((1, "x"), "tuple")
    registry.register("s", "str")
    assert registry.lookup(True) == "one"
    assert list(registry.keys()) == [1, (1, "x"), "s"]


def test_unregister_value_checks_identity() -> None:
    """unregister_value removes a key only while it maps to that value."""
    registry = Registry()
    first, second = object(), object()
    registry.register("k", first)
    assert not registry.unregister_value("k", second)
    assert registry.lookup("k") is first
    assert registry.unregister_value("k", first)
    assert registry.lookup("k") is None


def test_groups_join_leave_members() -> None:
    """Members join once, leave idempotently, and empty groups disappear."""
    registry = Registry()
    assert registry.join("room", "a")
    assert registry.join("room", "b", meta="b-meta")
    assert not registry.join("room", "a")
    assert registry.members("room") == ["a", "b"]
    assert registry.group_size("room") == 2
    assert len(registry) == 2
    assert registry.leave("room", "a")
    assert not registry.leave("room", "a")
    assert not registry.leave("nowhere", "a")
    assert registry.leave("room", "b")
    assert registry.members("room") == []
    assert list(registry.groups()) == []
    assert len(registry) == 0
    registry.check_invariants()


def test_group_limit() -> None:
    """A full group rejects new members while other groups accept them."""
    registry = Registry(group_limit=2)
    registry.join("g", 1)
    registry.join("g", 2)
    with pytest.raises(RegistryFull, match="group 'g' is full") as caught:
        registry.join("g", 3)
    assert caught.value.limit == 2
    assert registry.join("h", 3)
    registry.check_invariants()


def test_dispatch_touches_one_group() -> None:
    """dispatch calls back only the members of the group it is given."""
    registry = Registry()
    for number in range(1000):
        registry.join("big", number)
    registry.join("small", "x")
    registry.join("small", "y")
    called: list[object] = []
    assert registry.dispatch("small", called.append) == 2
    assert called == ["x", "y"]
    assert registry.dispatch("absent", called.append) == 0


def test_dispatch_callback_may_leave() -> None:
    """A dispatch callback may change the group it walks."""
    registry = Registry()
    for number in range(5):
        registry.join("g", number)
    count = registry.dispatch("g", lambda member: registry.leave("g", member))
    assert count == 5
    assert registry.group_size("g") == 0


def test_join_leave_constant_time_large_group() -> None:
    """Join and leave cost the same in a group of 150,000 as in a group of 10."""

    def churn(registry: Registry) -> float:
        start = time.perf_counter()
        for number in range(2000):
            registry.join("g", ("new", number))
        for number in range(2000):
            registry.leave("g", ("new", number))
        return time.perf_counter() - start

    small = Registry()
    for number in range(10):
        small.join("g", number)
    big = Registry()
    for number in range(150_000):
        big.join("g", number)
    small_time = min(churn(small) for _ in range(3))
    big_time = min(churn(big) for _ in range(3))
    # A linear leave would make the big group about 15,000 times slower.
    assert big_time < small_time * 20 + 0.05
    assert big.group_size("g") == 150_000
    big.check_invariants()


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"limit": 0}, ValueError),
        ({"limit": "3"}, TypeError),
        ({"group_limit": -2}, ValueError),
    ],
)
def test_options_checked(options: dict[str, object], error: type[Exception]) -> None:
    """Bad options raise at construction."""
    with pytest.raises(error):
        Registry(**options)  # type: ignore[arg-type]


def test_unhashable_key_raises_type_error() -> None:
    """An unhashable key raises TypeError naming its type."""
    registry = Registry()
    with pytest.raises(TypeError, match="hashable"):
        registry.register(["list"], 1)
    assert len(registry) == 0


def test_member_meta_of_group() -> None:
    """The metadata given to join() is returned per member, None otherwise."""
    registry = Registry()
    registry.join("room", "alice", {"role": "admin"})
    registry.join("room", 7)
    assert registry.member_meta("room", "alice") == {"role": "admin"}
    assert registry.member_meta("room", 7) is None
    assert registry.member_meta("room", "bob") is None
    assert registry.member_meta("hall", "alice") is None
