"""Cost of calling actors from another thread through ``ThreadedRuntime``.

Every figure is microseconds per call made from the main thread to a runtime on
its own thread, one call at a time. The baseline is the floor for any such
call: a plain ``loop.call_soon_threadsafe`` round trip that sets a
``concurrent.futures.Future`` on the loop and waits for it.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from typing import Any

from boundedactors import ThreadedRuntime

from ._harness import Room, Row, best, row


class Tally:
    """The wrapped object of the proxy measures."""

    def __init__(self) -> None:
        self.total = 0

    def add(self, amount: int) -> int:
        self.total += amount
        return self.total


def _per_call(function: Callable[[], object], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        function()
    return (time.perf_counter() - start) / count * 1e6


def run(quick: bool) -> dict[str, Any]:
    """Measure each kind of call; return rows with ratios to the baseline."""
    count = 2_000 if quick else 20_000
    repeats = 3
    with ThreadedRuntime(name="bench") as runtime:
        loop = runtime.loop

        def round_trip() -> None:
            future: concurrent.futures.Future[None] = concurrent.futures.Future()
            loop.call_soon_threadsafe(future.set_result, None)
            future.result()

        ref = runtime.call(runtime.supervisor.spawn, Room, "bench")
        proxy = runtime.blocking(runtime.call(runtime.supervisor.spawn_object, Tally()))
        measures: dict[str, Callable[[], object]] = {
            "runtime.call (no-op)": lambda: runtime.call(int),
            "runtime.tell": lambda: runtime.tell(ref, "x"),
            "runtime.ask": lambda: runtime.ask(ref, "x", timeout=10.0),
            "blocking proxy call": lambda: proxy.add(1),
        }
        baseline = best(lambda: _per_call(round_trip, count), repeats)
        rows: list[Row] = [row("call_soon_threadsafe round trip", baseline, "us")]
        for name, function in measures.items():
            value = best(lambda f=function: _per_call(f, count), repeats)  # type: ignore[misc]
            rows.append(
                row(name, value, "us", "call_soon_threadsafe round trip", baseline)
            )
    return {"calls": count, "rows": rows}
