"""What a function's cold start loads: importing it must not wait for the HTTP stack it uses only per call."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def test_importing_a_function_loads_neither_requests_nor_urllib3() -> None:
    # functions-framework imports the function before gunicorn forks; the HTTP stack waits for the first call.
    probe = "import sys, huelights.app; print(sorted(m for m in ('requests', 'urllib3') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert loaded.stdout.strip() == "[]"
