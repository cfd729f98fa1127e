"""Asks that time out or whose caller is cancelled leave nothing behind."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import boundedactors as ba
from boundedactors.testing import FakeClock

from .conftest import count_futures, describe_futures, other_tasks

ASKS = 100_000
BATCH = 10_000


class Gate(ba.Actor):
    """Blocks every message until ``gate`` is set, then echoes it."""

    def __init__(self, gate: asyncio.Event) -> None:
        self.gate = gate
        self.handled = 0

    async def receive(self, message: Any) -> Any:
        await self.gate.wait()
        self.handled += 1
        return message


def assert_clean(ref: ba.ActorRef, clock: FakeClock) -> None:
    assert ref.mailbox_len == 0
    assert ref._mailbox is None, "idle actor kept its mailbox"
    assert ref._extra is None, "idle actor kept its Extra"
    assert clock.pending == 0, f"{clock.pending} timers left"
    # Cancelled timers are dropped in batches, so a few may remain.
    assert len(clock._timers) < 128, f"{len(clock._timers)} cancelled timers kept"


async def ask_quietly(ref: ba.ActorRef, message: int, timeout: float | None) -> str:
    try:
        await ref.ask(message, timeout=timeout)
    except ba.AskTimeout:
        return "timeout"
    except asyncio.CancelledError:
        return "cancelled"
    return "reply"


async def run_asks(
    sup: ba.Supervisor,
    clock: FakeClock,
    gate: asyncio.Event,
    *,
    cancel: bool,
    asks: int,
) -> None:
    await clock.advance(0)  # the workers start and wait on their idle futures
    futures_before = count_futures()
    tasks_before = other_tasks()
    ref = sup.spawn(Gate, gate)
    ref.tell(-1)  # holds the actor at the gate while asks pile up
    await clock.advance(0)
    outcomes: dict[str, int] = {}
    for start in range(0, asks, BATCH):
        timeout = None if cancel else 1.0
        tasks = [
            asyncio.ensure_future(ask_quietly(ref, i, timeout))
            for i in range(start, start + BATCH)
        ]
        await clock.advance(0)
        if cancel:
            for task in tasks:
                task.cancel()
        else:
            await clock.advance(1.0)
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            key = "cancelled" if isinstance(result, BaseException) else result
            outcomes[key] = outcomes.get(key, 0) + 1
        assert clock.pending == 0
    expected = "cancelled" if cancel else "timeout"
    assert outcomes == {expected: asks}
    # The messages stay queued and are still handled once the actor can.
    assert ref.mailbox_len == asks
    gate.set()
    await clock.advance(0)
    actor = ref.actor
    assert isinstance(actor, Gate)
    assert actor.handled == asks + 1
    assert_clean(ref, clock)
    await ref.stop()
    del tasks, actor, ref
    assert other_tasks() == tasks_before
    leftover = count_futures() - futures_before
    assert leftover <= 0, describe_futures()


@pytest.mark.parametrize("cancel", [False, True], ids=["timeout", "cancelled"])
async def test_many_abandoned_asks_leave_nothing(cancel: bool) -> None:
    """100,000 asks that time out or are cancelled leave no trace once handled."""
    clock = FakeClock()
    sup = ba.Supervisor(clock=clock, mailbox_size=None, workers=2)
    async with sup:
        await run_asks(sup, clock, asyncio.Event(), cancel=cancel, asks=ASKS)
        stats = sup.stats()
        assert stats.messages_handled == ASKS + 1
        assert stats.dead_letters == 0


async def test_answered_asks_leave_no_timers() -> None:
    """Timers of asks answered in time are cancelled and dropped, not kept."""
    clock = FakeClock()
    sup = ba.Supervisor(clock=clock, workers=2)
    gate = asyncio.Event()
    gate.set()
    async with sup:
        ref = sup.spawn(Gate, gate)
        for i in range(BATCH):
            assert await ref.ask(i, timeout=30.0) == i
        assert clock.pending == 0
        assert len(clock._timers) < 100, f"{len(clock._timers)} dead timers kept"
        assert_clean(ref, clock)


async def test_cancelled_senders_leave_no_waiters() -> None:
    """send() callers cancelled while waiting for room leave no waiter behind."""
    clock = FakeClock()
    tasks_before = other_tasks()
    sup = ba.Supervisor(clock=clock, mailbox_size=4, workers=1)
    gate = asyncio.Event()
    async with sup:
        ref = sup.spawn(Gate, gate)
        ref.tell(0)
        await clock.advance(0)
        for i in range(1, 5):  # one in the handler, four queued: the mailbox is full
            ref.tell(i)
        senders = [asyncio.ensure_future(ref.send(i)) for i in range(BATCH)]
        timed = [asyncio.ensure_future(ref.send(i, timeout=2.0)) for i in range(100)]
        await clock.advance(0)
        assert ref._extra is not None
        assert ref._extra.send_waiters is not None
        assert len(ref._extra.send_waiters) == BATCH + 100
        for task in senders:
            task.cancel()
        await clock.advance(2.0)
        results = await asyncio.gather(*senders, *timed, return_exceptions=True)
        assert sum(isinstance(r, asyncio.CancelledError) for r in results) == BATCH
        assert sum(isinstance(r, ba.MailboxFull) for r in results) == 100
        assert not ref._extra.send_waiters
        gate.set()
        await clock.advance(0)
        assert_clean(ref, clock)
        assert sup.stats().messages_handled == 5
    assert other_tasks() == tasks_before


async def test_cancelled_wakeup_passes_room_on() -> None:
    """A sender cancelled just after it was woken hands the room to the next."""
    clock = FakeClock()
    sup = ba.Supervisor(clock=clock, mailbox_size=1, workers=1)
    gate = asyncio.Event()
    async with sup:
        ref = sup.spawn(Gate, gate)
        ref.tell(0)
        await clock.advance(0)
        ref.tell(1)
        first = asyncio.ensure_future(ref.send(2))
        second = asyncio.ensure_future(ref.send(3))
        await clock.advance(0)
        gate.set()
        await asyncio.sleep(0)
        first.cancel()
        await clock.advance(0)
        assert second.done()
        assert second.exception() is None
        actor = ref.actor
        assert isinstance(actor, Gate)
        handled = actor.handled
        assert handled in (3, 4)
        assert_clean(ref, clock)
