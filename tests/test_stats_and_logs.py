"""Tests of stats() snapshots and of logging through the "boundedactors" logger."""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any

import attrs
import pytest

import boundedactors as ba
from boundedactors.testing import FakeClock


class Echo(ba.Actor):
    """Returns each message and raises on "boom"."""

    def __init__(self, *args: object) -> None:
        self.args = args

    async def receive(self, message: Any) -> Any:
        if message == "boom":
            raise ValueError("boom in receive")
        return message


def library_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "boundedactors"]


async def test_stats_snapshot_counts() -> None:
    """stats() returns a frozen snapshot of every counter."""
    symbols = ba.SymbolTable(limit=10)
    symbols.intern("a")
    clock = FakeClock()
    async with ba.Supervisor(
        max_children=3,
        mailbox_size=1,
        overflow="drop_newest",
        restart_backoff=0.0,
        symbols=symbols,
        clock=clock,
    ) as sup:
        first = sup.spawn(Echo)
        second = sup.spawn(Echo)
        sup.spawn(Echo)
        with pytest.raises(ba.SpawnLimitExceeded):
            sup.spawn(Echo)
        await first.ask("x")
        first.tell("boom")
        await sup.settle()
        second.tell("a")
        second.tell("dropped")
        await sup.settle()
        await second.stop()
        snapshot = sup.stats()
        assert snapshot == ba.Stats(
            live_actors=2,
            spawned=3,
            stopped=1,
            rejected={"max_children": 1},
            crashes=1,
            restarts=1,
            messages_handled=3,
            mailbox_rejected=0,
            mailbox_dropped=1,
            dead_letters=1,
            dead_letters_by_reason={"mailbox_full": 1},
            symbols_used=1,
            symbols_limit=10,
        )
        assert snapshot.rejected_total == 1
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            snapshot.spawned = 0  # type: ignore[misc]
        sup.spawn(Echo)
        assert snapshot.spawned == 3
        assert sup.stats().spawned == 4


async def test_stats_include_nested_supervisors() -> None:
    """A parent's stats add up the counters of its nested supervisors."""
    async with ba.Supervisor(clock=FakeClock()) as root:
        nested = root.supervisor()
        deeper = nested.supervisor()
        root.spawn(Echo)
        nested.spawn(Echo)
        ref = deeper.spawn(Echo)
        await ref.ask("x")
        stats = root.stats()
        assert stats.live_actors == 3
        assert stats.spawned == 3
        assert stats.messages_handled == 1
        assert nested.stats().live_actors == 2
        assert deeper.stats().spawned == 1


async def test_crash_logged_with_key_and_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A crash logs one ERROR line naming the actor, with the traceback."""
    async with ba.Supervisor(restart_backoff=0.0, clock=FakeClock()) as sup:
        ref = sup.spawn(Echo, name="cart-42")
        with caplog.at_level(logging.INFO, logger="boundedactors"):
            ref.tell("boom")
            await sup.settle()
    crash = [r for r in library_records(caplog) if r.levelno == logging.ERROR]
    assert len(crash) == 1
    assert "'cart-42'" in crash[0].getMessage()
    assert crash[0].exc_info is not None
    assert crash[0].exc_info[0] is ValueError
    restart = [r for r in library_records(caplog) if "restarting" in r.getMessage()]
    assert len(restart) == 1
    assert "'cart-42'" in restart[0].getMessage()


async def test_rejection_flood_logs_bounded_summaries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """100,000 rejected spawns log a few summary lines whose counts add up."""
    clock = FakeClock()
    async with ba.Supervisor(max_children=1, clock=clock) as sup:
        sup.spawn(Echo)
        with caplog.at_level(logging.DEBUG, logger="boundedactors"):
            for _ in range(4):
                for _ in range(25_000):
                    with contextlib.suppress(ba.SpawnLimitExceeded):
                        sup.spawn(Echo)
                await clock.advance(1.0)
            lines = [
                r.getMessage()
                for r in library_records(caplog)
                if r.getMessage().startswith("rejected")
            ]
    assert 1 <= len(lines) <= 10
    counted = sum(
        int(m) for line in lines for m in re.findall(r"max_children=(\d+)", line)
    )
    assert counted == 100_000
    assert sup.stats().rejected == {"max_children": 100_000}


async def test_crash_flood_logs_bounded_lines(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Thousands of crashes log a bounded number of full lines plus summaries."""
    clock = FakeClock()
    async with ba.Supervisor(
        restart_backoff=0.0, max_restarts=100_000, clock=clock
    ) as sup:
        ref = sup.spawn(Echo)
        with caplog.at_level(logging.INFO, logger="boundedactors"):
            for _ in range(4):
                for _ in range(500):
                    ref.tell("boom")
                await sup.settle()
            await clock.advance(1.0)
        records = library_records(caplog)
    assert sup.stats().crashes == 2000
    assert len(records) < 50
    summaries = [
        r.getMessage() for r in records if "since the last summary" in r.getMessage()
    ]
    assert summaries
    assert any("ValueError=" in line for line in summaries)


async def test_dead_letter_flood_summarised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Dead letters are counted exactly and logged only as summaries."""
    clock = FakeClock()
    seen: list[ba.DeadLetter] = []
    async with ba.Supervisor(dead_letters=seen.append, clock=clock) as sup:
        ref = sup.spawn(Echo, name="gone")
        await ref.stop()
        with caplog.at_level(logging.INFO, logger="boundedactors"):
            for number in range(10_000):
                ref.tell(number)
            await clock.advance(1.0)
        lines = [r.getMessage() for r in library_records(caplog)]
    assert len(seen) == 10_000
    assert sup.stats().dead_letters == 10_000
    dead = [line for line in lines if line.startswith("dead letters")]
    assert len(dead) == 1
    assert "stopped=10000" in dead[0]


async def test_hook_error_does_not_lose_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A dead-letter hook that raises is logged; the letter is still counted."""

    def broken(letter: ba.DeadLetter) -> None:
        raise RuntimeError("hook failed")

    async with ba.Supervisor(dead_letters=broken, clock=FakeClock()) as sup:
        router = ba.Router(sup)
        with caplog.at_level(logging.ERROR, logger="boundedactors"):
            router.tell("missing", "x")
        assert sup.stats().dead_letters == 1
    assert any("dead_letters hook raised" in r.getMessage() for r in caplog.records)


async def test_actor_start_and_stop_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Actor starts and stops are logged at DEBUG with the actor's name."""
    async with ba.Supervisor(name="web", clock=FakeClock()) as sup:
        with caplog.at_level(logging.DEBUG, logger="boundedactors"):
            ref = sup.spawn(Echo, name="device-3")
            await ref.stop()
    messages = [r.getMessage() for r in library_records(caplog)]
    assert "actor 'device-3' started under supervisor 'web'" in messages
    assert any(m.startswith("actor 'device-3' stopped") for m in messages)
