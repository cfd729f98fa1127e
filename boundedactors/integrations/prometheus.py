"""Prometheus export of ``Supervisor.stats()`` (extra ``prometheus``).

Register a :class:`SupervisorCollector` and every scrape reads the counters at
that moment::

    from prometheus_client import REGISTRY
    REGISTRY.register(SupervisorCollector({"rooms": rooms_sup}))

Metrics, each labelled ``supervisor`` (the keys of the mapping you pass, so a
fixed set):

==========================================  =======  ================================
``boundedactors_actors_live``               gauge    live actors, including those
                                                     waiting to restart
``boundedactors_actors_spawned_total``      counter  actors spawned
``boundedactors_actors_stopped_total``      counter  actors stopped for good
``boundedactors_spawn_rejected_total``      counter  spawns rejected, by ``reason``
``boundedactors_actor_crashes_total``       counter  crashes
``boundedactors_actor_restarts_total``      counter  restarts
``boundedactors_messages_handled_total``    counter  messages handled
``boundedactors_mailbox_rejected_total``    counter  messages rejected by a full
                                                     mailbox
``boundedactors_mailbox_dropped_total``     counter  messages dropped by a full
                                                     mailbox
``boundedactors_dead_letters_total``        counter  dead letters, by ``reason``
``boundedactors_symbols``                   gauge    symbols interned
``boundedactors_symbols_limit``             gauge    the symbol table's ceiling
==========================================  =======  ================================

``reason`` takes only the values in :data:`SPAWN_REASONS` and
:data:`DEAD_LETTER_REASONS`, every one exported from the start (zero until it
happens).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

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

__all__ = ["DEAD_LETTER_REASONS", "SPAWN_REASONS", "SupervisorCollector"]

_LABELS = ["supervisor"]
_REASON_LABELS = ["supervisor", "reason"]

# (name, help, Stats attribute) of the counters without a reason label.
_COUNTERS = (
    ("boundedactors_actors_spawned", "Actors spawned.", "spawned"),
    ("boundedactors_actors_stopped", "Actors stopped for good.", "stopped"),
    ("boundedactors_actor_crashes", "Actor crashes.", "crashes"),
    ("boundedactors_actor_restarts", "Actor restarts.", "restarts"),
    ("boundedactors_messages_handled", "Messages handled.", "messages_handled"),
    (
        "boundedactors_mailbox_rejected",
        "Messages rejected because a mailbox was full.",
        "mailbox_rejected",
    ),
    (
        "boundedactors_mailbox_dropped",
        "Messages dropped to dead letters because a mailbox was full.",
        "mailbox_dropped",
    ),
)


class SupervisorCollector(Collector):
    """A Prometheus collector that reads ``stats()`` of fixed supervisors.

    Args:
        supervisors: a :class:`Supervisor` (labelled with its ``name``, or
            ``"default"``) or a mapping of label to supervisor. The mapping is
            copied, so the set of label values is fixed here.
        loop: the loop the supervisors run on, when scrapes come from another
            thread (``prometheus_client.start_http_server``, or a
            :class:`ThreadedRuntime`); each read then hops to that loop. Leave it
            ``None`` when scrapes run on the supervisors' own loop.

    Runtime complexity per scrape: O(supervisors x nested supervisors).
    """

    def __init__(
        self,
        supervisors: Supervisor | Mapping[str, Supervisor],
        *,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self._sources = sources(supervisors, loop)

    def describe(self) -> Iterable[Metric]:
        """Return the metric families without samples, for registration checks."""
        return _families()

    def collect(self) -> Iterable[Metric]:
        """Read every supervisor once and return the metric families."""
        families = _families()
        for source in self._sources:
            stats = read_stats(source)
            if stats is not None:
                _add_samples(families, source, stats)
        return families


def _families() -> list[Metric]:
    families: list[Metric] = [
        GaugeMetricFamily(
            "boundedactors_actors_live",
            "Live actors, including actors waiting to restart.",
            labels=_LABELS,
        )
    ]
    for name, documentation, _ in _COUNTERS:
        families.append(CounterMetricFamily(name, documentation, labels=_LABELS))
    families.append(
        CounterMetricFamily(
            "boundedactors_spawn_rejected",
            "Spawns rejected by a quota, by reason.",
            labels=_REASON_LABELS,
        )
    )
    families.append(
        CounterMetricFamily(
            "boundedactors_dead_letters",
            "Accepted messages that could not be delivered, by reason.",
            labels=_REASON_LABELS,
        )
    )
    families.append(
        GaugeMetricFamily("boundedactors_symbols", "Symbols interned.", labels=_LABELS)
    )
    families.append(
        GaugeMetricFamily(
            "boundedactors_symbols_limit",
            "Ceiling of the symbol table.",
            labels=_LABELS,
        )
    )
    return families


def _add_samples(families: list[Metric], source: Source, stats: Stats) -> None:
    label = [source.label]
    live, *counters, rejected, dead, symbols, symbols_limit = families
    assert isinstance(live, GaugeMetricFamily)
    live.add_metric(label, stats.live_actors)
    for family, (_, _, attribute) in zip(counters, _COUNTERS, strict=True):
        assert isinstance(family, CounterMetricFamily)
        family.add_metric(label, getattr(stats, attribute))
    assert isinstance(rejected, CounterMetricFamily)
    for reason, count in by_reason(stats.rejected, SPAWN_REASONS).items():
        rejected.add_metric([source.label, reason], count)
    assert isinstance(dead, CounterMetricFamily)
    for reason, count in by_reason(
        stats.dead_letters_by_reason, DEAD_LETTER_REASONS
    ).items():
        dead.add_metric([source.label, reason], count)
    assert isinstance(symbols, GaugeMetricFamily)
    symbols.add_metric(label, stats.symbols_used)
    assert isinstance(symbols_limit, GaugeMetricFamily)
    symbols_limit.add_metric(label, stats.symbols_limit)
