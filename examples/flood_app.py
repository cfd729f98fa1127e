"""A shopping-cart web app that keeps one actor per session, and its naive twin.

Run it alone with ``python examples/flood_app.py --port 8000`` (add ``--unbounded``
for the naive twin); ``examples/flood_demo.py`` starts it for you and floods it.

HTTP API (the same in both modes):

- ``POST /carts/{session}/items`` with a JSON object ``{"item": str, "qty": int,
  "attrs": {name: str}}`` adds ``qty`` of ``item`` and returns ``{"count": total
  quantity, "lines": distinct items}``.
- ``GET /carts/{session}`` returns the same figures without changing the cart.
- ``GET /stats`` returns the server's own figures: actors alive and the maximum
  seen, RSS, symbols used and their limit, responses with status 500, and
  rejections by status and by limit. It also counts clients that disconnected
  before sending their whole body. They get no response and are not 500s.

The bounded app keeps each cart in an actor started on first use through a
:class:`boundedactors.Router` under a :class:`boundedactors.Supervisor` with
``max_children``, a spawn rate and a per-client quota. The client is the value of
the ``X-Api-Key`` header, or the peer address when the header is missing. Names of
cart attributes go through a :class:`boundedactors.SymbolTable` with a ceiling.
The body is read with a size cap. A cart with no request for ``idle_timeout``
seconds is saved to an SQLite state store and stopped, and its next request loads
it again.

Status codes for limits, each with a ``Retry-After`` header in whole seconds:

=====  ==================================================================
429    spawn rate (``retry_after`` of the error), per-client quota and
       quota-key table (``idle_timeout``, the longest an unused cart keeps
       its slot), full mailbox (1 s)
503    ``max_children`` (``idle_timeout``), symbol ceiling (3600 s, because the
       table does not shrink while the server runs), reply timed out (1 s),
       state store failing after the router's retries (5 s)
400    invalid session id or API key, malformed JSON (including nesting too
       deep to parse), unknown field, invalid value, too many attributes,
       cart line limit
413    body larger than ``max_body`` bytes
=====  ==================================================================

The naive twin (``--unbounded``) serves the same API with a plain dict of
sessions, each an asyncio task reading its own unbounded ``asyncio.Queue``. It has
no quotas, interns every attribute name forever, reads bodies whole, and finds a
session by a linear scan over the dict, as a registry kept in a list does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import re
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import psutil  # type: ignore[import-untyped]
import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

import boundedactors as ba
from boundedactors.errors import shorten
from boundedactors.stores import SQLiteStore, StateStore

logger = logging.getLogger("flood_app")

SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
API_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# The request's own field names: looked up with ``get``, never interned.
REQUEST_FIELDS = ba.SymbolTable.from_allowlist(["item", "qty", "attrs"])
KNOWN_ATTRIBUTES = ("color", "size", "gift", "note")
MAX_TEXT = 64
MAX_QTY = 100

# Retry-After values for limit errors whose retry_after is None.
MAILBOX_RETRY_AFTER = 1.0
TIMEOUT_RETRY_AFTER = 1.0
STORE_RETRY_AFTER = 5.0
SYMBOLS_RETRY_AFTER = 3600.0
# At most one log line per this many seconds about clients that disconnect
# while sending a body; /stats counts every one of them.
DISCONNECT_LOG_INTERVAL = 10.0


@dataclass(frozen=True, slots=True)
class Limits:
    """Configuration of the bounded app, in which every figure is a hard limit.

    The defaults are small, so the demo's 30-second flood reaches each limit even
    on a slow machine. A real shop would size them to its own traffic.
    """

    max_children: int = 300
    spawn_rate: float = 25.0
    spawn_burst: float = 50.0
    per_client: int = 20
    max_clients: int = 2000
    mailbox_size: int = 64
    symbol_limit: int = 1000
    max_attrs: int = 16
    max_lines: int = 100
    max_body: int = 16_384
    idle_timeout: float = 10.0
    ask_timeout: float = 2.0


class RequestError(Exception):
    """A request that is rejected before it reaches a cart: 400 or 413."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# Cart messages and the cart actor


@dataclass(frozen=True, slots=True)
class AddItem:
    """Add ``qty`` of ``item`` with attributes keyed by interned names."""

    item: str
    qty: int
    attrs: Mapping[object, str]


@dataclass(frozen=True, slots=True)
class ReadCart:
    """Return the cart's figures without changing it."""


CartMessage = AddItem | ReadCart
# {"count": total quantity, "lines": distinct items}, or {"error": message}.
CartReply = dict[str, Any]


@dataclass(slots=True)
class CartState:
    """Items and quantities of one cart; attribute names are kept as text."""

    quantities: dict[str, int] = field(default_factory=dict)
    attrs: dict[str, dict[str, str]] = field(default_factory=dict)

    def apply(self, message: CartMessage, max_lines: int | None) -> CartReply:
        """Apply ``message`` and return the cart's figures, or an error to send.

        An error is returned, not raised, because an exception from ``receive``
        would crash the actor and its restart would start from an empty cart.
        """
        if isinstance(message, AddItem):
            quantities = self.quantities
            if message.item not in quantities:
                if max_lines is not None and len(quantities) >= max_lines:
                    return {"error": f"cart holds max {max_lines} lines"}
                quantities[message.item] = 0
            quantities[message.item] += message.qty
            if message.attrs:
                line = self.attrs.setdefault(message.item, {})
                for name, value in message.attrs.items():
                    line[str(name)] = value
        return {"count": sum(self.quantities.values()), "lines": len(self.quantities)}

    def to_json(self) -> dict[str, Any]:
        return {"quantities": self.quantities, "attrs": self.attrs}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CartState:
        return cls(dict(data["quantities"]), dict(data["attrs"]))


class Cart(ba.Actor[CartMessage, CartReply]):
    """One session's cart; its snapshot is JSON for the state store."""

    __slots__ = ("max_lines", "state")

    def __init__(self, max_lines: int, state: CartState | None = None) -> None:
        self.max_lines = max_lines
        self.state = state if state is not None else CartState()

    async def receive(self, message: CartMessage) -> CartReply:
        return self.state.apply(message, self.max_lines)

    def snapshot(self) -> object:
        return self.state.to_json()


# Parsing requests


def is_utf8(text: str) -> bool:
    """Return whether ``text`` encodes as UTF-8, which a lone surrogate does not."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def load_json(body: bytes) -> object:
    """Parse ``body`` as JSON; raise :class:`RequestError` (400) on invalid JSON."""
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RequestError(400, f"body is not valid JSON: {error}") from None
    except RecursionError:
        raise RequestError(400, "invalid JSON: nested too deep") from None
    except ValueError:
        # The only other ValueError json.loads raises is Python's cap on the
        # digits of an integer (4300 by default since 3.11). Its message advises
        # raising that cap, which only the server could do.
        raise RequestError(400, "invalid JSON: number too long") from None


def parse_body(
    body: bytes, intern_name: Callable[[str], object], max_attrs: int | None
) -> AddItem:
    """Parse and validate an add-item body; raise :class:`RequestError` (400)."""
    data = load_json(body)
    if not isinstance(data, dict):
        raise RequestError(400, "body must be a JSON object")
    for name in data:
        if REQUEST_FIELDS.get(name) is None:
            raise RequestError(400, f"unknown field {shorten(name)}")

    item = data.get("item")
    if not isinstance(item, str) or not 0 < len(item) <= MAX_TEXT:
        raise RequestError(400, f"item must be a string of 1 to {MAX_TEXT} characters")
    if not is_utf8(item):
        raise RequestError(400, "invalid item name: not valid UTF-8 (lone surrogate)")
    qty = data.get("qty", 1)
    if type(qty) is not int or not 0 < qty <= MAX_QTY:
        raise RequestError(400, f"qty must be an integer from 1 to {MAX_QTY}")
    raw_attrs = data.get("attrs", {})
    if not isinstance(raw_attrs, dict):
        raise RequestError(400, "attrs must be a JSON object")
    if max_attrs is not None and len(raw_attrs) > max_attrs:
        raise RequestError(
            400, f"attrs has {len(raw_attrs)} names, max {max_attrs} per request"
        )
    attrs: dict[object, str] = {}
    for name, value in raw_attrs.items():
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise RequestError(400, f"attribute values are strings of <= {MAX_TEXT}")
        if not is_utf8(value):
            raise RequestError(400, "invalid attribute value: not valid UTF-8")
        try:
            attrs[intern_name(name)] = value
        except ba.InvalidSymbol as error:
            raise RequestError(400, f"invalid field name: {error}") from None
    return AddItem(item, qty, attrs)


def session_id(request: Request) -> str:
    text = request.path_params["session"]
    if not SESSION_ID.fullmatch(text):
        raise RequestError(400, "session id must be 1 to 64 of [A-Za-z0-9_-]")
    return str(text)


def client_key(request: Request) -> str:
    """Return the quota key: the API key, or the peer address without one."""
    api_key = request.headers.get("x-api-key")
    if api_key is not None:
        if not API_KEY.fullmatch(api_key):
            raise RequestError(400, "X-Api-Key must be 1 to 64 of [A-Za-z0-9_.:-]")
        return "key:" + api_key
    host = request.client.host if request.client is not None else "unknown"
    return "addr:" + host


async def read_body(request: Request, max_body: int | None) -> bytes:
    """Read the body, keeping at most ``max_body`` bytes; raise 413 past it."""
    if max_body is None:
        return await request.body()
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit() or len(length) > 18:
            raise RequestError(400, "Content-Length is not a valid number")
        if int(length) > max_body:
            raise RequestError(413, f"body is {length} bytes, max {max_body}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_body:
            raise RequestError(413, f"body is over {max_body} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


# Backends: the bounded app and the naive twin


class Backend(Protocol):
    """The interface the HTTP handlers use, in either mode."""

    max_body: int | None

    def intern_name(self, name: str) -> object: ...

    async def ask(self, session: str, quota_key: str, message: CartMessage) -> Any: ...

    def figures(self) -> dict[str, Any]: ...


class LookupTimer:
    """Mean time to find a session, over the requests since the last reading."""

    def __init__(self) -> None:
        self.total_ns = 0
        self.count = 0

    def add(self, elapsed_ns: int) -> None:
        self.total_ns += elapsed_ns
        self.count += 1

    def mean_us(self) -> float | None:
        """Return the mean in microseconds and start a new interval."""
        if not self.count:
            return None
        mean = self.total_ns / self.count / 1000
        self.total_ns = self.count = 0
        return round(mean, 2)


class BoundedBackend:
    """Carts as actors under a supervisor with quotas."""

    def __init__(
        self, supervisor: ba.Supervisor, limits: Limits, store: StateStore
    ) -> None:
        self.limits = limits
        self.max_body: int | None = limits.max_body
        self.supervisor = supervisor
        self.symbols = supervisor.symbols
        for name in KNOWN_ATTRIBUTES:
            self.symbols.intern(name)
        # A cart with no request for idle_timeout seconds is saved to the store
        # and stopped; its next request loads it again.
        self.router: ba.Router[CartMessage, CartReply] = ba.Router(
            supervisor,
            factory=self._new_cart,
            idle_timeout=limits.idle_timeout,
            store=store,
        )
        self.actors_max = 0
        self.lookups = LookupTimer()

    def _new_cart(self, key: object, state: dict[str, Any] | None) -> Cart:
        # The supervisor calls the factory just before it counts the new actor.
        # A restart after a crash would call it again for an actor already
        # counted, but carts return their errors instead of raising them.
        self.actors_max = max(self.actors_max, len(self.supervisor) + 1)
        saved = None if state is None else CartState.from_json(state)
        return Cart(self.limits.max_lines, saved)

    def intern_name(self, name: str) -> object:
        return self.symbols.intern(name)

    async def ask(self, session: str, quota_key: str, message: CartMessage) -> Any:
        began = time.perf_counter_ns()
        self.router.lookup(session)
        self.lookups.add(time.perf_counter_ns() - began)
        return await self.router.ask(
            session, message, self.limits.ask_timeout, quota_key=quota_key
        )

    def figures(self) -> dict[str, Any]:
        stats = self.supervisor.stats()
        router = self.router.stats()
        return {
            "actors_alive": len(self.supervisor),
            "actors_max": self.actors_max,
            "actor_limit": self.limits.max_children,
            "symbols_used": stats.symbols_used,
            "symbols_limit": stats.symbols_limit,
            "spawned": stats.spawned,
            "spawn_rejected": dict(stats.rejected),
            "mailbox_rejected": stats.mailbox_rejected,
            "lookup_us": self.lookups.mean_us(),
            "passivations": dict(router.passivations),
            "loads": router.loads,
            "saves": router.saves,
            "load_failures": router.load_failures,
            "save_failures": router.save_failures,
            "peak_concurrent_loads": router.peak_concurrent_loads,
        }


class NaiveSession:
    """One session of the naive twin: a task reading its own unbounded queue."""

    def __init__(self) -> None:
        self.state = CartState()
        self.queue: asyncio.Queue[tuple[CartMessage, asyncio.Future[Any]]] = (
            asyncio.Queue()
        )
        self.task = asyncio.get_running_loop().create_task(self.run())

    async def run(self) -> None:
        while True:
            message, reply = await self.queue.get()
            if reply.done():
                continue
            reply.set_result(self.state.apply(message, None))


class NaiveBackend:
    """Sessions in a plain dict, found by a linear scan, with no limits at all."""

    def __init__(self) -> None:
        self.max_body: int | None = None
        self.sessions: dict[str, NaiveSession] = {}
        self.names: dict[str, str] = {}
        self.actors_max = 0
        self.lookups = LookupTimer()

    def intern_name(self, name: str) -> object:
        if not name:
            raise ba.InvalidSymbol("attribute name must not be empty")
        if not is_utf8(name):
            raise ba.InvalidSymbol(f"{shorten(name)} is not valid UTF-8")
        return self.names.setdefault(name, name)

    def find(self, session: str) -> NaiveSession | None:
        # The scan is the point: finding a session costs O(number of sessions).
        for key, value in self.sessions.items():
            if key == session:
                return value
        return None

    async def ask(self, session: str, quota_key: str, message: CartMessage) -> Any:
        began = time.perf_counter_ns()
        found = self.find(session)
        self.lookups.add(time.perf_counter_ns() - began)
        if found is None:
            found = self.sessions[session] = NaiveSession()
            self.actors_max = max(self.actors_max, len(self.sessions))
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        found.queue.put_nowait((message, reply))
        return await reply

    def figures(self) -> dict[str, Any]:
        return {
            "actors_alive": len(self.sessions),
            "actors_max": self.actors_max,
            "actor_limit": None,
            "symbols_used": len(self.names),
            "symbols_limit": None,
            "lookup_us": self.lookups.mean_us(),
        }


# HTTP


def limit_name(error: ba.LimitExceeded) -> str:
    """Return the name of the limit that ``error`` reports, as ``/stats`` counts it."""
    if isinstance(error, ba.SpawnLimitExceeded):
        return error.reason
    if isinstance(error, ba.MailboxFull):
        return "mailbox_size"
    if isinstance(error, ba.SymbolLimitExceeded):
        return "symbol_limit"
    return type(error).__name__


def limit_response(error: ba.LimitExceeded, limits: Limits) -> Response:
    """Map a limit error to 429 or 503 with a ``Retry-After`` header."""
    name = limit_name(error)
    if isinstance(error, ba.SpawnLimitExceeded):
        status = 503 if error.reason == "max_children" else 429
        fallback = limits.idle_timeout
    elif isinstance(error, ba.MailboxFull):
        status, fallback = 429, MAILBOX_RETRY_AFTER
    elif isinstance(error, ba.SymbolLimitExceeded):
        status, fallback = 503, SYMBOLS_RETRY_AFTER
    else:
        status, fallback = 503, MAILBOX_RETRY_AFTER
    seconds = error.retry_after if error.retry_after is not None else fallback
    retry_after = max(1, math.ceil(seconds))
    body = {"error": str(error), "limit": name, "retry_after": retry_after}
    return JSONResponse(body, status, headers={"Retry-After": str(retry_after)})


def unavailable(message: str, retry_after: float) -> Response:
    seconds = max(1, math.ceil(retry_after))
    return JSONResponse(
        {"error": message, "retry_after": seconds},
        503,
        headers={"Retry-After": str(seconds)},
    )


class NoReply(Response):
    """A response that sends nothing, for a client that has disconnected."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        return None


class Server:
    """The HTTP handlers and the figures reported by ``GET /stats``."""

    def __init__(
        self,
        mode: str,
        limits: Limits,
        *,
        store: StateStore | None = None,
        store_path: str | None = None,
        clock: ba.Clock | None = None,
    ) -> None:
        if mode not in ("bounded", "unbounded"):
            raise ValueError(f"mode must be 'bounded' or 'unbounded', got {mode!r}")
        self.mode = mode
        self.limits = limits
        self.store = store
        self.store_path = store_path
        self.clock = clock
        self.backend: Backend | None = None
        self.process = psutil.Process(os.getpid())
        self.rss_start = self.process.memory_info().rss
        self.rss_peak = self.rss_start
        self.errors_500 = 0
        self.status_counts: dict[int, int] = {}
        # Rejected requests by the limit or check that rejected them: a limit
        # name from limit_name(), "max_body" (413) or "bad_request" (400).
        self.rejected: dict[str, int] = {}
        self.client_disconnects = 0
        self.disconnects_unlogged = 0
        self.disconnect_logged_at = -math.inf

    async def add_item(self, request: Request) -> Response:
        backend = self._backend()
        try:
            session = session_id(request)
            quota_key = client_key(request)
            body = await read_body(request, backend.max_body)
            message = parse_body(
                body, backend.intern_name, self._limit_or_none("max_attrs")
            )
        except RequestError as error:
            return self._request_error(error)
        except ba.SymbolLimitExceeded as error:
            self._count_rejected(limit_name(error))
            return limit_response(error, self.limits)
        except ClientDisconnect:
            self._count_disconnect(session)
            return NoReply()
        return await self._ask(backend, session, quota_key, message)

    async def read_cart(self, request: Request) -> Response:
        backend = self._backend()
        try:
            session = session_id(request)
            quota_key = client_key(request)
        except RequestError as error:
            return self._request_error(error)
        return await self._ask(backend, session, quota_key, ReadCart())

    async def stats(self, request: Request) -> Response:
        self.sample_memory()
        figures = {
            "mode": self.mode,
            "rss_mb": self.process.memory_info().rss / 2**20,
            "rss_start_mb": self.rss_start / 2**20,
            "rss_peak_mb": self.rss_peak / 2**20,
            "errors_500": self.errors_500,
            "client_disconnects": self.client_disconnects,
            "status_counts": {str(k): v for k, v in sorted(self.status_counts.items())},
            "rejected": dict(sorted(self.rejected.items())),
        }
        figures.update(self._backend().figures())
        return JSONResponse(figures)

    async def _ask(
        self, backend: Backend, session: str, quota_key: str, message: CartMessage
    ) -> Response:
        try:
            reply = await backend.ask(session, quota_key, message)
        except ba.LimitExceeded as error:
            self._count_rejected(limit_name(error))
            return limit_response(error, self.limits)
        except ba.AskTimeout:
            return unavailable("cart did not reply in time", TIMEOUT_RETRY_AFTER)
        except (ba.ActorStopped, ba.SupervisorClosed) as error:
            return unavailable(str(error), TIMEOUT_RETRY_AFTER)
        except sqlite3.Error as error:
            # The router retried the load with backoff before giving up.
            logger.error("loading cart %r failed: %s", session, error)
            return unavailable("cart store is unavailable", STORE_RETRY_AFTER)
        if "error" in reply:
            self._count_rejected("bad_request")
            return JSONResponse(reply, 400)
        return JSONResponse(reply)

    def _count_rejected(self, name: str) -> None:
        self.rejected[name] = self.rejected.get(name, 0) + 1

    def _request_error(self, error: RequestError) -> Response:
        self._count_rejected("max_body" if error.status == 413 else "bad_request")
        return JSONResponse({"error": str(error)}, error.status)

    def _count_disconnect(self, session: str) -> None:
        """Count a client that disconnected before its whole body arrived.

        Any client can cause these, so they are logged at most once per
        ``DISCONNECT_LOG_INTERVAL`` with the number since the last line.
        """
        self.client_disconnects += 1
        self.disconnects_unlogged += 1
        now = time.monotonic()
        if now - self.disconnect_logged_at < DISCONNECT_LOG_INTERVAL:
            return
        logger.warning(
            "%d client(s) disconnected before sending the whole body, the last "
            "for cart %r; %d in total",
            self.disconnects_unlogged,
            session,
            self.client_disconnects,
        )
        self.disconnect_logged_at = now
        self.disconnects_unlogged = 0

    def _backend(self) -> Backend:
        assert self.backend is not None, "the app has not started"
        return self.backend

    def _limit_or_none(self, name: str) -> int | None:
        return None if self.mode == "unbounded" else int(getattr(self.limits, name))

    def sample_memory(self) -> None:
        self.rss_peak = max(self.rss_peak, self.process.memory_info().rss)

    async def sample_forever(self) -> None:
        while True:
            self.sample_memory()
            await asyncio.sleep(0.2)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        sampler = asyncio.get_running_loop().create_task(self.sample_forever())
        try:
            if self.mode == "unbounded":
                self.backend = NaiveBackend()
                yield
                return
            limits = self.limits
            supervisor = ba.Supervisor(
                max_children=limits.max_children,
                spawn_rate=limits.spawn_rate,
                spawn_burst=limits.spawn_burst,
                per_key_limit=limits.per_client,
                max_quota_keys=limits.max_clients,
                mailbox_size=limits.mailbox_size,
                symbols=ba.SymbolTable(limit=limits.symbol_limit, max_length=MAX_TEXT),
                clock=self.clock,
                # Clients choose the messages, so a cart that keeps crashing is
                # stopped alone instead of failing every cart.
                restart_limit_scope="child",
                name="carts",
            )
            if self.store is not None:
                async with supervisor:
                    self.backend = BoundedBackend(supervisor, limits, self.store)
                    yield
                return
            with tempfile.TemporaryDirectory(prefix="flood-carts-") as directory:
                # The store outlives the supervisor, which saves every active
                # cart when it shuts down.
                path = self.store_path or os.path.join(directory, "carts.sqlite3")
                async with SQLiteStore(path) as store, supervisor:
                    self.backend = BoundedBackend(supervisor, limits, store)
                    yield
        finally:
            sampler.cancel()

    def count_statuses(self, app: Callable[..., Awaitable[None]]) -> Any:
        """Wrap ``app`` to count response statuses, and 500s apart."""

        async def counted(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            started = False

            async def watch(message: Message) -> None:
                nonlocal started
                if message["type"] == "http.response.start":
                    started = True
                    status = message["status"]
                    self.status_counts[status] = self.status_counts.get(status, 0) + 1
                    if status == 500:
                        self.errors_500 += 1
                await send(message)

            try:
                await app(scope, receive, watch)
            except Exception:
                if not started:
                    self.errors_500 += 1
                raise

        return counted

    def build(self) -> Any:
        """Return the ASGI app: the routes, wrapped to count response statuses."""
        app = Starlette(
            routes=[
                Route("/carts/{session}/items", self.add_item, methods=["POST"]),
                Route("/carts/{session}", self.read_cart, methods=["GET"]),
                Route("/stats", self.stats, methods=["GET"]),
            ],
            lifespan=self.lifespan,
        )
        return self.count_statuses(app)


def build_app(
    mode: str = "bounded", limits: Limits | None = None, store_path: str | None = None
) -> Any:
    """Build the ASGI app for ``mode`` ``"bounded"`` or ``"unbounded"``.

    The bounded app saves carts in an SQLite file at ``store_path``, by default a
    new file in a temporary directory that is removed when the app stops.
    """
    return Server(mode, limits or Limits(), store_path=store_path).build()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="TCP port")
    parser.add_argument(
        "--unbounded", action="store_true", help="serve the naive twin instead"
    )

    defaults = Limits()
    parser.add_argument(
        "--max-children", type=int, default=defaults.max_children, help="live carts"
    )
    parser.add_argument(
        "--per-client",
        type=int,
        default=defaults.per_client,
        help="live carts per client (API key, or address without one)",
    )
    parser.add_argument(
        "--store-path",
        help="SQLite file for saved carts (default: a temporary file)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=defaults.idle_timeout,
        help="seconds without a request before a cart stops",
    )
    args = parser.parse_args(argv)

    limits = Limits(
        max_children=args.max_children,
        per_client=args.per_client,
        idle_timeout=args.idle_timeout,
    )

    # Rejected requests are not logged one by one: during a flood that would be
    # a flood of log lines. The library logs throttled summaries of rejections.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    mode = "unbounded" if args.unbounded else "bounded"
    app = build_app(mode, limits, args.store_path)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        access_log=False,
        log_level="warning",
        lifespan="on",
    )


if __name__ == "__main__":
    main()
