"""Flood a web app that keeps one actor per session, and watch it stay up.

``python examples/flood_demo.py`` starts ``flood_app.py`` (Starlette on uvicorn) in a
subprocess on a free loopback port. It then runs ``flood_load.py`` against it in
another subprocess twice: first with legitimate clients only (the baseline), then
with the same clients plus attackers. It shows progress on one line, prints a
final table and one line per mode that states whether the run met its checks, and
exits with 1 when the bounded app failed one of them.

Options: ``--duration SECONDS`` (length of the attack phase, default 30),
``--baseline SECONDS`` (length of the baseline phase), ``--report PATH`` (write
the figures as JSON), ``--unbounded`` (run the naive twin instead), ``--compare``
(run both and print them side by side, and write a report that maps each mode to
its figures), ``--max-children`` and ``--per-client`` (limits of the bounded
server). Everything stays on 127.0.0.1, and no standard input is read.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import httpx

HERE = Path(__file__).resolve().parent
APP = HERE / "flood_app.py"
LOAD = HERE / "flood_load.py"
STARTUP_TIMEOUT = 20.0
# Extra seconds a load subprocess gets past its own deadline before it is killed.
LOAD_GRACE = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ServerProcess:
    """``flood_app.py`` in a subprocess; its log goes to a temporary file."""

    def __init__(self, mode: str, extra_args: list[str], log: TextIO) -> None:
        self.mode = mode
        self.extra_args = extra_args
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> None:
        """Start the server and wait until ``/stats`` replies; retry a taken port."""
        for _attempt in range(3):
            port = free_port()
            command = [sys.executable, str(APP), "--port", str(port), *self.extra_args]
            if self.mode == "unbounded":
                command.append("--unbounded")
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log
            )
            self.url = f"http://127.0.0.1:{port}"
            if self._wait_ready():
                return
            self.stop()
        raise RuntimeError(f"server did not start; its log:\n{self.log_tail()}")

    def _wait_ready(self) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if httpx.get(f"{self.url}/stats", timeout=1.0).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        return False

    def stats(self) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/stats", timeout=10.0)
        response.raise_for_status()
        figures: dict[str, Any] = response.json()
        return figures

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def log_tail(self, lines: int = 20) -> str:
        self.log.seek(0)
        return "".join(self.log.readlines()[-lines:])


class Progress:
    """One updating line on a terminal, or a plain line every few seconds."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.last_plain = 0.0

    def show(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r\x1b[2K" + text)
            self.stream.flush()
            return
        now = time.monotonic()
        if now - self.last_plain >= 5.0:
            self.last_plain = now
            self.stream.write(text + "\n")
            self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
        self.last_plain = 0.0


def describe_progress(
    mode: str, phase: str, total: float, sample: dict[str, Any]
) -> str:
    server = sample.get("server") or {}
    limit = server.get("actor_limit")
    sessions = f"{server.get('actors_alive', '?')}"
    if limit is not None:
        sessions += f"/{limit}"
    p99 = sample.get("legit_p99_ms")
    # No legitimate reply yet in the last half second, as at the start of a phase.
    p99_text = "n/a" if p99 is None else f"{p99:.1f} ms"
    rss = server.get("rss_mb")
    rss_text = "?" if rss is None else f"{rss:.1f} MB"
    return (
        f"[{mode} {phase} {sample['t']:5.1f}/{total:.0f} s] "
        f"sessions {sessions}  rejected {sample.get('server_rejected') or 0:,}  "
        f"rss {rss_text}  legit p99 {p99_text}  "
        f"lost {sample['legit_lost']}  wrong {sample['legit_wrong']}"
    )


def run_load(
    url: str,
    duration: float,
    attack: bool,
    mode: str,
    progress: Progress,
    timeline: list[dict[str, Any]],
    offset: float,
) -> dict[str, Any]:
    """Run ``flood_load.py`` to its end, showing its progress; return its result."""
    phase = "attack" if attack else "baseline"
    command = [sys.executable, str(LOAD), "--url", url, "--duration", str(duration)]
    if not attack:
        command.append("--no-attack")
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(duration + LOAD_GRACE, process.kill)
    watchdog.start()
    result: dict[str, Any] | None = None
    try:
        assert process.stdout is not None
        for line in process.stdout:
            record = json.loads(line)
            if "result" in record:
                result = record["result"]
                continue
            sample = record["progress"]
            timeline.append(timeline_point(phase, offset, sample))
            progress.show(describe_progress(mode, phase, duration, sample))
        stderr = process.stderr.read() if process.stderr is not None else ""
        process.wait()
    finally:
        watchdog.cancel()
    progress.done()
    if result is None:
        raise RuntimeError(f"load generator failed ({process.returncode}):\n{stderr}")
    return result


def timeline_point(phase: str, offset: float, sample: dict[str, Any]) -> dict[str, Any]:
    server = sample.get("server") or {}
    return {
        "t": round(offset + sample["t"], 2),
        "phase": phase,
        "warmup": sample.get("warmup", False),
        "rss_mb": server.get("rss_mb"),
        "actors_alive": server.get("actors_alive"),
        "lookup_us": server.get("lookup_us"),
        "legit_p50_ms": sample.get("legit_p50_ms"),
        "legit_p99_ms": sample.get("legit_p99_ms"),
        "server_rejected": sample.get("server_rejected"),
    }


def run_mode(
    mode: str, duration: float, baseline: float, server_args: list[str]
) -> dict[str, Any]:
    """Start the server for ``mode``, run the baseline, then the attack."""
    progress = Progress(sys.stdout)
    timeline: list[dict[str, Any]] = []
    with tempfile.TemporaryFile(mode="w+") as log:
        server = ServerProcess(mode, server_args, log)
        server.start()
        try:
            calm = run_load(server.url, baseline, False, mode, progress, timeline, 0.0)
            offset = calm["duration_s"]
            attacked = run_load(
                server.url, duration, True, mode, progress, timeline, offset
            )
            final = server.stats()
        finally:
            server.stop()
    return build_report(mode, calm, attacked, final, timeline)


def build_report(
    mode: str,
    calm: dict[str, Any],
    attacked: dict[str, Any],
    final: dict[str, Any],
    timeline: list[dict[str, Any]],
) -> dict[str, Any]:
    base_p99 = calm["legit"]["p99_ms"]
    attack_p99 = attacked["legit"]["p99_ms"]
    ratio = None
    if base_p99 and attack_p99 is not None:
        ratio = round(attack_p99 / base_p99, 2)
    return {
        "mode": mode,
        "duration_s": attacked["duration_s"],
        "legit": attacked["legit"],
        "attack": attacked["attack"],
        "server": {
            "actors_max": final["actors_max"],
            "actor_limit": final["actor_limit"],
            "actors_alive_end": final["actors_alive"],
            "rss_start_mb": round(final["rss_start_mb"], 1),
            "rss_peak_mb": round(final["rss_peak_mb"], 1),
            "rss_end_mb": round(final["rss_mb"], 1),
            "rss_growth_second_half_mb": second_half_growth(timeline),
            "errors_500": final["errors_500"],
            "loads": final.get("loads", 0),
            "saves": final.get("saves", 0),
            "passivations": final.get("passivations", {}),
            "peak_concurrent_loads": final.get("peak_concurrent_loads", 0),
            "spawn_rejected": final.get("spawn_rejected", {}),
            "status_counts": final["status_counts"],
            "rejected": final.get("rejected", {}),
            "client_disconnects": final.get("client_disconnects", 0),
        },
        "symbols": {"used": final["symbols_used"], "limit": final["symbols_limit"]},
        "baseline": {"duration_s": calm["duration_s"], "legit": calm["legit"]},
        "legit_p99_ratio": ratio,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(terse=True),
        },
        "timeline": timeline,
    }


def second_half_growth(timeline: list[dict[str, Any]]) -> float | None:
    """Return RSS growth over the second half of the attack phase, in MB."""
    points = [p for p in timeline if p["phase"] == "attack" and p["rss_mb"] is not None]
    if len(points) < 2:
        return None
    middle: float = points[len(points) // 2]["rss_mb"]
    end: float = points[-1]["rss_mb"]
    return round(end - middle, 1)


# The server's rejection counts by limit, as /stats names them, with row labels.
REJECTION_ROWS = (
    ("max_children", "max_children"),
    ("spawn_rate", "spawn_rate"),
    ("per_key", "per-key quota"),
    ("max_quota_keys", "quota-key table"),
    ("mailbox_size", "mailbox_size"),
    ("symbol_limit", "symbols"),
    ("max_body", "body too large"),
    ("bad_request", "malformed/invalid"),
)

ROWS: tuple[tuple[str, Callable[[dict[str, Any]], object]], ...] = (
    ("legit sent", lambda r: r["legit"]["sent"]),
    ("legit ok", lambda r: r["legit"]["ok"]),
    ("legit lost", lambda r: r["legit"]["lost"]),
    ("legit wrong", lambda r: r["legit"]["wrong"]),
    ("legit p50 ms", lambda r: r["legit"]["p50_ms"]),
    ("legit p99 ms", lambda r: r["legit"]["p99_ms"]),
    ("baseline p99 ms", lambda r: r["baseline"]["legit"]["p99_ms"]),
    ("p99 / baseline", lambda r: r["legit_p99_ratio"]),
    ("attack sent", lambda r: r["attack"]["sent"]),
    ("attack rejected", lambda r: r["attack"]["rejected"]),
    ("  429", lambda r: r["attack"]["by_status"]["429"]),
    ("  503", lambda r: r["attack"]["by_status"]["503"]),
    ("  400", lambda r: r["attack"]["by_status"]["400"]),
    ("  413", lambda r: r["attack"]["by_status"]["413"]),
    ("server rejected, by limit", lambda r: sum(r["server"]["rejected"].values())),
    *(
        (f"  {label}", lambda r, name=name: r["server"]["rejected"].get(name, 0))
        for name, label in REJECTION_ROWS
    ),
    ("actors max", lambda r: r["server"]["actors_max"]),
    ("actor limit", lambda r: r["server"]["actor_limit"]),
    ("rss start MB", lambda r: r["server"]["rss_start_mb"]),
    ("rss peak MB", lambda r: r["server"]["rss_peak_mb"]),
    ("rss growth, 2nd half MB", lambda r: r["server"]["rss_growth_second_half_mb"]),
    ("errors 500", lambda r: r["server"]["errors_500"]),
    ("symbols used", lambda r: r["symbols"]["used"]),
    ("symbol limit", lambda r: r["symbols"]["limit"]),
    ("store loads", lambda r: r["server"]["loads"]),
    ("store saves", lambda r: r["server"]["saves"]),
)


def failed_checks(report: dict[str, Any]) -> list[str]:
    """Return the checks that ``report`` fails; the limit checks are for bounded."""
    legit, server = report["legit"], report["server"]
    failed = []
    if legit["lost"]:
        failed.append(f"legit lost {legit['lost']:,} (expected 0)")
    if legit["wrong"]:
        failed.append(f"legit wrong {legit['wrong']:,} (expected 0)")
    if server["errors_500"]:
        failed.append(f"errors 500 {server['errors_500']:,} (expected 0)")
    if report["mode"] == "bounded":
        if server["actors_max"] > server["actor_limit"]:
            failed.append(
                f"actors max {server['actors_max']:,} over {server['actor_limit']:,}"
            )
        if not report["attack"]["rejected"]:
            failed.append("no attack request was rejected")
    return failed


def format_verdict(report: dict[str, Any]) -> str:
    """Return one line that states whether ``report`` met its checks."""
    failed = failed_checks(report)
    if failed:
        return f"{report['mode']}: FAILED: " + "; ".join(failed)
    checks = "legit lost 0, wrong 0, errors 500 0"
    if report["mode"] == "bounded":
        checks += ", actors max <= actor limit, attackers rejected"
    else:
        checks += " (no limits to check)"
    return f"{report['mode']}: met its checks: {checks}"


def format_value(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def format_table(reports: list[dict[str, Any]]) -> str:
    width = max(len(name) for name, _ in ROWS) + 2
    lines = ["".ljust(width) + "".join(r["mode"].rjust(12) for r in reports)]
    for name, read in ROWS:
        cells = "".join(format_value(read(r)).rjust(12) for r in reports)
        lines.append(name.ljust(width) + cells)
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--duration", type=float, default=30.0, help="attack phase, seconds"
    )
    parser.add_argument(
        "--baseline",
        type=float,
        default=None,
        help="baseline phase without attackers, seconds (default: a third of "
        "--duration, from 2 to 10)",
    )
    parser.add_argument("--report", type=Path, help="write the figures as JSON here")
    parser.add_argument(
        "--max-children", type=int, help="bounded server's live carts (default 300)"
    )
    parser.add_argument(
        "--per-client",
        type=int,
        help="bounded server's live carts per client (default 20)",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--unbounded", action="store_true", help="run the naive twin")
    which.add_argument(
        "--compare", action="store_true", help="run both modes, side by side"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= 3600:
        parser.error(f"--duration must be from 1 to 3600 seconds, got {args.duration}")
    if args.baseline is None:
        args.baseline = min(10.0, max(2.0, args.duration / 3))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    modes = ["bounded", "unbounded"] if args.compare else []
    if not modes:
        modes = ["unbounded"] if args.unbounded else ["bounded"]
    server_args: list[str] = []
    if args.max_children is not None:
        server_args += ["--max-children", str(args.max_children)]
    if args.per_client is not None:
        server_args += ["--per-client", str(args.per_client)]
    reports = [
        run_mode(mode, args.duration, args.baseline, server_args) for mode in modes
    ]
    print()
    print(format_table(reports))
    print()
    for report in reports:
        print(format_verdict(report))
    if args.report is not None:
        document: dict[str, Any] = reports[0]
        if args.compare:
            document = {r["mode"]: r for r in reports}
        args.report.write_text(json.dumps(document, indent=2) + "\n")
        print(f"\nreport written to {args.report}")
    # Only the bounded app has limits to keep, so only its checks set the code.
    bounded = [r for r in reports if r["mode"] == "bounded"]
    return 1 if any(failed_checks(r) for r in bounded) else 0


if __name__ == "__main__":
    sys.exit(main())
