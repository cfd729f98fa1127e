"""Exact accounting: every accepted message is handled or a dead letter."""

from __future__ import annotations

import asyncio
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
