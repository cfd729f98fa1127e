"""Every timer of a supervisor and what hangs off it runs on its FakeClock.

The ``real_timers`` fixture records every timer scheduled on the event loop itself
with a delay above zero; each test asserts that none was, so a timer that still
reads real time fails here even when the test would pass by waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar

import pytest

import boundedactors as ba
from boundedactors.testing import FakeClock, InMemoryStore


@pytest.fixture
async def real_timers() -> AsyncIterator[list[float]]:
    """Record the delays of timers scheduled on the running event loop."""
    loop = asyncio.get_running_loop()
    original = loop.call_at
    delays: list[float] = []

    def recording_call_at(
        when: float, callback: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> asyncio.TimerHandle:
        delay = when - loop.time()
        if delay > 0:
            delays.append(delay)
        return original(when, callback, *args, **kwargs)

    loop.call_at = recording_call_at  # type: ignore[method-assign]
    try:
        yield delays
    finally:
        del loop.call_at


class Blocker(ba.Actor[Any, Any]):
    """Handles each message by waiting for the event given at construction."""

    def __init__(self, release: asyncio.Event) -> None:
        self.release = release

    async def receive(self, message: Any) -> Any:
        await self.release.wait()
        return message


class Crasher(ba.Actor[Any, Any]):
    starts = 0

    async def on_start(self) -> None:
        Crasher.starts += 1

    async def receive(self, message: Any) -> Any:
        raise RuntimeError(f"crash on {message!r}")


async def test_spawn_bucket_refills_only_by_advance(real_timers: list[float]) -> None:
    clock = FakeClock()
    async with ba.Supervisor(clock=clock, spawn_rate=1.0, spawn_burst=2) as sup:
        sup.spawn(ba.Actor)
        sup.spawn(ba.Actor)
        with pytest.raises(ba.SpawnLimitExceeded) as rejected:
            sup.spawn(ba.Actor)
        assert rejected.value.reason == "spawn_rate"
        assert rejected.value.retry_after == pytest.approx(1.0)

        await clock.advance(0.75)
        with pytest.raises(ba.SpawnLimitExceeded) as still_rejected:
            sup.spawn(ba.Actor)
        assert still_rejected.value.retry_after == pytest.approx(0.25)

        await clock.advance(0.25)
        sup.spawn(ba.Actor)
        assert len(sup) == 3
    assert real_timers == []


async def test_ask_times_out_in_virtual_time(real_timers: list[float]) -> None:
    clock = FakeClock()
    release = asyncio.Event()
    async with ba.Supervisor(clock=clock) as sup:
        ref = sup.spawn(Blocker, release, name="slow")
        ask = asyncio.create_task(ref.ask("ping", timeout=30.0))
        await clock.settle()
        assert clock.next_deadline() == 30.0

        await clock.advance(29.75)
        assert not ask.done()

        await clock.advance(0.25)
        assert ask.done()
        with pytest.raises(ba.AskTimeout) as timed_out:
            ask.result()
        assert timed_out.value.timeout == 30.0
        release.set()
    assert real_timers == []


async def test_send_times_out_in_virtual_time(real_timers: list[float]) -> None:
    clock = FakeClock()
    release = asyncio.Event()
    async with ba.Supervisor(clock=clock, mailbox_size=1) as sup:
        ref = sup.spawn(Blocker, release)
        ref.tell("being handled")
        await clock.settle()
        ref.tell("queued")
        send = asyncio.create_task(ref.send("waits for room", timeout=10.0))

        await clock.advance(9.75)
        assert not send.done()

        await clock.advance(0.25)
        with pytest.raises(ba.MailboxFull):
            send.result()
        release.set()
    assert real_timers == []


async def test_restart_backoff_in_virtual_time(real_timers: list[float]) -> None:
    clock = FakeClock()
    Crasher.starts = 0
    async with ba.Supervisor(
        clock=clock, restart_backoff=2.0, restart_jitter=0.0, max_restarts=10
    ) as sup:
        ref = sup.spawn(Crasher)
        await clock.settle()
        assert Crasher.starts == 1

        ref.tell("boom")
        await clock.settle()
        assert clock.next_deadline() == 2.0

        await clock.advance(1.75)
        assert Crasher.starts == 1

        await clock.advance(0.25)
        assert Crasher.starts == 2

        ref.tell("boom again")
        await clock.settle()
        assert clock.next_deadline() == pytest.approx(2.0 + 4.0)
    assert real_timers == []


async def test_restart_intensity_counts_virtual_seconds(
    real_timers: list[float],
) -> None:
    """Crashes spread over more than max_seconds of virtual time are allowed."""
    clock = FakeClock()
    sup = ba.Supervisor(
        clock=clock, max_restarts=2, max_seconds=10.0, restart_backoff=0.0
    )
    async with sup:
        ref = sup.spawn(Crasher)
        for _ in range(4):
            ref.tell("boom")
            await clock.advance(6.0)
        assert sup.failure is None
        assert sup.stats().restarts == 4
    assert real_timers == []


async def test_restart_intensity_fails_within_window(
    real_timers: list[float],
) -> None:
    """Three crashes within max_seconds of virtual time exceed max_restarts=2."""
    clock = FakeClock()
    sup = ba.Supervisor(
        clock=clock, max_restarts=2, max_seconds=10.0, restart_backoff=0.0
    )
    with pytest.raises(ba.RestartIntensityExceeded) as failed:
        async with sup:
            ref = sup.spawn(Crasher)
            for _ in range(2):
                ref.tell("boom")
                await clock.advance(4.75)
            assert sup.failure is None
            ref.tell("boom")
            await clock.advance(0.25)
            assert sup.failure is not None
    assert failed.value.limit == 2
    assert real_timers == []


class SlowStop(ba.Actor[Any, Any]):
    stopped_with: ClassVar[list[object]] = []

    def __init__(self, release: asyncio.Event) -> None:
        self.release = release

    async def receive(self, message: Any) -> Any:
        return message

    async def on_stop(self, reason: object) -> None:
        await self.release.wait()
        SlowStop.stopped_with.append(reason)


async def test_on_stop_times_out_in_virtual_time(real_timers: list[float]) -> None:
    clock = FakeClock()
    release = asyncio.Event()
    async with ba.Supervisor(clock=clock, stop_timeout=5.0) as sup:
        ref = sup.spawn(SlowStop, release)
        await ref.ask("started")
        stop = asyncio.create_task(ref.stop())

        await clock.advance(4.75)
        assert not stop.done()

        await clock.advance(0.25)
        assert stop.done()
        assert not ref.is_alive
    assert SlowStop.stopped_with == []
    assert real_timers == []


async def test_rejection_log_window_in_virtual_time(
    real_timers: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    """Rejections are summarised once per one-second window of virtual time."""
    clock = FakeClock()
    caplog.set_level(logging.WARNING, logger="boundedactors")
    async with ba.Supervisor(clock=clock, max_children=1) as sup:
        sup.spawn(ba.Actor)
        for _ in range(3):
            with pytest.raises(ba.SpawnLimitExceeded):
                sup.spawn(ba.Actor)
        await clock.advance(0.75)
        assert "rejected" not in caplog.text

        await clock.advance(0.25)
        assert "rejected: 3 since the last summary" in caplog.text
        assert "max_children=3" in caplog.text
    assert real_timers == []


class Room(ba.Actor[Any, Any]):
    def __init__(self, key: object, state: object = None) -> None:
        self.key = key

    async def receive(self, message: Any) -> Any:
        return message


async def test_idle_actor_passivated_at_deadline(real_timers: list[float]) -> None:
    """Router idle passivation and its store retries run on the fake clock."""
    clock = FakeClock()
    store = InMemoryStore(clock=clock, save_latency=0.5)
    store.fail_next_saves(1)
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(sup, factory=Room, idle_timeout=30.0, store=store)
        await router.ask("room", "hello")
        await clock.advance(20.0)
        await router.ask("room", "keep alive")

        await clock.advance(29.75)
        assert router.lookup("room") is not None
        assert store.saves == 0

        await clock.advance(0.25)
        assert router.lookup("room") is None
        assert store.saves == 1

        assert await clock.advance_until(lambda: "room" in store, timeout=60.0)
        assert router.stats().passivations == {"idle": 1}
    assert real_timers == []


async def test_real_timer_guard_sees_loop_timers(real_timers: list[float]) -> None:
    """The guard used above records a timer on the real event loop."""
    await asyncio.sleep(0.001)  # a real timer, which the guard must record

    assert len(real_timers) == 1
