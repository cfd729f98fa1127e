"""The pytest plugin: its fixtures under pytest-asyncio and under anyio."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pytest

pytest_plugins = ["pytester"]

FIXTURE_TEST = """
import pytest
import boundedactors as ba
from boundedactors.testing import FakeClock, InMemoryStore, TestProbe

{marker}
async def test_fixtures(fake_clock, supervisor, probe, memory_store, dead_letters):
    assert isinstance(fake_clock, FakeClock)
    assert supervisor.clock is fake_clock
    assert supervisor.is_running
    assert isinstance(memory_store, InMemoryStore)
    assert memory_store.clock is fake_clock

    probe.ref.tell("hello")
    assert await probe.receive(timeout=1.0) == "hello"
    with pytest.raises(AssertionError):
        await probe.receive(timeout=3.0)
    assert fake_clock.now() == 3.0

    ref = supervisor.spawn(ba.Actor)
    await ref.stop()
    ref.tell("late")
    assert (await dead_letters.receive()).reason == "stopped"

LEFT_RUNNING = []

{marker}
async def test_supervisor_left_running(supervisor):
    LEFT_RUNNING.append(supervisor)

def test_supervisor_closed_at_teardown():
    assert not LEFT_RUNNING[0].is_running
"""

OPTIONS_TEST = """
import pytest
import boundedactors as ba

@pytest.fixture
def supervisor_options():
    return {"max_children": 1, "seed": 7}

async def test_options(supervisor):
    supervisor.spawn(ba.Actor)
    with pytest.raises(ba.SpawnLimitExceeded):
        supervisor.spawn(ba.Actor)
"""


def write_ini(pytester: pytest.Pytester, mode: str) -> None:
    pytester.makeini(
        f"""
        [pytest]
        asyncio_mode = {mode}
        asyncio_default_fixture_loop_scope = function
        """
    )


def test_plugin_registered_as_pytest11_entry_point() -> None:
    names = {point.value for point in entry_points(group="pytest11")}
    assert "boundedactors.testing.pytest_plugin" in names


def test_fixtures_under_pytest_asyncio(pytester: pytest.Pytester) -> None:
    """Unmarked tests in auto mode, marked tests, and the options override."""
    write_ini(pytester, "auto")
    pytester.makepyfile(
        test_unmarked=FIXTURE_TEST.format(marker=""),
        test_marked=FIXTURE_TEST.format(marker="@pytest.mark.asyncio"),
        test_options=OPTIONS_TEST,
    )

    result = pytester.runpytest("-p", "no:anyio", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=7)


def test_fixtures_under_pytest_asyncio_strict(pytester: pytest.Pytester) -> None:
    """Strict mode runs the supervisor fixture for tests marked asyncio."""
    write_ini(pytester, "strict")
    pytester.makepyfile(FIXTURE_TEST.format(marker="@pytest.mark.asyncio"))

    result = pytester.runpytest("-p", "no:anyio", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=3)
    result.stdout.no_fnmatch_line("*DeprecationWarning*")


def test_fixtures_under_anyio(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        FIXTURE_TEST.format(marker="@pytest.mark.anyio")
        + "\n@pytest.fixture\ndef anyio_backend():\n    return 'asyncio'\n"
    )

    result = pytester.runpytest("-p", "no:asyncio", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=3)


def test_fixtures_under_anyio_with_strict_asyncio(
    pytester: pytest.Pytester,
) -> None:
    """With both plugins in strict mode, each runs the fixture for its tests."""
    write_ini(pytester, "strict")
    pytester.makepyfile(
        test_anyio=FIXTURE_TEST.format(marker="@pytest.mark.anyio")
        + "\n@pytest.fixture\ndef anyio_backend():\n    return 'asyncio'\n",
        test_asyncio=FIXTURE_TEST.format(marker="@pytest.mark.asyncio"),
    )

    result = pytester.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(passed=6)


def test_anyio_test_under_asyncio_auto_fails_clearly(
    pytester: pytest.Pytester,
) -> None:
    write_ini(pytester, "auto")
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.mark.anyio
        async def test_mixed(supervisor):
            pass
        """
    )

    result = pytester.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*set asyncio_mode = strict*"])


def test_plugin_leaves_other_suites_alone(pytester: pytest.Pytester) -> None:
    """A suite with no async plugin and no use of the fixtures runs as before."""
    pytester.makepyfile(
        """
        def test_plain():
            assert 1 + 1 == 2
        """
    )

    result = pytester.runpytest(
        "-p", "no:asyncio", "-p", "no:anyio", "-p", "no:cacheprovider"
    )

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["plugins: *boundedactors*"])
    result.stdout.no_fnmatch_line("*warning*")


def test_plugin_import_loads_no_async_plugin() -> None:
    """Importing the plugin pulls in neither pytest-asyncio nor anyio."""
    code = (
        "import sys, boundedactors.testing.pytest_plugin\n"
        "loaded = sorted(m for m in ('anyio', 'pytest_asyncio', 'sqlite3') "
        "if m in sys.modules)\n"
        "print(loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
