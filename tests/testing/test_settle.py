"""Settling: Supervisor.settle, FakeClock.settle and settle(sup)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import boundedactors as ba
from boundedactors.testing import FakeClock, settle


class Relay(ba.Actor[int, None]):
    """Passes each number on to the next actor until it reaches zero."""

    def __init__(self, log: list[int]) -> None:
        self.log = log
        self.next: ba.ActorRef[Any, Any] | None = None

    async def receive(self, message: int) -> None:
        self.log.append(message)
        if message > 0 and self.next is not None:
            self.next.tell(message - 1)


class Napper(ba.Actor[float, str]):
    """Sleeps on its supervisor's clock for the number of seconds it is sent."""

    def __init__(self, clock: ba.Clock) -> None:
        self.clock = clock

    async def receive(self, message: float) -> str:
        await self.clock.sleep(message)
        return "awake"


def relay_pair(sup: ba.Supervisor, log: list[int]) -> ba.ActorRef[Any, Any]:
    first = sup.spawn(Relay, log)
    second = sup.spawn(Relay, log)
    assert isinstance(first.actor, Relay)
    assert isinstance(second.actor, Relay)
    first.actor.next = second
    second.actor.next = first
    return first


@pytest.mark.parametrize("clock", [None, FakeClock()], ids=["loop", "fake"])
async def test_settle_waits_for_chained_messages(clock: FakeClock | None) -> None:
    """Messages that actors send each other are all handled before settle returns."""
    log: list[int] = []
    async with ba.Supervisor(clock=clock) as sup:
        relay_pair(sup, log).tell(200)

        await settle(sup)

        assert log == list(range(200, -1, -1))


async def test_supervisor_settle_on_real_clock() -> None:
    log: list[int] = []
    async with ba.Supervisor() as sup:
        relay_pair(sup, log).tell(50)

        await sup.settle()

        assert len(log) == 51


async def test_settle_returns_while_handler_sleeps_virtually() -> None:
    """With a fake clock, a handler waiting for virtual time does not block settle."""
    clock = FakeClock()
    async with ba.Supervisor(clock=clock) as sup:
        ref = sup.spawn(Napper, sup.clock)
        reply = asyncio.create_task(ref.ask(10.0))

        await settle(sup)
        assert not reply.done()
        assert clock.next_deadline() == 10.0

        await clock.advance(10.0)
        assert reply.result() == "awake"


async def test_supervisor_settle_waits_for_sleeping_handler() -> None:
    """Supervisor.settle counts a handler asleep on the clock as work in flight."""
    clock = FakeClock()
    async with ba.Supervisor(clock=clock) as sup:
        ref = sup.spawn(Napper, sup.clock)
        reply = asyncio.create_task(ref.ask(10.0))
        settling = asyncio.create_task(sup.settle())

        await clock.advance(9.5)
        assert not settling.done()

        await clock.advance(0.5)
        assert settling.done()
        assert reply.result() == "awake"
