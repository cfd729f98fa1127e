"""The BEAM beside boundedactors: run ``beam_anchor.exs`` where Elixir is installed.

The script spawns 1M idle processes (time and bytes per process), measures
send+receive throughput and ``Registry.lookup`` at 200K keys, and prints one line
per figure. Without ``elixir`` on ``PATH`` the scenario is skipped and says so.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from ._harness import Row, row

SCRIPT = Path(__file__).with_name("beam_anchor.exs")
PATTERNS = {
    "spawn_ms": r"spawn (\d+) idle processes: ([\d.]+) ms, (\d+) B/process",
    "messages_per_second": r"send\+receive: ([\d.]+) M msg/s",
    "registry_lookup_ns": r"Registry.lookup at \d+ keys: ([\d.]+) ns/lookup",
}


def run(quick: bool) -> dict[str, Any]:
    """Run the Elixir script if possible; return rows and parsed figures."""
    elixir = shutil.which("elixir")
    if elixir is None:
        return {"skipped": "elixir is not installed", "rows": []}
    if quick:
        return {"skipped": "not run in --quick mode", "rows": []}
    environment = dict(os.environ, ERL_FLAGS="+P 2000000")
    output = subprocess.run(
        [elixir, str(SCRIPT)],
        check=True,
        capture_output=True,
        text=True,
        timeout=900,
        env=environment,
    ).stdout
    result: dict[str, Any] = {"output": output}
    rows: list[Row] = []
    spawn = re.search(PATTERNS["spawn_ms"], output)
    if spawn:
        count = int(spawn.group(1))
        result["spawn_us"] = float(spawn.group(2)) * 1000 / count
        result["bytes_per_process"] = int(spawn.group(3))
        rows.append(row("BEAM spawn", result["spawn_us"], "us"))
        rows.append(
            row("BEAM bytes per idle process", result["bytes_per_process"], "B")
        )
    rate = re.search(PATTERNS["messages_per_second"], output)
    if rate:
        result["messages_per_second"] = float(rate.group(1)) * 1e6
        rows.append(
            row(
                "BEAM send+receive",
                result["messages_per_second"],
                "msg/s",
                higher_is_better=True,
            )
        )
    lookup = re.search(PATTERNS["registry_lookup_ns"], output)
    if lookup:
        result["registry_lookup_ns"] = float(lookup.group(1))
        rows.append(row("BEAM Registry.lookup", result["registry_lookup_ns"], "ns"))
    result["rows"] = rows
    return result
