"""Crash loops: restart intensity and backoff contain them, and nothing leaks."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

import boundedactors as ba
from boundedactors.testing import FakeClock

from .conftest import Recorder, Tally, other_tasks

pytestmark = pytest.mark.usefixtures("quiet_logs")


class FailsEveryMessage(ba.Actor):
    async def receive(self, message: Any) -> Any:
        raise RuntimeError(f"cannot handle {message!r}")


class FailsOnStart(ba.Actor):
    starts = 0

    async def on_start(self) -> None:
        type(self).starts += 1
        raise ConnectionError("backend is down")

    async def receive(self, message: Any) -> Any:
        return message


class HangsOnStop(ba.Actor):
    async def receive(self, message: Any) -> Any:
        return message

    async def on_stop(self, reason: object) -> None:
        await asyncio.Event().wait()


class CancelsInOnStart(ba.Actor):
    async def on_start(self) -> None:
        raise asyncio.CancelledError

    async def receive(self, message: Any) -> Any:
        return message


class CancelsInOnStop(ba.Actor):
    async def receive(self, message: Any) -> Any:
        raise StopIteration_()

    async def on_stop(self, reason: object) -> None:
        raise asyncio.CancelledError


class StopIteration_(Exception):
    """A plain error with a distinctive name."""


def workers_alive(sup: ba.Supervisor) -> list[bool]:
    return [
        worker.task is not None and not worker.task.done()
        for worker in sup._runtime._workers
    ]


async def test_failing_message_loop_trips_intensity() -> None:
    """An actor failing on every message stops its nested supervisor, only."""
    before = other_tasks()
    clock = FakeClock()
    tally = Tally()
    handled: Counter[object] = Counter()
    root = ba.Supervisor(clock=clock, workers=2, seed=1, dead_letters=tally)
    async with root:
        sibling = root.spawn(Recorder, handled)
        other = root.supervisor(name="other")
        cousin = other.spawn(Recorder, handled)
        loop_sup = root.supervisor(
            name="looping", max_restarts=3, max_seconds=5.0, restart_backoff=0.01
        )
        looper = loop_sup.spawn(FailsEveryMessage)
        for i in range(20):
            looper.tell(i)
        for _ in range(10):
            await clock.advance(0.1)
        assert loop_sup.failure is not None
        assert isinstance(loop_sup.failure, ba.RestartIntensityExceeded)
        assert loop_sup.failure.limit == 3
        assert not looper.is_alive
        assert other.is_running
        assert root.is_running
        assert await sibling.ask("ping") == "ping"
        assert await cousin.ask("pong") == "pong"
        assert workers_alive(root) == [True, True]
        stats = root.stats()
        # Four crashes: three restarts are allowed, the fourth trips the limit.
        assert stats.crashes >= 4
        assert stats.restarts == 3
        assert stats.messages_handled + stats.dead_letters == 20 + 2
        root.check_invariants()
    assert other_tasks() == before


async def test_on_start_failure_backs_off() -> None:
    """Restarts of an actor failing in on_start wait longer each time."""
    clock = FakeClock()
    FailsOnStart.starts = 0
    sup = ba.Supervisor(
        clock=clock,
        max_restarts=100,
        max_seconds=1.0,
        restart_backoff=1.0,
        restart_backoff_max=8.0,
        restart_jitter=0.0,
    )
    async with sup:
        ref = sup.spawn(FailsOnStart)
        await clock.advance(0)
        assert FailsOnStart.starts == 1
        # Delays are 1, 2, 4, 8, 8, ... seconds of virtual time.
        expected = 1
        for delay in (1.0, 2.0, 4.0, 8.0, 8.0):
            await clock.advance(delay - 0.001)
            assert FailsOnStart.starts == expected
            await clock.advance(0.001)
            expected += 1
            assert FailsOnStart.starts == expected
        assert sup.is_running
        assert ref.is_alive
        await ref.stop()
        assert not ref.is_alive
        sup.check_invariants()


async def test_restarts_for_hours_keep_workers() -> None:
    """A thousand restarts in a row do not overflow the backoff and kill a worker."""
    clock = FakeClock()
    sup = ba.Supervisor(
        clock=clock,
        workers=2,
        max_restarts=10,
        max_seconds=1.0,
        restart_backoff=0.1,
        restart_backoff_max=10.0,
        seed=3,
    )
    async with sup:
        ref = sup.spawn(FailsOnStart)
        for _ in range(1100):
            await clock.advance(10.0)
        assert workers_alive(sup) == [True, True]
        assert ref.is_alive
        assert sup.stats().restarts >= 1100
        await ref.stop()
        sup.check_invariants()


async def test_on_stop_hang_is_cut_off() -> None:
    """stop() returns after stop_timeout even though on_stop never returns."""
    before = other_tasks()
    clock = FakeClock()
    async with ba.Supervisor(clock=clock, stop_timeout=2.0) as sup:
        ref = sup.spawn(HangsOnStop)
        assert await ref.ask("x") == "x"
        stopping = asyncio.ensure_future(ref.stop())
        await clock.advance(1.9)
        assert not stopping.done()
        await clock.advance(0.2)
        assert stopping.done()
        await stopping
        assert not ref.is_alive
        assert len(sup) == 0
        hanging = sup.spawn(HangsOnStop)
        hanging.tell("y")
        closing = asyncio.ensure_future(sup.aclose())
        await clock.advance(2.1)
        await closing
        assert not hanging.is_alive
    assert other_tasks() == before


async def test_cancelled_error_in_on_start_is_a_crash() -> None:
    """CancelledError raised by on_start crashes the actor, not the worker."""
    clock = FakeClock()
    sup = ba.Supervisor(clock=clock, workers=2, max_restarts=2, restart_backoff=0)
    with pytest.raises(ba.RestartIntensityExceeded):
        async with sup:
            ref = sup.spawn(CancelsInOnStart)
            ref.tell("lost")
            await clock.advance(0)
            assert workers_alive(sup) == [True, True]
            assert not ref.is_alive
            assert sup.failure is not None
            assert sup.stats().crashes == 3
            assert sup.stats().dead_letters_by_reason == {"stopped": 1}


async def test_cancelled_error_in_on_stop_is_logged() -> None:
    """CancelledError raised by on_stop does not take the worker down."""
    clock = FakeClock()
    sup = ba.Supervisor(clock=clock, workers=1, restart="temporary")
    async with sup:
        ref = sup.spawn(CancelsInOnStop)
        ref.tell("boom")
        await clock.advance(0)
        assert workers_alive(sup) == [True]
        assert not ref.is_alive
        helper = sup.spawn(Recorder, Counter())
        assert await helper.ask(1) == 1


class IgnoresCancelOnStop(ba.Actor):
    release: asyncio.Event

    async def receive(self, message: Any) -> Any:
        return message

    async def on_stop(self, reason: object) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await self.release.wait()


async def test_on_stop_ignoring_cancel_is_abandoned() -> None:
    """An on_stop that swallows cancellation holds stop() for two stop_timeouts."""
    before = other_tasks()
    clock = FakeClock()
    IgnoresCancelOnStop.release = asyncio.Event()
    async with ba.Supervisor(clock=clock, stop_timeout=2.0, workers=1) as sup:
        ref = sup.spawn(IgnoresCancelOnStop)
        assert await ref.ask("x") == "x"
        stopping = asyncio.ensure_future(ref.stop())
        await clock.advance(2.0)
        assert not stopping.done()
        await clock.advance(2.0)
        assert stopping.done()
        await stopping
        assert not ref.is_alive
        assert len(sup) == 0
        helper = sup.spawn(Recorder, Counter())
        assert await helper.ask(1) == 1
        IgnoresCancelOnStop.release.set()
        await clock.advance(0)
    assert other_tasks() == before


class Lifecycle(ba.Actor):
    """Records its on_start and on_stop calls in a shared list."""

    def __init__(self, events: list[str]) -> None:
        self.events = events

    async def on_start(self) -> None:
        self.events.append("start")

    async def on_stop(self, reason: object) -> None:
        self.events.append(f"stop:{reason}")

    async def receive(self, message: Any) -> Any:
        return message


async def test_one_for_all_skips_unstarted_sibling() -> None:
    """A sibling whose on_start has not run yet gets no on_stop on restart."""
    clock = FakeClock()
    events: list[str] = []
    sup = ba.Supervisor(
        clock=clock, strategy="one_for_all", workers=1, restart_backoff=0, seed=2
    )
    async with sup:
        crasher = sup.spawn(FailsEveryMessage)
        crasher.tell("boom")
        sibling = sup.spawn(Lifecycle, events)
        await clock.advance(0)
        assert events == ["start"]
        assert await sibling.ask("still here") == "still here"
        crasher.tell("again")
        await clock.advance(0)
        assert events == ["start", "stop:restart", "start"]
        await sibling.stop()
        assert events[-1] == "stop:stopped"
