"""Logging under flood: a bounded number of lines, each carrying counts."""

from __future__ import annotations

import contextlib
import logging
import re
from collections import Counter
from typing import Any

import pytest

import boundedactors as ba
from boundedactors.testing import FakeClock

SUMMARY = re.compile(r"^(?P<what>[\w ]+): (?P<total>\d+) since the last summary")
COUNT = re.compile(r"(\w+)=(\d+)")


class Sink(ba.Actor):
    async def receive(self, message: Any) -> Any:
        return None


class Lines(logging.Handler):
    """Keeps the formatted lines of the ``boundedactors`` logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def summarised(lines: list[str]) -> dict[str, Counter[str]]:
    """Add up the counts that summary lines carry, by kind and reason."""
    totals: dict[str, Counter[str]] = {}
    for line in lines:
        match = SUMMARY.match(line)
        if match is None:
            continue
        counts = Counter(
            {reason: int(n) for reason, n in COUNT.findall(line.split("(", 1)[1])}
        )
        assert sum(counts.values()) == int(match["total"]), line
        totals.setdefault(match["what"], Counter()).update(counts)
    return totals


async def flood_and_count(events: int, windows: int) -> tuple[list[str], int]:
    """Make ``events`` rejections of each of three kinds over ``windows`` seconds."""
    log = logging.getLogger("boundedactors")
    handler = Lines()
    log.addHandler(handler)
    level = log.level
    log.setLevel(logging.INFO)
    clock = FakeClock()
    try:
        sup = ba.Supervisor(clock=clock, max_children=2, mailbox_size=1)
        async with sup:
            full = sup.spawn(Sink)
            dropping = sup.spawn(Sink, overflow="drop_newest")
            per_window = events // windows
            for _ in range(windows):
                # Each window starts with the mailboxes drained, so that the
                # first tell fills them and every later one is rejected.
                full.tell(0)
                dropping.tell(0)
                for _ in range(per_window):
                    with contextlib.suppress(ba.SpawnLimitExceeded):
                        sup.spawn(Sink)
                    with contextlib.suppress(ba.MailboxFull):
                        full.tell(1)
                    dropping.tell(1)
                await clock.advance(1.0)
            stats = sup.stats()
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
    assert stats.rejected == {"max_children": events}
    assert stats.mailbox_rejected == events
    assert stats.dead_letters_by_reason == {"mailbox_full": events}
    return handler.lines, windows


async def test_hundred_thousand_rejections_log_bounded() -> None:
    """100,000 rejections of each kind log a few lines whose counts add up."""
    events = 100_000
    lines, windows = await flood_and_count(events, windows=10)
    # One summary per kind per window, plus the supervisor's start and stop lines.
    assert len(lines) <= 2 * windows + 4, lines[:10]
    totals = summarised(lines)
    assert totals["rejected"] == Counter(max_children=events, mailbox_full=events)
    assert totals["dead letters"] == Counter(mailbox_full=events)


@pytest.mark.soak
async def test_million_rejections_log_bounded() -> None:
    """A million rejections of each kind log a few lines whose counts add up."""
    events = 1_000_000
    lines, windows = await flood_and_count(events, windows=20)
    assert len(lines) <= 2 * windows + 4
    totals = summarised(lines)
    assert totals["rejected"] == Counter(max_children=events, mailbox_full=events)
    assert totals["dead letters"] == Counter(mailbox_full=events)
