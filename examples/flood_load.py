"""Load generator for ``flood_app.py``: legitimate clients and attackers at once.

Run it against a server on loopback:
``python examples/flood_load.py --url http://127.0.0.1:8000 --duration 10``.
It prints one JSON line of progress every ``--interval`` seconds on stdout, with the
server's ``/stats`` figures, and one final line ``{"result": {...}}``.

Legitimate clients each keep a fixed set of sessions busy, one request at a time
with a short pause, and check every reply against the cart count they expect.
A reply is *ok* when it has status 200 and the expected count, *wrong* when it has
status 200 and another count, and *lost* otherwise (an error status, a timeout or
a broken connection). After a lost or wrong reply the client reads the cart to
learn its count again. If that read fails too, the next 200 reply is counted as
*unchecked*, because the client does not know what count to expect.

Attackers run at the same time, each kind in its own tasks:

- ``new_sessions``: a new session id and a new API key on every request.
- ``one_address``: new session ids from many connections without an API key, so
  they all count as one client, the peer address.
- ``field_names``: bodies full of attribute names never seen before.
- ``oversized``: bodies far over the size cap, with and without a
  ``Content-Length``, plus malformed and deeply nested JSON.

Every loop stops at the deadline; the run ends by itself. Only loopback URLs are
accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

LOOPBACK = ("127.0.0.1", "::1", "[::1]", "localhost")
REQUEST_TIMEOUT = 10.0


def percentile(values: list[float], fraction: float) -> float | None:
    """Return the ``fraction`` quantile of ``values`` (nearest rank), or ``None``."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


@dataclass
class LegitFigures:
    sent: int = 0
    ok: int = 0
    lost: int = 0
    wrong: int = 0
    unchecked: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    lost_by_status: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "ok": self.ok,
            "lost": self.lost,
            "wrong": self.wrong,
            "unchecked": self.unchecked,
            "p50_ms": percentile(self.latencies_ms, 0.50),
            "p99_ms": percentile(self.latencies_ms, 0.99),
            "max_ms": max(self.latencies_ms, default=None),
            "lost_by_status": dict(self.lost_by_status),
        }


@dataclass
class AttackFigures:
    sent: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_kind: dict[str, Counter[str]] = field(default_factory=dict)

    @classmethod
    def from_summary(cls, summary: dict[str, Any]) -> AttackFigures:
        figures = cls(sent=summary["sent"])
        for kind, counts in summary["by_kind"].items():
            figures.by_kind[kind] = Counter(counts)
            figures.by_status.update(counts)
        return figures

    def record(self, kind: str, status: str) -> None:
        self.sent += 1
        self.by_status[status] += 1
        self.by_kind.setdefault(kind, Counter())[status] += 1

    def summary(self) -> dict[str, Any]:
        by_status = {code: 0 for code in ("429", "503", "400", "413")}
        by_status.update(self.by_status)
        rejected = sum(
            count
            for status, count in self.by_status.items()
            if status.isdigit() and int(status) >= 400
        )
        return {
            "sent": self.sent,
            "rejected": rejected,
            "by_status": by_status,
            "by_kind": {kind: dict(c) for kind, c in self.by_kind.items()},
        }


class Load:
    """One run of legitimate clients and, unless disabled, attackers."""

    def __init__(self, args: argparse.Namespace, argv: list[str]) -> None:
        self.argv = argv
        self.url = args.url.rstrip("/")
        self.duration: float = args.duration
        self.args = args
        self.run_id = f"{random.getrandbits(32):08x}"
        self.legit = LegitFigures()
        self.attack = AttackFigures()
        self.workers = 1
        self.window_ms: list[float] = []
        self.start = time.monotonic()
        self.deadline: float = self.start + self.duration
        self.attack_start: float = self.start + args.attack_delay
        # Latencies before this moment (connections and sessions being set up)
        # are left out of the percentiles; the replies are still checked.
        self.warm: float = self.start + args.warmup

    def running(self) -> bool:
        return time.monotonic() < self.deadline

    @staticmethod
    def client(**options: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=REQUEST_TIMEOUT,
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=8),
            **options,
        )

    # Legitimate clients

    async def legit_client(self, index: int) -> None:
        sessions = [
            f"legit-{self.run_id}-{index}-{n}" for n in range(self.args.sessions)
        ]
        expected: dict[str, int | None] = dict.fromkeys(sessions, 0)
        rng = random.Random(index)
        # Each run has its own API keys, so sessions of an earlier run that have
        # not yet timed out do not count against this run's per-client quota.
        headers = {"X-Api-Key": f"legit-{self.run_id}-{index}"}
        async with self.client(headers=headers) as client:
            for turn in itertools.count():
                if not self.running():
                    return
                session = sessions[turn % len(sessions)]
                if expected[session] is None:
                    expected[session] = await self.read_count(client, session)
                qty = rng.randint(1, 3)
                body: dict[str, Any] = {"item": f"sku-{rng.randrange(20)}", "qty": qty}
                if turn % 3 == 0:
                    body["attrs"] = {"color": rng.choice(["red", "blue"])}
                await self.legit_request(client, session, body, expected)
                await asyncio.sleep(self.args.think)

    async def legit_request(
        self,
        client: httpx.AsyncClient,
        session: str,
        body: dict[str, Any],
        expected: dict[str, int | None],
    ) -> None:
        self.legit.sent += 1
        before = expected[session]
        warm = time.monotonic() >= self.warm
        began = time.perf_counter()
        try:
            response = await client.post(f"{self.url}/carts/{session}/items", json=body)
        except httpx.HTTPError as error:
            self.legit.lost += 1
            self.legit.lost_by_status[type(error).__name__] += 1
            expected[session] = None
            return
        elapsed = (time.perf_counter() - began) * 1000
        if warm:
            self.legit.latencies_ms.append(elapsed)
            self.window_ms.append(elapsed)
        if response.status_code != 200:
            self.legit.lost += 1
            self.legit.lost_by_status[str(response.status_code)] += 1
            expected[session] = None
            return
        count = response.json().get("count")
        if before is None:
            # The count was unknown after a lost reply and a failed read.
            self.legit.unchecked += 1
            expected[session] = count if isinstance(count, int) else None
            return
        if count == before + body["qty"]:
            self.legit.ok += 1
            expected[session] = count
            return
        self.legit.wrong += 1
        expected[session] = None

    async def read_count(self, client: httpx.AsyncClient, session: str) -> int | None:
        try:
            response = await client.get(f"{self.url}/carts/{session}")
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        count = response.json().get("count")
        return count if isinstance(count, int) else None

    # Attackers

    async def attack_loop(
        self,
        kind: str,
        make_request: Callable[[httpx.AsyncClient, int], Coroutine[Any, Any, int]],
        worker: int,
    ) -> None:
        await asyncio.sleep(max(0.0, self.attack_start - time.monotonic()))
        # Each worker keeps its share of --attack-rate on a fixed schedule, so
        # both modes are offered the same flood; a slow server slows it down.
        interval = self.workers / self.args.attack_rate
        due = time.monotonic()
        async with self.client() as client:
            for n in itertools.count():
                if not self.running():
                    return
                try:
                    status = str(await make_request(client, worker * 1_000_000 + n))
                except httpx.HTTPError as error:
                    status = type(error).__name__
                self.attack.record(kind, status)
                due += interval
                await asyncio.sleep(max(0.0, due - time.monotonic()))

    async def new_session(self, client: httpx.AsyncClient, n: int) -> int:
        session = f"flood-{self.run_id}-{n}"
        response = await client.post(
            f"{self.url}/carts/{session}/items",
            json={"item": "x", "qty": 1},
            headers={"X-Api-Key": f"rotating-{self.run_id}-{n}"},
        )
        return response.status_code

    async def one_address(self, client: httpx.AsyncClient, n: int) -> int:
        session = f"addr-{self.run_id}-{n}"
        response = await client.post(
            f"{self.url}/carts/{session}/items", json={"item": "x", "qty": 1}
        )
        return response.status_code

    async def field_names(self, client: httpx.AsyncClient, n: int) -> int:
        width = 16 if n % 2 == 0 else 200
        attrs = {f"f{self.run_id}_{n}_{i}": "v" for i in range(width)}
        response = await client.post(
            f"{self.url}/carts/names-{self.run_id}-{n % 4}/items",
            json={"item": "x", "qty": 1, "attrs": attrs},
            headers={"X-Api-Key": f"names-{self.run_id}"},
        )
        return response.status_code

    async def oversized(self, client: httpx.AsyncClient, n: int) -> int:
        url = f"{self.url}/carts/big-{self.run_id}-{n % 4}/items"
        headers = {"X-Api-Key": f"big-{self.run_id}"}
        variant = n % 4
        content: bytes | AsyncIterator[bytes]
        if variant == 0:
            content = b'{"item": "' + b"x" * self.args.big_body + b'"}'
        elif variant == 1:
            content = stream_chunks(self.args.big_body)
        elif variant == 2:
            content = b'{"item": "x", "qty": '
        else:
            content = b"[" * 10_000
        response = await client.post(url, content=content, headers=headers)
        return response.status_code

    # Progress and results

    async def report_progress(self) -> None:
        async with self.client() as client:
            while self.running():
                await asyncio.sleep(self.args.interval)
                self.emit({"progress": await self.snapshot(client)})

    async def snapshot(self, client: httpx.AsyncClient) -> dict[str, Any]:
        window, self.window_ms = self.window_ms, []
        server: dict[str, Any] | None
        try:
            server = (await client.get(f"{self.url}/stats")).json()
        except (httpx.HTTPError, ValueError):
            server = None
        now = time.monotonic()
        return {
            "t": round(now - self.start, 2),
            # The window of this sample began before the warm-up ended.
            "warmup": now - self.args.interval < self.warm,
            "legit_sent": self.legit.sent,
            "legit_lost": self.legit.lost,
            "legit_wrong": self.legit.wrong,
            "legit_p50_ms": percentile(window, 0.50),
            "legit_p99_ms": percentile(window, 0.99),
            "server_rejected": rejected_by_server(server),
            "server": server,
        }

    @staticmethod
    def emit(record: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()

    def attack_tasks(self) -> list[Coroutine[Any, Any, None]]:
        kinds: list[tuple[str, Any, int]] = [
            ("new_sessions", self.new_session, self.args.flooders),
            ("one_address", self.one_address, self.args.flooders),
            ("field_names", self.field_names, 1),
            ("oversized", self.oversized, 1),
        ]
        self.workers = sum(workers for _kind, _request, workers in kinds)
        return [
            self.attack_loop(kind, make_request, worker)
            for kind, make_request, workers in kinds
            for worker in range(workers)
        ]

    async def run(self) -> dict[str, Any]:
        if self.args.role == "attack":
            await asyncio.gather(*self.attack_tasks())
            return {"attack": self.attack.summary()}

        attackers = None
        if self.args.attack:
            # Attackers get their own process, so the event loop that times the
            # legitimate requests is not also busy sending the flood.
            attackers = await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                *self.argv,
                "--role",
                "attack",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
            )
        tasks = [self.legit_client(i) for i in range(self.args.clients)]
        progress = asyncio.ensure_future(self.report_progress())
        await asyncio.gather(*tasks)
        await progress
        if attackers is not None:
            output, _ = await attackers.communicate()
            self.attack = AttackFigures.from_summary(
                json.loads(output.decode().splitlines()[-1])["result"]["attack"]
            )
        async with self.client() as client:
            final = await self.snapshot(client)
        return {
            "duration_s": round(time.monotonic() - self.start, 2),
            "attack_enabled": bool(self.args.attack),
            "legit": self.legit.summary(),
            "attack": self.attack.summary(),
            "server": final["server"],
        }


def rejected_by_server(server: dict[str, Any] | None) -> int | None:
    """Return how many responses the server sent with a status of 400 or more."""
    if server is None:
        return None
    counts: dict[str, int] = server.get("status_counts", {})
    return sum(n for status, n in counts.items() if int(status) >= 400)


async def stream_chunks(total: int) -> AsyncIterator[bytes]:
    """Yield ``total`` bytes in 8 KiB chunks, so the request has no Content-Length."""
    chunk = b" " * 8192
    for _ in range(total // len(chunk)):
        yield chunk


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="server base URL on loopback")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds to run")
    parser.add_argument(
        "--no-attack", dest="attack", action="store_false", help="legit clients only"
    )
    parser.add_argument("--clients", type=int, default=8, help="legit clients")
    parser.add_argument(
        "--sessions", type=int, default=4, help="sessions per legit client"
    )
    parser.add_argument(
        "--think", type=float, default=0.02, help="legit pause between requests, s"
    )
    parser.add_argument(
        "--flooders", type=int, default=3, help="tasks per session-flood kind"
    )
    parser.add_argument(
        "--attack-rate",
        type=float,
        default=400.0,
        help="attack requests per second offered, across all attackers",
    )
    parser.add_argument(
        "--attack-delay", type=float, default=1.0, help="seconds before attacks start"
    )
    parser.add_argument(
        "--big-body", type=int, default=1 << 20, help="oversized body size, bytes"
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=1.0,
        help="seconds of legit latencies left out of the percentiles",
    )
    parser.add_argument(
        "--role",
        choices=("legit", "attack"),
        default="legit",
        help="attack: run only the attackers (the legit run starts this itself)",
    )
    parser.add_argument(
        "--interval", type=float, default=0.5, help="seconds between progress lines"
    )
    args = parser.parse_args(argv)
    host = urlsplit(args.url).hostname
    if host not in LOOPBACK:
        parser.error(f"--url must point at loopback (127.0.0.1 or ::1), got {host!r}")
    if not 0 < args.duration <= 3600:
        parser.error(f"--duration must be in (0, 3600] seconds, got {args.duration}")
    return args


def main(argv: list[str] | None = None) -> None:
    if argv is None:
        argv = sys.argv[1:]
    args = parse_args(argv)
    load = Load(args, argv)
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(load.run())
    else:
        result = uvloop.run(load.run())
    Load.emit({"result": result})


if __name__ == "__main__":
    main()
