"""OpenTelemetry metrics from ``Supervisor.stats()`` (extra ``otel``).

:func:`instrument` registers observable instruments on a meter; the SDK calls
them at each collection, so nothing is recorded between collections::

    from opentelemetry.sdk.metrics import MeterProvider
    instrument({"rooms": rooms_sup}, meter_provider=MeterProvider(...))

Instruments (attribute ``boundedactors.supervisor`` on each, from the keys of
the mapping you pass; ``boundedactors.reason`` where noted):

=====================================  ===================  ==========  ==========
``boundedactors.actors.live``          up-down counter      ``{actor}``
``boundedactors.actors.spawned``       counter              ``{actor}``
``boundedactors.actors.stopped``       counter              ``{actor}``
``boundedactors.spawn.rejected``       counter              ``{spawn}``    reason
``boundedactors.actor.crashes``        counter              ``{crash}``
``boundedactors.actor.restarts``       counter              ``{restart}``
``boundedactors.messages.handled``     counter              ``{message}``
``boundedactors.mailbox.rejected``     counter              ``{message}``
``boundedactors.mailbox.dropped``      counter              ``{message}``
``boundedactors.dead_letters``         counter              ``{message}``  reason
``boundedactors.symbols.usage``        up-down counter      ``{symbol}``
``boundedactors.symbols.limit``        up-down counter      ``{symbol}``
=====================================  ===================  ==========  ==========

Reasons are those of :data:`boundedactors.integrations.prometheus.SPAWN_REASONS`
and ``DEAD_LETTER_REASONS``; any other folds into ``"other"``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping

from opentelemetry import metrics
from opentelemetry.metrics import (
    CallbackOptions,
    Instrument,
    MeterProvider,
    Observation,
)

from .. import __version__
from ..stats import Stats
from ..supervisor import Supervisor
from ._metrics import (
    DEAD_LETTER_REASONS,
    SPAWN_REASONS,
    Source,
    by_reason,
    read_stats,
    sources,
)

__all__ = ["instrument"]

SUPERVISOR_ATTRIBUTE = "boundedactors.supervisor"
REASON_ATTRIBUTE = "boundedactors.reason"

Reader = Callable[[Stats], int]
Folded = Callable[[Stats], Mapping[str, int]]

# (name, unit, description, reader) of the counters without a reason.
_COUNTERS: tuple[tuple[str, str, str, Reader], ...] = (
    ("boundedactors.actors.spawned", "{actor}", "Actors spawned.", lambda s: s.spawned),
    (
        "boundedactors.actors.stopped",
        "{actor}",
        "Actors stopped for good.",
        lambda s: s.stopped,
    ),
    ("boundedactors.actor.crashes", "{crash}", "Actor crashes.", lambda s: s.crashes),
    (
        "boundedactors.actor.restarts",
        "{restart}",
        "Actor restarts.",
        lambda s: s.restarts,
    ),
    (
        "boundedactors.messages.handled",
        "{message}",
        "Messages handled.",
        lambda s: s.messages_handled,
    ),
    (
        "boundedactors.mailbox.rejected",
        "{message}",
        "Messages rejected because a mailbox was full.",
        lambda s: s.mailbox_rejected,
    ),
    (
        "boundedactors.mailbox.dropped",
        "{message}",
        "Messages dropped to dead letters because a mailbox was full.",
        lambda s: s.mailbox_dropped,
    ),
)

_UP_DOWN: tuple[tuple[str, str, str, Reader], ...] = (
    (
        "boundedactors.actors.live",
        "{actor}",
        "Live actors, including actors waiting to restart.",
        lambda s: s.live_actors,
    ),
    (
        "boundedactors.symbols.usage",
        "{symbol}",
        "Symbols interned.",
        lambda s: s.symbols_used,
    ),
    (
        "boundedactors.symbols.limit",
        "{symbol}",
        "Ceiling of the symbol table.",
        lambda s: s.symbols_limit,
    ),
)


def instrument(
    supervisors: Supervisor | Mapping[str, Supervisor],
    *,
    meter_provider: MeterProvider | None = None,
    loop: asyncio.AbstractEventLoop | None = None,
) -> list[Instrument]:
    """Register observable instruments for ``supervisors``; return them.

    Args:
        supervisors: a :class:`Supervisor` (attribute value: its ``name``, or
            ``"default"``) or a mapping of attribute value to supervisor, copied
            here so the set of values is fixed.
        meter_provider: where to create the meter (default: the global provider).
        loop: the supervisors' loop, when the SDK collects on another thread (a
            periodic reader does); reads then hop to that loop.

    Each instrument reads ``stats()`` of every supervisor once per collection:
    twelve reads per supervisor in all.
    """
    fixed = sources(supervisors, loop)
    provider = meter_provider or metrics.get_meter_provider()
    meter = provider.get_meter("boundedactors", __version__)
    created: list[Instrument] = []
    for name, unit, description, reader in _COUNTERS:
        created.append(
            meter.create_observable_counter(
                name, [_plain(fixed, reader)], unit=unit, description=description
            )
        )
    for name, unit, description, reader in _UP_DOWN:
        created.append(
            meter.create_observable_up_down_counter(
                name, [_plain(fixed, reader)], unit=unit, description=description
            )
        )
    created.append(
        meter.create_observable_counter(
            "boundedactors.spawn.rejected",
            [_by_reason(fixed, lambda s: s.rejected, SPAWN_REASONS)],
            unit="{spawn}",
            description="Spawns rejected by a quota, by reason.",
        )
    )
    created.append(
        meter.create_observable_counter(
            "boundedactors.dead_letters",
            [
                _by_reason(
                    fixed, lambda s: s.dead_letters_by_reason, DEAD_LETTER_REASONS
                )
            ],
            unit="{message}",
            description="Accepted messages that could not be delivered, by reason.",
        )
    )
    return created


def _plain(
    fixed: tuple[Source, ...], reader: Reader
) -> Callable[[CallbackOptions], Iterable[Observation]]:
    def observe(options: CallbackOptions) -> Iterable[Observation]:
        observations = []
        for source in fixed:
            stats = read_stats(source)
            if stats is not None:
                attributes = {SUPERVISOR_ATTRIBUTE: source.label}
                observations.append(Observation(reader(stats), attributes))
        return observations

    return observe


def _by_reason(
    fixed: tuple[Source, ...], reader: Folded, reasons: tuple[str, ...]
) -> Callable[[CallbackOptions], Iterable[Observation]]:
    def observe(options: CallbackOptions) -> Iterable[Observation]:
        observations = []
        for source in fixed:
            stats = read_stats(source)
            if stats is None:
                continue
            for reason, count in by_reason(reader(stats), reasons).items():
                attributes = {
                    SUPERVISOR_ATTRIBUTE: source.label,
                    REASON_ATTRIBUTE: reason,
                }
                observations.append(Observation(count, attributes))
        return observations

    return observe
