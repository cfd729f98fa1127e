"""Calling actors from other threads through ThreadedRuntime."""

from __future__ import annotations

import asyncio
import threading

import pytest

import boundedactors as ba
from boundedactors.threaded import ThreadedRuntime


class Counter(ba.Actor[str, int]):
    def __init__(self) -> None:
        self.count = 0

    async def receive(self, message: str) -> int:
        if message == "inc":
            self.count += 1
        elif message == "boom":
            raise ValueError("boom")
        return self.count


class Tally:
    def __init__(self) -> None:
        self.total = 0

    def add(self, amount: int) -> int:
        self.total += amount
        return self.total

    async def read(self) -> int:
        return self.total


def test_tell_ask_from_main_thread() -> None:
    """tell and ask work from a thread that has no event loop."""
    with ThreadedRuntime(name="threads") as runtime:
        ref = runtime.call(runtime.supervisor.spawn, Counter)
        runtime.tell(ref, "inc")
        runtime.tell(ref, "inc")
        assert runtime.ask(ref, "get", timeout=5.0) == 2
        assert runtime.run(ref.ask("inc")) == 3
    assert not runtime.supervisor.is_running


def test_errors_raised_in_calling_thread() -> None:
    """The library's errors and the actor's exceptions reach the caller."""
    with ThreadedRuntime(max_children=1, mailbox_size=1) as runtime:
        supervisor = runtime.supervisor
        ref = runtime.call(supervisor.spawn, Counter)
        with pytest.raises(ba.SpawnLimitExceeded):
            runtime.call(supervisor.spawn, Counter)
        with pytest.raises(ValueError, match="boom"):
            runtime.ask(ref, "boom", timeout=5.0)
        runtime.call(lambda: None)
        started = threading.Event()
        release = asyncio.Event()

        class Blocker(ba.Actor[str, None]):
            async def receive(self, message: str) -> None:
                started.set()
                await release.wait()

        runtime.run(ref.stop())
        blocker = runtime.call(supervisor.spawn, Blocker)
        runtime.tell(blocker, "first")
        assert started.wait(10.0)
        runtime.tell(blocker, "second")
        with pytest.raises(ba.MailboxFull):
            runtime.tell(blocker, "third")
        runtime.call(release.set)
        assert runtime.call(supervisor.stats).mailbox_rejected == 1


def test_ask_timeout_raises_ask_timeout() -> None:
    """An ask that gets no reply raises AskTimeout in the caller."""
    with ThreadedRuntime() as runtime:
        gate = threading.Event()

        class Slow(ba.Actor[str, str]):
            async def receive(self, message: str) -> str:
                await runtime.loop.run_in_executor(None, gate.wait, 5.0)
                return message

        ref = runtime.call(runtime.supervisor.spawn, Slow)
        with pytest.raises(ba.AskTimeout):
            runtime.ask(ref, "x", timeout=0.05)
        gate.set()


def test_hammer_from_eight_threads() -> None:
    """8 threads x 2,000 calls each: every call is counted exactly once."""
    threads, calls = 8, 2_000
    with ThreadedRuntime(workers=4) as runtime:
        counter = runtime.call(runtime.supervisor.spawn, Counter)
        tally = runtime.blocking(runtime.call(runtime.supervisor.spawn_object, Tally()))
        errors: list[BaseException] = []
        barrier = threading.Barrier(threads)

        def hammer(index: int) -> None:
            try:
                barrier.wait(10.0)
                for call in range(calls):
                    if call % 2:
                        runtime.tell(counter, "inc")
                    else:
                        assert runtime.ask(counter, "inc", timeout=30.0) >= 1
                    tally.add(1)
            except BaseException as error:
                errors.append(error)

        workers = [threading.Thread(target=hammer, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120.0)
        assert errors == []
        assert runtime.ask(counter, "get", timeout=30.0) == threads * calls
        assert tally.call(Tally.read) == threads * calls
        stats = runtime.call(runtime.supervisor.stats)
        assert stats.messages_handled == 2 * threads * calls + 2
        assert stats.mailbox_rejected == 0
        assert stats.dead_letters == 0


def test_lifecycle_misuse() -> None:
    """Calls before start, after stop, and from the loop thread are rejected."""
    runtime = ThreadedRuntime()
    with pytest.raises(RuntimeError, match="not running"):
        runtime.call(lambda: None)
    runtime.start()
    with pytest.raises(RuntimeError, match="only once"):
        runtime.start()
    with pytest.raises(RuntimeError, match="own thread"):
        runtime.call(lambda: runtime.call(lambda: None))
    runtime.stop()
    runtime.stop()
    with pytest.raises(RuntimeError, match="not running"):
        runtime.tell(ba.ActorRef.__new__(ba.ActorRef), "x")


def test_bad_supervisor_options_raise_in_start() -> None:
    """A bad option raises from start() in the calling thread."""
    with pytest.raises(ValueError, match="max_children"):
        ThreadedRuntime(max_children=-1).start()


def test_supervisor_failure_raised_by_stop() -> None:
    """Restart intensity stops the supervisor; stop() raises its error."""
    runtime = ThreadedRuntime(max_restarts=0, restart_backoff=0.0)
    runtime.start()
    ref = runtime.call(runtime.supervisor.spawn, Counter)
    with pytest.raises(ValueError, match="boom"):
        runtime.ask(ref, "boom", timeout=5.0)
    runtime.run(runtime.supervisor.settle())
    assert runtime.supervisor.failure is not None
    with pytest.raises(ba.SupervisorClosed):
        runtime.call(runtime.supervisor.spawn, Counter)
    with pytest.raises(ba.RestartIntensityExceeded):
        runtime.stop()
    runtime.stop()
