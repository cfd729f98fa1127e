"""Run ruff and mypy on the package, so the test suite proves them clean.

Each check runs as a subprocess with the interpreter running the tests, using the
configuration in pyproject.toml (``mypy`` is strict there). A check is skipped only
when its tool is not installed; the ``test`` extra installs both.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_tool(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m module args`` in the repository root, or skip the test."""
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed; install the 'test' extra")
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_ruff_check_clean() -> None:
    """ruff check reports nothing in the package."""
    result = run_tool("ruff", "check", "boundedactors")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_clean() -> None:
    """ruff format would change nothing in the package."""
    result = run_tool("ruff", "format", "--check", "boundedactors")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_clean() -> None:
    """mypy, strict as configured in pyproject.toml, finds no error."""
    result = run_tool("mypy", "boundedactors")
    assert result.returncode == 0, result.stdout + result.stderr
