"""Prometheus and OpenTelemetry export of supervisor stats."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

import boundedactors as ba
from boundedactors.testing import FakeClock

prometheus_client = pytest.importorskip("prometheus_client")
pytest.importorskip("opentelemetry.sdk.metrics")

from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402

from boundedactors.integrations.otel import instrument  # noqa: E402
from boundedactors.integrations.prometheus import SupervisorCollector  # noqa: E402


class Echo(ba.Actor[str, str]):
    def __init__(self, key: object = None) -> None:
        pass

    async def receive(self, message: str) -> str:
        if message == "crash":
            raise RuntimeError("crash")
        return message


async def busy_supervisor(sup: ba.Supervisor, clock: FakeClock) -> None:
    """Spawn 2 actors, reject 1 spawn, handle 3 messages, crash once, stop one."""
    first = sup.spawn(Echo)
    second = sup.spawn(Echo)
    with pytest.raises(ba.SpawnLimitExceeded):
        sup.spawn(Echo)
    assert await first.ask("a") == "a"
    assert await first.ask("b") == "b"
    first.tell("crash")
    await clock.advance(5.0)
    await second.stop()
    second.tell("late")
    await sup.settle()


def sample(registry: Any, name: str, **labels: str) -> float | None:
    value = registry.get_sample_value(name, labels)
    return None if value is None else float(value)


async def test_prometheus_scrape() -> None:
    """The registry text has the expected names, labels and counts."""
    clock = FakeClock()
    async with ba.Supervisor(max_children=2, clock=clock) as sup:
        await busy_supervisor(sup, clock)
        registry = prometheus_client.CollectorRegistry()
        registry.register(SupervisorCollector({"rooms": sup}))
        text = prometheus_client.generate_latest(registry).decode()

        assert "# TYPE boundedactors_actors_live gauge" in text
        assert "# TYPE boundedactors_spawn_rejected_total counter" in text
        assert sample(registry, "boundedactors_actors_live", supervisor="rooms") == 1
        spawned = "boundedactors_actors_spawned_total"
        assert sample(registry, spawned, supervisor="rooms") == 2
        stopped = "boundedactors_actors_stopped_total"
        assert sample(registry, stopped, supervisor="rooms") == 1
        rejected = "boundedactors_spawn_rejected_total"
        assert (
            sample(registry, rejected, supervisor="rooms", reason="max_children") == 1
        )
        assert sample(registry, rejected, supervisor="rooms", reason="spawn_rate") == 0
        crashes = "boundedactors_actor_crashes_total"
        assert sample(registry, crashes, supervisor="rooms") == 1
        restarts = "boundedactors_actor_restarts_total"
        assert sample(registry, restarts, supervisor="rooms") == 1
        handled = "boundedactors_messages_handled_total"
        assert sample(registry, handled, supervisor="rooms") == 3
        dead = "boundedactors_dead_letters_total"
        assert sample(registry, dead, supervisor="rooms", reason="stopped") == 1
        assert sample(registry, dead, supervisor="rooms", reason="other") == 0
        limit = sample(registry, "boundedactors_symbols_limit", supervisor="rooms")
        assert limit == sup.stats().symbols_limit


async def test_prometheus_labels_bounded() -> None:
    """A flood of rejected keys and unknown reasons adds no time series."""
    async with ba.Supervisor(per_key_limit=1, max_quota_keys=4) as sup:
        registry = prometheus_client.CollectorRegistry()
        registry.register(SupervisorCollector(sup))
        before = len(prometheus_client.generate_latest(registry).splitlines())
        for index in range(1000):
            with contextlib.suppress(ba.SpawnLimitExceeded):
                sup.spawn(Echo, quota_key=f"client-{index}")
        sup._counters.rejected["a-new-reason"] += 5
        text = prometheus_client.generate_latest(registry).decode()
        assert len(text.splitlines()) == before
        assert "client-" not in text
        other = sample(
            registry,
            "boundedactors_spawn_rejected_total",
            supervisor="default",
            reason="other",
        )
        assert other == 5
        quota = sample(
            registry,
            "boundedactors_spawn_rejected_total",
            supervisor="default",
            reason="quota_keys",
        )
        assert quota == 996


def test_prometheus_scrape_from_other_thread() -> None:
    """With loop=, a scrape from another thread reads on the runtime's loop."""
    with ba.ThreadedRuntime(name="threaded") as runtime:
        ref = runtime.call(runtime.supervisor.spawn, Echo)
        for _ in range(10):
            runtime.tell(ref, "x")
        runtime.run(runtime.supervisor.settle())
        registry = prometheus_client.CollectorRegistry()
        registry.register(SupervisorCollector(runtime.supervisor, loop=runtime.loop))
        handled = sample(
            registry, "boundedactors_messages_handled_total", supervisor="threaded"
        )
        assert handled == 10
    assert SupervisorCollector(runtime.supervisor, loop=runtime.loop).collect()


def test_collector_options_checked() -> None:
    """Supervisors must be a Supervisor or a non-empty mapping of str labels."""
    with pytest.raises(TypeError, match="supervisors"):
        SupervisorCollector({})
    with pytest.raises(TypeError, match="labels"):
        SupervisorCollector({1: ba.Supervisor()})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="Supervisor"):
        SupervisorCollector({"x": object()})  # type: ignore[dict-item]


def otel_points(reader: InMemoryMetricReader) -> dict[str, Any]:
    data = reader.get_metrics_data()
    assert data is not None
    found: dict[str, Any] = {}
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                found[metric.name] = metric
    return found


def otel_value(metric: Any, **attributes: str) -> int:
    for point in metric.data.data_points:
        if dict(point.attributes) == attributes:
            return int(point.value)
    raise AssertionError(f"no point with {attributes} in {metric.name}")


async def test_otel_in_memory_reader() -> None:
    """Observable instruments report the stats with fixed attributes and units."""
    clock = FakeClock()
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    async with ba.Supervisor(max_children=2, clock=clock) as sup:
        await busy_supervisor(sup, clock)
        instruments = instrument({"rooms": sup}, meter_provider=provider)
        assert len(instruments) == 12
        metrics = otel_points(reader)
    label = {"boundedactors.supervisor": "rooms"}
    live = metrics["boundedactors.actors.live"]
    assert live.unit == "{actor}"
    assert otel_value(live, **label) == 1
    assert otel_value(metrics["boundedactors.actors.spawned"], **label) == 2
    assert metrics["boundedactors.actors.spawned"].data.is_monotonic
    assert otel_value(metrics["boundedactors.messages.handled"], **label) == 3
    assert otel_value(metrics["boundedactors.actor.crashes"], **label) == 1
    rejected = metrics["boundedactors.spawn.rejected"]
    assert (
        otel_value(rejected, **label, **{"boundedactors.reason": "max_children"}) == 1
    )
    assert len(rejected.data.data_points) == 5
    dead = metrics["boundedactors.dead_letters"]
    assert otel_value(dead, **label, **{"boundedactors.reason": "stopped"}) == 1
    assert not metrics["boundedactors.symbols.limit"].data.is_monotonic
    provider.shutdown()
