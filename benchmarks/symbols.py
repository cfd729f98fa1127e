"""SymbolTable lookups against a plain dict and ``sys.intern``.

``intern`` of text that already has a symbol and ``get`` of text that has none are
the two paths that outside input takes. The texts are fresh ``str`` objects equal
to the stored ones, as text parsed from a request would be.
"""

from __future__ import annotations

import sys
from typing import Any

from boundedactors import SymbolTable

from ._harness import Row, clock, row


def _per_call(function: Any, texts: list[str], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = clock()
        for text in texts:
            function(text)
        best = min(best, clock() - start)
    return best / len(texts) * 1e9


def run(quick: bool) -> dict[str, Any]:
    """Measure symbol lookups; return rows for the table and raw figures."""
    size = 10_000 if quick else 100_000
    calls = 100_000 if quick else 1_000_000
    repeats = 3 if quick else 5
    table = SymbolTable(limit=size + 1)
    stored = [f"field_{index}" for index in range(size)]
    for text in stored:
        table.intern(text)
        sys.intern(text)
    plain = {text: object() for text in stored}
    # Equal but distinct objects, as parsing a request produces.
    existing = ["".join(("field_", str(index % size))) for index in range(calls)]
    missing = ["".join(("other_", str(index % size))) for index in range(calls)]

    intern_ns = _per_call(table.intern, existing, repeats)
    dict_ns = _per_call(plain.__getitem__, existing, repeats)
    sys_intern_ns = _per_call(sys.intern, existing, repeats)
    get_missing_ns = _per_call(table.get, missing, repeats)
    dict_missing_ns = _per_call(plain.get, missing, repeats)
    assert len(table) == size

    rows: list[Row] = [
        row("SymbolTable.intern, existing", intern_ns, "ns", "dict lookup", dict_ns),
        row(
            "SymbolTable.intern, existing",
            intern_ns,
            "ns",
            "sys.intern",
            sys_intern_ns,
        ),
        row(
            "SymbolTable.get, missing",
            get_missing_ns,
            "ns",
            "dict.get, missing",
            dict_missing_ns,
        ),
    ]
    return {
        "symbols": size,
        "intern_existing_ns": intern_ns,
        "dict_lookup_ns": dict_ns,
        "sys_intern_ns": sys_intern_ns,
        "get_missing_ns": get_missing_ns,
        "dict_get_missing_ns": dict_missing_ns,
        "repeats": repeats,
        "rows": rows,
    }
