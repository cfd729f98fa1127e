"""The core package imports no web framework and no metrics library."""

from __future__ import annotations

import subprocess
import sys

OPTIONAL = ("aiohttp", "starlette", "prometheus_client", "opentelemetry", "uvicorn")


def test_core_imports_no_optional_package() -> None:
    """``import boundedactors`` loads none of the integrations' dependencies."""
    code = (
        "import sys, boundedactors, boundedactors.integrations; "
        f"print(sorted(m for m in {OPTIONAL!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_asgi_integration_imports_no_framework() -> None:
    """The ASGI integration works without Starlette installed or imported."""
    code = (
        "import sys, boundedactors.integrations.asgi; "
        f"print(sorted(m for m in {OPTIONAL!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
