"""FakeClock: virtual time, deadline order, settling."""

from __future__ import annotations

import asyncio
import math
import threading

import pytest

from boundedactors.clock import Clock
from boundedactors.testing import FakeClock
from boundedactors.testing import clock as clock_module


def test_fake_clock_implements_clock() -> None:
    """A FakeClock passes the Clock protocol check that Supervisor makes."""
    assert isinstance(FakeClock(), Clock)


def test_fake_clock_start_time() -> None:
    assert FakeClock().now() == 0.0
    assert FakeClock(start=12.5).now() == 12.5


@pytest.mark.parametrize("start", [math.inf, -math.inf, math.nan])
def test_fake_clock_rejects_non_finite_start(start: float) -> None:
    with pytest.raises(ValueError, match="start must be a finite number"):
        FakeClock(start=start)


async def test_timers_fire_in_deadline_order() -> None:
    """Timers fire by deadline; equal deadlines fire in scheduling order."""
    clock = FakeClock()
    fired: list[tuple[str, float]] = []
    for name, when in [("c", 3.0), ("a", 1.0), ("b1", 2.0), ("b2", 2.0)]:
        clock.call_at(when, lambda name=name: fired.append((name, clock.now())))

    await clock.advance(10.0)

    assert fired == [("a", 1.0), ("b1", 2.0), ("b2", 2.0), ("c", 3.0)]
    assert clock.now() == 10.0


async def test_advance_fires_only_due_timers() -> None:
    clock = FakeClock()
    fired: list[float] = []
    clock.call_at(1.0, lambda: fired.append(1.0))
    clock.call_at(5.0, lambda: fired.append(5.0))

    await clock.advance(4.999)

    assert fired == [1.0]
    assert clock.pending == 1
    assert clock.next_deadline() == 5.0

    await clock.advance(0.001)

    assert fired == [1.0, 5.0]
    assert clock.pending == 0
    assert clock.next_deadline() is None


async def test_cancelled_timer_does_not_fire() -> None:
    clock = FakeClock()
    fired: list[int] = []
    timer = clock.call_at(1.0, lambda: fired.append(1))
    timer.cancel()

    await clock.advance(2.0)

    assert fired == []
    assert clock.pending == 0


async def test_timer_due_now_runs_without_advance() -> None:
    """A timer at or before now runs on the next loop pass, like loop.call_at."""
    clock = FakeClock(start=5.0)
    fired: list[str] = []
    clock.call_at(5.0, lambda: fired.append("now"))
    clock.call_at(1.0, lambda: fired.append("past"))

    await asyncio.sleep(0)

    assert fired == ["now", "past"]
    assert clock.now() == 5.0


async def test_sleep_wakes_at_virtual_deadline() -> None:
    clock = FakeClock()
    task = asyncio.create_task(clock.sleep(5.0))

    await clock.advance(4.9)
    assert not task.done()

    await clock.advance(0.1)
    assert task.done()
    assert clock.now() == 5.0


async def test_sleep_cancelled_leaves_no_timer() -> None:
    clock = FakeClock()
    task = asyncio.create_task(clock.sleep(5.0))
    await clock.settle()
    assert clock.pending == 1

    task.cancel()
    await clock.settle()

    assert clock.pending == 0


async def test_advance_runs_timers_scheduled_by_timers() -> None:
    """Work started by a timer may schedule more timers inside the same window."""
    clock = FakeClock()
    woke: list[float] = []

    async def chain() -> None:
        for _ in range(3):
            await clock.sleep(1.0)
            woke.append(clock.now())

    task = asyncio.create_task(chain())

    await clock.advance(2.5)
    assert woke == [1.0, 2.0]

    await clock.advance(0.5)
    assert woke == [1.0, 2.0, 3.0]
    assert task.done()


async def test_advance_waits_for_work_after_timer() -> None:
    """advance returns only after the work a timer caused has run."""
    clock = FakeClock()
    steps: list[str] = []

    async def worker() -> None:
        await clock.sleep(1.0)
        for index in range(50):
            await asyncio.sleep(0)
            steps.append(f"step {index}")

    task = asyncio.create_task(worker())
    await clock.advance(1.0)

    assert len(steps) == 50
    assert task.done()


async def test_advance_to_moves_to_absolute_time() -> None:
    clock = FakeClock(start=10.0)
    fired: list[float] = []
    clock.call_at(12.0, lambda: fired.append(clock.now()))

    await clock.advance_to(15.0)

    assert fired == [12.0]
    assert clock.now() == 15.0
    with pytest.raises(ValueError, match="when must be a finite time"):
        await clock.advance_to(14.0)


async def test_advance_until_stops_when_condition_holds() -> None:
    clock = FakeClock()
    done: list[float] = []
    clock.call_at(2.0, lambda: done.append(2.0))
    clock.call_at(3.0, lambda: done.append(3.0))

    reached = await clock.advance_until(lambda: bool(done), timeout=10.0)

    assert reached
    assert clock.now() == 2.0
    assert done == [2.0]


async def test_advance_until_times_out() -> None:
    clock = FakeClock()

    reached = await clock.advance_until(lambda: False, timeout=4.0)

    assert not reached
    assert clock.now() == 4.0


@pytest.mark.parametrize("seconds", [-1.0, math.inf, math.nan])
async def test_advance_rejects_bad_seconds(seconds: float) -> None:
    with pytest.raises(ValueError, match="seconds must be a finite number >= 0"):
        await FakeClock().advance(seconds)


async def test_advance_rejects_concurrent_advance() -> None:
    clock = FakeClock()
    first_started = asyncio.Event()

    def block() -> None:
        first_started.set()

    clock.call_at(1.0, block)

    async def spinner() -> None:
        # Keeps the first advance settling until the second one has tried.
        while not second_failed.done():
            await asyncio.sleep(0)

    second_failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    spin = asyncio.create_task(spinner())
    first = asyncio.create_task(clock.advance(2.0))
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="already running"):
        await clock.advance(1.0)
    second_failed.set_result(None)
    await first
    await spin
    assert first_started.is_set()


async def test_settle_reports_a_task_that_never_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(clock_module, "_MAX_SETTLE_ROUNDS", 200)
    clock = FakeClock()
    stop = False

    async def spin() -> None:
        while not stop:
            await asyncio.sleep(0)

    task = asyncio.create_task(spin())
    with pytest.raises(RuntimeError, match="did not settle within 200 passes"):
        await clock.settle()
    stop = True
    await task


async def test_settle_waits_for_executor_calls() -> None:
    """Work in a thread finishes without virtual time, so settle waits for it."""
    clock = FakeClock()
    await clock.settle()  # starts tracking this loop's executor calls
    started = threading.Event()
    release = threading.Event()
    results: list[str] = []

    def blocking() -> str:
        started.set()
        release.wait(timeout=10.0)
        return "done"

    async def caller() -> None:
        results.append(await asyncio.to_thread(blocking))

    task = asyncio.create_task(caller())
    await asyncio.sleep(0)
    await asyncio.to_thread(started.wait, 10.0)
    threading.Timer(0.0, release.set).start()

    await clock.settle()

    assert results == ["done"]
    assert task.done()
