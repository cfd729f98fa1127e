"""pytest fixtures for testing actors; loaded through the ``pytest11`` entry point.

Installing boundedactors registers this plugin, so the fixtures are available in
every test suite without a conftest import:

``fake_clock``
    A new :class:`~boundedactors.testing.FakeClock` at time 0.
``supervisor``
    A :class:`~boundedactors.Supervisor` bound to ``fake_clock``, entered before
    the test and closed after it. Its options come from the ``supervisor_options``
    fixture (override it to change them); its dead letters go to ``dead_letters``.
``dead_letters``
    A :class:`~boundedactors.testing.TestProbe` that records the supervisor's dead
    letters.
``probe``
    A :class:`~boundedactors.testing.TestProbe` spawned under ``supervisor``.
``memory_store``
    An :class:`~boundedactors.testing.InMemoryStore` whose latency is measured on
    ``fake_clock``.

The async fixture runs on the event loop of the test that uses it, under
pytest-asyncio (auto or strict mode) or under anyio's pytest plugin with the
asyncio backend. Trio is not supported. The fixtures import the kit's classes
when they run, but importing this module still runs the ``boundedactors`` and
``boundedactors.testing`` package imports. Its one hook, ``pytest_fixture_setup``,
acts only on the ``supervisor`` fixture, so a suite that uses none of the
fixtures is otherwise unaffected.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from boundedactors import Supervisor
    from boundedactors.testing import FakeClock, InMemoryStore, TestProbe


@pytest.fixture
def fake_clock() -> FakeClock:
    """A FakeClock at virtual time 0."""
    from boundedactors.testing import FakeClock

    return FakeClock()


@pytest.fixture
def supervisor_options() -> dict[str, Any]:
    """Keyword options for the ``supervisor`` fixture; override to change them."""
    return {}


@pytest.fixture
def dead_letters(fake_clock: FakeClock) -> TestProbe:
    """A TestProbe that records the dead letters of the ``supervisor`` fixture."""
    from boundedactors.testing import TestProbe

    return TestProbe(clock=fake_clock)


async def _supervisor(
    request: pytest.FixtureRequest,
    fake_clock: FakeClock,
    supervisor_options: dict[str, Any],
    dead_letters: TestProbe,
) -> AsyncIterator[Supervisor]:
    """A Supervisor on ``fake_clock``, entered for the test and closed after it.

    Teardown closes it with :func:`boundedactors.testing.close`, which moves
    ``fake_clock`` forward while the shutdown waits on timers. Closing does not
    raise the supervisor's failure; a test that expects one checks
    ``supervisor.failure``.
    """
    from boundedactors import Supervisor
    from boundedactors.testing import close

    _check_one_event_loop(request)
    options: dict[str, Any] = {"seed": 0, "dead_letters": dead_letters.dead_letter_hook}
    options.update(supervisor_options)
    options["clock"] = fake_clock
    sup = Supervisor(**options)
    await sup.__aenter__()
    try:
        yield sup
    finally:
        await close(sup)


# pytest-asyncio in strict mode runs only the async fixtures it marked itself, by
# this attribute. Marking the supervisor fixture lets tests marked
# @pytest.mark.asyncio use it. pytest_fixture_setup below removes the mark while an
# anyio test sets the fixture up, so that anyio runs it instead.
# NOTE: the attribute is private to pytest-asyncio (read in version 1.5) and may
# change; strict-mode tests would then get pytest's "async fixture" error.
_supervisor._force_asyncio_fixture = True  # type: ignore[attr-defined]
_supervisor._loop_scope = None  # type: ignore[attr-defined]
supervisor = pytest.fixture(name="supervisor")(_supervisor)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, object, object]:
    """Let anyio, not pytest-asyncio, run the supervisor fixture for anyio tests."""
    if (
        fixturedef.func is not _supervisor
        or "anyio_backend" not in request.fixturenames
    ):
        return (yield)
    del _supervisor._force_asyncio_fixture  # type: ignore[attr-defined]
    try:
        return (yield)
    finally:
        _supervisor._force_asyncio_fixture = True  # type: ignore[attr-defined]


def _check_one_event_loop(request: pytest.FixtureRequest) -> None:
    """Fail clearly when the fixture would run on another loop than the test.

    pytest-asyncio's auto mode runs every async fixture on its own event loop,
    while anyio runs an anyio test on another one. Workers started on the first
    loop would never run during the test.
    """
    config = request.config
    if "anyio_backend" not in request.fixturenames:
        return
    if not config.pluginmanager.has_plugin("asyncio"):
        return
    if config.getini("asyncio_mode") != "auto":
        return
    pytest.fail(
        "the supervisor fixture cannot serve an anyio test while pytest-asyncio "
        "runs in auto mode, because pytest-asyncio then runs every async fixture "
        "on its own event loop; set asyncio_mode = strict, or run the test with "
        "pytest-asyncio instead of the anyio marker",
        pytrace=False,
    )


@pytest.fixture
def probe(supervisor: Supervisor) -> TestProbe:
    """A TestProbe spawned under the ``supervisor`` fixture."""
    from boundedactors.testing import TestProbe

    return TestProbe(supervisor)


@pytest.fixture
def memory_store(fake_clock: FakeClock) -> InMemoryStore:
    """An InMemoryStore whose latency runs on ``fake_clock``."""
    from boundedactors.testing import InMemoryStore

    return InMemoryStore(clock=fake_clock)
