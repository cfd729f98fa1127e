"""The flood demo, run short in both modes, keeps the invariants its report claims.

The checks are on counts and limits, not on timings, so a slow or busy machine
changes the figures but not the outcome.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# Attack kinds that use a new session id on every request.
FLOOD_KINDS = ("new_sessions", "one_address")
DEMO = Path(__file__).resolve().parent.parent / "examples" / "flood_demo.py"

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")
pytest.importorskip("psutil")


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    report = tmp_path_factory.mktemp("demo") / "report.json"
    command = [
        sys.executable,
        str(DEMO),
        "--compare",
        "--duration",
        "4",
        "--baseline",
        "2",
        "--report",
        str(report),
        # Limits that a slow machine's short flood still reaches, above the 64
        # sessions the legitimate clients of both phases keep.
        "--max-children",
        "100",
        "--per-client",
        "5",
    ]
    completed = subprocess.run(
        command,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    document: dict[str, Any] = json.loads(report.read_text())
    return document


def test_report_has_required_keys(compared: dict[str, Any]) -> None:
    """Both modes report every key the demo documents."""
    for mode in ("bounded", "unbounded"):
        report = compared[mode]
        assert report["mode"] == mode
        assert report["duration_s"] > 0
        for key in ("sent", "ok", "lost", "wrong", "p50_ms", "p99_ms"):
            assert key in report["legit"], key
        for key in ("sent", "rejected", "by_status"):
            assert key in report["attack"], key
        for status in ("429", "503", "400", "413"):
            assert status in report["attack"]["by_status"], status
        for key in (
            "actors_max",
            "actor_limit",
            "rss_start_mb",
            "rss_peak_mb",
            "errors_500",
            "loads",
            "saves",
        ):
            assert key in report["server"], key
        assert set(report["symbols"]) >= {"used", "limit"}
        assert report["baseline"]["legit"]["sent"] > 0


def test_bounded_serves_legit_clients(compared: dict[str, Any]) -> None:
    """Under attack, every legitimate request gets the expected count."""
    legit = compared["bounded"]["legit"]
    assert legit["sent"] > 0
    assert legit["lost"] == 0, legit
    assert legit["wrong"] == 0, legit
    assert legit["ok"] == legit["sent"]


def test_bounded_stays_within_limits(compared: dict[str, Any]) -> None:
    """Actors and symbols stay under their limits and no request gets a 500."""
    report = compared["bounded"]
    server = report["server"]
    assert server["errors_500"] == 0
    assert server["actor_limit"] is not None
    assert server["actors_max"] <= server["actor_limit"]
    assert report["symbols"]["limit"] is not None
    assert report["symbols"]["used"] <= report["symbols"]["limit"]
    assert server["rss_peak_mb"] >= server["rss_start_mb"]


def test_bounded_rejects_attackers(compared: dict[str, Any]) -> None:
    """The per-client quota returns 429, bad or oversized bodies 400 and 413.

    Whether the short flood also fills max_children (503) depends on the
    machine's speed, so it is not checked here.
    """
    attack = compared["bounded"]["attack"]
    assert attack["sent"] > 0
    assert attack["rejected"] > 0
    assert attack["by_status"]["429"] > 0
    assert attack["by_kind"]["one_address"]["429"] > 0
    assert compared["bounded"]["server"]["spawn_rejected"]["per_key"] > 0
    assert attack["by_status"]["400"] > 0
    assert attack["by_status"]["413"] > 0


def test_unbounded_accepts_everything(compared: dict[str, Any]) -> None:
    """The naive twin has no limits: no 429, 503 or 413, and keeps every session."""
    report = compared["unbounded"]
    by_status = report["attack"]["by_status"]
    assert by_status["429"] == 0
    assert by_status["503"] == 0
    assert by_status["413"] == 0
    assert report["server"]["actor_limit"] is None
    assert report["symbols"]["limit"] is None
    assert report["legit"]["wrong"] == 0
    by_kind = report["attack"]["by_kind"]
    created = sum(by_kind.get(kind, {}).get("200", 0) for kind in FLOOD_KINDS)
    assert created > 0
    assert report["server"]["actors_max"] >= created
