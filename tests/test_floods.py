"""Each limit under a flood ten times over it.

For every limit, the test fills it, then sends ten times as many requests past it,
and checks three things: every request past the limit is rejected or dropped and
counted, memory traced by tracemalloc stays flat once the limit is reached, and a
legitimate actor keeps answering correctly between bursts of the flood.
"""

from __future__ import annotations

import asyncio
import contextlib
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

import boundedactors as ba
from boundedactors.testing import FakeClock

# Bytes a flood may leave behind once a limit is reached: caches and free lists
# of the interpreter, not per-request state. 10,000 retained requests of even 50
# bytes each would pass it several times over.
RETAINED_BUDGET = 64 * 1024


class Counter(ba.Actor):
    """Adds each number it receives and returns the running total."""

    def __init__(self, *args: object) -> None:
        self.total = 0

    async def receive(self, message: Any) -> Any:
        self.total += message
        return self.total


class Blocked(ba.Actor):
    """Blocks on its first message until the event is set."""

    def __init__(self, event: asyncio.Event) -> None:
        self.event = event
        self.seen: list[object] = []

    async def receive(self, message: Any) -> None:
        self.seen.append(message)
        await self.event.wait()


@contextlib.contextmanager
def traced() -> Iterator[list[int]]:
    """Trace allocations; the yielded list receives the bytes retained inside."""
    retained: list[int] = []
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        yield retained
        retained.append(tracemalloc.get_traced_memory()[0] - base)
    finally:
        tracemalloc.stop()


async def check_legit(ref: ba.ActorRef, expected: int) -> int:
    """Ask the legitimate actor to add 1 and check its running total."""
    reply = await ref.ask(1, timeout=5.0)
    assert reply == expected + 1
    return reply


async def test_flood_past_max_children() -> None:
    """10,000 spawns past max_children=1,000 are rejected; memory stays flat."""
    async with ba.Supervisor(max_children=1000, clock=FakeClock()) as sup:
        legit = sup.spawn(Counter)
        for _ in range(999):
            sup.spawn(Counter)
        total = await check_legit(legit, 0)
        rejected = 0
        with traced() as retained:
            for burst in range(10):
                for _ in range(1000):
                    try:
                        sup.spawn(Counter)
                    except ba.SpawnLimitExceeded:
                        rejected += 1
                total = await check_legit(legit, total)
                assert burst < 10
        assert rejected == 10_000
        assert retained[0] < RETAINED_BUDGET
        assert len(sup) == 1000
        assert sup.stats().rejected == {"max_children": 10_000}
        sup.check_invariants()


async def test_flood_past_per_key_limit() -> None:
    """One key spawning 10 times its limit, and 10 times more keys than fit."""
    async with ba.Supervisor(
        per_key_limit=10, max_quota_keys=100, clock=FakeClock()
    ) as sup:
        legit = sup.spawn(Counter, quota_key="legit")
        for _ in range(10):
            sup.spawn(Counter, quota_key="attacker")
        for number in range(98):
            sup.spawn(Counter, quota_key=f"client-{number}")
        total = await check_legit(legit, 0)
        reasons: dict[str, int] = {}
        with traced() as retained:
            for burst in range(10):
                for number in range(100):
                    for key in ("attacker", f"new-{burst}-{number}"):
                        try:
                            sup.spawn(Counter, quota_key=key)
                        except ba.SpawnLimitExceeded as error:
                            reasons[error.reason] = reasons.get(error.reason, 0) + 1
                total = await check_legit(legit, total)
        assert reasons == {"per_key": 1000, "quota_keys": 1000}
        assert retained[0] < RETAINED_BUDGET
        assert sup._per_key is not None
        assert len(sup._per_key) == 100
        sup.check_invariants()


async def test_flood_past_spawn_rate() -> None:
    """A burst of 1,000 spawns against a rate of 100/s admits only the burst."""
    clock = FakeClock()
    async with ba.Supervisor(
        spawn_rate=100.0, spawn_burst=100, max_children=None, clock=clock
    ) as sup:
        legit = sup.spawn(Counter)
        total = await check_legit(legit, 0)
        admitted = 0
        with traced() as retained:
            for _ in range(10):
                for _ in range(100):
                    try:
                        sup.spawn(Counter)
                    except ba.SpawnLimitExceeded as error:
                        assert error.reason == "spawn_rate"
                        assert error.retry_after is not None
                        assert error.retry_after > 0
                    else:
                        admitted += 1
                total = await check_legit(legit, total)
        assert admitted == 99
        assert retained[0] < RETAINED_BUDGET + admitted * 1024
        await clock.advance(1.0)
        for _ in range(100):
            sup.spawn(Counter)
        assert len(sup) == 200
        sup.check_invariants()


def test_flood_past_symbol_ceiling() -> None:
    """10,000 new texts past a ceiling of 1,000 are rejected; memory stays flat."""
    table = ba.SymbolTable(limit=1000)
    for number in range(1000):
        table.intern(f"known-{number}")
    known = table.get("known-7")
    rejected = 0
    with traced() as retained:
        for number in range(10_000):
            try:
                table.intern(f"attack-{number}")
            except ba.SymbolLimitExceeded:
                rejected += 1
            assert table.get(f"attack-{number}") is None
            if number % 1000 == 0:
                assert table.intern("known-7") is known
    assert rejected == 10_000
    assert retained[0] < RETAINED_BUDGET
    assert len(table) == 1000
    table.check_invariants()


def test_flood_past_symbol_ceiling_overflow_mode() -> None:
    """In overflow mode the same flood maps to one symbol, still within bounds."""
    table = ba.SymbolTable(limit=100, overflow="other")
    for number in range(99):
        table.intern(f"known-{number}")
    with traced() as retained:
        results = {table.intern(f"attack-{number}") for number in range(1000)}
    assert results == {table.overflow_symbol}
    assert table.overflowed == 1000
    assert retained[0] < RETAINED_BUDGET
    assert len(table) == 100


@pytest.mark.parametrize("overflow", ["reject", "drop_oldest", "drop_newest"])
async def test_flood_past_mailbox_size(overflow: str) -> None:
    """1,000 messages past a mailbox of 100 are rejected or dropped and counted."""
    clock = FakeClock()
    event = asyncio.Event()
    async with ba.Supervisor(clock=clock, mailbox_size=100, overflow=overflow) as sup:
        victim = sup.spawn(Blocked, event)
        legit = sup.spawn(Counter)
        victim.tell("first")
        await clock.settle()
        for number in range(100):
            victim.tell(number)
        total = await check_legit(legit, 0)
        rejected = 0
        with traced() as retained:
            for burst in range(10):
                for number in range(100):
                    try:
                        victim.tell(("flood", burst, number))
                    except ba.MailboxFull:
                        rejected += 1
                total = await check_legit(legit, total)
            assert victim.mailbox_len == 100
        assert retained[0] < RETAINED_BUDGET
        stats = sup.stats()
        if overflow == "reject":
            assert rejected == 1000
            assert stats.mailbox_rejected == 1000
        else:
            assert rejected == 0
            assert stats.mailbox_dropped == 1000
            assert stats.dead_letters_by_reason == {"mailbox_full": 1000}
        event.set()
        await sup.settle()
        actor = victim.actor
        assert isinstance(actor, Blocked)
        assert len(actor.seen) == 101


async def test_flood_past_registry_limit() -> None:
    """10,000 registrations past a limit of 1,000 raise RegistryFull; no growth."""
    async with ba.Supervisor(clock=FakeClock(), max_children=None) as sup:
        registry = ba.Registry(limit=1000)
        legit = sup.spawn(Counter, name="legit", registry=registry)
        for number in range(999):
            registry.register(f"user-{number}", number)
        total = await check_legit(legit, 0)
        rejected = 0
        with traced() as retained:
            for burst in range(10):
                for number in range(1000):
                    try:
                        sup.spawn(
                            Counter, name=f"attack-{burst}-{number}", registry=registry
                        )
                    except ba.RegistryFull:
                        rejected += 1
                found = registry.lookup("legit")
                assert found is legit
                total = await check_legit(found, total)
        assert rejected == 10_000
        assert retained[0] < RETAINED_BUDGET
        assert len(registry) == 1000
        assert len(sup) == 1
        registry.check_invariants()
        sup.check_invariants()
