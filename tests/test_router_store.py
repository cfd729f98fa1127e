"""Router with a state store: loads, saves, retries, storm control, no loss."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, ClassVar

import pytest

import boundedactors as ba
from boundedactors.stores import MemoryStore, SQLiteStore
from boundedactors.testing import FakeClock, InMemoryStore


class Tally(ba.Actor[Any, Any]):
    """Counts messages; its state is the list of messages it has seen."""

    built: ClassVar[list[tuple[object, object]]] = []

    def __init__(self, key: object, state: Any) -> None:
        Tally.built.append((key, state))
        self.seen: list[Any] = list(state or [])

    async def receive(self, message: Any) -> Any:
        if message == "get":
            return list(self.seen)
        self.seen.append(message)
        return len(self.seen)

    def snapshot(self) -> object:
        return list(self.seen)


@pytest.fixture(autouse=True)
def _reset_tally() -> None:
    Tally.built = []


async def test_factory_gets_loaded_state() -> None:
    """The factory is called with the key and the state the store returned."""
    clock = FakeClock()
    store = InMemoryStore({"a": ["old"]}, clock=clock)
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(sup, factory=Tally, store=store)
        assert await router.ask("a", "get") == ["old"]
        assert await router.ask("b", "get") == []
    assert Tally.built[:2] == [("a", ["old"]), ("b", None)]


async def test_idle_passivation_saves_snapshot() -> None:
    """Idle passivation saves the snapshot, and the next message restores it."""
    clock = FakeClock()
    store = InMemoryStore(clock=clock)
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(sup, factory=Tally, store=store, idle_timeout=5.0)
        router.tell("a", 1)
        router.tell("a", 2)
        await sup.settle()
        await clock.advance(5.0)
        await sup.settle()
        assert router.lookup("a") is None
        assert store.data == {"a": [1, 2]}
        assert await router.ask("a", 3) == 3
        stats = router.stats()
        assert stats.passivations == {"idle": 1}
        assert stats.saves == 1
        assert stats.loads == 2
        assert stats.activations == 2


async def test_shutdown_saves_every_active_actor() -> None:
    """Leaving the supervisor saves each active actor once, with cause shutdown."""
    clock = FakeClock()
    store = InMemoryStore(clock=clock)
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(sup, factory=Tally, store=store)
        for key in ("a", "b", "c"):
            router.tell(key, key.upper())
        await sup.settle()
    assert store.data == {"a": ["A"], "b": ["B"], "c": ["C"]}
    stats = router.stats()
    assert stats.passivations == {"shutdown": 3}
    assert stats.saves == 3
    assert stats.states_lost == 0


async def test_sqlite_store_round_trip_through_router(tmp_path: Path) -> None:
    """A router restarts actors from a real SQLite file across supervisors."""
    path = str(tmp_path / "actors.db")
    async with SQLiteStore(path) as store:
        async with ba.Supervisor() as sup:
            router = ba.Router(sup, factory=Tally, store=store)
            router.tell("room", "hello")
            router.tell("room", "world")
            await sup.settle()
        async with ba.Supervisor() as sup:
            router = ba.Router(sup, factory=Tally, store=store)
            assert await router.ask("room", "get") == ["hello", "world"]


async def test_concurrent_first_messages_share_one_load() -> None:
    """Many first messages for one inactive key cause exactly one load."""
    clock = FakeClock()
    store = InMemoryStore({"a": []}, clock=clock, load_latency=1.0)
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(sup, factory=Tally, store=store)
        for number in range(50):
            router.tell("a", number)
        asks = [
            sup._runtime.spawn_background(router.ask("a", "get"), "ask")
            for _ in range(10)
        ]
        await clock.advance(1.0)
        await sup.settle()
        assert store.loads == 1
        assert all(task.result() == list(range(50)) for task in asks)
        assert len(Tally.built) == 1
        assert router.stats().activations == 1


async def test_messages_during_passivation_exact_counts() -> None:
    """Traffic during save, stop and load is delivered in order, none lost."""
    clock = FakeClock()
    store = InMemoryStore(clock=clock, load_latency=0.5, save_latency=0.5)
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(
            sup, factory=Tally, store=store, idle_timeout=1.0, mailbox_size=10_000
        )
        sent: dict[str, list[int]] = {key: [] for key in ("a", "b", "c")}
        counter = 0
        for _round in range(40):
            for key in sent:
                if _round % 3 == 0 or key == "a":
                    counter += 1
                    router.tell(key, counter)
                    sent[key].append(counter)
            await clock.advance(0.45)
        await clock.advance(10.0)
        await sup.settle()
        assert len(router) == 0
        replies = {
            key: sup._runtime.spawn_background(router.ask(key, "get"), "ask")
            for key in sent
        }
        await clock.advance(0.5)
        for key, messages in sent.items():
            assert replies[key].result() == messages
        stats = router.stats()
        assert stats.passivations["idle"] >= 10
        assert stats.saves == stats.passivations["idle"]
        assert stats.loads == stats.activations
        store.save_latency = 0.0  # nothing advances the fake clock at shutdown
        assert sup.stats().dead_letters == 0
        router.check_invariants()


async def test_buffer_bounded_by_mailbox_size() -> None:
    """While a key loads, its buffer holds mailbox_size messages; then reject."""
    clock = FakeClock()
    store = InMemoryStore(clock=clock, load_latency=1.0)
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(sup, factory=Tally, store=store, mailbox_size=3)
        for number in range(3):
            router.tell("a", number)
        with pytest.raises(ba.MailboxFull) as caught:
            router.tell("a", 99)
        assert caught.value.limit == 3
        assert caught.value.current == 3
        await clock.advance(1.0)
        assert await router.ask("a", "get") == [0, 1, 2]


async def test_buffer_drop_oldest_reports_dead_letter() -> None:
    """Under drop_oldest the oldest buffered message goes to dead letters."""
    clock = FakeClock()
    letters: list[ba.DeadLetter] = []
    store = InMemoryStore(clock=clock, load_latency=1.0)
    async with ba.Supervisor(clock=clock, dead_letters=letters.append) as sup:
        router = ba.Router(
            sup, factory=Tally, store=store, mailbox_size=2, overflow="drop_oldest"
        )
        for number in range(4):
            router.tell("a", number)
        await clock.advance(1.0)
        assert await router.ask("a", "get") == [2, 3]
    assert [(d.message, d.reason) for d in letters] == [
        (0, "mailbox_full"),
        (1, "mailbox_full"),
    ]


async def test_max_concurrent_loads_fifo() -> None:
    """At most max_concurrent_loads run; the rest start in arrival order."""
    clock = FakeClock()
    store = InMemoryStore(clock=clock, load_latency=1.0)
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(sup, factory=Tally, store=store, max_concurrent_loads=3)
        keys = [f"k{i}" for i in range(10)]
        for key in keys:
            router.tell(key, "x")
        await clock.settle()
        assert store.loads_in_flight == 3
        assert router.stats().concurrent_loads == 3
        await clock.advance(4.0)
        await sup.settle()
        assert store.max_loads_in_flight == 3
        assert router.stats().peak_concurrent_loads == 3
        load_order = [call.key for call in store.calls if call.operation == "load"]
        assert load_order == keys
        starts = [call.started for call in store.calls if call.operation == "load"]
        assert starts == [0.0] * 3 + [1.0] * 3 + [2.0] * 3 + [3.0]
        assert len(router) == 10


async def test_load_rate_spreads_loads() -> None:
    """load_rate caps loads started per second of virtual time."""
    clock = FakeClock()
    store = InMemoryStore(clock=clock)
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(
            sup, factory=Tally, store=store, load_rate=2.0, max_concurrent_loads=None
        )
        for index in range(6):
            router.tell(f"k{index}", "x")
        await clock.settle()
        assert store.loads == 2  # the bucket starts with one second of loads
        await clock.advance(1.0)
        assert store.loads == 4
        await clock.advance(1.0)
        assert store.loads == 6
        await sup.settle()
        assert len(router) == 6


async def test_load_retried_with_backoff(caplog: pytest.LogCaptureFixture) -> None:
    """A failing load is retried after a clock-driven backoff, then succeeds."""
    clock = FakeClock()
    store = InMemoryStore({"a": ["kept"]}, clock=clock)
    store.fail_next_loads(2)
    async with ba.Supervisor(clock=clock, seed=1) as sup:
        router = ba.Router(
            sup, factory=Tally, store=store, store_backoff=1.0, store_backoff_max=8.0
        )
        with caplog.at_level(logging.WARNING, logger="boundedactors"):
            router.tell("a", "new")
            await clock.settle()
            assert store.loads == 1
            await clock.advance(1.0)  # first retry after 0.5 to 1.0 s
            assert store.loads == 2
            await clock.advance(2.0)  # second retry after 1.0 to 2.0 s
            assert store.loads == 3
            await sup.settle()
        assert await router.ask("a", "get") == ["kept", "new"]
        stats = router.stats()
        assert stats.load_failures == 2
        assert stats.loads == 1
    assert "load of the state of actor 'a' failed (attempt 1 of 5)" in caplog.text


async def test_load_that_keeps_failing_reports_messages() -> None:
    """After store_attempts failed loads, buffered messages become dead letters."""
    clock = FakeClock()
    letters: list[ba.DeadLetter] = []
    store = InMemoryStore(clock=clock)
    store.fail_next_loads(3)
    async with ba.Supervisor(clock=clock, dead_letters=letters.append) as sup:
        router = ba.Router(
            sup, factory=Tally, store=store, store_attempts=3, store_backoff=0.1
        )
        router.tell("a", "lost")
        reply = sup._runtime.spawn_background(router.ask("a", "get"), "ask")
        await clock.advance(5.0)
        await sup.settle()
        with pytest.raises(ConnectionError):
            reply.result()
        assert [(d.message, d.reason) for d in letters] == [
            ("lost", "load_failed"),
            ("get", "load_failed"),
        ]
        assert router.lookup("a") is None
        assert router.stats().load_failures == 3
        # The next message tries again and succeeds.
        assert await router.ask("a", "get") == []


async def test_failing_save_keeps_actor_active() -> None:
    """When every save attempt fails, the actor stays active with its messages."""
    clock = FakeClock()
    store = InMemoryStore(clock=clock)
    store.fail_next_saves(3)
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(
            sup,
            factory=Tally,
            store=store,
            idle_timeout=10.0,
            store_attempts=3,
            store_backoff=1.0,
        )
        router.tell("a", 1)
        await clock.advance(10.0)  # passivation starts, first save fails
        router.tell("a", 2)  # buffered while the save is retried
        await clock.advance(3.0)  # two retries, 0.5 to 1 s and 1 to 2 s later
        await sup.settle()
        ref = router.lookup("a")
        assert ref is not None
        assert await router.ask("a", "get") == [1, 2]
        stats = router.stats()
        assert stats.save_failures == 3
        assert stats.passivations == {}
        assert store.data == {}
        router.check_invariants()
        # The next idle deadline saves it, now that the store works.
        await clock.advance(20.0)
        await sup.settle()
        assert router.lookup("a") is None
        assert store.data == {"a": [1, 2]}


async def test_save_retried_then_succeeds() -> None:
    """A save that fails once is retried and the actor is then stopped."""
    clock = FakeClock()
    store = InMemoryStore(clock=clock)
    store.fail_next_saves(1)
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(
            sup, factory=Tally, store=store, idle_timeout=1.0, store_backoff=0.5
        )
        router.tell("a", 1)
        await clock.advance(2.0)
        await sup.settle()
        assert router.lookup("a") is None
        assert store.data == {"a": [1]}
        stats = router.stats()
        assert stats.save_failures == 1
        assert stats.saves == 1
        assert stats.passivations == {"idle": 1}


async def test_saved_cache_skips_store() -> None:
    """A key that returns soon after passivation is rebuilt from the cache."""
    clock = FakeClock()
    store = InMemoryStore(clock=clock)
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(
            sup, factory=Tally, store=store, idle_timeout=1.0, saved_cache_size=2
        )
        for key in ("a", "b", "c"):
            router.tell(key, key)
        await clock.advance(1.0)
        await sup.settle()
        assert len(router) == 0
        loads_before = store.loads
        # "a" was pushed out of the two-entry cache by "b" and "c".
        assert await router.ask("c", "get") == ["c"]
        assert await router.ask("b", "get") == ["b"]
        assert await router.ask("a", "get") == ["a"]
        assert store.loads - loads_before == 1
        assert router.stats().cache_hits == 2
        router.check_invariants()


async def test_explicit_passivate() -> None:
    """router.passivate saves and stops one actor and reports it."""
    clock = FakeClock()
    store = MemoryStore()
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(sup, factory=Tally, store=store)
        router.tell("a", 1)
        await sup.settle()
        assert await router.passivate("a")
        assert not await router.passivate("a")
        assert await store.load("a") == [1]
        assert router.stats().passivations == {"explicit": 1}


async def test_activate_returns_ref_after_load() -> None:
    """activate() waits for the load and returns the live reference."""
    clock = FakeClock()
    store = InMemoryStore({"a": [7]}, clock=clock, load_latency=2.0)
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(sup, factory=Tally, store=store)
        with pytest.raises(ba.ActorNotFound):
            router.get("a")
        task = sup._runtime.spawn_background(router.activate("a"), "activate")
        await clock.advance(2.0)
        ref = task.result()
        assert ref is router.lookup("a")
        assert await ref.ask("get") == [7]


async def test_ask_timeout_while_loading() -> None:
    """ask raises AskTimeout when the load outlasts its timeout."""
    clock = FakeClock()
    store = InMemoryStore(clock=clock, load_latency=5.0)
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(sup, factory=Tally, store=store)
        task = sup._runtime.spawn_background(router.ask("a", "get", 1.0), "ask")
        await clock.advance(1.0)
        with pytest.raises(ba.AskTimeout):
            task.result()
        await clock.advance(5.0)
        assert await router.ask("a", "get") == []


async def test_send_waits_for_buffer_room() -> None:
    """send() to a loading key with a full buffer waits for the activation."""
    clock = FakeClock()
    store = InMemoryStore(clock=clock, load_latency=1.0)
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(sup, factory=Tally, store=store, mailbox_size=2)
        await router.send("a", 1)
        await router.send("a", 2)
        task = sup._runtime.spawn_background(router.send("a", 3), "send")
        await clock.settle()
        assert not task.done()
        await clock.advance(1.0)
        await sup.settle()
        assert task.done()
        assert await router.ask("a", "get") == [1, 2, 3]


async def test_quota_rejection_is_synchronous() -> None:
    """A spawn quota still rejects the first message of a key at once."""
    clock = FakeClock()
    store = InMemoryStore(clock=clock)
    async with ba.Supervisor(clock=clock, max_children=1) as sup:
        router = ba.Router(sup, factory=Tally, store=store)
        router.tell("a", 1)
        await sup.settle()
        with pytest.raises(ba.SpawnLimitExceeded):
            router.tell("b", 1)


async def test_store_must_implement_protocol() -> None:
    """A store without async load and save is rejected at construction."""
    async with ba.Supervisor() as sup:
        with pytest.raises(TypeError, match="StateStore"):
            ba.Router(sup, factory=Tally, store=object())  # type: ignore[arg-type]


async def test_shutdown_with_broken_store_counts_lost_state(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A state that cannot be saved at shutdown is logged and counted, not hidden."""
    clock = FakeClock()
    store = InMemoryStore(clock=clock)
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(
            sup, factory=Tally, store=store, store_attempts=2, store_backoff=0.0
        )
        router.tell("a", 1)
        await sup.settle()
        store.fail_next_saves(2)
        with caplog.at_level(logging.ERROR, logger="boundedactors"):
            await sup.aclose()
    assert router.stats().states_lost == 1
    assert "state of actor 'a' could not be saved before shutdown" in caplog.text


async def test_no_real_sleep_needed() -> None:
    """The whole store path runs on the fake clock (no real timers pending)."""
    clock = FakeClock()
    store = InMemoryStore(clock=clock, load_latency=3.0)
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(sup, factory=Tally, store=store)
        router.tell("a", 1)
        loop = asyncio.get_running_loop()
        await clock.advance(3.0)
        await sup.settle()
        assert router.lookup("a") is not None
        assert not [h for h in getattr(loop, "_scheduled", []) if not h.cancelled()]


async def test_direct_tell_during_save_resaves() -> None:
    """Mail sent straight to the reference during a save makes the router save again.

    Here the second save fails, so the actor stays active with both messages and
    the first snapshot leaves the saved-state cache.
    """
    clock = FakeClock()
    store = InMemoryStore(clock=clock, save_latency=1.0)
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(
            sup,
            factory=Tally,
            store=store,
            idle_timeout=5.0,
            saved_cache_size=10,
            store_attempts=1,
        )
        router.tell("a", 1)
        await sup.settle()
        ref = router.lookup("a")
        assert ref is not None
        await clock.advance(5.0)  # passivation starts; the first save takes 1 s
        ref.tell(2)
        await clock.advance(1.0)  # first save done; the second starts at once
        store.fail_next_saves(1)
        await clock.advance(1.0)
        await sup.settle()
        assert router.lookup("a") is ref
        assert store.data == {"a": [1]}
        assert store.saves == 2
        router.check_invariants()
        assert await router.ask("a", "get") == [1, 2]
        store.save_latency = 0.0


async def _ask_new_keys(
    router: ba.Router[Any, Any], count: int
) -> list[BaseException | None]:
    async def ask(key: str) -> BaseException | None:
        try:
            await router.ask(key, "get")
        except ba.SpawnLimitExceeded as error:
            return error
        return None

    return await asyncio.gather(*(ask(f"k{i}") for i in range(count)))


async def test_spawn_rate_rejects_before_load() -> None:
    """Asks that the spawn rate rejects cost no load, with loads in flight."""
    clock = FakeClock()
    store = InMemoryStore(clock=clock, load_latency=1)
    async with ba.Supervisor(clock=clock, spawn_rate=1, spawn_burst=1) as sup:
        router = ba.Router(sup, factory=Tally, store=store)
        asks = asyncio.ensure_future(_ask_new_keys(router, 20))
        await clock.advance(1)
        results = await asks
        errors = [e for e in results if e is not None]
        assert store.loads == 1
        assert len(errors) == 19
        assert {e.reason for e in errors} == {"spawn_rate"}  # type: ignore[attr-defined]
        assert sup.stats().rejected == {"spawn_rate": 19}
        assert len(router) == 1
        router.check_invariants()
        sup.check_invariants()
        assert sup._reserved == 0


async def test_max_children_rejects_before_load() -> None:
    """Activations in flight count against max_children before the load."""
    clock = FakeClock()
    store = InMemoryStore(clock=clock, load_latency=1)
    async with ba.Supervisor(clock=clock, max_children=1) as sup:
        router = ba.Router(sup, factory=Tally, store=store)
        asks = asyncio.ensure_future(_ask_new_keys(router, 10))
        await clock.advance(1)
        results = await asks
        errors = [e for e in results if e is not None]
        assert store.loads == 1
        assert len(errors) == 9
        assert {e.reason for e in errors} == {"max_children"}  # type: ignore[attr-defined]
        assert {e.current for e in errors} == {1}  # type: ignore[attr-defined]
        assert len(router) == 1
        router.check_invariants()
        sup.check_invariants()


async def test_per_key_counts_activations_in_flight() -> None:
    """A quota key's activations in flight count against per_key_limit."""
    clock = FakeClock()
    store = InMemoryStore(clock=clock, load_latency=1)
    async with ba.Supervisor(clock=clock, per_key_limit=1) as sup:
        router = ba.Router(sup, factory=Tally, store=store)
        router.tell("a", 1, quota_key="client")
        with pytest.raises(ba.SpawnLimitExceeded) as caught:
            router.tell("b", 1, quota_key="client")
        assert caught.value.reason == "per_key"
        assert caught.value.quota_key == "client"
        router.tell("c", 1, quota_key="other")
        sup.check_invariants()
        await clock.advance(1)
        assert store.loads == 2
        assert len(router) == 2
        sup.check_invariants()


async def test_failed_load_releases_reservation() -> None:
    """A load that fails gives back its child slot, token and per-key count."""
    clock = FakeClock()
    store = InMemoryStore(clock=clock, load_latency=1)
    store.fail_next_loads(1)
    async with ba.Supervisor(
        clock=clock, max_children=1, spawn_rate=1, spawn_burst=1, per_key_limit=1
    ) as sup:
        router = ba.Router(sup, factory=Tally, store=store, store_attempts=1)
        asking = asyncio.ensure_future(router.ask("a", "get", quota_key="client"))
        await clock.advance(0)
        sup.check_invariants()
        assert sup._reserved == 1
        await clock.advance(1)
        with pytest.raises(ConnectionError):
            await asking
        assert sup._reserved == 0
        assert not sup._reservations
        sup.check_invariants()
        router.check_invariants()
        # The slot, the token and the quota key's count are all free again.
        asking = asyncio.ensure_future(router.ask("b", "get", quota_key="client"))
        await clock.advance(1)
        assert await asking == []
        assert sup.stats().rejected == {}


async def test_cancelled_ask_keeps_no_reservation() -> None:
    """A cancelled ask leaves its activation to finish; nothing stays held."""
    clock = FakeClock()
    store = InMemoryStore(clock=clock, load_latency=1)
    async with ba.Supervisor(clock=clock, max_children=1) as sup:
        router = ba.Router(sup, factory=Tally, store=store)
        asking = asyncio.ensure_future(router.ask("a", "get"))
        await clock.advance(0)
        asking.cancel()
        await clock.advance(1)
        await sup.settle()
        assert asking.cancelled()
        assert sup._reserved == 0
        assert len(router) == 1
        sup.check_invariants()
        router.check_invariants()


async def test_shutdown_releases_reservations() -> None:
    """Shutdown during a load releases the activation's reservation."""
    clock = FakeClock()
    store = InMemoryStore(clock=clock, load_latency=10)
    sup = ba.Supervisor(clock=clock, max_children=1, shutdown_timeout=1)
    async with sup:
        router = ba.Router(sup, factory=Tally, store=store)
        router.tell("a", 1)
        await clock.advance(0)
        assert sup._reserved == 1
        closing = asyncio.ensure_future(sup.aclose())
        await clock.advance(1)
        await closing
    assert sup._reserved == 0
    assert not sup._reservations
