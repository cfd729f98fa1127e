"""The flood demo's web app maps every limit and bad request to 4xx or 503."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from boundedactors.stores import MemoryStore
from boundedactors.testing import FakeClock

pytest.importorskip("starlette")
pytest.importorskip("psutil")

with warnings.catch_warnings():
    # Starlette 1.x warns that its test client will move off httpx.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
import flood_app

SMALL = flood_app.Limits(
    max_children=3,
    spawn_rate=1000.0,
    spawn_burst=1000.0,
    per_client=2,
    symbol_limit=len(flood_app.KNOWN_ATTRIBUTES) + 2,
    max_attrs=3,
    max_lines=2,
    max_body=256,
    idle_timeout=30.0,
)


@pytest.fixture(params=["bounded", "unbounded"])
def client(request: pytest.FixtureRequest) -> Iterator[TestClient]:
    with TestClient(flood_app.build_app(request.param, SMALL)) as test_client:
        yield test_client


@pytest.fixture
def bounded() -> Iterator[TestClient]:
    with TestClient(flood_app.build_app("bounded", SMALL)) as test_client:
        yield test_client


def add(client: TestClient, session: str, key: str = "k1", **body: Any) -> Any:
    body.setdefault("item", "apple")
    return client.post(f"/carts/{session}/items", json=body, headers={"X-Api-Key": key})


def test_cart_counts_items(client: TestClient) -> None:
    """Both modes add quantities and read them back."""
    assert add(client, "s1", qty=2).json() == {"count": 2, "lines": 1}
    assert add(client, "s1", item="pear", attrs={"color": "red"}).json() == {
        "count": 3,
        "lines": 2,
    }
    reply = client.get("/carts/s1", headers={"X-Api-Key": "k1"})
    assert reply.status_code == 200
    assert reply.json()["count"] == 3


@pytest.mark.parametrize(
    "content",
    [
        b"{",
        b"[]",
        b"\xff\xfe",
        b"[" * 200,
        b'{"item": "a", "qty": 0}',
        b'{"item": "a", "qty": true}',
        b'{"item": ""}',
        b'{"item": "a", "price": 1}',
        b'{"item": "a", "attrs": []}',
        b'{"item": "a", "attrs": {"": "v"}}',
        b'{"item": "a", "attrs": {"color": 5}}',
    ],
)
def test_bad_body_is_400(client: TestClient, content: bytes) -> None:
    """Malformed or invalid bodies get 400 in both modes."""
    reply = client.post("/carts/s1/items", content=content, headers={"X-Api-Key": "k1"})
    assert reply.status_code == 400, reply.text


def test_bad_session_and_key_are_400(client: TestClient) -> None:
    """Session ids and API keys outside their alphabet get 400."""
    assert add(client, "a" * 65).status_code == 400
    assert add(client, "bad.id").status_code == 400
    assert add(client, "s1", key="spaces are invalid").status_code == 400


def test_oversized_body_is_413(bounded: TestClient) -> None:
    """A body over max_body gets 413, with or without Content-Length."""
    big = b'{"item": "' + b"x" * 1000 + b'"}'
    reply = bounded.post("/carts/s1/items", content=big)
    assert reply.status_code == 413

    def chunks() -> Iterator[bytes]:
        yield b" " * 200
        yield b" " * 200

    assert bounded.post("/carts/s1/items", content=chunks()).status_code == 413


def test_too_many_attributes_is_400(bounded: TestClient) -> None:
    """A request with more attribute names than max_attrs gets 400."""
    attrs = {f"a{i}": "v" for i in range(4)}
    assert add(bounded, "s1", attrs=attrs).status_code == 400


def test_symbol_ceiling_is_503(bounded: TestClient) -> None:
    """New attribute names past the ceiling get 503; known names still work."""
    assert add(bounded, "s1", attrs={"n1": "v", "n2": "v"}).status_code == 200
    reply = add(bounded, "s1", attrs={"n3": "v"})
    assert reply.status_code == 503
    assert int(reply.headers["Retry-After"]) == flood_app.SYMBOLS_RETRY_AFTER
    assert add(bounded, "s1", attrs={"n1": "w", "color": "red"}).status_code == 200


def test_per_client_quota_is_429(bounded: TestClient) -> None:
    """A client past per_client new sessions gets 429 with Retry-After."""
    assert add(bounded, "s1").status_code == 200
    assert add(bounded, "s2").status_code == 200
    reply = add(bounded, "s3")
    assert reply.status_code == 429
    assert reply.json()["limit"] == "per_key"
    assert int(reply.headers["Retry-After"]) >= 1
    assert add(bounded, "s1").status_code == 200


def test_client_without_key_counts_by_address(bounded: TestClient) -> None:
    """Requests without X-Api-Key share one quota per peer address."""
    for session in ("a1", "a2"):
        reply = bounded.post(f"/carts/{session}/items", json={"item": "x"})
        assert reply.status_code == 200
    reply = bounded.post("/carts/a3/items", json={"item": "x"})
    assert reply.status_code == 429


def test_capacity_is_503(bounded: TestClient) -> None:
    """Past max_children, a new session gets 503; live ones still work."""
    assert add(bounded, "s1", key="k1").status_code == 200
    assert add(bounded, "s2", key="k2").status_code == 200
    assert add(bounded, "s3", key="k3").status_code == 200
    reply = add(bounded, "s4", key="k4")
    assert reply.status_code == 503
    assert reply.json()["limit"] == "max_children"
    assert int(reply.headers["Retry-After"]) == SMALL.idle_timeout
    assert add(bounded, "s1", key="k1").status_code == 200


def test_spawn_rate_is_429_with_its_retry_after() -> None:
    """The spawn rate's own retry_after becomes the Retry-After header."""
    limits = flood_app.Limits(spawn_rate=0.5, spawn_burst=1.0, idle_timeout=30.0)
    with TestClient(flood_app.build_app("bounded", limits)) as client:
        assert add(client, "s1", key="k1").status_code == 200
        reply = add(client, "s2", key="k2")
    assert reply.status_code == 429
    assert reply.json()["limit"] == "spawn_rate"
    assert 1 <= int(reply.headers["Retry-After"]) <= 2


def test_cart_line_limit_is_400(bounded: TestClient) -> None:
    """A cart rejects more distinct items than max_lines."""
    assert add(bounded, "s1", item="a").status_code == 200
    assert add(bounded, "s1", item="b").status_code == 200
    assert add(bounded, "s1", item="c").status_code == 400
    reply = bounded.get("/carts/s1", headers={"X-Api-Key": "k1"})
    assert reply.json() == {"count": 2, "lines": 2}


def test_stats_reports_figures(bounded: TestClient) -> None:
    """/stats reports actors, limits, symbols and no 500s."""
    add(bounded, "s1")
    figures = bounded.get("/stats").json()
    assert figures["actors_alive"] == 1
    assert figures["actors_max"] == 1
    assert figures["actor_limit"] == SMALL.max_children
    assert figures["symbols_limit"] == SMALL.symbol_limit
    assert figures["errors_500"] == 0
    assert figures["rss_peak_mb"] >= figures["rss_start_mb"] > 0


async def test_idle_cart_is_saved_and_loaded() -> None:
    """A cart idle past idle_timeout is saved and stopped, then loaded again."""
    clock = FakeClock()
    store = MemoryStore()
    server = flood_app.Server("bounded", SMALL, store=store, clock=clock)
    app = server.build()
    transport = httpx.ASGITransport(app=app)
    headers = {"X-Api-Key": "k1"}
    async with (
        server.lifespan(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        reply = await client.post(
            "/carts/s1/items", json={"item": "a", "qty": 2}, headers=headers
        )
        assert reply.json() == {"count": 2, "lines": 1}

        await clock.advance(SMALL.idle_timeout + 1)
        figures = (await client.get("/stats")).json()
        assert figures["actors_alive"] == 0
        assert figures["saves"] == 1
        assert figures["passivations"] == {"idle": 1}
        assert "s1" in store

        reply = await client.post(
            "/carts/s1/items", json={"item": "b"}, headers=headers
        )
        assert reply.json() == {"count": 3, "lines": 2}
        figures = (await client.get("/stats")).json()
        assert figures["actors_alive"] == 1
        assert figures["loads"] == 2


async def test_client_disconnect_is_counted_not_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A client that leaves mid-body gets no response and no 500 is counted."""
    server = flood_app.Server("bounded", SMALL, store=MemoryStore())
    app = server.build()
    messages: list[dict[str, Any]] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/carts/s1/items",
        "raw_path": b"/carts/s1/items",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-length", b"100"), (b"x-api-key", b"k1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    transport = httpx.ASGITransport(app=app)
    async with (
        server.lifespan(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        with caplog.at_level("WARNING", logger="flood_app"):
            for _ in range(3):
                messages[:] = [
                    {"type": "http.request", "body": b"{}", "more_body": True},
                    {"type": "http.disconnect"},
                ]
                await app(scope, receive, send)
        figures = (await client.get("/stats")).json()
    assert sent == []
    assert figures["client_disconnects"] == 3
    assert figures["errors_500"] == 0
    assert figures["status_counts"] == {}
    assert len(caplog.records) == 1
    assert caplog.records[0].exc_info is None


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"item": "a", "qty": 1' + b"0" * 5000 + b"}", "number too long"),
        (b'{"item": "\\ud800"}', "invalid item name"),
        (b'{"item": "a", "attrs": {"\\ud800": "v"}}', "invalid field name"),
        (b'{"item": "a", "attrs": {"color": "\\udc80"}}', "invalid attribute value"),
    ],
)
@pytest.mark.parametrize("mode", ["bounded", "unbounded"])
def test_bad_text_is_400_plain_message(
    mode: str, content: bytes, expected: str
) -> None:
    """Huge numbers and lone surrogates get 400 with the app's own message."""
    # The default max_body, because the number is longer than SMALL's.
    with TestClient(flood_app.build_app(mode)) as client:
        reply = client.post(
            "/carts/s1/items", content=content, headers={"X-Api-Key": "k1"}
        )
    assert reply.status_code == 400, reply.text
    message = reply.json()["error"]
    assert expected in message
    assert "sys." not in message


def test_stats_counts_rejections_by_limit(bounded: TestClient) -> None:
    """/stats groups rejected requests by the limit or check that rejected them."""
    assert add(bounded, "s1").status_code == 200
    assert add(bounded, "s2").status_code == 200
    assert add(bounded, "s3").status_code == 429
    assert add(bounded, "s1", qty=0).status_code == 400
    big = b'{"item": "' + b"x" * 1000 + b'"}'
    assert bounded.post("/carts/s1/items", content=big).status_code == 413
    rejected = bounded.get("/stats").json()["rejected"]
    assert rejected == {"bad_request": 1, "max_body": 1, "per_key": 1}


def test_demo_progress_shows_missing_p99() -> None:
    """Before the first legitimate reply, the progress line shows p99 as n/a."""
    import flood_demo

    sample = {"t": 0.5, "legit_p99_ms": None, "legit_lost": 0, "legit_wrong": 0}
    line = flood_demo.describe_progress("bounded", "attack", 30, sample)
    assert "legit p99 n/a" in line


def test_demo_verdict_names_failed_checks() -> None:
    """The final line names the checks a run failed; unbounded skips limits."""
    import flood_demo

    report: dict[str, Any] = {
        "mode": "bounded",
        "legit": {"lost": 0, "wrong": 0},
        "attack": {"rejected": 5},
        "server": {"errors_500": 0, "actors_max": 3, "actor_limit": 3},
    }
    assert flood_demo.failed_checks(report) == []
    assert "met its checks" in flood_demo.format_verdict(report)

    report["legit"]["lost"] = 2
    report["server"]["actors_max"] = 4
    report["attack"]["rejected"] = 0
    failed = flood_demo.failed_checks(report)
    assert len(failed) == 3
    assert "FAILED" in flood_demo.format_verdict(report)

    report["mode"] = "unbounded"
    report["server"]["actor_limit"] = None
    assert flood_demo.failed_checks(report) == ["legit lost 2 (expected 0)"]
