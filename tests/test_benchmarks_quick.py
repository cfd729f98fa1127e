"""Smoke test of the benchmark runner: it runs and writes its results, whatever
the numbers are."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("matplotlib", reason="the bench extra is not installed")
pytest.importorskip("pykka", reason="the bench extra is not installed")

SCENARIOS = {
    "routing",
    "memory",
    "spawn",
    "throughput",
    "symbols",
    "hostile_keys",
    "passivation",
    "beam",
    "threaded_calls",
}


def test_quick_run_writes_results(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--json",
            str(output),
            "--plots",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Router.tell" in completed.stdout

    report = json.loads(output.read_text(encoding="utf-8"))
    assert report["quick"] is True
    assert set(report["scenarios"]) == SCENARIOS
    assert {"cores", "python"} <= set(report["machine"])
    for name, result in report["scenarios"].items():
        assert "rows" in result, name
        if "skipped" not in result:
            assert result["rows"], name
    assert report["scenarios"]["routing"]["scales"][0]["actors"] == 1_000
    assert "bytes_per_actor" in report["scenarios"]["memory"]
    assert "messages_per_second" in report["scenarios"]["throughput"]
    names = {target["name"] for target in report["targets"]}
    assert "spawn" in names
    assert "tell to handled vs task + Queue" in names
    for target in report["targets"]:
        assert {"target", "measured", "met"} <= set(target)

    plots = sorted(path.name for path in tmp_path.glob("*.png"))
    assert plots == [
        "benchmarks-costs.png",
        "benchmarks-memory.png",
        "benchmarks-routing.png",
        "benchmarks-throughput.png",
    ]
