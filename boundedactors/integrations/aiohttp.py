"""aiohttp integration (extra ``aiohttp``).

- :func:`setup` adds a cleanup context that starts a :class:`Supervisor` with
  the application and stops it on cleanup; handlers find it as
  ``request.app[SUPERVISOR]``.
- :func:`limit_middleware` converts :class:`LimitExceeded` into 429 or 503 with
  ``Retry-After``, as the ASGI middleware does.
- :func:`admission_middleware` admits each request under the per-client quotas
  of a :class:`ClientAdmission` (keyed by ``request.remote`` or a header).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from ..errors import LimitExceeded
from ..supervisor import Supervisor
from ._http import ClientAdmission, limit_response

__all__ = [
    "SUPERVISOR",
    "ClientAdmission",
    "admission_middleware",
    "limit_middleware",
    "setup",
]

SUPERVISOR = web.AppKey("boundedactors.supervisor", Supervisor)
"""The key under which :func:`setup` stores the supervisor in the app."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Setup = Callable[[web.Application, Supervisor], Awaitable[None] | None]


def setup(
    app: web.Application,
    on_start: Setup | None = None,
    *,
    admission: ClientAdmission | None = None,
    **options: Any,
) -> None:
    """Run a supervisor, built with ``options``, for the lifetime of ``app``.

    ``on_start(app, supervisor)``, sync or async, runs once the supervisor has
    started, for example to store routers in the app. An ``admission`` is
    entered before the supervisor and left after it.
    """
    if on_start is not None and not callable(on_start):
        raise TypeError(f"on_start must be callable or None, got {on_start!r}")

    async def supervisor_context(app: web.Application) -> AsyncIterator[None]:
        if admission is not None:
            await admission.__aenter__()
        try:
            async with Supervisor(**options) as supervisor:
                app[SUPERVISOR] = supervisor
                if on_start is not None:
                    result = on_start(app, supervisor)
                    if result is not None:
                        await result
                yield
        finally:
            if admission is not None:
                await admission.__aexit__(None, None, None)

    app.cleanup_ctx.append(supervisor_context)


def _limit_response(
    error: LimitExceeded, default_retry_after: int | None
) -> web.Response:
    status, headers, body = limit_response(error, default_retry_after)
    return web.Response(status=status, headers=dict(headers), body=body)


@web.middleware
async def limit_middleware(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Convert :class:`LimitExceeded` raised by a handler into a 429 or 503 response."""
    try:
        return await handler(request)
    except LimitExceeded as error:
        return _limit_response(error, 1)


def admission_middleware(
    admission: ClientAdmission, *, default_retry_after: int | None = 1
) -> Middleware:
    """Return a middleware that admits each request through ``admission``.

    The lease is held until the handler returns, which for a
    ``StreamResponse`` the handler writes itself is after the whole body.
    """
    if not isinstance(admission, ClientAdmission):
        raise TypeError(f"admission must be a ClientAdmission, got {admission!r}")
    header = admission.header

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        value = None if header is None else request.headers.get(header)
        key = admission.client_key(request.remote, value)
        try:
            lease = admission.acquire(key)
        except LimitExceeded as error:
            return _limit_response(error, default_retry_after)
        try:
            return await handler(request)
        finally:
            await admission.release(lease)

    return middleware
