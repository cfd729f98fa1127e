"""Tests of Supervisor: spawn quotas, restarts, strategies and shutdown."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

import boundedactors as ba
from boundedactors.runtime import STOPPED, WAITING
from boundedactors.testing import FakeClock


class Echo(ba.Actor):
    """Returns each message; raises on "boom" and stops on "quit"."""

    def __init__(self, *args: object) -> None:
        self.args = args

    async def receive(self, message: Any) -> Any:
        if message == "boom":
            raise RuntimeError("boom")
        if message == "quit":
            raise ba.StopActor
        return message


class Gate(ba.Actor):
    """Blocks in receive until its event is set."""

    def __init__(self, event: asyncio.Event, log: list[object]) -> None:
        self.event = event
        self.log = log

    async def receive(self, message: Any) -> Any:
        self.log.append(message)
        await self.event.wait()
        return message


async def quiet(clock: FakeClock) -> None:
    """Wait until every task is blocked."""
    await clock.settle()


# Spawn quotas


async def test_max_children_rejects_and_allocates_nothing() -> None:
    """At max_children, spawn raises with the limit and builds no actor."""
    built: list[int] = []

    def factory(number: int) -> Echo:
        built.append(number)
        return Echo(number)

    async with ba.Supervisor(max_children=3, clock=FakeClock()) as sup:
        for number in range(3):
            sup.spawn(factory, number)
        with pytest.raises(ba.SpawnLimitExceeded) as caught:
            sup.spawn(factory, 99, name="extra")
        error = caught.value
        assert error.reason == "max_children"
        assert error.limit == 3
        assert error.current == 3
        assert error.retry_after is None
        assert built == [0, 1, 2]
        assert "extra" not in sup.registry
        assert len(sup) == 3
        assert sup.stats().rejected == {"max_children": 1}
        sup.check_invariants()


async def test_stopped_child_frees_a_slot() -> None:
    """Stopping a child lets a new spawn through."""
    async with ba.Supervisor(max_children=1, clock=FakeClock()) as sup:
        ref = sup.spawn(Echo)
        await ref.stop()
        assert len(sup) == 0
        sup.spawn(Echo)
        assert len(sup) == 1


async def test_restarting_child_still_counts() -> None:
    """A child waiting to restart after a crash keeps its slot."""
    clock = FakeClock()
    async with ba.Supervisor(
        max_children=2, restart_backoff=1.0, restart_jitter=0.0, clock=clock
    ) as sup:
        crashed = sup.spawn(Echo)
        sup.spawn(Echo)
        crashed.tell("boom")
        await sup.settle()
        assert crashed._state == WAITING
        assert len(sup) == 2
        with pytest.raises(ba.SpawnLimitExceeded):
            sup.spawn(Echo)
        await clock.advance(1.0)
        assert await crashed.ask("back") == "back"
        assert len(sup) == 2
        sup.check_invariants()


async def test_crash_loop_never_lets_spawn_slip() -> None:
    """Across many crash-restart cycles the child count never passes the limit."""
    clock = FakeClock()
    async with ba.Supervisor(
        max_children=5, max_restarts=10_000, restart_backoff=0.0, clock=clock
    ) as sup:
        refs = [sup.spawn(Echo) for _ in range(5)]
        for _ in range(20):
            for ref in refs:
                ref.tell("boom")
            for _ in range(3):
                with pytest.raises(ba.SpawnLimitExceeded):
                    sup.spawn(Echo)
                await asyncio.sleep(0)
            sup.check_invariants()
        await sup.settle()
        assert len(sup) == 5
        assert sup.stats().restarts == 100
        assert sup.stats().spawned == 5


async def test_spawn_rate_refills_only_with_clock() -> None:
    """The token bucket empties after burst spawns and refills in virtual time."""
    clock = FakeClock()
    async with ba.Supervisor(spawn_rate=2.0, spawn_burst=3, clock=clock) as sup:
        for _ in range(3):
            sup.spawn(Echo)
        with pytest.raises(ba.SpawnLimitExceeded) as caught:
            sup.spawn(Echo)
        error = caught.value
        assert error.reason == "spawn_rate"
        assert error.limit == 2.0
        assert error.retry_after == pytest.approx(0.5)
        await sup.settle()
        with pytest.raises(ba.SpawnLimitExceeded):
            sup.spawn(Echo)
        await clock.advance(0.49)
        with pytest.raises(ba.SpawnLimitExceeded):
            sup.spawn(Echo)
        await clock.advance(0.01)
        sup.spawn(Echo)
        assert len(sup) == 4
        assert sup.stats().rejected == {"spawn_rate": 3}
        sup.check_invariants()


async def test_rejected_spawn_takes_no_token() -> None:
    """A spawn rejected by another quota leaves the bucket untouched."""
    clock = FakeClock()
    async with ba.Supervisor(
        spawn_rate=1.0, spawn_burst=2, max_children=1, clock=clock
    ) as sup:
        sup.spawn(Echo)
        for _ in range(5):
            with pytest.raises(ba.SpawnLimitExceeded, match="max_children"):
                sup.spawn(Echo)
        assert sup._bucket is not None
        assert sup._bucket.tokens(clock.now()) == pytest.approx(1.0)


async def test_per_key_limit() -> None:
    """Each quota key has at most per_key_limit live actors."""
    async with ba.Supervisor(per_key_limit=2, clock=FakeClock()) as sup:
        first = sup.spawn(Echo, quota_key="10.0.0.1")
        sup.spawn(Echo, quota_key="10.0.0.1")
        with pytest.raises(ba.SpawnLimitExceeded) as caught:
            sup.spawn(Echo, quota_key="10.0.0.1")
        error = caught.value
        assert error.reason == "per_key"
        assert error.limit == 2
        assert error.current == 2
        assert error.quota_key == "10.0.0.1"
        assert "10.0.0.1" in str(error)
        sup.spawn(Echo, quota_key="10.0.0.2")
        sup.spawn(Echo)
        await first.stop()
        sup.spawn(Echo, quota_key="10.0.0.1")
        sup.check_invariants()


async def test_quota_key_table_is_bounded() -> None:
    """A flood of distinct quota keys stops at max_quota_keys; freed keys leave."""
    async with ba.Supervisor(
        per_key_limit=1, max_quota_keys=3, clock=FakeClock()
    ) as sup:
        refs = [sup.spawn(Echo, quota_key=f"client-{n}") for n in range(3)]
        with pytest.raises(ba.SpawnLimitExceeded) as caught:
            sup.spawn(Echo, quota_key="client-new")
        assert caught.value.reason == "quota_keys"
        assert caught.value.limit == 3
        assert sup._per_key is not None
        assert len(sup._per_key) == 3
        await refs[0].stop()
        assert len(sup._per_key) == 2
        sup.spawn(Echo, quota_key="client-new")
        sup.check_invariants()


async def test_quota_key_freed_after_crash_and_stop() -> None:
    """A temporary actor that crashes gives back its quota-key slot."""
    async with ba.Supervisor(
        per_key_limit=1, restart="temporary", clock=FakeClock()
    ) as sup:
        ref = sup.spawn(Echo, quota_key=7)
        ref.tell("boom")
        await sup.settle()
        assert not ref.is_alive
        sup.spawn(Echo, quota_key=7.0)
        sup.check_invariants()


async def test_nested_children_count_against_ancestors() -> None:
    """A nested supervisor's actors count against every ancestor's max_children."""
    async with ba.Supervisor(max_children=3, clock=FakeClock()) as root:
        middle = root.supervisor(max_children=10, name="middle")
        leaf = middle.supervisor(name="leaf")
        leaf.spawn(Echo)
        middle.spawn(Echo)
        root.spawn(Echo)
        assert (len(root), len(middle), len(leaf)) == (3, 2, 1)
        with pytest.raises(ba.SpawnLimitExceeded) as caught:
            leaf.spawn(Echo)
        assert caught.value.supervisor is None
        assert caught.value.limit == 3
        assert root.stats().rejected == {"max_children": 1}
        root.check_invariants()
        await leaf.aclose()
        assert (len(root), len(middle)) == (2, 1)
        root.check_invariants()


async def test_nested_spawn_rate_of_parent_applies() -> None:
    """A parent's spawn_rate limits spawns made through a nested supervisor."""
    clock = FakeClock()
    async with ba.Supervisor(spawn_rate=1.0, spawn_burst=2, clock=clock) as root:
        nested = root.supervisor()
        nested.spawn(Echo)
        nested.spawn(Echo)
        with pytest.raises(ba.SpawnLimitExceeded, match="spawn_rate"):
            nested.spawn(Echo)
        await clock.advance(1.0)
        nested.spawn(Echo)


async def test_nested_options_checked() -> None:
    """Runtime options cannot be given to a nested supervisor."""
    async with ba.Supervisor(clock=FakeClock()) as root:
        with pytest.raises(TypeError, match="workers"):
            root.supervisor(workers=2)
        nested = root.supervisor()
        with pytest.raises(RuntimeError, match="nested"):
            async with nested:
                pass


async def test_spawn_on_closed_supervisor() -> None:
    """Spawning outside the running state raises SupervisorClosed."""
    sup = ba.Supervisor(clock=FakeClock())
    with pytest.raises(ba.SupervisorClosed, match="new"):
        sup.spawn(Echo)
    async with sup:
        pass
    with pytest.raises(ba.SupervisorClosed, match="stopped"):
        sup.spawn(Echo)


async def test_factory_error_reaches_caller() -> None:
    """A factory that raises at spawn leaves no child behind."""

    def broken() -> Echo:
        raise ValueError("bad args")

    async with ba.Supervisor(max_children=1, clock=FakeClock()) as sup:
        with pytest.raises(ValueError, match="bad args"):
            sup.spawn(broken, name="broken")
        assert len(sup) == 0
        assert "broken" not in sup.registry
        sup.spawn(Echo)


async def test_duplicate_name_leaves_no_child() -> None:
    """A spawn whose name is taken raises and does not count as a child."""
    async with ba.Supervisor(max_children=2, clock=FakeClock()) as sup:
        sup.spawn(Echo, name="one")
        with pytest.raises(ba.AlreadyRegistered):
            sup.spawn(Echo, name="one")
        assert len(sup) == 1
        sup.check_invariants()


async def test_rejected_name_builds_no_actor() -> None:
    """A taken name or a full registry rejects the spawn before the factory runs."""
    built: list[int] = []

    def factory(number: int) -> Echo:
        built.append(number)
        return Echo(number)

    async with ba.Supervisor(registry=ba.Registry(limit=2), clock=FakeClock()) as sup:
        sup.spawn(factory, 1, name="taken")
        with pytest.raises(ba.AlreadyRegistered):
            sup.spawn(factory, 2, name="taken")
        sup.spawn(factory, 3, name="second")
        with pytest.raises(ba.RegistryFull):
            sup.spawn(factory, 4, name="third")
        assert built == [1, 3]
        assert len(sup) == 2


# Restarts


async def test_restart_types() -> None:
    """permanent always restarts, transient only after a crash, temporary never."""
    async with ba.Supervisor(restart_backoff=0.0, clock=FakeClock()) as sup:
        refs = {
            kind: {how: sup.spawn(Echo, restart=kind) for how in ("boom", "quit")}
            for kind in ("permanent", "transient", "temporary")
        }
        for by_kind in refs.values():
            for how, ref in by_kind.items():
                ref.tell(how)
        await sup.settle()
        alive = {
            (kind, how): ref.is_alive
            for kind, by_kind in refs.items()
            for how, ref in by_kind.items()
        }
    assert alive == {
        ("permanent", "boom"): True,
        ("permanent", "quit"): True,
        ("transient", "boom"): True,
        ("transient", "quit"): False,
        ("temporary", "boom"): False,
        ("temporary", "quit"): False,
    }


async def test_restart_uses_same_args() -> None:
    """A restarted actor is rebuilt with the arguments of its first spawn."""
    async with ba.Supervisor(restart_backoff=0.0, clock=FakeClock()) as sup:
        ref = sup.spawn(Echo, "a", 1)
        ref.tell("boom")
        await sup.settle()
        actor = ref.actor
        assert isinstance(actor, Echo)
        assert actor.args == ("a", 1)


async def test_restart_intensity_stops_supervisor() -> None:
    """Past max_restarts within max_seconds, the supervisor stops and raises."""
    clock = FakeClock()
    with pytest.raises(ba.RestartIntensityExceeded) as caught:
        async with ba.Supervisor(
            max_restarts=2, max_seconds=5.0, restart_backoff=0.0, clock=clock
        ) as sup:
            ref = sup.spawn(Echo)
            other = sup.spawn(Echo)
            for _ in range(3):
                ref.tell("boom")
                await sup.settle()
            assert not sup.is_running
            assert not ref.is_alive
            assert not other.is_alive
            assert len(sup) == 0
            with pytest.raises(ba.SupervisorClosed, match="failed"):
                sup.spawn(Echo)
    error = caught.value
    assert error.limit == 2
    assert error.current == 3
    assert error.max_seconds == 5.0
    assert sup.failure is error


async def test_restarts_outside_window_are_forgotten() -> None:
    """Crashes spread wider than max_seconds never reach the intensity limit."""
    clock = FakeClock()
    async with ba.Supervisor(
        max_restarts=1, max_seconds=1.0, restart_backoff=0.0, clock=clock
    ) as sup:
        ref = sup.spawn(Echo)
        for _ in range(5):
            ref.tell("boom")
            await sup.settle()
            await clock.advance(1.5)
        assert sup.is_running
        assert ref.is_alive
        assert sup.stats().restarts == 5


async def test_backoff_grows_with_jitter_in_virtual_time() -> None:
    """Consecutive restarts wait backoff * 2**(n-1), shortened by the jitter."""
    clock = FakeClock()
    async with ba.Supervisor(
        restart_backoff=1.0,
        restart_backoff_max=3.0,
        restart_jitter=0.5,
        max_restarts=100,
        max_seconds=1.0,
        seed=1,
        clock=clock,
    ) as sup:
        ref = sup.spawn(Echo)
        delays = []
        for _ in range(4):
            ref.tell("boom")
            await sup.settle()
            assert ref._state == WAITING
            start = clock.now()
            deadline = clock.next_deadline()
            assert deadline is not None
            delays.append(deadline - start)
            await clock.advance(deadline - start)
            assert ref._state != WAITING
        bases = [1.0, 2.0, 3.0, 3.0]
        for delay, base in zip(delays, bases, strict=True):
            assert base * 0.5 <= delay <= base
        assert len(set(delays)) == 4


async def test_backoff_resets_after_a_message() -> None:
    """A message handled after a restart resets the actor's backoff."""
    clock = FakeClock()
    async with ba.Supervisor(
        restart_backoff=1.0, restart_jitter=0.0, clock=clock
    ) as sup:
        ref = sup.spawn(Echo)
        ref.tell("boom")
        await sup.settle()
        await clock.advance(1.0)
        assert await ref.ask("ok") == "ok"
        ref.tell("boom")
        await sup.settle()
        assert clock.next_deadline() == pytest.approx(clock.now() + 1.0)


async def test_one_for_all_restarts_siblings() -> None:
    """Under one_for_all, a crash replaces every child, each with on_stop."""
    stops: list[tuple[str, object]] = []

    class Tracked(Echo):
        async def on_stop(self, reason: object) -> None:
            stops.append((str(self.args[0]), reason))

    async with ba.Supervisor(
        strategy="one_for_all", restart_backoff=0.0, clock=FakeClock()
    ) as sup:
        a = sup.spawn(Tracked, "a")
        b = sup.spawn(Tracked, "b")
        c = sup.spawn(Tracked, "c")
        old = [a.actor, b.actor, c.actor]
        b.tell("boom")
        await sup.settle()
        assert all(
            new is not before
            for new, before in zip([a.actor, b.actor, c.actor], old, strict=True)
        )
        assert ("a", "restart") in stops
        assert ("c", "restart") in stops
        assert any(name == "b" and isinstance(r, RuntimeError) for name, r in stops)
        assert await a.ask("x") == "x"
        assert len(sup) == 3


async def test_one_for_all_waits_for_sibling_message() -> None:
    """A sibling mid-message finishes it before being replaced; its queue stays."""
    event = asyncio.Event()
    log: list[object] = []
    clock = FakeClock()
    async with ba.Supervisor(
        strategy="one_for_all", restart_backoff=0.0, clock=clock
    ) as sup:
        busy = sup.spawn(Gate, event, log)
        crasher = sup.spawn(Echo)
        busy.tell("current")
        busy.tell("queued")
        await quiet(clock)
        first = busy.actor
        crasher.tell("boom")
        await quiet(clock)
        assert busy.actor is first
        event.set()
        await sup.settle()
        assert busy.actor is not first
        assert log == ["current", "queued"]
        assert busy.is_alive


# Shutdown


async def test_shutdown_reverse_order_and_dead_letters() -> None:
    """Leaving async with stops children newest first; queued mail is reported."""
    stops: list[object] = []
    letters: list[ba.DeadLetter] = []

    class Tracked(Echo):
        async def on_stop(self, reason: object) -> None:
            stops.append((self.args[0], reason))

    event = asyncio.Event()
    clock = FakeClock()
    async with ba.Supervisor(dead_letters=letters.append, clock=clock) as sup:
        for number in range(4):
            sup.spawn(Tracked, number)
        gate = sup.spawn(Gate, event, [], name="gate")
        gate.tell("current")
        gate.tell("left over")
        await quiet(clock)
        event.set()
    assert stops == [(3, "shutdown"), (2, "shutdown"), (1, "shutdown"), (0, "shutdown")]
    assert letters == [ba.DeadLetter("left over", "gate", "shutdown")]
    assert len(sup) == 0
    assert sup.stats().stopped == 5


async def test_on_stop_timeout_and_straggler_cancelled() -> None:
    """A slow on_stop and a receive that never returns are cancelled at shutdown."""
    cancelled: list[str] = []

    class SlowStop(ba.Actor):
        async def receive(self, message: object) -> None:
            pass

        async def on_stop(self, reason: object) -> None:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.append("on_stop")
                raise

    class Stuck(ba.Actor):
        async def receive(self, message: object) -> None:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.append("receive")
                raise

    clock = FakeClock()
    sup = ba.Supervisor(stop_timeout=1.0, clock=clock, workers=2)
    await sup.__aenter__()
    slow = sup.spawn(SlowStop)
    slow.tell("x")
    stuck = sup.spawn(Stuck)
    stuck.tell("x")
    await quiet(clock)
    closing = asyncio.ensure_future(sup.__aexit__(None, None, None))
    for _ in range(5):
        await clock.advance(1.0)
        if closing.done():
            break
    await closing
    assert sorted(cancelled) == ["on_stop", "receive"]
    assert not slow.is_alive
    assert not stuck.is_alive
    assert len(sup) == 0
    assert all(w.task is None or w.task.done() for w in sup._runtime._workers)


async def test_shutdown_with_actor_in_backoff() -> None:
    """An actor waiting for its restart backoff stops at shutdown, timer cancelled."""
    letters: list[ba.DeadLetter] = []
    clock = FakeClock()
    async with ba.Supervisor(
        restart_backoff=10.0, dead_letters=letters.append, clock=clock
    ) as sup:
        ref = sup.spawn(Echo, name="waiting")
        ref.tell("boom")
        ref.tell("queued")
        await sup.settle()
        assert ref._state == WAITING
        assert clock.pending == 1
    assert ref._state == STOPPED
    assert clock.pending == 0
    assert letters == [ba.DeadLetter("queued", "waiting", "shutdown")]
    assert "waiting" not in sup.registry


async def test_nested_failure_reported_to_parent() -> None:
    """A nested supervisor past its intensity stops; the parent counts it."""
    clock = FakeClock()
    async with ba.Supervisor(clock=clock, max_restarts=5) as root:
        nested = root.supervisor(max_restarts=0, restart_backoff=0.0, name="n")
        ref = nested.spawn(Echo)
        survivor = root.spawn(Echo)
        ref.tell("boom")
        await root.settle()
        assert isinstance(nested.failure, ba.RestartIntensityExceeded)
        assert not nested.is_running
        assert not ref.is_alive
        assert root.is_running
        assert survivor.is_alive
        assert len(root) == 1
        stats = root.stats()
        assert stats.crashes == 2
        assert stats.spawned == 2
        assert stats.stopped == 1
        root.check_invariants()


async def test_stats_after_nested_close() -> None:
    """Counts of a closed nested supervisor stay in its parent's stats."""
    async with ba.Supervisor(clock=FakeClock()) as root:
        nested = root.supervisor()
        ref = nested.spawn(Echo)
        assert await ref.ask("x") == "x"
        await nested.aclose()
        stats = root.stats()
        assert stats.spawned == 1
        assert stats.stopped == 1
        assert stats.messages_handled == 1
        assert stats.live_actors == 0
        ref.tell("late")
        assert root.stats().dead_letters == 1


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"max_children": 0}, ValueError, "max_children must be a positive int"),
        ({"max_children": "5"}, TypeError, "max_children"),
        ({"spawn_rate": -1.0}, ValueError, "spawn_rate"),
        ({"spawn_burst": 5}, ValueError, "spawn_burst needs spawn_rate"),
        ({"per_key_limit": 0}, ValueError, "per_key_limit"),
        ({"strategy": "rest_for_one"}, ValueError, "strategy must be one of"),
        ({"restart_jitter": 2.0}, ValueError, "restart_jitter"),
        ({"overflow": "block"}, ValueError, "overflow"),
        ({"restart": "always"}, ValueError, "restart"),
        ({"mailbox_size": 0}, ValueError, "mailbox_size"),
        ({"workers": 0}, ValueError, "workers"),
        ({"max_seconds": float("nan")}, ValueError, "max_seconds"),
        ({"dead_letters": 5}, TypeError, "dead_letters"),
        ({"clock": object()}, TypeError, "clock"),
    ],
)
def test_options_checked(options: dict[str, Any], error: type, match: str) -> None:
    """Each bad option raises at construction, naming the option."""
    with pytest.raises(error, match=match):
        ba.Supervisor(**options)


def test_options_are_keyword_only() -> None:
    """Supervisor takes no positional options."""
    with pytest.raises(TypeError):
        ba.Supervisor(10)  # type: ignore[misc]


async def test_spawn_options_checked() -> None:
    """Bad per-spawn options raise before anything is allocated."""
    async with ba.Supervisor(clock=FakeClock()) as sup:
        with pytest.raises(ValueError, match="overflow"):
            sup.spawn(Echo, overflow="nope")
        with pytest.raises(TypeError, match="factory must be callable"):
            sup.spawn(42)  # type: ignore[arg-type]
        assert len(sup) == 0


async def test_start_and_stop_logged(caplog: pytest.LogCaptureFixture) -> None:
    """The supervisor logs its start and stop on the boundedactors logger."""
    with caplog.at_level(logging.INFO, logger="boundedactors"):
        async with ba.Supervisor(name="web", clock=FakeClock()):
            pass
    messages = [r.getMessage() for r in caplog.records if r.name == "boundedactors"]
    assert "supervisor 'web' started" in messages
    assert "supervisor 'web' stopped" in messages
