"""Profile the hot paths with cProfile: ``python -m benchmarks.profile [PATH ...]``.

Paths: ``tell`` (Router.tell to live actors), ``drain`` (workers handling queued
mail), ``spawn`` (Supervisor.spawn) and ``reject`` (spawns rejected at
max_children). Each prints the functions that took the most time of their own.
cProfile adds a fixed cost to every Python call, so read the output for where the
time goes, not for absolute figures.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import pstats
from typing import Any

from boundedactors import Router, SpawnLimitExceeded, Supervisor

from ._harness import Room

PATHS = ("tell", "drain", "spawn", "reject")


async def _profile(path: str, actors: int, messages: int) -> pstats.Stats:
    profiler = cProfile.Profile()
    limit = actors if path == "reject" else None
    async with Supervisor(max_children=limit) as supervisor:
        router: Router[Any, int] = Router(supervisor, factory=Room)
        keys = [f"actor:{index}" for index in range(actors)]
        sequence = [keys[index % actors] for index in range(messages)]
        if path != "spawn":
            for key in keys:
                router.get(key)
        if path == "tell":
            for key in keys:
                router.tell(key, 0)  # each actor now has mail, as under load
            profiler.enable()
            for key in sequence:
                router.tell(key, 0)
            profiler.disable()
        elif path == "drain":
            for key in sequence:
                router.tell(key, 0)
            profiler.enable()
            await supervisor.settle()
            profiler.disable()
        elif path == "spawn":
            profiler.enable()
            for index in range(messages):
                supervisor.spawn(Room, index)
            profiler.disable()
        else:
            profiler.enable()
            for index in range(messages):
                try:
                    router.tell(f"flood:{index}", 0)
                except SpawnLimitExceeded:
                    continue
            profiler.disable()
        await supervisor.settle()
    return pstats.Stats(profiler)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    parser.add_argument(
        "paths", nargs="*", help=f"paths to profile: {', '.join(PATHS)} (default: all)"
    )
    parser.add_argument("--actors", type=int, default=10_000, help="live actors")
    parser.add_argument(
        "--messages", type=int, default=200_000, help="calls of the profiled path"
    )
    parser.add_argument("--top", type=int, default=12, help="functions to print")
    options = parser.parse_args()
    unknown = [path for path in options.paths if path not in PATHS]
    if unknown:
        parser.error(f"unknown path {unknown[0]!r}; expected one of {', '.join(PATHS)}")
    logging.getLogger("boundedactors").setLevel(logging.ERROR)
    for path in options.paths or PATHS:
        print(f"== {path}: {options.messages:,} calls, {options.actors:,} actors")
        stats = asyncio.run(_profile(path, options.actors, options.messages))
        stats.sort_stats("tottime").print_stats(options.top)


if __name__ == "__main__":
    main()
