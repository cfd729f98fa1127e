"""Routing cost as the number of live actors grows.

``Router.tell`` to a live actor is compared with two baselines measured in the same
process on the same keys: the raw floor (one dict lookup plus one ``deque.append``)
and a linear-scan router (a list of ``(key, mailbox)`` pairs searched in order).
The set of target actors has the same size at every scale, so only the size of
the table changes between scales.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tracemalloc
from collections import deque
from typing import Any

from boundedactors import Router, Supervisor

from ._harness import Room, Row, clock, row

MESSAGE = ("event", 1)


def _noop(key: object, message: object) -> None:
    return None


def _tell_allocations(router: Router[Any, Any], keys: list[str], count: int) -> float:
    """Return the median bytes allocated by one ``Router.tell`` beyond the message.

    Each call is bracketed by ``tracemalloc`` peak readings, and the same bracket
    around a no-op call is subtracted, so the harness's own allocations cancel out.
    """

    def sample(function: Any) -> float:
        peaks = []
        for index in range(count):
            key = keys[index % len(keys)]
            tracemalloc.reset_peak()
            start = tracemalloc.get_traced_memory()[0]
            function(key, MESSAGE)
            peaks.append(tracemalloc.get_traced_memory()[1] - start)
        return float(statistics.median(peaks))

    tracemalloc.start()
    try:
        control = sample(_noop)
        measured = sample(router.tell)
    finally:
        tracemalloc.stop()
    return max(0.0, measured - control)


async def _run(quick: bool) -> dict[str, Any]:
    scales = [1_000, 10_000] if quick else [1_000, 10_000, 100_000, 1_000_000]
    target_count = 200 if quick else 1_000
    rounds = 20 if quick else 50
    repeats = 3 if quick else 5
    scan_budget = 2_000_000 if quick else 20_000_000  # entries compared per pass

    results: list[dict[str, Any]] = []
    allocations = None
    async with Supervisor(max_children=None) as supervisor:
        router: Router[Any, int] = Router(supervisor, factory=Room)
        keys: list[str] = []
        floor: dict[str, deque[Any] | None] = {}
        entries: list[list[Any]] = []
        for scale in scales:
            while len(keys) < scale:
                key = f"actor:{len(keys)}"
                keys.append(key)
                router.get(key)
                floor[key] = None
                entries.append([key, None])
            targets = random.Random(scale).sample(keys, target_count)
            target_set = set(targets)
            for entry in entries:
                entry[1] = deque() if entry[0] in target_set else None
            for key in floor:
                floor[key] = None
            for key in targets:
                floor[key] = deque()
            sequence = targets * rounds

            idle_times: list[float] = []
            router_times: list[float] = []
            floor_times: list[float] = []
            for _ in range(repeats):
                # Tell each target once, so the timed pass finds live actors with a
                # mailbox; this first tell is timed on its own as "tell to idle".
                tell = router.tell
                start = clock()
                for key in targets:
                    tell(key, MESSAGE)
                idle_times.append((clock() - start) / len(targets))

                start = clock()
                for key in sequence:
                    tell(key, MESSAGE)
                router_times.append((clock() - start) / len(sequence))

                table = floor
                start = clock()
                for key in sequence:
                    table[key].append(MESSAGE)  # type: ignore[union-attr]
                floor_times.append((clock() - start) / len(sequence))
                for key in targets:
                    floor[key].clear()  # type: ignore[union-attr]
                await supervisor.settle()

            scan_messages = max(20, min(len(sequence), scan_budget // scale))
            scan_sequence = sequence[:scan_messages]
            scan_times: list[float] = []
            for _ in range(max(1, repeats // 2)):
                start = clock()
                for key in scan_sequence:
                    for entry in entries:
                        if entry[0] == key:
                            entry[1].append(MESSAGE)
                            break
                scan_times.append((clock() - start) / scan_messages)
            for entry in entries:
                if entry[1] is not None:
                    entry[1].clear()

            if allocations is None:
                for key in targets:
                    router.tell(key, MESSAGE)
                allocations = _tell_allocations(router, targets, 2_000)
                await supervisor.settle()

            results.append(
                {
                    "actors": scale,
                    "targets": target_count,
                    "router_tell_ns": min(router_times) * 1e9,
                    "tell_idle_ns": min(idle_times) * 1e9,
                    "floor_ns": min(floor_times) * 1e9,
                    "linear_scan_ns": min(scan_times) * 1e9,
                }
            )
            supervisor.check_invariants()
        await supervisor.settle()
        idle_with_mailbox = sum(
            1 for ref in router.registry._names.values() if ref._mailbox is not None
        )

    first, last = results[0], results[-1]
    router_growth = last["router_tell_ns"] / first["router_tell_ns"]
    floor_growth = last["floor_ns"] / first["floor_ns"]
    rows: list[Row] = []
    for result in results:
        label = f"{result['actors']:,} actors"
        rows.append(
            row(
                f"Router.tell, {label}",
                result["router_tell_ns"],
                "ns",
                "dict lookup + deque.append",
                result["floor_ns"],
            )
        )
        rows.append(
            row(
                f"linear-scan router, {label}",
                result["linear_scan_ns"],
                "ns",
                "Router.tell",
                result["router_tell_ns"],
            )
        )
        rows.append(
            row(
                f"Router.tell to idle actor, {label}",
                result["tell_idle_ns"],
                "ns",
                "dict lookup + deque.append",
                result["floor_ns"],
            )
        )
    rows.append(
        row(
            f"Router.tell growth {first['actors']:,} to {last['actors']:,}",
            router_growth,
            "x",
            "floor growth",
            floor_growth,
        )
    )
    rows.append(row("bytes allocated per Router.tell (str key)", allocations, "B"))
    rows.append(row("idle actors holding a mailbox", idle_with_mailbox, "actors"))
    return {
        "scales": results,
        "router_growth": router_growth,
        "floor_growth": floor_growth,
        "allocated_bytes_per_tell": allocations,
        "idle_actors_with_mailbox": idle_with_mailbox,
        "repeats": repeats,
        "rows": rows,
    }


def run(quick: bool) -> dict[str, Any]:
    """Measure routing at each scale; return rows for the table and raw figures."""
    return asyncio.run(_run(quick))
