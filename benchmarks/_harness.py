"""Shared pieces of the benchmarks: the actor they all use, timing and rows."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from boundedactors import Actor

Row = dict[str, Any]


class Room(Actor[Any, int]):
    """The user's object in every scenario: a key and a counter, nothing more."""

    __slots__ = ("count", "key")

    def __init__(self, key: object) -> None:
        self.key = key
        self.count = 0

    async def receive(self, message: Any) -> int:
        self.count += 1
        return self.count


def clock() -> float:
    """Return the CPU time of this process, in seconds.

    Single-threaded scenarios are timed in CPU time rather than wall time, so
    that time other programs take on a shared machine does not count. Wall
    time is used where threads hand work to each other (pykka).
    """
    return time.process_time()


def best(measure: Callable[[], float], repeats: int) -> float:
    """Call ``measure`` ``repeats`` times and return the smallest result.

    On a shared machine the minimum is the run least disturbed by other load.
    """
    return min(measure() for _ in range(repeats))


def median(values: list[float]) -> float:
    """Return the median of ``values``."""
    return float(statistics.median(values))


def ratio(value: float | None, baseline: float | None) -> float | None:
    """Return ``value / baseline``, or ``None`` when either is missing or zero."""
    if value is None or baseline is None or baseline == 0:
        return None
    return value / baseline


def row(
    measure: str,
    value: float | None,
    unit: str,
    baseline: str | None = None,
    baseline_value: float | None = None,
    *,
    higher_is_better: bool = False,
) -> Row:
    """Return one line of the results table.

    ``ratio`` is always ``value / baseline_value``; ``higher_is_better`` only tells
    the reader which direction is good (throughput rather than time).
    """
    return {
        "measure": measure,
        "value": value,
        "unit": unit,
        "baseline": baseline,
        "baseline_value": baseline_value,
        "ratio": ratio(value, baseline_value),
        "higher_is_better": higher_is_better,
    }


def machine() -> dict[str, Any]:
    """Describe the machine and interpreter that produced the figures."""
    model = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "memory_bytes": memory,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }
