"""Regression tests for misuse: late joins, bad options, keys and deadlines."""

from __future__ import annotations

import math

import pytest

import boundedactors as ba
from boundedactors.keys import table_key
from boundedactors.testing import FakeClock


class Echo(ba.Actor):
    async def receive(self, message: object) -> object:
        return message


async def test_join_after_stop_rejected() -> None:
    """A stopped actor cannot join a group, where it would stay forever."""
    registry = ba.Registry(limit=5)
    async with ba.Supervisor(clock=FakeClock()) as sup:
        ref = sup.spawn(Echo)
        await ref.stop()
        with pytest.raises(ba.ActorStopped):
            ref.join(registry, "room")
    assert len(registry) == 0


async def test_publish_checks_members_first() -> None:
    """publish() raises before sending anything when a member is not an actor."""
    registry = ba.Registry()
    seen: list[object] = []

    class Recorder(ba.Actor):
        async def receive(self, message: object) -> None:
            seen.append(message)

    clock = FakeClock()
    async with ba.Supervisor(clock=clock) as sup:
        ref = sup.spawn(Recorder)
        ref.join(registry, "g")
        registry.join("g", "plain text")
        with pytest.raises(TypeError, match="not an ActorRef"):
            ba.publish(registry, "g", "hello")
        await clock.settle()
    assert seen == []


@pytest.mark.parametrize("when", [math.nan, math.inf, -math.inf])
async def test_fake_clock_rejects_non_finite(when: float) -> None:
    """FakeClock.call_at rejects times that cannot be ordered."""
    clock = FakeClock()
    with pytest.raises(ValueError, match="finite"):
        clock.call_at(when, lambda: None)


async def test_loop_clock_rejects_nan() -> None:
    """LoopClock.call_at rejects NaN before it reaches the event loop."""
    with pytest.raises(ValueError, match="finite"):
        ba.LoopClock().call_at(math.nan, lambda: None)


def test_none_in_tuple_keys_rehashed() -> None:
    """Tuples holding None get the randomised hash, like other tuples."""
    prime = 2**61 - 1
    first = table_key((None, prime))
    second = table_key((None, 2 * prime))
    assert hash((None, prime)) == hash((None, 2 * prime))
    assert type(first) is not tuple
    assert hash(first) != hash(second)
    assert table_key((None, 1)) == table_key((None, 1.0))


def test_deeply_nested_keys_rejected() -> None:
    """Keys nesting tuples past 16 levels raise instead of hashing predictably."""
    key: object = 1
    for _ in range(17):
        key = (key,)
    with pytest.raises(ValueError, match="16 levels"):
        table_key(key)


def test_allowlist_rejects_single_string() -> None:
    """from_allowlist("GET") raises instead of allowing G, E and T."""
    with pytest.raises(TypeError, match="iterable of str"):
        ba.SymbolTable.from_allowlist("GET")


@pytest.mark.parametrize("overflow", [5, b"x", ""])
def test_overflow_option_checked(overflow: object) -> None:
    """A bad overflow option names the option."""
    with pytest.raises((TypeError, ValueError), match="overflow"):
        ba.SymbolTable(overflow=overflow)  # type: ignore[arg-type]


def test_unhashable_member_named() -> None:
    """Joining an unhashable member names the value."""
    with pytest.raises(TypeError, match=r"group member must be hashable, got \[1\]"):
        ba.Registry().join("g", [1])  # type: ignore[arg-type]


def test_workers_capped() -> None:
    """An absurd worker count is rejected before any task is created."""
    with pytest.raises(ValueError, match="workers must be at most"):
        ba.Supervisor(workers=10**9)
