"""HTTP responses for limit errors and per-client admission, shared by the web
integrations. Imports no web framework."""

from __future__ import annotations

import json
import math
from types import TracebackType
from typing import Any

from .._validate import positive_float, positive_int
from ..actor import Actor
from ..errors import LimitExceeded, SpawnLimitExceeded
from ..runtime import ActorRef
from ..supervisor import Supervisor

__all__ = ["ClientAdmission", "limit_response"]

# Spawn rejections that one client can cause by going too fast; every other limit
# is the server's capacity.
_CLIENT_REASONS = frozenset({"spawn_rate", "per_key"})
_MAX_KEY_LENGTH = 256


def limit_status(error: LimitExceeded) -> int:
    """Return 429 for a rate or per-key rejection, 503 for any other limit."""
    if isinstance(error, SpawnLimitExceeded) and error.reason in _CLIENT_REASONS:
        return 429
    return 503


def retry_after_seconds(error: LimitExceeded, default: int | None) -> int | None:
    """Return the ``Retry-After`` value: ``retry_after`` rounded up to whole
    seconds (at least 1), or ``default`` when the error cannot know it."""
    if error.retry_after is None:
        return default
    return max(1, math.ceil(error.retry_after))


def limit_response(
    error: LimitExceeded, default_retry_after: int | None = 1
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Return the status, headers and JSON body of the response to a limit error.

    The body names the limit and never echoes the rejected key, so it is safe to
    send to the client that caused the rejection.
    """
    status = limit_status(error)
    retry_after = retry_after_seconds(error, default_retry_after)
    reason = getattr(error, "reason", None) or type(error).limit_name
    body = json.dumps(
        {"error": type(error).__name__, "reason": reason, "retry_after": retry_after}
    ).encode()
    headers = [
        ("content-type", "application/json"),
        ("content-length", str(len(body))),
    ]
    if retry_after is not None:
        headers.append(("retry-after", str(retry_after)))
    return status, headers, body


class _Lease(Actor[None, None]):
    """The actor that stands for one admitted request; it receives no messages."""

    __slots__ = ()


class ClientAdmission:
    """Admits requests under per-client quotas, enforced by its own supervisor.

    Each admitted request holds a lease (a small actor) spawned with the client's
    key as ``quota_key``, and releases it when the response is done, so the
    supervisor's quotas become request limits:

        per_client: requests in flight per client (``per_key_limit``); past it,
            429.
        max_clients: clients with requests in flight (``max_quota_keys``); past
            it, 503.
        max_requests: requests in flight in all (``max_children``); past it, 503.
        request_rate, request_burst: new requests per second in all (a token
            bucket, ``spawn_rate`` and ``spawn_burst``); past it, 429 with the
            time until a token is free.

    The client's key is the value of ``header`` (cut to 256 characters) when the
    request has it, and its peer address otherwise. Keys live only while a
    request with that key is in flight, so a flood of distinct keys cannot grow
    the table past ``max_clients``.

    Enter it (``async with admission:``) on the event loop that serves requests;
    the lifespan helpers of the integrations do that. :attr:`supervisor` is the
    supervisor to export for metrics. Runtime complexity: O(1) per admission.
    """

    def __init__(
        self,
        *,
        per_client: int | None = 8,
        max_clients: int = 10_000,
        max_requests: int | None = 10_000,
        request_rate: float | None = None,
        request_burst: float | None = None,
        header: str | None = None,
        name: str = "admission",
    ) -> None:
        positive_int("per_client", per_client, allow_none=True)
        positive_int("max_clients", max_clients)
        positive_int("max_requests", max_requests, allow_none=True)
        positive_float("request_rate", request_rate, allow_none=True)
        positive_float("request_burst", request_burst, allow_none=True)
        if header is not None and (not isinstance(header, str) or not header):
            raise ValueError(f"header must be a non-empty str or None, got {header!r}")
        self.header = None if header is None else header.lower()
        self.supervisor = Supervisor(
            per_key_limit=per_client,
            max_quota_keys=max_clients,
            max_children=max_requests,
            spawn_rate=request_rate,
            spawn_burst=request_burst,
            mailbox_size=1,
            restart="temporary",
            workers=1,
            name=name,
        )

    async def __aenter__(self) -> ClientAdmission:
        await self.supervisor.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.supervisor.__aexit__(exc_type, exc, traceback)

    def client_key(self, address: str | None, header_value: str | None) -> str:
        """Return the key a request is counted under."""
        if self.header is not None and header_value:
            return header_value[:_MAX_KEY_LENGTH]
        return address or "unknown"

    def acquire(self, key: str) -> ActorRef[None, None]:
        """Admit one request for ``key`` and return its lease.

        Raises:
            SpawnLimitExceeded: a quota rejected the request; ``reason`` names it.
            SupervisorClosed: the admission is not entered.
        """
        return self.supervisor.spawn(_Lease, quota_key=key)

    async def release(self, lease: ActorRef[Any, Any]) -> None:
        """End the request that ``lease`` admitted."""
        await lease.stop()
