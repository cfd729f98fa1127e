"""Tell-to-handled throughput over many actors, and ask round trips.

boundedactors runs the actors that have mail on a small pool of workers. The
baselines give each object its own ``asyncio.Queue`` and a task that waits on it,
or a pykka ``ThreadingActor`` (one thread each). Throughput is timed from the first
``tell`` until the last message has been handled.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from typing import Any

from boundedactors import Router, Supervisor

from ._harness import Room, Row, clock, row


async def _actors_throughput(actors: int, messages: int, repeats: int) -> float:
    keys = [f"actor:{index}" for index in range(actors)]
    sequence = [keys[index % actors] for index in range(messages)]
    best = float("inf")
    async with Supervisor(max_children=None) as supervisor:
        router: Router[Any, int] = Router(supervisor, factory=Room)
        for key in keys:
            router.get(key)
        for _ in range(repeats):
            handled = supervisor.stats().messages_handled
            tell = router.tell
            start = clock()
            for key in sequence:
                tell(key, key)
            await supervisor.settle()
            best = min(best, clock() - start)
            assert supervisor.stats().messages_handled - handled == messages
    return messages / best


async def _tasks_throughput(actors: int, messages: int, repeats: int) -> float:
    keys = [f"actor:{index}" for index in range(actors)]
    sequence = [keys[index % actors] for index in range(messages)]
    state = {"handled": 0, "goal": 0}
    done = asyncio.Event()

    async def serve(room: Room, queue: asyncio.Queue[Any]) -> None:
        while True:
            message = await queue.get()
            await room.receive(message)
            state["handled"] += 1
            if state["handled"] == state["goal"]:
                done.set()

    queues: dict[str, asyncio.Queue[Any]] = {}
    tasks = []
    for key in keys:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        queues[key] = queue
        tasks.append(asyncio.create_task(serve(Room(key), queue)))
    await asyncio.sleep(0)
    best = float("inf")
    for _ in range(repeats):
        done.clear()
        state["goal"] = state["handled"] + messages
        start = clock()
        for key in sequence:
            queues[key].put_nowait(key)
        await done.wait()
        best = min(best, clock() - start)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return messages / best


def _pykka_throughput(actors: int, messages: int) -> tuple[float, float]:
    """Return (messages per second, ask round trips per second) for pykka."""
    import pykka

    counter = itertools.count(1)
    done = threading.Event()
    goal = messages

    class PykkaRoom(pykka.ThreadingActor):
        def __init__(self, room: Room) -> None:
            super().__init__()
            self.room = room

        def on_receive(self, message: Any) -> Any:
            self.room.count += 1
            if message == "ask":
                return self.room.count
            if next(counter) == goal:
                done.set()
            return None

    refs = [PykkaRoom.start(Room(index)) for index in range(actors)]
    try:
        start = time.perf_counter()
        for index in range(messages):
            refs[index % actors].tell(index)
        if not done.wait(timeout=600):
            raise TimeoutError("pykka actors did not handle every message")
        tell_rate = messages / (time.perf_counter() - start)

        asks = max(1_000, messages // 20)
        ref = refs[0]
        start = time.perf_counter()
        for _ in range(asks):
            ref.ask("ask")
        ask_rate = asks / (time.perf_counter() - start)
    finally:
        pykka.ActorRegistry.stop_all()
    return tell_rate, ask_rate


async def _actors_asks(asks: int, repeats: int) -> float:
    best = float("inf")
    async with Supervisor() as supervisor:
        router: Router[Any, int] = Router(supervisor, factory=Room)
        ref = router.get("ask")
        for _ in range(repeats):
            start = clock()
            for _ in range(asks):
                await ref.ask("ask")
            best = min(best, clock() - start)
    return asks / best


async def _tasks_asks(asks: int, repeats: int) -> float:
    async def serve(room: Room, queue: asyncio.Queue[Any]) -> None:
        while True:
            message, future = await queue.get()
            future.set_result(await room.receive(message))

    queue: asyncio.Queue[Any] = asyncio.Queue()
    task = asyncio.create_task(serve(Room("ask"), queue))
    loop = asyncio.get_running_loop()
    best = float("inf")
    for _ in range(repeats):
        start = clock()
        for _ in range(asks):
            future = loop.create_future()
            queue.put_nowait(("ask", future))
            await future
        best = min(best, clock() - start)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return asks / best


def run(quick: bool) -> dict[str, Any]:
    """Measure throughput and asks; return rows for the table and raw figures."""
    actors = 10_000 if quick else 100_000
    messages = 100_000 if quick else 1_000_000
    repeats = 2 if quick else 3
    pykka_actors = 200 if quick else 2_000
    pykka_messages = 20_000 if quick else 100_000
    asks = 10_000 if quick else 100_000

    ours = asyncio.run(_actors_throughput(actors, messages, repeats))
    tasks = asyncio.run(_tasks_throughput(actors, messages, repeats))
    pykka_tell, pykka_ask = _pykka_throughput(pykka_actors, pykka_messages)
    our_asks = asyncio.run(_actors_asks(asks, repeats))
    task_asks = asyncio.run(_tasks_asks(asks, repeats))

    spread = f"{messages:,} msgs over {actors:,} actors"
    rows: list[Row] = [
        row(
            f"tell to handled, {spread}",
            ours,
            "msg/s",
            "task + Queue per actor",
            tasks,
            higher_is_better=True,
        ),
        row(
            f"tell to handled, {spread}",
            ours,
            "msg/s",
            f"pykka ({pykka_messages:,} over {pykka_actors:,})",
            pykka_tell,
            higher_is_better=True,
        ),
        row(
            "ask round trips, one actor",
            our_asks,
            "asks/s",
            "task + Queue + future",
            task_asks,
            higher_is_better=True,
        ),
        row(
            "ask round trips, one actor",
            our_asks,
            "asks/s",
            "pykka ask",
            pykka_ask,
            higher_is_better=True,
        ),
    ]
    return {
        "actors": actors,
        "messages": messages,
        "messages_per_second": ours,
        "task_queue_messages_per_second": tasks,
        "pykka_messages_per_second": pykka_tell,
        "pykka_actors": pykka_actors,
        "pykka_messages": pykka_messages,
        "asks_per_second": our_asks,
        "task_queue_asks_per_second": task_asks,
        "pykka_asks_per_second": pykka_ask,
        "repeats": repeats,
        "rows": rows,
    }
