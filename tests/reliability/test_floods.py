"""Floods past every limit at once, while legitimate traffic still gets replies."""

from __future__ import annotations

import itertools
import time
import tracemalloc
from typing import Any

import pytest

import boundedactors as ba
from boundedactors.testing import FakeClock

from .conftest import Tally

pytestmark = pytest.mark.usefixtures("quiet_logs")

SPAWN_REASONS = ("max_children", "spawn_rate", "per_key", "quota_keys")
MAX_CHILDREN = 300
PER_KEY = 3
QUOTA_KEYS = 150
MAILBOX = 16
REGISTRY_LIMIT = 400
SYMBOL_LIMIT = 500


class Account(ba.Actor):
    """A legitimate actor: adds to a balance and returns it."""

    def __init__(self, key: object = None) -> None:
        self.balance = 0

    async def receive(self, message: Any) -> Any:
        self.balance += message
        return self.balance


class Sink(ba.Actor):
    """Accepts anything; its mailbox fills while the test does not yield."""

    async def receive(self, message: Any) -> Any:
        return None


class Flood:
    """One supervisor with every limit set, and the attacks on each limit."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.tally = Tally()
        self.registry = ba.Registry(limit=REGISTRY_LIMIT, group_limit=100)
        self.symbols = ba.SymbolTable(limit=SYMBOL_LIMIT)
        self.sup = ba.Supervisor(
            clock=self.clock,
            max_children=MAX_CHILDREN,
            spawn_rate=100.0,
            spawn_burst=100.0,
            per_key_limit=PER_KEY,
            max_quota_keys=QUOTA_KEYS,
            mailbox_size=MAILBOX,
            registry=self.registry,
            symbols=self.symbols,
            dead_letters=self.tally,
            workers=2,
        )
        self.counter = itertools.count()
        self.spawns = itertools.count()
        self.rejected: dict[str, int] = {}

    def reject(self, kind: str, error: ba.LimitExceeded) -> None:
        assert error.limit is not None
        assert error.current is not None
        assert error.current >= 0
        self.rejected[kind] = self.rejected.get(kind, 0) + 1

    def spawn_attack(self) -> None:
        n = next(self.spawns)
        try:
            name = ("s", n) if n % 2 else None
            quota_key = "one-client" if n % 10 == 0 else ("attacker", n % 400)
            self.sup.spawn(Sink, quota_key=quota_key, name=name)
        except ba.SpawnLimitExceeded as error:
            assert error.reason in (
                "max_children",
                "spawn_rate",
                "per_key",
                "quota_keys",
            )
            if error.reason == "spawn_rate":
                assert error.retry_after is not None
                assert error.retry_after > 0
            self.reject(error.reason, error)
        except ba.RegistryFull as error:
            self.reject("registry", error)

    def symbol_attack(self) -> None:
        try:
            self.symbols.intern(f"field-{next(self.counter)}")
        except ba.SymbolLimitExceeded as error:
            assert error.limit == SYMBOL_LIMIT
            assert error.retry_after is None
            self.reject("symbols", error)

    def mailbox_attack(self, victim: ba.ActorRef) -> None:
        try:
            victim.tell(next(self.counter))
        except ba.MailboxFull as error:
            assert error.limit == MAILBOX
            assert error.current == MAILBOX
            self.reject("mailbox", error)

    def registry_attack(self) -> None:
        try:
            self.registry.register(("direct", next(self.counter)), None)
        except ba.RegistryFull as error:
            assert error.limit == REGISTRY_LIMIT
            self.reject("registry", error)
        try:
            self.registry.join("room", next(self.counter))
        except ba.RegistryFull as error:
            self.reject("group", error)

    def check(self) -> None:
        self.sup.check_invariants()
        self.registry.check_invariants()
        self.symbols.check_invariants()
        assert len(self.sup) <= MAX_CHILDREN
        assert len(self.registry) <= REGISTRY_LIMIT
        assert len(self.symbols) <= SYMBOL_LIMIT


async def run_flood(rounds: int) -> Flood:
    """Attack every limit ``rounds`` times each, asking legit actors throughout."""
    flood = Flood()
    async with flood.sup:
        legit = [flood.sup.spawn(Account) for _ in range(5)]
        victim = flood.sup.spawn(Sink, mailbox_size=MAILBOX)
        expected = [0] * len(legit)
        for i in range(rounds):
            flood.spawn_attack()
            flood.symbol_attack()
            flood.mailbox_attack(victim)
            flood.registry_attack()
            if i % 1000 == 0:
                index = i % len(legit)
                expected[index] += i
                assert await legit[index].ask(i) == expected[index]
                await flood.clock.advance(0.5)
                flood.check()
        for index, ref in enumerate(legit):
            assert await ref.ask(0) == expected[index]
        flood.check()
    return flood


async def test_flood_every_limit_at_once() -> None:
    """Every limit rejects, legit asks stay correct, every structure stays valid."""
    flood = await run_flood(20_000)
    for kind in SPAWN_REASONS:
        assert flood.rejected.get(kind, 0) > 0, (kind, flood.rejected)
    for kind in ("symbols", "mailbox", "registry", "group"):
        assert flood.rejected.get(kind, 0) > 0, (kind, flood.rejected)
    stats = flood.sup.stats()
    spawn_rejections = sum(flood.rejected.get(k, 0) for k in SPAWN_REASONS)
    assert stats.rejected_total == spawn_rejections
    assert stats.mailbox_rejected == flood.rejected["mailbox"]
    assert stats.live_actors == 0


async def test_flood_memory_bounded() -> None:
    """Memory held after a flood does not grow with the size of the flood."""
    flood = Flood()
    tracemalloc.start()
    try:
        async with flood.sup:
            victim = flood.sup.spawn(Sink, mailbox_size=MAILBOX)
            samples = []
            for rounds in (4_000, 6_000):
                for _ in range(rounds):
                    flood.spawn_attack()
                    flood.symbol_attack()
                    flood.mailbox_attack(victim)
                    flood.registry_attack()
                await flood.clock.advance(0.5)
                samples.append(tracemalloc.get_traced_memory()[0])
            flood.check()
    finally:
        tracemalloc.stop()
    grown = samples[1] - samples[0]
    # 6,000 more rounds of five attacks each: a leak of even 4 bytes per
    # rejection would show as 120 KB.
    assert grown < 64 * 1024, f"memory grew {grown} bytes over 6,000 rounds"


def per_rejection(rounds: int, attack: Any) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        attack()
    return (time.perf_counter() - started) / rounds


async def test_rejections_are_constant_time() -> None:
    """A rejection costs the same after 5,000 rejections as after 50,000."""
    flood = Flood()
    async with flood.sup:
        victim = flood.sup.spawn(Sink, mailbox_size=MAILBOX)
        for _ in range(MAX_CHILDREN + 1000):
            flood.spawn_attack()
            flood.symbol_attack()
            flood.mailbox_attack(victim)
            flood.registry_attack()
            if len(flood.sup) < MAX_CHILDREN - 1:
                await flood.clock.advance(0.05)
        attacks = {
            "spawn": flood.spawn_attack,
            "symbol": flood.symbol_attack,
            "mailbox": lambda: flood.mailbox_attack(victim),
            "registry": flood.registry_attack,
        }
        for name, attack in attacks.items():
            small = min(per_rejection(5_000, attack) for _ in range(5))
            per_rejection(50_000, attack)
            large = min(per_rejection(5_000, attack) for _ in range(5))
            # Generous: catches a cost that grows with the number of rejections.
            assert large < small * 3, (name, small, large)


@pytest.mark.soak
async def test_flood_soak() -> None:
    """A million rounds of every attack, with the same checks."""
    flood = await run_flood(1_000_000)
    assert flood.sup.stats().live_actors == 0
