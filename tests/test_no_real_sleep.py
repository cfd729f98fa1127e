"""No test sleeps in real time to wait for the library's own timers.

Timers of a supervisor run on its clock, so tests drive them with
``boundedactors.testing.FakeClock`` and ``settle`` instead of
``asyncio.sleep``. This test fails on any ``asyncio.sleep`` under tests/ whose
delay is not a literal zero, unless the line is in ``ALLOWED`` with the reason it
waits for something other than the library's timers.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent

# (path relative to tests/, the line's text without surrounding spaces) -> reason.
ALLOWED: dict[tuple[str, str], str] = {
    (
        "testing/test_virtual_timers.py",
        "await asyncio.sleep(0.001)  # a real timer, which the guard must record",
    ): "checks that the guard against real timers sees one",
}


def find_real_sleeps(source: str) -> list[tuple[int, str]]:
    """Return ``(line, text)`` of each ``asyncio.sleep`` call without a zero delay.

    Finds ``asyncio.sleep(...)`` and names imported with ``from asyncio import
    sleep``. A delay that is not a literal number counts, because it may be
    non-zero.
    """
    tree = ast.parse(source)
    aliases = {"asyncio"}
    sleep_names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases.update(
                a.asname for a in node.names if a.name == "asyncio" and a.asname
            )
        elif isinstance(node, ast.ImportFrom) and node.module == "asyncio":
            sleep_names.update(
                a.asname or a.name for a in node.names if a.name == "sleep"
            )

    lines = source.splitlines()
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not _is_sleep(
            node.func, aliases, sleep_names
        ):
            continue
        if _has_zero_delay(node):
            continue
        found.append((node.lineno, lines[node.lineno - 1].strip()))
    return sorted(found)


def _is_sleep(func: ast.expr, aliases: set[str], sleep_names: set[str]) -> bool:
    if isinstance(func, ast.Attribute) and func.attr == "sleep":
        return isinstance(func.value, ast.Name) and func.value.id in aliases
    return isinstance(func, ast.Name) and func.id in sleep_names


def _has_zero_delay(call: ast.Call) -> bool:
    delay: ast.expr | None = call.args[0] if call.args else None
    for keyword in call.keywords:
        if keyword.arg == "delay":
            delay = keyword.value
    if delay is None:
        return False  # asyncio.sleep() needs a delay; flag the odd call
    return (
        isinstance(delay, ast.Constant)
        and isinstance(delay.value, int | float)
        and delay.value == 0
    )


def test_tests_do_not_sleep_in_real_time() -> None:
    found: list[str] = []
    seen: set[tuple[str, str]] = set()
    for path in sorted(TESTS.rglob("*.py")):
        relative = path.relative_to(TESTS).as_posix()
        for line, text in find_real_sleeps(path.read_text(encoding="utf-8")):
            seen.add((relative, text))
            if (relative, text) not in ALLOWED:
                found.append(f"{relative}:{line}: {text}")
    assert not found, (
        "tests sleep in real time; drive the timer with FakeClock.advance and "
        "settle, or add the line to ALLOWED with the reason:\n" + "\n".join(found)
    )
    stale = sorted(set(ALLOWED) - seen)
    assert not stale, f"ALLOWED lists lines that no longer exist: {stale}"


def test_finder_flags_non_zero_delays() -> None:
    source = (
        "import asyncio\n"
        "import asyncio as aio\n"
        "from asyncio import sleep as nap\n"
        "async def f(delay):\n"
        "    await asyncio.sleep(0)\n"
        "    await asyncio.sleep(0.0)\n"
        "    await asyncio.sleep(0.1)\n"
        "    await aio.sleep(1)\n"
        "    await nap(2)\n"
        "    await asyncio.sleep(delay)\n"
        "    await asyncio.sleep(delay=0)\n"
        "    await clock.sleep(5)\n"
    )

    found = find_real_sleeps(source)

    assert [line for line, _ in found] == [7, 8, 9, 10]
    assert found[0][1] == "await asyncio.sleep(0.1)"
