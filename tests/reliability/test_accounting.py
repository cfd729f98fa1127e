"""Exact accounting: every accepted message is handled or a dead letter."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import pytest

import boundedactors as ba
from boundedactors.testing import FakeClock

from .conftest import Tally

pytestmark = pytest.mark.usefixtures("quiet_logs")


class Flaky(ba.Actor):
    """Counts every message it receives; crashes on multiples of ``crash_every``."""

    def __init__(self, handled: Counter[object], crash_every: int) -> None:
        self.handled = handled
        self.crash_every = crash_every

    async def receive(self, message: Any) -> Any:
        self.handled[message] += 1
        if self.crash_every and message % self.crash_every == 0:
            raise ValueError(f"crash on {message}")
        return message


class Hangs(ba.Actor):
    """Blocks on every message equal to ``hang_on`` until released."""

    def __init__(
        self,
        handled: Counter[object],
        hang_on: int,
        release: asyncio.Event,
        ignore_cancel: bool,
    ) -> None:
        self.handled = handled
        self.hang_on = hang_on
        self.release = release
        self.ignore_cancel = ignore_cancel

    async def receive(self, message: Any) -> Any:
        self.handled[message] += 1
        if message != self.hang_on:
            return message
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            if not self.ignore_cancel:
                raise
            await self.release.wait()
        return message


def assert_reconciled(
    sup: ba.Supervisor,
    accepted: set[int],
    handled: Counter[object],
    tally: Tally,
    rejected: int,
) -> None:
    """Each accepted message was handled once or dead-lettered once, not both."""
    stats = sup.stats()
    dead = Counter(tally.messages)
    assert all(count == 1 for count in handled.values()), "handled twice"
    assert all(count == 1 for count in dead.values()), "dead-lettered twice"
    assert not set(handled) & set(dead), "handled and dead-lettered"
    assert set(handled) | set(dead) == accepted
    assert stats.messages_handled == sum(handled.values())
    assert stats.dead_letters == tally.total
    assert dict(stats.dead_letters_by_reason) == dict(tally.by_reason)
    assert stats.mailbox_rejected == rejected
    assert stats.mailbox_dropped == tally.by_reason["mailbox_full"]


async def test_overflow_crash_stop_shutdown_reconcile() -> None:
    """Random traffic through every way a message can end adds up exactly."""
    rng = random.Random(7)
    clock = FakeClock()
    tally = Tally()
    handled: Counter[object] = Counter()
    sup = ba.Supervisor(
        clock=clock,
        workers=2,
        seed=5,
        dead_letters=tally,
        max_restarts=1_000_000,
        restart_backoff=0.01,
        mailbox_size=8,
    )
    accepted: set[int] = set()
    rejected = 0
    async with sup:
        refs = [
            sup.spawn(Flaky, handled, 0, overflow="reject"),
            sup.spawn(Flaky, handled, 0, overflow="drop_oldest"),
            sup.spawn(Flaky, handled, 0, overflow="drop_newest"),
            sup.spawn(Flaky, handled, 7, overflow="reject"),
            sup.spawn(Flaky, handled, 5, overflow="drop_oldest", restart="temporary"),
            sup.spawn(Flaky, handled, 3, overflow="drop_newest", restart="transient"),
        ]
        nested = sup.supervisor(name="nested", mailbox_size=4)
        refs += [nested.spawn(Flaky, handled, 11) for _ in range(3)]
        for message in range(6000):
            ref = rng.choice(refs)
            try:
                ref.tell(message)
            except ba.MailboxFull:
                rejected += 1
            else:
                accepted.add(message)
            roll = rng.random()
            if roll < 0.05:
                await clock.advance(0.01)
            elif roll < 0.052:
                victim = rng.choice(refs)
                await victim.stop()
                index = refs.index(victim)
                refs[index] = sup.spawn(Flaky, handled, 0)
            elif roll < 0.053:
                ref = rng.choice(refs)
                # send() gives up after 0.01 s of the supervisor's clock.
                sending = asyncio.ensure_future(ref.send(10_000 + message, 0.01))
                await clock.advance(0.01)
                try:
                    await sending
                except (ba.MailboxFull, ba.ActorStopped):
                    pass
                else:
                    accepted.add(10_000 + message)
        closing = asyncio.ensure_future(nested.aclose())
        await clock.advance(0)
        await closing
        for late, ref in enumerate(refs, start=20_000):
            try:
                ref.tell(late)
            except ba.MailboxFull:
                rejected += 1
            else:
                accepted.add(late)
        sup.check_invariants()
    assert_reconciled(sup, accepted, handled, tally, rejected)
    stats = sup.stats()
    assert stats.crashes > 0
    assert stats.mailbox_dropped > 0
    assert stats.dead_letters_by_reason.get("shutdown", 0) > 0
    assert stats.live_actors == 0


async def test_letters_to_closed_nested_counted() -> None:
    """Dead letters to actors of a closed nested supervisor reach the root stats."""
    tally = Tally()
    async with ba.Supervisor(clock=FakeClock(), dead_letters=tally) as sup:
        nested = sup.supervisor(name="tenant")
        ref = nested.spawn(Flaky, Counter(), 0)
        await nested.aclose()
        for message in range(5):
            ref.tell(message)
        stats = sup.stats()
        assert stats.dead_letters == 5
        assert stats.dead_letters_by_reason == {"stopped": 5}
        assert tally.total == 5


@pytest.mark.parametrize("ignore_cancel", [False, True])
async def test_killed_handler_turn_counted(ignore_cancel: bool) -> None:
    """Messages handled before a stop_timeout kill still count as handled."""
    clock = FakeClock()
    tally = Tally()
    handled: Counter[object] = Counter()
    release = asyncio.Event()
    sup = ba.Supervisor(
        clock=clock, workers=1, stop_timeout=1.0, dead_letters=tally, seed=1
    )
    async with sup:
        ref = sup.spawn(Hangs, handled, 3, release, ignore_cancel)
        for message in range(1, 7):
            ref.tell(message)
        await clock.advance(0)
        assert sum(handled.values()) == 3
        stopping = asyncio.ensure_future(ref.stop())
        await clock.advance(1.0)
        await clock.advance(1.0)
        await stopping
        assert not ref.is_alive
        release.set()
        await clock.advance(0)
        assert not ref.is_alive
        ref.tell(99)
        await clock.advance(0)
        assert sum(handled.values()) == 3
        helper = sup.spawn(Flaky, handled, 0)
        assert await helper.ask(100) == 100
        sup.check_invariants()
    assert_reconciled(sup, {*range(1, 7), 99, 100}, handled, tally, 0)
    assert tally.by_reason == {"stopped": 4}


class Keyed(ba.Actor):
    """A router's actor: counts the messages it handles and keeps them as state."""

    def __init__(self, key: object, state: object = None, *, handled: Any) -> None:
        self.handled = handled
        self.seen = 0 if state is None else state

    async def receive(self, message: Any) -> Any:
        self.handled[message] += 1
        self.seen += 1
        return self.seen

    def snapshot(self) -> object:
        return self.seen


@pytest.mark.parametrize("with_store", [False, True], ids=["no-store", "store"])
async def test_passivation_keeps_counts_exact(with_store: bool) -> None:
    """Messages through passivation and reactivation are handled or dead letters."""
    from boundedactors.testing import InMemoryStore

    rng = random.Random(11)
    clock = FakeClock()
    tally = Tally()
    handled: Counter[object] = Counter()
    sup = ba.Supervisor(clock=clock, workers=2, dead_letters=tally, mailbox_size=8)
    accepted: set[int] = set()
    rejected = 0
    async with sup:
        store = InMemoryStore() if with_store else None

        def factory(key: object, state: object = None) -> Keyed:
            return Keyed(key, state, handled=handled)

        router = ba.Router(
            sup, factory=factory, idle_timeout=1.0, max_active=4, store=store
        )
        for message in range(3000):
            key = f"key-{rng.randrange(12)}"
            try:
                router.tell(key, message)
            except ba.MailboxFull:
                rejected += 1
            else:
                accepted.add(message)
            roll = rng.random()
            if roll < 0.1:
                await clock.advance(rng.choice([0.0, 0.3, 1.5]))
        await clock.advance(5.0)
        sup.check_invariants()
        # Twelve keys through at most four active actors: many were passivated.
        assert sup.stats().stopped > 12
    assert_reconciled(sup, accepted, handled, tally, rejected)
    assert sup.stats().messages_handled > 0


async def test_publish_to_full_member_is_a_drop() -> None:
    """publish() counts a full member's copy once: as a dropped dead letter."""
    clock = FakeClock()
    tally = Tally()
    handled: Counter[object] = Counter()
    sup = ba.Supervisor(clock=clock, dead_letters=tally, mailbox_size=1)
    async with sup:
        busy = sup.spawn(Flaky, handled, 0)
        idle = sup.spawn(Flaky, handled, 0)
        busy.join(sup.registry, "room")
        idle.join(sup.registry, "room")
        busy.tell(1)  # fills the mailbox until the next turn
        assert ba.publish(sup.registry, "room", 2) == 1
        await clock.advance(0)
        stats = sup.stats()
        assert stats.mailbox_rejected == 0
        assert stats.mailbox_dropped == 1
        assert stats.dead_letters_by_reason == {"mailbox_full": 1}
    assert sum(handled.values()) == 2
    assert tally.messages == [2]
