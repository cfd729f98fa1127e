"""Spawn rate, and the cost of rejecting spawns in a flood past ``max_children``.

Spawning is compared with a plain dict insert of the same object (the floor) and
with starting a task and an ``asyncio.Queue`` for it. Rejection is compared with
raising and catching a bare ``ValueError``; the bytes it retains are read with
``tracemalloc`` after the flood.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from typing import Any

from boundedactors import Router, SpawnLimitExceeded, Supervisor

from ._harness import Room, Row, clock, row


async def _spawn_seconds(count: int) -> float:
    async with Supervisor(max_children=None) as supervisor:
        spawn = supervisor.spawn
        start = clock()
        for index in range(count):
            spawn(Room, index)
        elapsed = clock() - start
        assert len(supervisor) == count
        return elapsed


async def _activate_seconds(keys: list[str]) -> float:
    async with Supervisor(max_children=None) as supervisor:
        router: Router[Any, int] = Router(supervisor, factory=Room)
        get = router.get
        start = clock()
        for key in keys:
            get(key)
        elapsed = clock() - start
        assert len(router) == len(keys)
        return elapsed


def _dict_seconds(keys: list[str]) -> float:
    table: dict[str, Room] = {}
    start = clock()
    for key in keys:
        table[key] = Room(key)
    return clock() - start


async def _tasks_seconds(count: int) -> float:
    async def serve(room: Room, queue: asyncio.Queue[Any]) -> None:
        while True:
            await room.receive(await queue.get())

    tasks = []
    start = clock()
    for index in range(count):
        queue: asyncio.Queue[Any] = asyncio.Queue()
        tasks.append(asyncio.create_task(serve(Room(index), queue)))
    await asyncio.sleep(0)  # each task runs until it blocks on its queue
    elapsed = clock() - start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return elapsed


async def _reject(flood: int, repeats: int) -> dict[str, float]:
    limit = 1_000
    async with Supervisor(max_children=limit) as supervisor:
        router: Router[Any, int] = Router(supervisor, factory=Room)
        for index in range(limit):
            supervisor.spawn(Room, index)
        keys = [f"flood:{index}" for index in range(flood)]

        def spawn_flood() -> float:
            spawn = supervisor.spawn
            rejected = 0
            start = clock()
            for index in range(flood):
                try:
                    spawn(Room, index)
                except SpawnLimitExceeded:
                    rejected += 1
            elapsed = clock() - start
            assert rejected == flood
            return elapsed / flood

        def router_flood() -> float:
            tell = router.tell
            rejected = 0
            start = clock()
            for key in keys:
                try:
                    tell(key, "hello")
                except SpawnLimitExceeded:
                    rejected += 1
            elapsed = clock() - start
            assert rejected == flood
            return elapsed / flood

        def raise_floor() -> float:
            start = clock()
            rejected = 0
            for _ in range(flood):
                try:
                    raise ValueError("rejected")
                except ValueError:
                    rejected += 1
            return (clock() - start) / flood

        spawn_flood()  # first rejections start the throttled log's timer
        spawn_times, router_times, floor_times = [], [], []
        for _ in range(repeats):
            spawn_times.append(spawn_flood())
            router_times.append(router_flood())
            floor_times.append(raise_floor())

        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            spawn_flood()
            router_flood()
            gc.collect()
            retained = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert len(supervisor) == limit
        supervisor.check_invariants()
        return {
            "spawn_reject_ns": min(spawn_times) * 1e9,
            "router_reject_ns": min(router_times) * 1e9,
            "raise_floor_ns": min(floor_times) * 1e9,
            "retained_bytes": float(retained),
            "retained_bytes_per_rejection": retained / (2 * flood),
            "flood": float(flood),
            "max_children": float(limit),
        }


def run(quick: bool) -> dict[str, Any]:
    """Measure spawns and rejections; return rows for the table and raw figures."""
    count = 50_000 if quick else 1_000_000
    task_count = 20_000 if quick else 100_000
    repeats = 1 if quick else 2
    flood = 20_000 if quick else 200_000
    keys = [f"actor:{index}" for index in range(count)]

    spawn_runs, activate_runs, dict_runs, task_runs = [], [], [], []
    for _ in range(repeats):
        gc.collect()
        spawn_runs.append(asyncio.run(_spawn_seconds(count)))
        gc.collect()
        activate_runs.append(asyncio.run(_activate_seconds(keys)))
        gc.collect()
        dict_runs.append(_dict_seconds(keys))
        gc.collect()
        task_runs.append(asyncio.run(_tasks_seconds(task_count)))
    spawn_us = min(spawn_runs) / count * 1e6
    activate_us = min(activate_runs) / count * 1e6
    dict_us = min(dict_runs) / count * 1e6
    task_us = min(task_runs) / task_count * 1e6
    rejection = asyncio.run(_reject(flood, 3 if quick else 5))

    rows: list[Row] = [
        row(f"spawn, {count:,} actors", spawn_us, "us", "dict insert", dict_us),
        row(
            f"spawn, {count:,} actors",
            spawn_us,
            "us",
            f"task + Queue ({task_count:,})",
            task_us,
        ),
        row(
            f"Router activation, {count:,} keys",
            activate_us,
            "us",
            "dict insert",
            dict_us,
        ),
        row(
            f"total for {count:,} spawns",
            min(spawn_runs),
            "s",
        ),
        row(
            "spawn rejected (max_children)",
            rejection["spawn_reject_ns"] / 1000,
            "us",
            "raise + catch ValueError",
            rejection["raise_floor_ns"] / 1000,
        ),
        row(
            "Router.tell rejected (max_children)",
            rejection["router_reject_ns"] / 1000,
            "us",
            "raise + catch ValueError",
            rejection["raise_floor_ns"] / 1000,
        ),
        row(
            f"bytes retained after {2 * flood:,} rejections",
            rejection["retained_bytes"],
            "B",
        ),
    ]
    return {
        "spawns": count,
        "spawn_us": spawn_us,
        "spawn_total_s": min(spawn_runs),
        "router_activation_us": activate_us,
        "dict_insert_us": dict_us,
        "task_queue_spawn_us": task_us,
        "task_queue_spawns": task_count,
        "rejection": rejection,
        "repeats": repeats,
        "rows": rows,
    }
