"""Memory per idle actor, beyond the user's own object.

Each figure comes from a fresh interpreter (``python -m benchmarks.memory MODE N``)
that builds ``N`` keys and ``N`` user objects and reports how much its resident set
grew. The ``dict`` mode keeps the objects in a plain dict and is the reference: the
cost of an actor is ``(RSS of mode - RSS of dict) / N``.

Modes:
    dict: ``{key: Room(key)}``.
    actors: each object is an idle boundedactors actor, activated through a Router.
    tasks: each object has an ``asyncio.Queue`` and a task waiting on it.
    pykka: each object is wrapped in a pykka ``ThreadingActor`` (one thread each).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
from typing import Any

from ._harness import Room, Row, row

PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * PAGE


def _keys(count: int) -> list[str]:
    return [f"room:{index}" for index in range(count)]


def _dict_mode(count: int) -> Any:
    return {key: Room(key) for key in _keys(count)}


async def _actors_mode(count: int) -> int:
    from boundedactors import Router, Supervisor

    async with Supervisor(max_children=None) as supervisor:
        router: Router[Any, int] = Router(supervisor, factory=Room)
        for key in _keys(count):
            router.get(key)
        await supervisor.settle()
        gc.collect()
        return _rss()


async def _tasks_mode(count: int) -> int:
    async def serve(room: Room, queue: asyncio.Queue[Any]) -> None:
        while True:
            message = await queue.get()
            await room.receive(message)

    table: dict[str, tuple[asyncio.Queue[Any], asyncio.Task[None]]] = {}
    for key in _keys(count):
        queue: asyncio.Queue[Any] = asyncio.Queue()
        table[key] = (queue, asyncio.create_task(serve(Room(key), queue)))
    for _ in range(3):
        await asyncio.sleep(0)  # let every task start and block on its queue
    gc.collect()
    rss = _rss()
    for _queue, task in table.values():
        task.cancel()
    await asyncio.gather(*(task for _, task in table.values()), return_exceptions=True)
    return rss


def _pykka_mode(count: int) -> int:
    import pykka

    class PykkaRoom(pykka.ThreadingActor):
        def __init__(self, room: Room) -> None:
            super().__init__()
            self.room = room

        def on_receive(self, message: Any) -> Any:
            self.room.count += 1
            return self.room.count

    refs = {key: PykkaRoom.start(Room(key)) for key in _keys(count)}
    for ref in refs.values():
        ref.ask("ready")  # every thread has started and handled a message
    gc.collect()
    rss = _rss()
    pykka.ActorRegistry.stop_all()
    return rss


def _child(mode: str, count: int) -> None:
    gc.collect()
    before = _rss()
    if mode == "dict":
        keep = _dict_mode(count)
        gc.collect()
        after = _rss()
        del keep
    elif mode == "actors":
        after = asyncio.run(_actors_mode(count))
    elif mode == "tasks":
        after = asyncio.run(_tasks_mode(count))
    elif mode == "pykka":
        after = _pykka_mode(count)
    else:
        raise SystemExit(f"unknown mode {mode!r}; expected dict, actors, tasks, pykka")
    print(json.dumps({"mode": mode, "count": count, "rss_bytes": after - before}))


def measure(mode: str, count: int, repeats: int = 1) -> int:
    """Return the smallest RSS growth of ``repeats`` fresh interpreters."""
    results = []
    for _ in range(repeats):
        output = subprocess.run(
            [sys.executable, "-m", "benchmarks.memory", mode, str(count)],
            check=True,
            capture_output=True,
            text=True,
            timeout=900,
        ).stdout
        results.append(int(json.loads(output.splitlines()[-1])["rss_bytes"]))
    return min(results)


def _available_memory() -> int:
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def run(quick: bool) -> dict[str, Any]:
    """Measure bytes per idle actor for each design; return rows and raw figures."""
    scales = [10_000] if quick else [100_000, 1_000_000]
    pykka_count = 200 if quick else 2_000
    repeats = 1 if quick else 2
    per_actor: dict[str, dict[int, float]] = {"actors": {}, "tasks": {}, "pykka": {}}
    notes: list[str] = []

    for scale in scales:
        reference = measure("dict", scale, repeats)
        actors = measure("actors", scale, repeats)
        per_actor["actors"][scale] = (actors - reference) / scale
        # A task and a queue take about 4.4 KiB each: skip a scale that would not
        # fit comfortably in the memory available now.
        if _available_memory() > 3 * 5_000 * scale:
            # One run at the largest scale: a million tasks take minutes to build.
            task_repeats = 1 if scale >= 1_000_000 else repeats
            tasks = measure("tasks", scale, task_repeats)
            per_actor["tasks"][scale] = (tasks - reference) / scale
        else:
            notes.append(f"tasks at {scale:,} skipped: not enough free memory")

    reference = measure("dict", pykka_count, repeats)
    pykka = measure("pykka", pykka_count, repeats)
    per_actor["pykka"][pykka_count] = (pykka - reference) / pykka_count

    rows: list[Row] = []
    for scale, value in per_actor["actors"].items():
        tasks_value = per_actor["tasks"].get(scale)
        rows.append(
            row(
                f"bytes per idle actor, {scale:,} actors",
                value,
                "B",
                "task + asyncio.Queue" if tasks_value is not None else None,
                tasks_value,
            )
        )
    pykka_value = per_actor["pykka"][pykka_count]
    smallest = min(per_actor["actors"])
    rows.append(
        row(
            f"bytes per pykka actor, {pykka_count:,} threads",
            pykka_value,
            "B",
            f"boundedactors at {smallest:,}",
            per_actor["actors"][smallest],
        )
    )
    return {
        "bytes_per_actor": {
            mode: {str(scale): value for scale, value in values.items()}
            for mode, values in per_actor.items()
        },
        "pykka_threads": pykka_count,
        "repeats": repeats,
        "notes": notes,
        "rows": rows,
    }


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]))
