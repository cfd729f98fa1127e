"""Run every benchmark, print a table, write JSON and draw plots.

    python -m benchmarks                 # full run at 1M actors: several minutes
    python -m benchmarks --quick         # small scales: well under a minute
    python -m benchmarks --only routing  # one scenario

Each scenario measures boundedactors and its baselines in the same process (or
in fresh processes started by it) and reports ratios, because absolute times on a
shared machine are noise. Timed figures are the best of several repeats.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import beam, hostile, memory, routing, spawn, symbols, threaded, throughput
from ._harness import machine
from .targets import evaluate

Scenario = Callable[[bool], dict[str, Any]]


def _passivation(quick: bool) -> dict[str, Any]:
    # HOOK: benchmarks/passivation.py (a skewed workload against a cap on active
    # actors) plugs in here through its run(quick) -> dict. Until the module
    # exists, the scenario is reported as skipped.
    try:
        module = importlib.import_module("benchmarks.passivation")
    except ModuleNotFoundError as error:
        if error.name != "benchmarks.passivation":
            raise
        return {"skipped": "benchmarks/passivation.py is not present", "rows": []}
    result: dict[str, Any] = module.run(quick)
    result.setdefault("rows", [])
    return result


SCENARIOS: dict[str, Scenario] = {
    "routing": routing.run,
    "memory": memory.run,
    "spawn": spawn.run,
    "throughput": throughput.run,
    "symbols": symbols.run,
    "hostile_keys": hostile.run,
    "passivation": _passivation,
    "beam": beam.run,
    "threaded_calls": threaded.run,
}


def _number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if abs(value) >= 10_000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.1f}"
    return f"{value:.3g}"


def format_table(results: dict[str, Any]) -> str:
    """Return the results as an aligned text table, one line per row."""
    lines = [("scenario", "measure", "value", "unit", "baseline", "baseline", "ratio")]
    for name, result in results.items():
        if "skipped" in result:
            lines.append((name, f"skipped: {result['skipped']}", "", "", "", "", ""))
            continue
        for item in result.get("rows", []):
            ratio = item.get("ratio")
            lines.append(
                (
                    name,
                    item["measure"],
                    _number(item["value"]),
                    item["unit"],
                    item.get("baseline") or "",
                    _number(item.get("baseline_value")),
                    "" if ratio is None else f"{ratio:.2f}x",
                )
            )
    widths = [max(len(line[column]) for line in lines) for column in range(7)]
    right = {2, 5, 6}
    out = []
    for line in lines:
        cells = [
            cell.rjust(width) if column in right else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(line, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def format_markdown(results: dict[str, Any], targets: list[dict[str, Any]]) -> str:
    """Return the results and the targets as Markdown tables, for docs."""
    lines = [
        "| scenario | measure | value | baseline | baseline value | ratio |",
        "|---|---|---:|---|---:|---:|",
    ]
    for name, result in results.items():
        if "skipped" in result:
            lines.append(f"| {name} | skipped: {result['skipped']} | | | | |")
            continue
        for item in result.get("rows", []):
            ratio = item.get("ratio")
            baseline_value = _number(item.get("baseline_value"))
            if baseline_value:
                baseline_value += f" {item['unit']}"
            lines.append(
                f"| {name} | {item['measure']} | {_number(item['value'])} "
                f"{item['unit']} | {item.get('baseline') or ''} | {baseline_value} | "
                f"{'' if ratio is None else f'{ratio:.2f}x'} |"
            )
    lines += ["", "| target | goal | measured | met |", "|---|---|---:|---|"]
    for target in targets:
        met = "yes" if target["met"] else "**no**"
        lines.append(
            f"| {target['name']} | {target['target']} | "
            f"{_number(target['measured'])} | {met} |"
        )
    return "\n".join(lines) + "\n"


def format_targets(targets: list[dict[str, Any]]) -> str:
    """Return one line per target: met or not, the measure and the goal."""
    lines = []
    for target in targets:
        status = "met    " if target["met"] else "NOT MET"
        lines.append(
            f"{status}  {target['name']}: {_number(target['measured'])} "
            f"(target {target['target']})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small scales and few repeats, for a smoke run (well under a minute)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        help="file for the results as JSON (default: docs/benchmarks.json, or "
        "build/benchmarks-quick/benchmarks.json with --quick)",
    )
    parser.add_argument(
        "--plots",
        type=Path,
        default=None,
        help="directory for the PNG plots (default: docs/, or "
        "build/benchmarks-quick/ with --quick)",
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        default=None,
        help="also write the tables as Markdown to this file",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(SCENARIOS),
        help="run only this scenario (repeat the option for several)",
    )
    options = parser.parse_args(argv)
    default_directory = Path("build/benchmarks-quick" if options.quick else "docs")
    json_path: Path = options.json or default_directory / "benchmarks.json"
    plots: Path = options.plots or default_directory

    # The spawn flood is rejected on purpose; its throttled warning summary would
    # only interleave with the table.
    logging.getLogger("boundedactors").setLevel(logging.ERROR)
    started = time.time()
    results: dict[str, Any] = {}
    durations: dict[str, float] = {}
    for name, scenario in SCENARIOS.items():
        if options.only and name not in options.only:
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        results[name] = scenario(options.quick)
        durations[name] = time.perf_counter() - start

    targets = evaluate(results)
    report = {
        "quick": options.quick,
        "machine": machine(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": durations,
        "scenarios": results,
        "targets": targets,
    }
    print(format_table(results))
    print()
    print(format_targets(targets))

    if options.markdown is not None:
        options.markdown.parent.mkdir(parents=True, exist_ok=True)
        options.markdown.write_text(format_markdown(results, targets), encoding="utf-8")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    from .plots import render

    written = render(results, plots)
    print(f"\nwrote {json_path} and {len(written)} plots in {plots}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
