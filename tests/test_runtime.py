"""Tests of actors and references: mailboxes, ask, send, stop and the workers."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

import boundedactors as ba
from boundedactors.runtime import IDLE
from boundedactors.testing import FakeClock


class Recorder(ba.Actor):
    """Records every message and returns it; fails on "boom"."""

    def __init__(self, log: list[object] | None = None) -> None:
        self.log = log if log is not None else []

    async def receive(self, message: Any) -> Any:
        if message == "boom":
            raise RuntimeError("boom")
        self.log.append(message)
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


def make_supervisor(**options: Any) -> ba.Supervisor:
    options.setdefault("clock", FakeClock())
    return ba.Supervisor(**options)


async def quiet(sup: ba.Supervisor) -> None:
    """Wait until every task is blocked, even inside a receive that waits."""
    clock = sup.clock
    assert isinstance(clock, FakeClock)
    await clock.settle()


async def test_idle_actor_has_no_task_or_mailbox() -> None:
    """After handling mail, an actor keeps no mailbox and no task of its own."""
    async with make_supervisor(workers=4) as sup:
        tasks_before = len(asyncio.all_tasks())
        refs = [sup.spawn(Recorder) for _ in range(200)]
        for ref in refs:
            ref.tell("hello")
        await sup.settle()
        for ref in refs:
            assert ref._mailbox is None
            assert ref._state == IDLE
            assert ref._extra is None
        assert len(asyncio.all_tasks()) == tasks_before
        assert len(sup._runtime._workers) == 4
        assert all(ref.actor.log == ["hello"] for ref in refs)  # type: ignore[union-attr]
        sup.check_invariants()


async def test_messages_handled_in_order_one_at_a_time() -> None:
    """An actor receives its messages in the order sent, never two at once."""

    class Exclusive(ba.Actor):
        def __init__(self) -> None:
            self.inside = 0
            self.max_inside = 0
            self.seen: list[int] = []

        async def receive(self, message: int) -> None:
            self.inside += 1
            self.max_inside = max(self.max_inside, self.inside)
            await asyncio.sleep(0)
            self.seen.append(message)
            self.inside -= 1

    async with make_supervisor(workers=8, mailbox_size=None) as sup:
        ref = sup.spawn(Exclusive)
        for number in range(500):
            ref.tell(number)
        await sup.settle()
        actor = ref.actor
        assert isinstance(actor, Exclusive)
        assert actor.seen == list(range(500))
        assert actor.max_inside == 1


async def test_per_turn_cap_interleaves_actors() -> None:
    """With one worker, a busy actor yields after messages_per_turn messages."""
    order: list[str] = []

    class Named(ba.Actor):
        def __init__(self, name: str) -> None:
            self.name = name

        async def receive(self, message: object) -> None:
            order.append(self.name)

    async with make_supervisor(workers=1, messages_per_turn=4) as sup:
        busy = sup.spawn(Named, "busy")
        quiet = sup.spawn(Named, "quiet")
        for _ in range(20):
            busy.tell("x")
        quiet.tell("x")
        await sup.settle()
    assert order.index("quiet") == 4
    assert order.count("busy") == 20


async def test_ask_returns_reply_and_reraises() -> None:
    """ask returns what receive returned and re-raises what it raised."""
    async with make_supervisor() as sup:
        ref = sup.spawn(Recorder)
        assert await ref.ask("ping") == "ping"
        with pytest.raises(RuntimeError, match="boom"):
            await ref.ask("boom")


async def test_crash_restarts_with_same_args_and_keeps_mailbox() -> None:
    """A crash builds a fresh actor from the same args; queued mail survives."""
    log: list[object] = []
    built: list[object] = []

    class Tracked(Recorder):
        def __init__(self, log: list[object]) -> None:
            super().__init__(log)
            built.append(log)

    clock = FakeClock()
    async with ba.Supervisor(clock=clock, restart_backoff=0.0) as sup:
        ref = sup.spawn(Tracked, log)
        first = ref.actor
        ref.tell("a")
        ref.tell("boom")
        ref.tell("b")
        ref.tell("c")
        await sup.settle()
        assert log == ["a", "b", "c"]
        assert ref.actor is not first
        assert built == [log, log]
        assert ref.is_alive
        assert sup.stats().crashes == 1
        assert sup.stats().restarts == 1
        assert len(sup) == 1


async def test_crash_does_not_kill_worker() -> None:
    """Crashes in many actors leave every worker running."""
    async with make_supervisor(
        workers=2, restart_backoff=0.0, max_restarts=1000
    ) as sup:
        refs = [sup.spawn(Recorder) for _ in range(50)]
        for ref in refs:
            ref.tell("boom")
            ref.tell("after")
        await sup.settle()
        assert all(
            w.task is not None and not w.task.done() for w in sup._runtime._workers
        )
        assert all(ref.actor.log == ["after"] for ref in refs)  # type: ignore[union-attr]


async def test_on_start_runs_before_first_message() -> None:
    """on_start completes before receive gets the first message."""
    events: list[str] = []

    class Starter(ba.Actor):
        async def on_start(self) -> None:
            events.append("start")
            await asyncio.sleep(0)

        async def receive(self, message: object) -> None:
            events.append(str(message))

    async with make_supervisor() as sup:
        ref = sup.spawn(Starter)
        ref.tell("m1")
        await sup.settle()
    assert events == ["start", "m1"]


async def test_ask_timeout_leaves_no_waiter() -> None:
    """AskTimeout fires in virtual time; the message is still handled later."""
    clock = FakeClock()
    event = asyncio.Event()
    log: list[object] = []
    async with ba.Supervisor(clock=clock) as sup:
        ref = sup.spawn(Gate, event, log)
        ref.tell("first")
        await quiet(sup)
        task = asyncio.ensure_future(ref.ask("second", timeout=2.0))
        await clock.advance(1.0)
        assert not task.done()
        await clock.advance(1.0)
        with pytest.raises(ba.AskTimeout) as caught:
            await task
        assert isinstance(caught.value, TimeoutError)
        assert caught.value.timeout == 2.0
        assert clock.pending == 0
        event.set()
        await sup.settle()
        assert log == ["first", "second"]
        assert ref._mailbox is None
        assert ref._extra is None


async def test_ask_to_stopped_actor_raises() -> None:
    """ask on a stopped actor raises ActorStopped at once."""
    async with make_supervisor() as sup:
        ref = sup.spawn(Recorder)
        await ref.stop()
        with pytest.raises(ba.ActorStopped):
            await ref.ask("x")


async def test_stop_after_current_message() -> None:
    """stop() lets the current message finish; queued ones become dead letters."""
    letters: list[ba.DeadLetter] = []
    event = asyncio.Event()
    log: list[object] = []
    async with make_supervisor(dead_letters=letters.append) as sup:
        ref = sup.spawn(Gate, event, log, name="gate")
        ref.tell("current")
        ref.tell("queued")
        await quiet(sup)
        stopping = asyncio.ensure_future(ref.stop())
        await asyncio.sleep(0)
        assert not stopping.done()
        event.set()
        await stopping
        assert log == ["current"]
        assert not ref.is_alive
        assert sup.registry.lookup("gate") is None
        assert [(d.message, d.reason) for d in letters] == [("queued", "stopped")]
        assert len(sup) == 0
        await ref.stop()


async def test_stop_removes_name_before_returning() -> None:
    """A registered name is gone as soon as stop() returns, idle or busy."""
    async with make_supervisor() as sup:
        idle = sup.spawn(Recorder, name="idle")
        assert sup.registry.lookup("idle") is idle
        await idle.stop()
        assert sup.registry.lookup("idle") is None
        busy = sup.spawn(Recorder, name="busy")
        busy.tell("x")
        await busy.stop()
        assert sup.registry.lookup("busy") is None
        again = sup.spawn(Recorder, name="busy")
        assert sup.registry.lookup("busy") is again


async def test_tell_to_stopped_actor_is_dead_letter() -> None:
    """A message to a stopped actor is counted and passed to the hook."""
    letters: list[ba.DeadLetter] = []
    async with make_supervisor(dead_letters=letters.append) as sup:
        ref = sup.spawn(Recorder, name="r")
        await ref.stop()
        ref.tell("late")
        assert letters == [ba.DeadLetter("late", "r", "stopped")]
        assert sup.stats().dead_letters_by_reason == {"stopped": 1}


async def test_mailbox_reject_policy() -> None:
    """Under "reject", tell past mailbox_size raises MailboxFull and keeps order."""
    event = asyncio.Event()
    log: list[object] = []
    async with make_supervisor(mailbox_size=3) as sup:
        ref = sup.spawn(Gate, event, log)
        ref.tell(0)
        await quiet(sup)
        for number in range(1, 4):
            ref.tell(number)
        with pytest.raises(ba.MailboxFull) as caught:
            ref.tell(4)
        assert caught.value.limit == 3
        assert caught.value.current == 3
        with pytest.raises(ba.MailboxFull):
            await ref.ask(5)
        assert ref.mailbox_len == 3
        event.set()
        await sup.settle()
        assert log == [0, 1, 2, 3]
        assert sup.stats().mailbox_rejected == 2
        assert sup.stats().dead_letters == 0


async def test_mailbox_drop_oldest_policy() -> None:
    """Under "drop_oldest", the oldest queued message goes to dead letters."""
    letters: list[ba.DeadLetter] = []
    event = asyncio.Event()
    log: list[object] = []
    async with make_supervisor(dead_letters=letters.append) as sup:
        ref = sup.spawn(Gate, event, log, mailbox_size=2, overflow="drop_oldest")
        ref.tell(0)
        await quiet(sup)
        for number in range(1, 5):
            ref.tell(number)
        event.set()
        await sup.settle()
        assert log == [0, 3, 4]
        assert [d.message for d in letters] == [1, 2]
        assert {d.reason for d in letters} == {"mailbox_full"}
        assert sup.stats().mailbox_dropped == 2


async def test_mailbox_drop_newest_policy() -> None:
    """Under "drop_newest", the incoming message goes to dead letters."""
    letters: list[ba.DeadLetter] = []
    event = asyncio.Event()
    log: list[object] = []
    async with make_supervisor(dead_letters=letters.append) as sup:
        ref = sup.spawn(Gate, event, log, mailbox_size=2, overflow="drop_newest")
        ref.tell(0)
        await quiet(sup)
        for number in range(1, 5):
            ref.tell(number)
        event.set()
        await sup.settle()
        assert log == [0, 1, 2]
        assert [d.message for d in letters] == [3, 4]
        assert sup.stats().mailbox_dropped == 2
        assert sup.stats().dead_letters == 2


async def test_ask_dropped_by_drop_oldest_gets_error() -> None:
    """An ask whose message drop_oldest evicts raises MailboxFull, not a hang."""
    event = asyncio.Event()
    log: list[object] = []
    async with make_supervisor() as sup:
        ref = sup.spawn(Gate, event, log, mailbox_size=1, overflow="drop_oldest")
        ref.tell("busy")
        await quiet(sup)
        asked = asyncio.ensure_future(ref.ask("asked"))
        await asyncio.sleep(0)
        ref.tell("newer")
        with pytest.raises(ba.MailboxFull):
            await asked
        event.set()
        await sup.settle()
        assert log == ["busy", "newer"]


async def test_ask_under_drop_newest_raises(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An ask to a full drop_newest mailbox raises, is counted and summarised."""
    clock = FakeClock()
    event = asyncio.Event()
    log: list[object] = []
    letters: list[ba.DeadLetter] = []
    async with ba.Supervisor(clock=clock, dead_letters=letters.append) as sup:
        ref = sup.spawn(Gate, event, log, mailbox_size=1, overflow="drop_newest")
        ref.tell("busy")
        await quiet(sup)
        ref.tell("queued")
        with caplog.at_level(logging.WARNING, logger="boundedactors"):
            with pytest.raises(ba.MailboxFull) as caught:
                await ref.ask("asked")
            await clock.advance(1.0)
        assert caught.value.limit == 1
        assert sup.stats().mailbox_rejected == 1
        assert letters == []
        summaries = [r.getMessage() for r in caplog.records]
        assert any("mailbox_full=1" in line for line in summaries)
        event.set()
        await sup.settle()
        assert log == ["busy", "queued"]


async def test_stop_from_own_receive() -> None:
    """An actor that stops itself finishes the message; later mail is dropped."""
    letters: list[ba.DeadLetter] = []

    class SelfStopper(ba.Actor):
        ref: ba.ActorRef | None = None

        async def receive(self, message: object) -> object:
            if message == "stop":
                assert self.ref is not None
                await self.ref.stop()
                return "stopping"
            return message

    async with make_supervisor(dead_letters=letters.append) as sup:
        ref = sup.spawn(SelfStopper, name="self")
        actor = ref.actor
        assert isinstance(actor, SelfStopper)
        actor.ref = ref
        reply = asyncio.ensure_future(ref.ask("stop"))
        await asyncio.sleep(0)  # let the ask queue its message first
        ref.tell("after")
        assert await reply == "stopping"
        await sup.settle()
        assert not ref.is_alive
        assert "self" not in sup.registry
        assert letters == [ba.DeadLetter("after", "self", "stopped")]
        assert len(sup) == 0


async def test_stop_during_on_start() -> None:
    """A stop requested while on_start runs takes effect before any message."""
    log: list[object] = []
    started = asyncio.Event()
    release = asyncio.Event()

    class SlowStart(Recorder):
        async def on_start(self) -> None:
            started.set()
            await release.wait()

    async with make_supervisor() as sup:
        ref = sup.spawn(SlowStart, log)
        ref.tell("first")
        await started.wait()
        stopping = asyncio.ensure_future(ref.stop())
        await quiet(sup)
        release.set()
        await stopping
        assert log == []
        assert not ref.is_alive


async def test_unbounded_mailbox() -> None:
    """mailbox_size=None accepts any number of messages."""
    event = asyncio.Event()
    log: list[object] = []
    async with make_supervisor(mailbox_size=None) as sup:
        ref = sup.spawn(Gate, event, log)
        for number in range(5000):
            ref.tell(number)
        assert ref.mailbox_len == 5000
        event.set()
        await sup.settle()
        assert log == list(range(5000))


async def test_send_waits_for_room() -> None:
    """send() waits while the mailbox is full and queues once there is room."""
    event = asyncio.Event()
    log: list[object] = []
    async with make_supervisor(mailbox_size=1) as sup:
        ref = sup.spawn(Gate, event, log)
        ref.tell(0)
        await quiet(sup)
        ref.tell(1)
        sending = asyncio.ensure_future(ref.send(2))
        await asyncio.sleep(0)
        assert not sending.done()
        event.set()
        await sending
        await sup.settle()
        assert log == [0, 1, 2]
        assert ref._extra is None


async def test_send_timeout_raises_mailbox_full() -> None:
    """send() raises MailboxFull when no room appears before its timeout."""
    clock = FakeClock()
    event = asyncio.Event()
    log: list[object] = []
    async with ba.Supervisor(clock=clock, mailbox_size=1) as sup:
        ref = sup.spawn(Gate, event, log)
        ref.tell(0)
        await quiet(sup)
        ref.tell(1)
        sending = asyncio.ensure_future(ref.send(2, timeout=3.0))
        await clock.advance(2.9)
        assert not sending.done()
        await clock.advance(0.2)
        with pytest.raises(ba.MailboxFull) as caught:
            await sending
        assert caught.value.limit == 1
        event.set()
        await sup.settle()
        assert log == [0, 1]
        assert ref._extra is None


async def test_send_to_stopping_actor_raises() -> None:
    """A sender waiting on an actor that stops gets ActorStopped."""
    event = asyncio.Event()
    log: list[object] = []
    async with make_supervisor(mailbox_size=1) as sup:
        ref = sup.spawn(Gate, event, log)
        ref.tell(0)
        await quiet(sup)
        ref.tell(1)
        sending = asyncio.ensure_future(ref.send(2))
        await asyncio.sleep(0)
        stopping = asyncio.ensure_future(ref.stop())
        await asyncio.sleep(0)
        event.set()
        await stopping
        with pytest.raises(ba.ActorStopped):
            await sending


async def test_senders_served_in_arrival_order() -> None:
    """Several waiting senders get room in the order they started waiting."""
    event = asyncio.Event()
    log: list[object] = []
    async with make_supervisor(mailbox_size=1) as sup:
        ref = sup.spawn(Gate, event, log)
        ref.tell(0)
        await quiet(sup)
        ref.tell(1)
        senders = []
        for number in range(2, 7):
            senders.append(asyncio.ensure_future(ref.send(number)))
            await asyncio.sleep(0)
        event.set()
        await asyncio.gather(*senders)
        await sup.settle()
        assert log == list(range(7))


async def test_send_keeps_deadline_after_wakeup() -> None:
    """A sender woken without room waits again for the rest of its timeout."""
    clock = FakeClock()
    event = asyncio.Event()
    log: list[object] = []
    async with ba.Supervisor(clock=clock, mailbox_size=1) as sup:
        ref = sup.spawn(Gate, event, log)
        ref.tell(0)
        await quiet(sup)
        ref.tell(1)
        sending = asyncio.ensure_future(ref.send(2, timeout=10.0))
        await quiet(sup)
        ref._wake_sender()  # a wake-up whose room another tell already took
        await clock.advance(5.0)
        assert not sending.done()
        event.set()
        await sending
        await sup.settle()
        assert log == [0, 1, 2]


async def test_woken_sender_keeps_its_place() -> None:
    """A sender whose room was taken before it ran stays first in line."""
    event = asyncio.Event()
    log: list[object] = []
    async with make_supervisor(mailbox_size=1) as sup:
        ref = sup.spawn(Gate, event, log)
        ref.tell(0)
        await quiet(sup)
        ref.tell(1)
        first = asyncio.ensure_future(ref.send("first"))
        await quiet(sup)
        second = asyncio.ensure_future(ref.send("second"))
        await quiet(sup)
        ref._wake_sender()  # a wake-up whose room another tell already took
        await quiet(sup)
        event.set()
        await asyncio.gather(first, second)
        await sup.settle()
        assert log == [0, 1, "first", "second"]


async def test_stop_actor_exception() -> None:
    """Raising StopActor stops a transient actor; its asker gets ActorStopped."""

    class Quitter(ba.Actor):
        async def receive(self, message: object) -> None:
            raise ba.StopActor

    async with make_supervisor(restart="transient") as sup:
        ref = sup.spawn(Quitter)
        with pytest.raises(ba.ActorStopped):
            await ref.ask("quit")
        await sup.settle()
        assert not ref.is_alive
        assert sup.stats().crashes == 0
        assert len(sup) == 0


async def test_ref_repr_and_name() -> None:
    """A reference shows its name and state."""
    async with make_supervisor() as sup:
        ref = sup.spawn(Recorder, name="r1")
        assert ref.name == "r1"
        assert repr(ref) == "<ActorRef 'r1' idle>"
