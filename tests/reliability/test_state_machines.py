"""Stateful property tests: each structure against a plain model, invariants
checked after every step."""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

import boundedactors as ba
from boundedactors.keys import table_key
from boundedactors.quotas import KeyCounter, TokenBucket
from boundedactors.testing import FakeClock

MERSENNE = 2**61 - 1

CI = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
SOAK = settings(
    max_examples=1000,
    stateful_step_count=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Keys from every family that table_key treats specially, including values that
# share one CPython hash and values that compare equal across types.
keys = st.one_of(
    st.sampled_from(["a", "b", "", "\u00e9", b"a", b""]),
    st.integers(-3, 3),
    st.integers(1, 4).map(lambda i: i * MERSENNE),
    st.sampled_from([-1, -2, 0.5, 1.0, -0.0, True, False, math.inf]),
    st.tuples(st.integers(-2, 2), st.sampled_from([-1, -2, "x"])),
)


def canonical(key: object) -> object:
    """Return the model's key: equal keys share one model entry, as in a dict."""
    return table_key(key)


class SymbolTableMachine(RuleBasedStateMachine):
    """SymbolTable against a dict of text to symbol."""

    @initialize(
        limit=st.integers(1, 8),
        max_length=st.integers(1, 6),
        overflow=st.sampled_from([None, "?"]),
    )
    def build(self, limit: int, max_length: int, overflow: str | None) -> None:
        self.table = ba.SymbolTable(
            limit=limit, max_length=max_length, overflow=overflow
        )
        self.model: dict[str, ba.Symbol] = {}
        if overflow is not None and len(overflow) <= max_length:
            self.model[overflow] = self.table.intern(overflow)

    @rule(text=st.text(alphabet="abc?\ud800", max_size=8))
    def intern(self, text: str) -> None:
        known = self.model.get(text)
        try:
            symbol = self.table.intern(text)
        except ba.InvalidSymbol:
            assert known is None
            assert not text or len(text) > self.table.max_length or "\ud800" in text
            return
        except ba.SymbolLimitExceeded as error:
            assert known is None
            assert self.table.overflow_symbol is None
            assert len(self.model) == self.table.limit
            assert error.current == self.table.limit
            return
        if known is not None:
            assert symbol is known
        elif len(self.model) >= self.table.limit:
            assert symbol is self.table.overflow_symbol
        else:
            assert symbol.text == text
            self.model[text] = symbol

    @rule(text=st.text(alphabet="abc?", max_size=8))
    def get(self, text: str) -> None:
        assert self.table.get(text) is self.model.get(text)

    @invariant()
    def consistent(self) -> None:
        self.table.check_invariants()
        assert len(self.table) == len(self.model)


class RegistryMachine(RuleBasedStateMachine):
    """Registry with groups against two dicts."""

    @initialize(
        limit=st.one_of(st.none(), st.integers(1, 10)),
        group_limit=st.one_of(st.none(), st.integers(1, 4)),
    )
    def build(self, limit: int | None, group_limit: int | None) -> None:
        self.registry = ba.Registry(limit=limit, group_limit=group_limit)
        self.names: dict[object, int] = {}
        self.groups: dict[object, list[int]] = {}

    def entries(self) -> int:
        return len(self.names) + sum(len(m) for m in self.groups.values())

    def full(self) -> bool:
        limit = self.registry.limit
        return limit is not None and self.entries() >= limit

    @rule(key=keys, value=st.integers(0, 5))
    def register(self, key: object, value: int) -> None:
        model_key = canonical(key)
        try:
            self.registry.register(key, value)
        except ba.AlreadyRegistered:
            assert model_key in self.names
            return
        except ba.RegistryFull as error:
            assert model_key not in self.names
            assert self.full()
            assert error.current == self.entries()
            return
        assert model_key not in self.names
        assert not self.full()
        self.names[model_key] = value

    @rule(key=keys)
    def unregister(self, key: object) -> None:
        expected = self.names.pop(canonical(key), None)
        assert self.registry.unregister(key) == expected

    @rule(key=keys, value=st.integers(0, 5))
    def unregister_value(self, key: object, value: int) -> None:
        model_key = canonical(key)
        current = self.registry.lookup(key)
        removed = self.registry.unregister_value(key, current if value else object())
        if value and model_key in self.names:
            assert removed
            del self.names[model_key]
        else:
            assert not removed

    @rule(key=keys)
    def lookup(self, key: object) -> None:
        assert self.registry.lookup(key) == self.names.get(canonical(key))

    @rule(group=keys, member=st.integers(0, 6))
    def join(self, group: object, member: int) -> None:
        model_group = canonical(group)
        members = self.groups.get(model_group, [])
        try:
            joined = self.registry.join(group, member)
        except ba.RegistryFull:
            assert member not in members
            group_limit = self.registry._group_limit
            assert self.full() or (
                group_limit is not None and len(members) >= group_limit
            )
            return
        assert joined == (member not in members)
        if joined:
            self.groups.setdefault(model_group, []).append(member)

    @rule(group=keys, member=st.integers(0, 6))
    def leave(self, group: object, member: int) -> None:
        model_group = canonical(group)
        members = self.groups.get(model_group, [])
        assert self.registry.leave(group, member) == (member in members)
        if member in members:
            members.remove(member)
            if not members:
                del self.groups[model_group]

    @rule(group=keys)
    def members(self, group: object) -> None:
        expected = self.groups.get(canonical(group), [])
        assert self.registry.members(group) == expected
        assert self.registry.group_size(group) == len(expected)

    @invariant()
    def consistent(self) -> None:
        self.registry.check_invariants()
        assert len(self.registry) == self.entries()


class QuotaMachine(RuleBasedStateMachine):
    """TokenBucket and KeyCounter against plain arithmetic and a Counter."""

    @initialize(
        rate=st.floats(0.1, 100.0),
        burst=st.integers(1, 20),
        per_key=st.integers(1, 3),
        max_keys=st.integers(1, 4),
    )
    def build(self, rate: float, burst: int, per_key: int, max_keys: int) -> None:
        self.now = 0.0
        self.bucket = TokenBucket(rate, float(burst), self.now)
        self.tokens = float(burst)
        self.counter = KeyCounter(per_key, max_keys)
        self.live: Counter[object] = Counter()

    @rule(seconds=st.floats(0.0, 5.0))
    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.tokens = min(self.bucket.burst, self.tokens + seconds * self.bucket.rate)
        assert math.isclose(self.bucket.tokens(self.now), self.tokens, abs_tol=1e-6)

    @rule()
    def take(self) -> None:
        available = self.bucket.tokens(self.now)
        if available < 1.0:
            wait = self.bucket.retry_after(self.now)
            assert wait > 0
            assert math.isclose(wait * self.bucket.rate, 1.0 - available)
            return
        assert self.bucket.retry_after(self.now) == 0.0
        self.bucket.take(self.now)
        self.tokens = available - 1.0

    @rule(key=keys)
    def add(self, key: object) -> None:
        stored = table_key(key)
        count = self.counter.count(stored)
        if count >= self.counter.per_key:
            return  # the supervisor rejects with "per_key" here
        if count == 0 and self.counter.is_full():
            assert len(self.live) == self.counter.max_keys
            return  # the supervisor rejects with "quota_keys" here
        self.counter.add(stored)
        self.live[stored] += 1

    @rule(key=keys)
    def remove(self, key: object) -> None:
        stored = table_key(key)
        if self.live[stored] == 0:
            del self.live[stored]
            return
        self.counter.remove(stored)
        self.live[stored] -= 1
        if self.live[stored] == 0:
            del self.live[stored]

    @invariant()
    def consistent(self) -> None:
        self.bucket.check_invariants()
        self.counter.check_invariants(dict(self.live))


class Worker(ba.Actor):
    async def receive(self, message: Any) -> Any:
        if message == "crash":
            raise RuntimeError("crash on request")
        return message


class SupervisorMachine(RuleBasedStateMachine):
    """A supervisor with a nested one: live counts and quotas against a model."""

    refs = Bundle("refs")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FakeClock()
        self.root = ba.Supervisor(
            clock=self.clock,
            max_children=6,
            per_key_limit=2,
            max_quota_keys=3,
            max_restarts=1_000_000,
            restart_backoff=0.5,
            workers=2,
            seed=0,
        )
        self.loop.run_until_complete(self.root.__aenter__())
        self.nested = self.root.supervisor(
            name="nested", max_children=3, max_restarts=1_000_000
        )
        self.live: dict[ba.ActorRef, tuple[ba.Supervisor, object, str]] = {}

    def run(self, awaitable: Any) -> Any:
        return self.loop.run_until_complete(awaitable)

    def teardown(self) -> None:
        self.run(self.root.aclose())
        self.loop.close()

    def in_tree(self, sup: ba.Supervisor) -> int:
        if sup is self.root:
            return len(self.live)
        return sum(1 for owner, _, _ in self.live.values() if owner is sup)

    def per_key(self, key: object) -> int:
        return sum(1 for _, quota, _ in self.live.values() if quota == key)

    def keys_in_use(self) -> int:
        return len({quota for _, quota, _ in self.live.values() if quota is not None})

    @rule(
        target=refs,
        nested=st.booleans(),
        quota_key=st.sampled_from([None, "k1", "k2", "k3", "k4"]),
        restart=st.sampled_from(["permanent", "temporary"]),
    )
    def spawn(self, nested: bool, quota_key: str | None, restart: str) -> Any:
        sup = self.nested if nested else self.root
        try:
            ref = sup.spawn(Worker, quota_key=quota_key, restart=restart)
        except ba.SpawnLimitExceeded as error:
            if error.reason == "max_children":
                assert self.in_tree(self.root) >= 6 or (
                    nested and self.in_tree(self.nested) >= 3
                )
            elif error.reason == "per_key":
                assert self.per_key(quota_key) >= 2
            else:
                assert error.reason == "quota_keys"
                assert self.keys_in_use() >= 3
            return ba.Registry  # a placeholder that the other rules skip
        self.live[ref] = (sup, quota_key, restart)
        return ref

    @rule(ref=refs)
    def stop(self, ref: Any) -> None:
        if ref is ba.Registry:
            return
        self.run(ref.stop())
        self.live.pop(ref, None)

    @rule(ref=refs)
    def crash(self, ref: Any) -> None:
        if ref is ba.Registry or ref not in self.live:
            return
        ref.tell("crash")
        self.run(self.clock.advance(0))
        if self.live[ref][2] == "temporary":
            del self.live[ref]
            assert not ref.is_alive
        else:
            assert ref.is_alive

    @rule(ref=refs, message=st.integers(0, 3))
    def ask(self, ref: Any, message: int) -> None:
        if ref is ba.Registry or ref not in self.live:
            return
        task = self.loop.create_task(ref.ask(message))
        # A crashed actor replies once its restart backoff ends. Crash messages
        # queued during a backoff each add one more backoff (at most 10 s each),
        # so fire the clock's timers until the reply is in, with a generous bound.
        replied = self.run(self.clock.advance_until(task.done, timeout=3600.0))
        assert replied
        assert task.done()
        assert task.result() == message

    @precondition(lambda self: True)
    @rule(seconds=st.sampled_from([0.0, 0.25, 1.0, 5.0]))
    def advance(self, seconds: float) -> None:
        self.run(self.clock.advance(seconds))

    @invariant()
    def consistent(self) -> None:
        self.root.check_invariants()
        assert len(self.root) == len(self.live)
        assert len(self.nested) == self.in_tree(self.nested)
        assert all(ref.is_alive for ref in self.live)


MACHINES = [SymbolTableMachine, RegistryMachine, QuotaMachine, SupervisorMachine]


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.__name__)
def test_state_machine(machine: type[RuleBasedStateMachine]) -> None:
    """Every step keeps the structure equal to its model and its invariants."""
    machine.TestCase.settings = CI
    machine.TestCase().runTest()


@pytest.mark.soak
@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.__name__)
def test_state_machine_soak(machine: type[RuleBasedStateMachine]) -> None:
    """The same machines with many more examples."""
    machine.TestCase.settings = SOAK
    machine.TestCase().runTest()
