"""Property tests: the invariants of SymbolTable, Registry and supervisor quotas.

Each test calls the structure's ``check_invariants()`` after every step and
compares the structure with a plain model of what it should contain.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from strategies import (
    group_names,
    member_values,
    registry_keys,
    supervisor_ops,
    symbol_texts,
)

import boundedactors as ba
from boundedactors.keys import table_key
from boundedactors.testing import FakeClock

FAST = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class SymbolTableMachine(RuleBasedStateMachine):
    """Interns and looks up text against a dict model of the table."""

    def __init__(self) -> None:
        super().__init__()
        self.table = ba.SymbolTable(limit=5, max_length=255)
        self.model: dict[str, ba.Symbol] = {}

    @rule(text=symbol_texts)
    def intern(self, text: str) -> None:
        valid = 0 < len(text) <= 255 and _encodable(text)
        try:
            symbol = self.table.intern(text)
        except ba.InvalidSymbol:
            assert not valid
            return
        except ba.SymbolLimitExceeded as error:
            assert valid
            assert text not in self.model
            assert len(self.model) == 5
            assert error.limit == 5
            return
        assert valid
        if text in self.model:
            assert symbol is self.model[text]
        self.model[text] = symbol
        assert symbol.text == text

    @rule(text=symbol_texts)
    def get(self, text: str) -> None:
        size = len(self.table)
        assert self.table.get(text) is self.model.get(text)
        assert len(self.table) == size

    @invariant()
    def consistent(self) -> None:
        self.table.check_invariants()
        assert len(self.table) == len(self.model) <= 5
        for text, symbol in self.model.items():
            assert self.table.get(text) is symbol


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


TestSymbolTable = SymbolTableMachine.TestCase
TestSymbolTable.settings = settings(max_examples=40, stateful_step_count=30)


class RegistryMachine(RuleBasedStateMachine):
    """Registers keys and joins groups against dict and set models."""

    LIMIT = 8

    def __init__(self) -> None:
        super().__init__()
        self.registry = ba.Registry(limit=self.LIMIT, group_limit=3)
        self.names: dict[Any, object] = {}
        self.groups: dict[Any, set[str]] = {}

    def entries(self) -> int:
        return len(self.names) + sum(len(m) for m in self.groups.values())

    @rule(key=registry_keys, value=st.integers())
    def register(self, key: object, value: int) -> None:
        stored = table_key(key)
        try:
            self.registry.register(key, value)
        except ba.AlreadyRegistered:
            assert stored in self.names
            return
        except ba.RegistryFull:
            assert self.entries() >= self.LIMIT
            return
        assert stored not in self.names
        self.names[stored] = value

    @rule(key=registry_keys)
    def unregister(self, key: object) -> None:
        expected = self.names.pop(table_key(key), None)
        assert self.registry.unregister(key) == expected

    @rule(group=group_names, member=member_values)
    def join(self, group: object, member: str) -> None:
        members = self.groups.get(table_key(group), set())
        try:
            joined = self.registry.join(group, member)
        except ba.RegistryFull:
            assert self.entries() >= self.LIMIT or len(members) >= 3
            return
        assert joined == (member not in members)
        self.groups.setdefault(table_key(group), set()).add(member)

    @rule(group=group_names, member=member_values)
    def leave(self, group: object, member: str) -> None:
        members = self.groups.get(table_key(group), set())
        assert self.registry.leave(group, member) == (member in members)
        members.discard(member)
        if not members:
            self.groups.pop(table_key(group), None)

    @invariant()
    def consistent(self) -> None:
        self.registry.check_invariants()
        assert len(self.registry) == self.entries() <= self.LIMIT
        for stored, value in self.names.items():
            key = stored.key if hasattr(stored, "key") else stored
            assert self.registry.lookup(key) == value
        for stored, members in self.groups.items():
            group = stored.key if hasattr(stored, "key") else stored
            assert set(self.registry.members(group)) == members


TestRegistry = RegistryMachine.TestCase
TestRegistry.settings = settings(max_examples=40, stateful_step_count=40)


class Flaky(ba.Actor):
    """Raises on "boom"; otherwise returns the message."""

    def __init__(self, *args: object) -> None:
        self.args = args

    async def receive(self, message: object) -> object:
        if message == "boom":
            raise RuntimeError("boom")
        return message


@FAST
@given(ops=supervisor_ops)
def test_supervisor_accounting(ops: list[tuple[Any, ...]]) -> None:
    """Under any mix of spawns, stops and crashes, counts match the live actors."""
    asyncio.run(_run_supervisor_ops(ops))


async def _run_supervisor_ops(ops: list[tuple[Any, ...]]) -> None:
    clock = FakeClock()
    async with ba.Supervisor(
        max_children=6,
        spawn_rate=4.0,
        spawn_burst=5,
        per_key_limit=2,
        max_quota_keys=2,
        max_restarts=1000,
        restart_backoff=0.2,
        clock=clock,
    ) as root:
        nested: ba.Supervisor | None = root.supervisor(max_children=3)
        refs: list[ba.ActorRef] = []
        for op in ops:
            if op[0] == "spawn":
                target = nested if op[1] == "nested" and nested else root
                before = len(root)
                try:
                    refs.append(target.spawn(Flaky, quota_key=op[2]))
                except ba.SpawnLimitExceeded as error:
                    assert error.reason in {
                        "max_children",
                        "spawn_rate",
                        "per_key",
                        "quota_keys",
                    }
                    assert len(root) == before
                else:
                    assert len(root) == before + 1
            elif op[0] in ("stop", "crash", "tell") and refs:
                ref = refs[op[1] % len(refs)]
                if op[0] == "stop":
                    await ref.stop()
                    assert not ref.is_alive
                elif ref.is_alive:
                    ref.tell("boom" if op[0] == "crash" else "hello")
            elif op[0] == "advance":
                await clock.advance(op[1])
            elif op[0] == "close_nested" and nested is not None:
                await nested.aclose()
                nested = None
            await root.settle()
            _check_tree(root, refs)


def _check_tree(root: ba.Supervisor, refs: list[ba.ActorRef]) -> None:
    root.check_invariants()
    live = [ref for ref in refs if ref.is_alive]
    assert len(root) == len(live) <= 6
    assert root.stats().live_actors == len(live)
    per_key: dict[object, int] = {}
    for ref in live:
        if ref._quota is not None:
            per_key[ref._quota] = per_key.get(ref._quota, 0) + 1
    assert all(count <= 2 for count in per_key.values())
    assert len(per_key) <= 2
    counter = root._per_key
    assert counter is not None
    assert len(counter) == len(per_key), "stale quota key"
    for ref in refs:
        if not ref.is_alive:
            assert ref._mailbox is None
            assert ref._extra is None
