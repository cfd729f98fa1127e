"""Idle passivation: Router(idle_timeout=...) driven by a FakeClock."""

from __future__ import annotations

from typing import Any

import boundedactors as ba
from boundedactors.testing import FakeClock


class Counter(ba.Actor[Any, int]):
    instances = 0

    def __init__(self, key: object) -> None:
        Counter.instances += 1
        self.key = key
        self.count = 0
        self.stop_reasons: list[object] = []

    async def receive(self, message: Any) -> int:
        self.count += 1
        return self.count

    async def on_stop(self, reason: object) -> None:
        self.stop_reasons.append(reason)


async def test_idle_actor_passivated_at_deadline() -> None:
    """An actor is stopped when virtual time reaches its deadline, not before."""
    clock = FakeClock()
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(sup, factory=Counter, idle_timeout=10.0)
        router.tell("a", "x")
        await sup.settle()
        ref = router.lookup("a")
        assert ref is not None

        await clock.advance(9.999)
        assert router.lookup("a") is ref
        assert ref.is_alive

        await clock.advance(0.001)
        await sup.settle()
        assert router.lookup("a") is None
        assert not ref.is_alive
        stats = router.stats()
        assert stats.passivations == {"idle": 1}
        assert stats.activations == 1
        router.check_invariants()
        sup.check_invariants()


async def test_message_postpones_idle_deadline() -> None:
    """Each message through the router moves the deadline to now + idle_timeout."""
    clock = FakeClock()
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(sup, factory=Counter, idle_timeout=10.0)
        router.tell("a", "x")
        await clock.advance(6.0)
        router.tell("a", "x")
        await clock.advance(6.0)
        assert router.lookup("a") is not None
        await clock.advance(3.999)
        assert router.lookup("a") is not None
        await clock.advance(0.001)
        await sup.settle()
        assert router.lookup("a") is None


async def test_one_timer_for_many_idle_actors() -> None:
    """A thousand idle actors keep one armed timer between them."""
    clock = FakeClock()
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(sup, factory=Counter, idle_timeout=30.0)
        before = clock.pending
        for index in range(1000):
            router.tell(f"k{index}", "x")
            await clock.advance(0.01)
        await sup.settle()
        assert clock.pending - before == 1
        assert len(router) == 1000

        # Key k{i} was touched at about 0.01 * i, so at t=35.005 exactly the keys
        # k0 to k500 have reached their deadlines.
        await clock.advance(35.005 - clock.now())
        await sup.settle()
        expired = [i for i in range(1000) if f"k{i}" not in router]
        assert expired == list(range(501))
        assert clock.pending - before == 1
        await clock.advance(30.0)
        await sup.settle()
        assert len(router) == 0
        assert router.stats().passivations == {"idle": 1000}
        router.check_invariants()


async def test_busy_actor_not_passivated() -> None:
    """An actor still handling a message at its deadline stays active."""
    clock = FakeClock()

    class Slow(ba.Actor[Any, None]):
        def __init__(self, key: object) -> None:
            pass

        async def receive(self, message: Any) -> None:
            await clock.sleep(25.0)

    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(sup, factory=Slow, idle_timeout=10.0)
        router.tell("a", "x")
        await clock.advance(10.0)
        assert router.lookup("a") is not None
        await clock.advance(15.0)  # the message ends at t=25
        assert router.lookup("a") is not None
        await clock.advance(10.0)  # deadline re-armed at t=10, 20, 30 (busy), 40
        await clock.advance(10.0)
        await sup.settle()
        assert router.lookup("a") is None


async def test_passivation_buffers_messages_in_order() -> None:
    """Messages sent while the actor stops are buffered and delivered in order."""
    clock = FakeClock()
    received: list[tuple[int, Any]] = []

    class Slow(ba.Actor[Any, Any]):
        incarnations = 0

        def __init__(self, key: object) -> None:
            Slow.incarnations += 1
            self.incarnation = Slow.incarnations

        async def receive(self, message: Any) -> Any:
            received.append((self.incarnation, message))
            return message

        async def on_stop(self, reason: object) -> None:
            if reason == "passivated":  # at shutdown nothing advances the clock
                await clock.sleep(1.0)

    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(sup, factory=Slow, idle_timeout=5.0)
        router.tell("a", 0)
        await clock.advance(5.0)  # passivation starts; on_stop takes 1 s
        assert router.lookup("a") is None
        for number in range(1, 6):
            router.tell("a", number)
        reply = sup._runtime.spawn_background(router.ask("a", "last"), "ask")
        await clock.advance(1.0)
        await sup.settle()
        assert reply.result() == "last"
        assert received == [(1, 0)] + [(2, n) for n in range(1, 6)] + [(2, "last")]
        stats = router.stats()
        assert stats.passivations == {"idle": 1}
        assert stats.activations == 2
        router.check_invariants()


async def test_idle_reason_given_to_on_stop() -> None:
    """on_stop receives "passivated" when the router passivates an actor."""
    clock = FakeClock()
    async with ba.Supervisor(clock=clock) as sup:
        router = ba.Router(sup, factory=Counter, idle_timeout=1.0)
        router.tell("a", "x")
        await sup.settle()
        ref = router.lookup("a")
        assert ref is not None
        actor = ref.actor
        assert isinstance(actor, Counter)
        await clock.advance(1.0)
        await sup.settle()
        assert actor.stop_reasons == ["passivated"]


async def test_idle_timeout_validated() -> None:
    """idle_timeout must be a positive number or None."""
    async with ba.Supervisor() as sup:
        for bad in (0, -1.0, float("nan")):
            try:
                ba.Router(sup, factory=Counter, idle_timeout=bad)
            except ValueError as error:
                assert "idle_timeout" in str(error)
            else:
                raise AssertionError(f"idle_timeout={bad!r} accepted")


async def test_reincarnation_keeps_quota_key() -> None:
    """An actor restarted from mail buffered during passivation keeps its quota key."""
    clock = FakeClock()

    class Slow(ba.Actor[Any, Any]):
        def __init__(self, key: object) -> None:
            self.key = key

        async def receive(self, message: Any) -> Any:
            return message

        async def on_stop(self, reason: object) -> None:
            if reason == "passivated":
                await clock.sleep(1.0)

    async with ba.Supervisor(clock=clock, per_key_limit=1) as sup:
        router = ba.Router(sup, factory=Slow, idle_timeout=5.0)
        router.tell(("cart", 7), "first", quota_key=("client", 1))
        await clock.advance(5.0)  # passivation starts; on_stop takes 1 s
        router.tell(("cart", 7), "buffered")
        await clock.advance(1.0)
        assert router.lookup(("cart", 7)) is not None
        try:
            router.tell(("cart", 8), "second", quota_key=("client", 1))
        except ba.SpawnLimitExceeded as error:
            assert error.reason == "per_key"
        else:
            raise AssertionError("the reincarnated actor was not counted")
        sup.check_invariants()
        router.check_invariants()
