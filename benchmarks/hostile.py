"""Routing with keys chosen to collide in CPython's hash, against ordinary keys.

``hash(n * (2**61 - 1)) == 0`` for every int ``n``, and a tuple of such ints with
a fixed second item hashes the same way, so each hostile set shares one hash. The
Router rehashes non-``str`` keys with a randomised hash, so both sets should cost
the same. A plain dict keyed by the hostile ints shows what that prevents; it is
measured on fewer keys because its cost grows with the square of their number.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from boundedactors import Router, Supervisor

from ._harness import Room, Row, clock, row

MODULUS = 2**61 - 1
MESSAGE = ("event", 1)


def key_sets(count: int) -> dict[str, list[Any]]:
    """Return the ordinary and hostile key sets, ``count`` keys each."""
    rng = random.Random(count)
    ordinary_ints = rng.sample(range(10**12), count)
    hostile_ints = [index * MODULUS for index in range(1, count + 1)]
    return {
        "str": [f"device:{index}" for index in ordinary_ints],
        "int": ordinary_ints,
        "hostile int": hostile_ints,
        "tuple": [(index, 7) for index in ordinary_ints],
        "hostile tuple": [(index, 0) for index in hostile_ints],
    }


async def _measure(
    keys: list[Any], targets: int, rounds: int, repeats: int
) -> dict[str, float]:
    async with Supervisor(max_children=None) as supervisor:
        router: Router[Any, int] = Router(supervisor, factory=Room)
        start = clock()
        for key in keys:
            router.get(key)
        activation = (clock() - start) / len(keys)
        chosen = random.Random(len(keys)).sample(keys, targets)
        sequence = chosen * rounds
        best = float("inf")
        for _ in range(repeats):
            tell = router.tell
            for key in chosen:
                tell(key, MESSAGE)
            start = clock()
            for key in sequence:
                tell(key, MESSAGE)
            best = min(best, (clock() - start) / len(sequence))
            await supervisor.settle()
        return {"tell_ns": best * 1e9, "activate_ns": activation * 1e9}


def _plain_dict_lookup_ns(keys: list[Any], lookups: int) -> float:
    table = dict.fromkeys(keys, 0)
    chosen = random.Random(1).choices(keys, k=lookups)
    start = clock()
    for key in chosen:
        table[key] += 1
    return (clock() - start) / lookups * 1e9


def run(quick: bool) -> dict[str, Any]:
    """Measure each key set through a Router; return rows and raw figures."""
    count = 10_000 if quick else 100_000
    targets = 500 if quick else 1_000
    rounds = 20 if quick else 50
    repeats = 3 if quick else 5
    plain_count = 1_000 if quick else 5_000

    measured = {
        name: asyncio.run(_measure(keys, targets, rounds, repeats))
        for name, keys in key_sets(count).items()
    }
    plain_sets = key_sets(plain_count)
    plain = {
        name: _plain_dict_lookup_ns(plain_sets[name], 2_000)
        for name in ("int", "hostile int")
    }

    rows: list[Row] = []
    for hostile, ordinary in (("hostile int", "int"), ("hostile tuple", "tuple")):
        rows.append(
            row(
                f"Router.tell, {hostile} keys, {count:,} actors",
                measured[hostile]["tell_ns"],
                "ns",
                f"{ordinary} keys",
                measured[ordinary]["tell_ns"],
            )
        )
        rows.append(
            row(
                f"Router activation, {hostile} keys",
                measured[hostile]["activate_ns"],
                "ns",
                f"{ordinary} keys",
                measured[ordinary]["activate_ns"],
            )
        )
    rows.append(
        row(
            f"Router.tell, int keys, {count:,} actors",
            measured["int"]["tell_ns"],
            "ns",
            "str keys",
            measured["str"]["tell_ns"],
        )
    )
    rows.append(
        row(
            f"plain dict lookup, hostile int keys, {plain_count:,} keys",
            plain["hostile int"],
            "ns",
            "ordinary int keys",
            plain["int"],
        )
    )
    return {
        "keys": count,
        "router": measured,
        "plain_dict_keys": plain_count,
        "plain_dict_lookup_ns": plain,
        "repeats": repeats,
        "rows": rows,
    }
