"""ASGI integration (Starlette, FastAPI or any ASGI app); imports no framework.

- :func:`supervisor_lifespan` starts a :class:`Supervisor` when the app starts
  and stops it when the app stops, and puts it in the lifespan state.
- :class:`LimitExceededMiddleware` converts :class:`LimitExceeded` raised by
  the app into 429 (rate and per-key limits) or 503 (capacity: ``max_children``,
  a full mailbox, ...) and a ``Retry-After`` header.
- :class:`AdmissionMiddleware` admits each request under the per-client quotas
  of a :class:`ClientAdmission`.

See docs/web.md for a complete application.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

from ..errors import LimitExceeded
from ..supervisor import Supervisor
from ._http import ClientAdmission, limit_response

__all__ = [
    "AdmissionMiddleware",
    "ClientAdmission",
    "LimitExceededMiddleware",
    "supervisor_lifespan",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Setup = Callable[[Supervisor], Awaitable[dict[str, Any]] | dict[str, Any]]


def supervisor_lifespan(
    setup: Setup | None = None,
    *,
    admission: ClientAdmission | None = None,
    **options: Any,
) -> Callable[[Any], AbstractAsyncContextManager[dict[str, Any]]]:
    """Return a lifespan function that runs a supervisor for the app's lifetime.

    Pass it as ``Starlette(lifespan=...)`` or ``FastAPI(lifespan=...)``. The
    supervisor is built with ``options`` (those of :class:`Supervisor`) and is
    available as ``request.state.supervisor``. ``setup(supervisor)``, sync or
    async, may return more state, for example ``{"rooms": Router(...)}``. An
    ``admission`` is entered before the supervisor and left after it.
    """
    if setup is not None and not callable(setup):
        raise TypeError(f"setup must be callable or None, got {setup!r}")

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        async with AsyncExitStack() as stack:
            if admission is not None:
                await stack.enter_async_context(admission)
            supervisor = await stack.enter_async_context(Supervisor(**options))
            state: dict[str, Any] = {"supervisor": supervisor}
            if setup is not None:
                extra = setup(supervisor)
                if not isinstance(extra, dict):
                    extra = await extra
                state.update(extra)
            yield state

    return lifespan


async def _send_limit_response(
    send: Send, error: LimitExceeded, default_retry_after: int | None
) -> None:
    status, headers, body = limit_response(error, default_retry_after)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode(), v.encode()) for k, v in headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


class LimitExceededMiddleware:
    """Converts :class:`LimitExceeded` from the app into a 429 or 503 response.

    ``Retry-After`` is the error's ``retry_after`` rounded up to whole seconds,
    or ``default_retry_after`` when the error has none (``None`` omits the
    header). An error raised after the response started cannot get a response of its
    own, so it propagates. Add it with ``app.add_middleware(LimitExceededMiddleware)``.
    """

    def __init__(self, app: ASGIApp, *, default_retry_after: int | None = 1) -> None:
        self.app = app
        self.default_retry_after = default_retry_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except LimitExceeded as error:
            if started:
                raise
            await _send_limit_response(send, error, self.default_retry_after)


class AdmissionMiddleware:
    """Admits each HTTP request through ``admission`` before the app receives it.

    A rejected request gets 429 or 503 at once, with ``Retry-After``; an
    admitted one holds its lease until the app has sent the whole response.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        admission: ClientAdmission,
        default_retry_after: int | None = 1,
    ) -> None:
        if not isinstance(admission, ClientAdmission):
            raise TypeError(f"admission must be a ClientAdmission, got {admission!r}")
        self.app = app
        self.admission = admission
        self.default_retry_after = default_retry_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        admission = self.admission
        key = admission.client_key(_peer(scope), _header(scope, admission.header))
        try:
            lease = admission.acquire(key)
        except LimitExceeded as error:
            await _send_limit_response(send, error, self.default_retry_after)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            await admission.release(lease)


def _peer(scope: Scope) -> str | None:
    client = scope.get("client")
    return None if not client else str(client[0])


def _header(scope: Scope, name: str | None) -> str | None:
    if name is None:
        return None
    expected = name.encode("latin-1")
    for key, value in scope.get("headers", ()):
        if key.lower() == expected:
            return bytes(value).decode("latin-1")
    return None
