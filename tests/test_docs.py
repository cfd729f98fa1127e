"""Run every ```python block of README.md and docs/*.md as a test.

A block fenced as ```python no-run is skipped. Each block runs on its own, in a
fresh namespace, as a script would: a block may call ``asyncio.run(...)`` at top
level. Blocks do not share names, so each example must be complete.

A block fenced as ```python pytest is a test module: it runs through pytest
(pytest-asyncio in auto mode, with the boundedactors fixtures), and every test
in it must pass.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent

_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


def extract_blocks(text: str) -> list[tuple[int, str, str]]:
    """Return ``(line, info, code)`` for each fenced block of Markdown ``text``.

    ``line`` is the 1-based line of the opening fence and ``info`` its info string,
    stripped. Blocks are found by their fences, so a fence inside another block's
    code does not start a new block.
    """
    blocks: list[tuple[int, str, str]] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence = opening["fence"]
        indent = len(opening["indent"])
        start = index
        body: list[str] = []
        index += 1
        while index < len(lines):
            closing = _FENCE.match(lines[index])
            if (
                closing is not None
                and closing["fence"].startswith(fence[0])
                and len(closing["fence"]) >= len(fence)
                and not closing["info"].strip()
            ):
                break
            body.append(lines[index][indent:])
            index += 1
        blocks.append((start + 1, opening["info"].strip(), "\n".join(body) + "\n"))
        index += 1
    return blocks


def doc_files() -> list[Path]:
    """Return README.md and every Markdown file directly under docs/."""
    files = [ROOT / "README.md"]
    files.extend(sorted((ROOT / "docs").glob("*.md")))
    return [path for path in files if path.is_file()]


def python_examples(kind: str = "script") -> list[pytest.param]:  # type: ignore[valid-type]
    """Collect the runnable Python blocks, one pytest parameter each.

    ``kind`` is ``"script"`` for plain blocks and ``"pytest"`` for blocks fenced
    as ```python pytest.
    """
    params = []
    for path in doc_files():
        relative = path.relative_to(ROOT).as_posix()
        for line, info, code in extract_blocks(path.read_text(encoding="utf-8")):
            words = info.split()
            if not words or words[0] != "python" or "no-run" in words[1:]:
                continue
            block_kind = "pytest" if "pytest" in words[1:] else "script"
            if block_kind != kind:
                continue
            params.append(pytest.param(relative, line, code, id=f"{relative}:{line}"))
    return params


@pytest.mark.parametrize(("path", "line", "code"), python_examples())
def test_doc_example_runs(path: str, line: int, code: str) -> None:
    """A Python example from the docs runs to the end without raising."""
    # Pad with blank lines so tracebacks point at the line in the Markdown file.
    source = "\n" * line + code
    compiled = compile(source, f"{ROOT / path}", "exec")
    namespace: dict[str, object] = {"__name__": "__doc_example__"}
    exec(compiled, namespace)


@pytest.mark.parametrize(("path", "line", "code"), python_examples("pytest"))
def test_doc_test_module_passes(
    pytester: pytest.Pytester, path: str, line: int, code: str
) -> None:
    """A test module from the docs passes under pytest with the plugin's fixtures."""
    pytester.makeini(
        """
        [pytest]
        asyncio_mode = auto
        asyncio_default_fixture_loop_scope = function
        """
    )
    pytester.makepyfile(**{"test_doc_example": "\n" * line + code})

    result = pytester.runpytest("-p", "no:cacheprovider")

    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 1, f"{path}:{line} ran no test"
    assert "failed" not in outcomes, f"{path}:{line} failed"
    assert "errors" not in outcomes, f"{path}:{line} errored"


def test_extract_blocks_reads_fences() -> None:
    """The extractor finds each block with its info string and opening line."""
    text = (
        "intro\n"
        "```python\n"
        "x = 1\n"
        "```\n"
        "````md\n"
        "```python\n"
        "not a block of its own\n"
        "```\n"
        "````\n"
        "```python no-run\n"
        "raise SystemExit\n"
        "```\n"
    )
    blocks = extract_blocks(text)
    assert [(line, info) for line, info, _ in blocks] == [
        (2, "python"),
        (5, "md"),
        (10, "python no-run"),
    ]
    assert blocks[0][2] == "x = 1\n"
    assert "not a block of its own" in blocks[1][2]


def test_readme_has_runnable_examples() -> None:
    """README.md contains at least one Python example that the docs test runs."""
    readme = [p for p in python_examples() if p.values[0] == "README.md"]
    assert readme, "README.md has no ```python example"


def test_quickstart_example_runs() -> None:
    """The quickstart example named in the README runs and shows limits."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "rejected: per_key (limit 2)" in result.stdout
    assert "rejected: max_children (limit 3)" in result.stdout
    assert "live actors 3" in result.stdout


def test_readme_test_command_matches_ci() -> None:
    """The README shows exactly the test command that .ci/run runs."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    install = next(line for line in ci if line.startswith("pip install"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert install in readme
