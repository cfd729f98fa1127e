"""TestProbe: recording, waiting in virtual time, factory and dead-letter use."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import boundedactors as ba
from boundedactors.testing import FakeClock, TestProbe


async def test_probe_records_told_messages(
    supervisor: ba.Supervisor, probe: TestProbe
) -> None:
    assert probe.ref is not None
    probe.ref.tell("first")
    probe.ref.tell("second")

    assert await probe.receive() == "first"
    assert await probe.receive() == "second"
    assert probe.received == ["first", "second"]
    assert probe.messages == []


async def test_probe_replies_to_ask(fake_clock: FakeClock) -> None:
    async with ba.Supervisor(clock=fake_clock) as sup:
        probe = TestProbe(sup, reply=lambda message: f"re: {message}")
        assert probe.ref is not None

        assert await probe.ref.ask("hello") == "re: hello"
        assert await probe.receive() == "hello"


async def test_probe_reply_error_crashes_actor(fake_clock: FakeClock) -> None:
    def reply(message: Any) -> Any:
        raise ValueError(f"bad {message}")

    async with ba.Supervisor(clock=fake_clock, restart_backoff=0.0) as sup:
        probe = TestProbe(sup, reply=reply)
        assert probe.ref is not None

        with pytest.raises(ValueError, match="bad x"):
            await probe.ref.ask("x")
        await fake_clock.settle()

        assert sup.stats().crashes == 1
        assert probe.stops[0][0] is None
        assert isinstance(probe.stops[0][1], ValueError)


async def test_receive_times_out_in_virtual_time(
    fake_clock: FakeClock, probe: TestProbe
) -> None:
    with pytest.raises(AssertionError, match=r"no message within 2\.5 s"):
        await probe.receive(timeout=2.5)

    assert fake_clock.now() == 2.5


async def test_receive_advances_to_delivering_timer(
    fake_clock: FakeClock, probe: TestProbe
) -> None:
    """receive fires timers in order and stops the clock when a message arrives."""
    assert probe.ref is not None
    ref = probe.ref
    fake_clock.call_at(3.0, lambda: ref.tell("late"))
    fake_clock.call_at(4.0, lambda: ref.tell("later"))

    assert await probe.receive(timeout=10.0) == "late"
    assert fake_clock.now() == 3.0
    assert probe.messages == []


async def test_expect_checks_the_message(probe: TestProbe) -> None:
    assert probe.ref is not None
    probe.ref.tell("a")
    probe.ref.tell("b")

    assert await probe.expect("a") == "a"
    with pytest.raises(AssertionError, match="expected 'c', received 'b'"):
        await probe.expect("c")


async def test_receive_many_in_order(probe: TestProbe) -> None:
    assert probe.ref is not None
    for index in range(5):
        probe.ref.tell(index)

    assert await probe.receive_many(5) == [0, 1, 2, 3, 4]


async def test_expect_no_message_passes_when_quiet(
    fake_clock: FakeClock, probe: TestProbe
) -> None:
    assert probe.ref is not None
    ref = probe.ref
    fake_clock.call_at(6.0, lambda: ref.tell("after the window"))

    await probe.expect_no_message(within=5.0)

    assert fake_clock.now() == 5.0


async def test_expect_no_message_fails_on_message(
    fake_clock: FakeClock, probe: TestProbe
) -> None:
    assert probe.ref is not None
    ref = probe.ref
    fake_clock.call_at(2.0, lambda: ref.tell("surprise"))

    with pytest.raises(AssertionError, match="received 'surprise'"):
        await probe.expect_no_message(within=5.0)
    assert fake_clock.now() == 2.0


async def test_expect_no_message_sees_unread(probe: TestProbe) -> None:
    assert probe.ref is not None
    probe.ref.tell("unread")

    with pytest.raises(AssertionError, match="received 'unread'"):
        await probe.expect_no_message()


async def test_expect_no_message_rejects_negative(probe: TestProbe) -> None:
    with pytest.raises(ValueError, match="within must be >= 0"):
        await probe.expect_no_message(within=-1.0)


async def test_probe_factory_records_keyed_messages(
    supervisor: ba.Supervisor,
) -> None:
    probe = TestProbe(clock=supervisor.clock)
    router = ba.Router(supervisor, factory=probe.factory)

    router.tell("room-1", "join")
    router.tell("room-2", "join")
    router.tell("room-1", "leave")

    received = await probe.receive_many(3)
    assert sorted(received) == [
        ("room-1", "join"),
        ("room-1", "leave"),
        ("room-2", "join"),
    ]
    assert received.index(("room-1", "join")) < received.index(("room-1", "leave"))
    assert probe.activations == [("room-1", None), ("room-2", None)]


async def test_probe_factory_snapshot_and_stop(
    supervisor: ba.Supervisor,
) -> None:
    """Factory actors report states[key] as their snapshot and record stops."""
    probe = TestProbe(clock=supervisor.clock)
    actor = probe.factory("cart", {"items": 1})
    assert actor.snapshot() == {"items": 1}

    probe.states["cart"] = {"items": 2}
    assert actor.snapshot() == {"items": 2}

    router = ba.Router(supervisor, factory=probe.factory)
    router.tell("room", "hello")
    await probe.receive()
    assert await router.stop("room")
    assert probe.stops == [("room", "stopped")]


async def test_probe_as_dead_letter_target(fake_clock: FakeClock) -> None:
    probe = TestProbe(clock=fake_clock)
    async with ba.Supervisor(
        clock=fake_clock, dead_letters=probe.dead_letter_hook
    ) as sup:
        router = ba.Router(sup)
        router.tell("nobody", "hello?")

        letter = await probe.receive()
    assert letter == ba.DeadLetter("hello?", "nobody", "not_found")


async def test_dead_letters_fixture_records(
    supervisor: ba.Supervisor, dead_letters: TestProbe
) -> None:
    ref = supervisor.spawn(ba.Actor)
    await ref.stop()
    ref.tell("too late")

    letter = await dead_letters.receive()
    assert letter.reason == "stopped"
    assert letter.message == "too late"


async def test_probe_on_real_clock() -> None:
    """Without a FakeClock a probe waits in real time; kept to milliseconds."""
    async with ba.Supervisor() as sup:
        probe = TestProbe(sup)
        assert probe.ref is not None
        probe.ref.tell("now")

        assert await probe.receive(timeout=5.0) == "now"
        with pytest.raises(AssertionError, match=r"no message within 0\.01 s"):
            await probe.receive(timeout=0.01)
        await probe.expect_no_message()


async def test_probe_receive_wakes_on_real_clock() -> None:
    async with ba.Supervisor() as sup:
        probe = TestProbe(sup)
        assert probe.ref is not None
        ref = probe.ref
        asyncio.get_running_loop().call_soon(lambda: ref.tell("soon"))

        assert await probe.receive(timeout=5.0) == "soon"


def test_probe_rejects_bad_reply() -> None:
    with pytest.raises(TypeError, match="reply must be callable"):
        TestProbe(reply="not callable")  # type: ignore[arg-type]


def test_probe_is_not_collected_as_test() -> None:
    assert TestProbe.__test__ is False


async def test_probe_rejects_second_waiter() -> None:
    async with ba.Supervisor() as sup:
        probe = TestProbe(sup)
        assert probe.ref is not None
        first = asyncio.create_task(probe.receive(timeout=5.0))
        await asyncio.sleep(0)

        with pytest.raises(RuntimeError, match="already waiting"):
            await probe.receive(timeout=5.0)
        probe.ref.tell("for the first")
        assert await first == "for the first"
