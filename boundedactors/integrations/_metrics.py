"""Helpers shared by the metric exporters: the supervisors to read and their
counters, with every label value drawn from a fixed set."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Mapping
from typing import NamedTuple

from ..stats import Stats
from ..supervisor import Supervisor

__all__ = ["DEAD_LETTER_REASONS", "SPAWN_REASONS", "Source", "read_stats", "sources"]

# Label values are drawn only from these tuples; an unknown reason is counted
# under "other", so no input can add a time series.
SPAWN_REASONS = ("max_children", "spawn_rate", "per_key", "quota_keys", "other")
DEAD_LETTER_REASONS = ("mailbox_full", "stopped", "shutdown", "not_found", "other")
_READ_TIMEOUT = 5.0


class Source(NamedTuple):
    """One supervisor to export, the label value it is exported under, and the
    loop it runs on when that loop is on another thread."""

    label: str
    supervisor: Supervisor
    loop: asyncio.AbstractEventLoop | None


def sources(
    supervisors: Supervisor | Mapping[str, Supervisor],
    loop: asyncio.AbstractEventLoop | None,
) -> tuple[Source, ...]:
    """Check ``supervisors`` and return them as a fixed tuple of sources."""
    if isinstance(supervisors, Supervisor):
        supervisors = {supervisors.name or "default": supervisors}
    if not isinstance(supervisors, Mapping) or not supervisors:
        raise TypeError(
            "supervisors must be a Supervisor or a non-empty mapping of label "
            f"to Supervisor, got {supervisors!r}"
        )
    for label, supervisor in supervisors.items():
        if not isinstance(label, str) or not label:
            raise TypeError(f"supervisor labels must be non-empty str, got {label!r}")
        if not isinstance(supervisor, Supervisor):
            raise TypeError(f"{label!r} must map to a Supervisor, got {supervisor!r}")
    if loop is not None and not isinstance(loop, asyncio.AbstractEventLoop):
        raise TypeError(f"loop must be an event loop or None, got {loop!r}")
    return tuple(Source(label, sup, loop) for label, sup in supervisors.items())


def read_stats(source: Source) -> Stats | None:
    """Return the supervisor's ``stats()``, read on its own loop.

    With a ``loop`` and a caller on another thread (a scrape thread), the read
    hops to the loop, so it never reads counters in the middle of an update.
    Returns ``None`` if that loop is closed or does not answer within 5 s.
    """
    loop = source.loop
    if loop is None or _running_loop() is loop:
        return source.supervisor.stats()
    if loop.is_closed():
        return None
    future: concurrent.futures.Future[Stats] = concurrent.futures.Future()

    def read() -> None:
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(source.supervisor.stats())
            except BaseException as error:  # re-raised in the scraping thread
                future.set_exception(error)

    try:
        loop.call_soon_threadsafe(read)
        return future.result(_READ_TIMEOUT)
    except (RuntimeError, concurrent.futures.TimeoutError):
        future.cancel()
        return None


def by_reason(counts: Mapping[str, int], reasons: tuple[str, ...]) -> dict[str, int]:
    """Fold ``counts`` into ``reasons``: known reasons keep their count, and the
    rest add up under ``"other"``."""
    folded = dict.fromkeys(reasons, 0)
    for reason, count in counts.items():
        key = reason if reason in folded else "other"
        folded[key] += count
    return folded


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
