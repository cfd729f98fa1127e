"""Helpers shared by the reliability tests: message tallies and leak checks."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

import boundedactors as ba


class Tally:
    """Counts dead letters by reason, as a ``dead_letters=`` hook."""

    def __init__(self) -> None:
        self.by_reason: Counter[str] = Counter()
        self.messages: list[object] = []

    def __call__(self, letter: ba.DeadLetter) -> None:
        self.by_reason[letter.reason] += 1
        self.messages.append(letter.message)

    @property
    def total(self) -> int:
        return sum(self.by_reason.values())


class Recorder(ba.Actor):
    """Counts each message it handles in a shared counter, keyed by message."""

    def __init__(self, handled: Counter[object]) -> None:
        self.handled = handled

    async def receive(self, message: Any) -> Any:
        self.handled[message] += 1
        return message


def other_tasks() -> set[asyncio.Task[Any]]:
    """Return the tasks on the loop other than the current one."""
    return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[arg-type]


def count_futures() -> int:
    """Return the number of live ``asyncio.Future`` objects (tasks excluded)."""
    gc.collect()
    return sum(
        1
        for obj in gc.get_objects()
        if isinstance(obj, asyncio.Future) and not isinstance(obj, asyncio.Task)
    )


def describe_futures() -> list[str]:
    """Return the repr of each live ``asyncio.Future`` (tasks excluded)."""
    gc.collect()
    return [
        repr(obj)[:200]
        for obj in gc.get_objects()
        if isinstance(obj, asyncio.Future) and not isinstance(obj, asyncio.Task)
    ]


@pytest.fixture
def quiet_logs() -> Iterator[None]:
    """Silence the library's logger for tests that crash actors on purpose."""
    log = logging.getLogger("boundedactors")
    level = log.level
    log.setLevel(logging.CRITICAL + 1)
    yield
    log.setLevel(level)
