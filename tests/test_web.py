"""Web integrations: the example apps over a real loopback server, and admission."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")
pytest.importorskip("starlette")
web = pytest.importorskip("aiohttp.web")

import boundedactors as ba  # noqa: E402
from boundedactors.integrations._http import limit_response  # noqa: E402
from boundedactors.integrations.aiohttp import admission_middleware  # noqa: E402
from boundedactors.integrations.asgi import (  # noqa: E402
    AdmissionMiddleware,
    ClientAdmission,
    LimitExceededMiddleware,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@asynccontextmanager
async def serve_asgi(app: Any) -> AsyncIterator[str]:
    """Run ``app`` under uvicorn on 127.0.0.1, on a free port; yield its URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    # Startup is socket I/O and the lifespan, not a timer: yield until it is done.
    for _ in range(200_000):
        if server.started or task.done():
            break
        await asyncio.sleep(0)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10.0)


@asynccontextmanager
async def serve_aiohttp(app: Any) -> AsyncIterator[str]:
    """Run ``app`` with aiohttp on 127.0.0.1, on a free port; yield its URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


SERVERS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "starlette": ("starlette_app.py", serve_asgi),
    "aiohttp": ("aiohttp_app.py", serve_aiohttp),
}


def test_limit_response_statuses() -> None:
    """Rate and per-key limits are 429; capacity limits are 503."""
    cases = [
        (
            ba.SpawnLimitExceeded("spawn_rate", limit=1, current=1, retry_after=0.2),
            429,
            "1",
        ),
        (ba.SpawnLimitExceeded("per_key", limit=1, current=1), 429, "1"),
        (
            ba.SpawnLimitExceeded("spawn_rate", limit=1, current=1, retry_after=2.5),
            429,
            "3",
        ),
        (ba.SpawnLimitExceeded("max_children", limit=1, current=1), 503, "1"),
        (ba.SpawnLimitExceeded("quota_keys", limit=1, current=1), 503, "1"),
        (ba.MailboxFull(limit=1, current=1), 503, "1"),
    ]
    for error, status, retry_after in cases:
        got_status, headers, body = limit_response(error)
        assert got_status == status, error
        assert dict(headers)["retry-after"] == retry_after, error
        assert b'"error"' in body
    _, headers, _ = limit_response(ba.MailboxFull(limit=1, current=1), None)
    assert "retry-after" not in dict(headers)


@pytest.mark.parametrize("framework", sorted(SERVERS))
async def test_example_app_over_loopback(framework: str) -> None:
    """The example serves rooms, then answers 503 and 429 at its limits."""
    filename, serve = SERVERS[framework]
    example = load_example(filename)
    app = example.create_app(max_rooms=3, room_rate=0.01, room_burst=2.0)
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        first = await client.post("/rooms/lobby/messages")
        assert first.status_code == 200
        assert first.json() == {"room": "lobby", "messages": 1}
        again = await client.post("/rooms/lobby/messages")
        assert again.json()["messages"] == 2
        assert (await client.post("/rooms/kitchen/messages")).status_code == 200

        # The spawn bucket (burst 2, 0.01 per second) is empty now.
        limited = await client.post("/rooms/garden/messages")
        assert limited.status_code == 429
        assert limited.json()["reason"] == "spawn_rate"
        assert 1 <= int(limited.headers["retry-after"]) <= 100

        too_long = await client.post("/rooms/" + "x" * 65 + "/messages")
        assert too_long.status_code == 400

        stats = (await client.get("/stats")).json()
        assert stats["live_actors"] == 2
        assert stats["rejected"] == {"spawn_rate": 1}


@pytest.mark.parametrize("framework", sorted(SERVERS))
async def test_example_app_capacity_503(framework: str) -> None:
    """Past max_children a new room gets 503 with Retry-After: 1."""
    filename, serve = SERVERS[framework]
    app = load_example(filename).create_app(max_rooms=2)
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        for room in ("a", "b"):
            assert (await client.post(f"/rooms/{room}/messages")).status_code == 200
        full = await client.post("/rooms/c/messages")
        assert full.status_code == 503
        assert full.headers["retry-after"] == "1"
        assert full.json()["reason"] == "max_children"
        assert (await client.post("/rooms/a/messages")).json()["messages"] == 2


def hold_app(gate: asyncio.Event, entered: asyncio.Semaphore) -> Any:
    """Return an ASGI app that releases ``entered`` on each request and responds
    200 once ``gate`` is set."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        entered.release()
        await gate.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})

    return app


async def test_asgi_admission_per_client() -> None:
    """A client past per_client gets 429; other clients are still admitted."""
    gate = asyncio.Event()
    entered = asyncio.Semaphore(0)
    admission = ClientAdmission(per_client=1, max_clients=2, header="x-client-id")
    inner = LimitExceededMiddleware(hold_app(gate, entered))
    app = AdmissionMiddleware(inner, admission=admission)
    async with (
        admission,
        serve_asgi(app) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        held = asyncio.create_task(client.get("/", headers={"x-client-id": "alice"}))
        await entered.acquire()
        second = await client.get("/", headers={"x-client-id": "alice"})
        assert second.status_code == 429
        assert second.json()["reason"] == "per_key"
        assert second.headers["retry-after"] == "1"
        other = asyncio.create_task(client.get("/", headers={"x-client-id": "bob"}))
        await entered.acquire()
        assert len(admission.supervisor) == 2
        third_client = await client.get("/", headers={"x-client-id": "carol"})
        assert third_client.status_code == 503
        assert third_client.json()["reason"] == "quota_keys"
        gate.set()
        assert (await held).status_code == 200
        assert (await other).status_code == 200
        assert len(admission.supervisor) == 0
        again = await client.get("/", headers={"x-client-id": "alice"})
        assert again.status_code == 200
        assert admission.supervisor.stats().rejected == {"per_key": 1, "quota_keys": 1}


async def test_aiohttp_admission_by_address() -> None:
    """Without the header, the peer address is the key."""
    gate = asyncio.Event()
    entered = asyncio.Event()

    async def hold(request: Any) -> Any:
        entered.set()
        await gate.wait()
        return web.Response(text="done")

    admission = ClientAdmission(per_client=1, header="x-client-id")
    app = web.Application(middlewares=[admission_middleware(admission)])
    app.router.add_get("/", hold)
    async with (
        admission,
        serve_aiohttp(app) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        held = asyncio.create_task(client.get("/"))
        await entered.wait()
        rejected = await client.get("/")
        assert rejected.status_code == 429
        assert rejected.json()["reason"] == "per_key"
        gate.set()
        assert (await held).status_code == 200
        assert (await client.get("/")).status_code == 200


def test_admission_options_checked() -> None:
    """Bad admission options raise at construction."""
    with pytest.raises(ValueError, match="per_client"):
        ClientAdmission(per_client=0)
    with pytest.raises(ValueError, match="header"):
        ClientAdmission(header="")
    with pytest.raises(TypeError, match="admission"):
        admission_middleware(object())  # type: ignore[arg-type]


async def test_starlette_exception_handler() -> None:
    """exception_handlers turns a LimitExceeded into 429 with Retry-After."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from boundedactors.integrations.starlette import exception_handlers

    async def limited(request: Request) -> Response:
        raise ba.SpawnLimitExceeded("spawn_rate", limit=5, current=5, retry_after=1.2)

    app = Starlette(
        routes=[Route("/", limited)], exception_handlers=dict(exception_handlers)
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.json()["reason"] == "spawn_rate"


async def test_lifespan_and_setup_run_async_hooks() -> None:
    """Async setup hooks run at start; the supervisors stop with the app."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from boundedactors.integrations import aiohttp as aiohttp_integration
    from boundedactors.integrations.asgi import supervisor_lifespan

    started: list[ba.Supervisor] = []

    async def asgi_setup(supervisor: ba.Supervisor) -> dict[str, Any]:
        started.append(supervisor)
        return {"greeting": "hello"}

    async def greet(request: Request) -> PlainTextResponse:
        assert request.state.supervisor is started[0]
        return PlainTextResponse(request.state.greeting)

    admission = ClientAdmission()
    app = Starlette(
        routes=[Route("/", greet)],
        lifespan=supervisor_lifespan(asgi_setup, admission=admission, name="asgi"),
    )
    async with serve_asgi(app) as url, httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/")).text == "hello"
    assert not started[0].is_running
    assert not admission.supervisor.is_running

    async def aiohttp_start(app: Any, supervisor: ba.Supervisor) -> None:
        started.append(supervisor)

    async def name(request: Any) -> Any:
        supervisor = request.app[aiohttp_integration.SUPERVISOR]
        return web.Response(text=supervisor.name)

    aiohttp_app = web.Application()
    aiohttp_integration.setup(aiohttp_app, aiohttp_start, name="aio")
    aiohttp_app.router.add_get("/", name)
    async with (
        serve_aiohttp(aiohttp_app) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        assert (await client.get("/")).text == "aio"
        assert started[1].is_running
    assert not started[1].is_running
