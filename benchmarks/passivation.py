"""Passivation under a skewed workload: plain LRU against W-TinyLFU admission.

    python -m benchmarks.passivation            # full run, under a minute
    python -m benchmarks.passivation --quick    # a few seconds
    python benchmarks/passivation.py --json out.json

A router with ``max_active`` actors and a store serves two phases of traffic:

1. *warm-up*: keys drawn from a Zipf-like popularity (weight ``1 / rank``) over a
   fixed population;
2. *flood*: the same popular traffic mixed with messages to keys that are each
   seen once (a scan or an enumeration attack), as 50% and then 90% of the flood.

For each eviction policy it reports four figures over the flood phase. The hit
rate of the active set is the share of messages whose key was active when they
arrived, and the hit rate of the hot set is the same for the most popular keys.
The others are loads per 1,000 messages and peak concurrent loads. A router
without ``max_active`` is the third row. It never evicts, so it shows the floor of
loads and the memory that floor costs.

Time is virtual (``boundedactors.testing.FakeClock``): the store takes
``LOAD_LATENCY`` seconds of virtual time per call and traffic arrives in ticks of
``TICK`` seconds, so the counts do not depend on the machine's load. The workload
is fixed by its seed; the W-TinyLFU figures still vary slightly between processes
because CPython randomises string hashes, which place keys in the sketch.
Nothing here is a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._harness import machine, row
from boundedactors import Actor, Router, Supervisor
from boundedactors.testing import FakeClock, InMemoryStore

TICK = 0.001  # virtual seconds between batches of messages
LOAD_LATENCY = 0.001  # virtual seconds per store call
SAVE_LATENCY = 0.001
FLOOD_SHARES = (0.5, 0.9)  # share of flood messages that go to one-off keys
HOT_DIVISOR = 4  # the hot set is the max_active / 4 most popular keys


class Session(Actor[Any, Any]):
    """A small stateful actor: counts its messages."""

    __slots__ = ("count",)

    def __init__(self, key: object, state: Any) -> None:
        self.count = 0 if state is None else int(state)

    async def receive(self, message: Any) -> Any:
        self.count += 1
        return self.count

    def snapshot(self) -> object:
        return self.count


def _zipf_sampler(population: int, rng: random.Random) -> Any:
    cumulative = list(
        itertools.accumulate(1.0 / rank for rank in range(1, population + 1))
    )
    total = cumulative[-1]

    def draw() -> int:
        return bisect.bisect_left(cumulative, rng.random() * total)

    return draw


def _workload(
    population: int, warmup: int, flood: int, one_off_share: float, seed: int
) -> tuple[list[str], list[str]]:
    """Return the warm-up and flood key sequences."""
    rng = random.Random(seed)
    draw = _zipf_sampler(population, rng)
    warm = [f"user{draw()}" for _ in range(warmup)]
    flood_keys: list[str] = []
    for index in range(flood):
        if rng.random() < one_off_share:
            flood_keys.append(f"once{index}")
        else:
            flood_keys.append(f"user{draw()}")
    return warm, flood_keys


async def _serve(
    keys: list[str],
    *,
    max_active: int | None,
    eviction: str,
    hot: set[str],
    warmup: int,
    batch: int,
) -> dict[str, Any]:
    clock = FakeClock()
    store = InMemoryStore(
        clock=clock, load_latency=LOAD_LATENCY, save_latency=SAVE_LATENCY
    )
    async with Supervisor(clock=clock, max_children=None) as sup:
        router = Router(
            sup,
            factory=Session,
            store=store,
            max_active=max_active,
            eviction=eviction,
            mailbox_size=10_000,
        )
        hits = hot_hits = hot_messages = 0
        loads_before = saves_before = 0
        peak_active = 0
        for index, key in enumerate(keys):
            if index == warmup:
                await _drain(clock, router)
                loads_before = store.loads
                saves_before = store.saves
            measuring = index >= warmup
            active = router.lookup(key) is not None
            if measuring:
                hits += active
                if key in hot:
                    hot_messages += 1
                    hot_hits += active
            router.tell(key, 1)
            if index % batch == batch - 1:
                await clock.advance(TICK)
                peak_active = max(peak_active, len(sup))
        await _drain(clock, router)
        router.check_invariants()
        stats = router.stats()
        measured = len(keys) - warmup
        result = {
            "hit_rate": hits / measured,
            "hot_hit_rate": hot_hits / hot_messages if hot_messages else None,
            "loads_per_1000": 1000 * (store.loads - loads_before) / measured,
            "saves_per_1000": 1000 * (store.saves - saves_before) / measured,
            "peak_concurrent_loads": stats.peak_concurrent_loads,
            "peak_active": peak_active,
            "passivations": dict(stats.passivations),
        }
        # Shutdown saves every active actor; make those saves instant.
        store.save_latency = 0.0
    return result


async def _drain(clock: FakeClock, router: Router[Any, Any]) -> None:
    """Advance virtual time until no key is being loaded, saved or stopped."""
    while True:
        stats = router.stats()
        if not stats.activating and not stats.passivating:
            break
        await clock.advance(0.01)
    await router.supervisor.settle()


class _Sink(Actor[Any, Any]):
    __slots__ = ()

    def __init__(self, key: object, state: Any = None) -> None:
        pass

    async def receive(self, message: Any) -> Any:
        return None


async def _tell_cost(options: dict[str, Any], keys: list[str], repeats: int) -> float:
    """Return the best time, in ns, of one Router.tell to an active key."""
    async with Supervisor(max_children=None, workers=4) as sup:
        router = Router(sup, factory=_Sink, mailbox_size=None, **options)
        for key in keys:
            await router.activate(key)
        await sup.settle()
        best = float("inf")
        messages = len(keys) * 20
        for _ in range(repeats):
            started = time.perf_counter()
            for index in range(messages):
                router.tell(keys[index % len(keys)], index)
            best = min(best, (time.perf_counter() - started) / messages)
            await sup.settle()
    return best * 1e9


def _tell_costs(quick: bool) -> dict[str, float]:
    """Measure Router.tell with each kind of passivation tracking, in one process."""
    keys = [f"k{index}" for index in range(1_000)]
    repeats = 3 if quick else 7
    variants = {
        "plain": {},
        "idle_timeout": {"idle_timeout": 3600.0},
        "max_active tinylfu": {"max_active": 2_000},
        "idle_timeout + max_active": {"idle_timeout": 3600.0, "max_active": 2_000},
    }
    return {
        name: asyncio.run(_tell_cost(options, keys, repeats))
        for name, options in variants.items()
    }


def run(quick: bool) -> dict[str, Any]:
    """Run the workload for each policy and flood; return rows for the table."""
    population = 20_000 if quick else 100_000
    warmup = 10_000 if quick else 60_000
    flood = 10_000 if quick else 60_000
    max_active = 500 if quick else 2_000
    hot_size = max_active // HOT_DIVISOR
    batch = 20
    hot = {f"user{rank}" for rank in range(hot_size)}

    started = time.perf_counter()
    floods: dict[str, dict[str, dict[str, Any]]] = {}
    for share in FLOOD_SHARES:
        warm, flood_keys = _workload(population, warmup, flood, share, seed=7)
        keys = warm + flood_keys
        policies: dict[str, dict[str, Any]] = {}
        for name, cap, eviction in (
            ("lru", max_active, "lru"),
            ("tinylfu", max_active, "tinylfu"),
            ("unbounded", None, "tinylfu"),
        ):
            policies[name] = asyncio.run(
                _serve(
                    keys,
                    max_active=cap,
                    eviction=eviction,
                    hot=hot,
                    warmup=warmup,
                    batch=batch,
                )
            )
        floods[f"{share:.0%} one-off"] = policies
    elapsed = time.perf_counter() - started
    tell_ns = _tell_costs(quick)

    rows = []
    for flood_name, policies in floods.items():
        lru = policies["lru"]
        tiny = policies["tinylfu"]
        rows += [
            row(
                f"hot-set hit rate, tinylfu, flood {flood_name}",
                tiny["hot_hit_rate"],
                "share",
                "lru",
                lru["hot_hit_rate"],
                higher_is_better=True,
            ),
            row(
                f"active-set hit rate, tinylfu, flood {flood_name}",
                tiny["hit_rate"],
                "share",
                "lru",
                lru["hit_rate"],
                higher_is_better=True,
            ),
            row(
                f"loads per 1,000 messages, tinylfu, flood {flood_name}",
                tiny["loads_per_1000"],
                "loads",
                "lru",
                lru["loads_per_1000"],
            ),
            row(
                f"peak concurrent loads, tinylfu, flood {flood_name}",
                tiny["peak_concurrent_loads"],
                "loads",
                "lru",
                lru["peak_concurrent_loads"],
            ),
        ]
    for name, cost in tell_ns.items():
        if name != "plain":
            rows.append(
                row(f"Router.tell, {name}", cost, "ns", "plain", tell_ns["plain"])
            )
    return {
        "tell_ns": tell_ns,
        "workload": {
            "population": population,
            "zipf_exponent": 1.0,
            "warmup_messages": warmup,
            "flood_messages": flood,
            "one_off_shares": list(FLOOD_SHARES),
            "max_active": max_active,
            "hot_set": hot_size,
            "messages_per_tick": batch,
            "tick_s": TICK,
            "load_latency_s": LOAD_LATENCY,
            "save_latency_s": SAVE_LATENCY,
            "max_concurrent_loads": 32,
        },
        "floods": floods,
        "elapsed_s": elapsed,
        "rows": rows,
    }


def format_markdown(result: dict[str, Any]) -> str:
    """Return the figures of :func:`run` as one Markdown table."""
    lines = [
        "| flood | policy | hit rate | hot-set hit rate | loads / 1,000 msgs "
        "| saves / 1,000 msgs | peak concurrent loads | peak active actors |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for flood_name, policies in result["floods"].items():
        for name, figures in policies.items():
            lines.append(
                f"| {flood_name} | {name} | {figures['hit_rate']:.3f} "
                f"| {figures['hot_hit_rate']:.3f} "
                f"| {figures['loads_per_1000']:.0f} "
                f"| {figures['saves_per_1000']:.0f} "
                f"| {figures['peak_concurrent_loads']} "
                f"| {figures['peak_active']:,} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="smaller workload")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    args = parser.parse_args()
    result = run(args.quick)
    result["machine"] = machine()
    print(format_markdown(result))
    plain = result["tell_ns"]["plain"]
    for name, cost in result["tell_ns"].items():
        print(f"Router.tell, {name}: {cost:.0f} ns ({cost / plain:.2f}x plain)")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
