"""Starlette and FastAPI exception handler for limit errors (needs ``starlette``).

``Starlette(exception_handlers=exception_handlers)`` converts
:class:`LimitExceeded` into a response the way ``LimitExceededMiddleware`` of
:mod:`boundedactors.integrations.asgi` does, for apps that prefer handlers to
middleware.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..errors import LimitExceeded
from ._http import limit_response

__all__ = ["exception_handlers", "limit_exceeded_handler"]


async def limit_exceeded_handler(request: Request, error: Exception) -> Response:
    """Return 429 or 503 with ``Retry-After`` for a :class:`LimitExceeded`."""
    if not isinstance(error, LimitExceeded):
        raise error
    status, headers, body = limit_response(error)
    return Response(body, status_code=status, headers=dict(headers))


exception_handlers = {LimitExceeded: limit_exceeded_handler}
