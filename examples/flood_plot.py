"""Plot memory and latency over time from a ``flood_demo.py --compare`` report.

``python examples/flood_plot.py REPORT.json docs/flood_demo.png`` draws four
panels, one line per mode: server RSS, sessions alive, the mean time to find a
session, and the legitimate clients' p99 latency per progress interval. A dashed
line marks the start of the attack. Needs matplotlib (the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

PANELS = (
    ("rss_mb", "server RSS (MB)"),
    ("actors_alive", "sessions alive"),
    ("lookup_us", "session lookup (µs)"),
    ("legit_p99_ms", "legit p99 (ms)"),
)
LOG_SCALE = ("lookup_us", "legit_p99_ms")
COLORS = {"bounded": "tab:blue", "unbounded": "tab:red"}


def plot(reports: dict[str, Any], output: Path) -> None:
    figure, axes = plt.subplots(len(PANELS), 1, figsize=(8, 10), sharex=True)
    for mode, report in reports.items():
        timeline = report["timeline"]
        attack_start = next((p["t"] for p in timeline if p["phase"] == "attack"), None)
        for axis, (key, label) in zip(axes, PANELS, strict=True):
            # Samples from the warm-up (processes and connections starting)
            # are left out, as they are from the report's percentiles.
            points = [
                (p["t"], p[key])
                for p in timeline
                if p.get(key) is not None and not p.get("warmup")
            ]
            axis.plot(
                [t for t, _ in points],
                [v for _, v in points],
                label=mode,
                color=COLORS.get(mode),
            )
            axis.set_ylabel(label)
            if key in LOG_SCALE:
                axis.set_yscale("log")
            if attack_start is not None:
                axis.axvline(
                    attack_start, color=COLORS.get(mode), linestyle="--", linewidth=1
                )
    axes[0].legend(loc="upper left")
    axes[-1].set_xlabel("seconds since the server started (dashed: the attack starts)")
    figure.suptitle("flood_demo.py --compare")
    figure.tight_layout()
    figure.savefig(output, dpi=90)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="JSON from flood_demo.py --compare")
    parser.add_argument("output", type=Path, help="PNG file to write")
    args = parser.parse_args(argv)
    reports = json.loads(args.report.read_text())
    if "mode" in reports:
        reports = {reports["mode"]: reports}
    plot(reports, args.output)


if __name__ == "__main__":
    main()
