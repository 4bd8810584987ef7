"""Test-session setup: no developer setting leaks in, and the fixtures of tests/support/fixtures.py.

Helpers live in tests/support/ (imported by name); no test module imports another.
"""

from __future__ import annotations

import os

# A developer who follows the setup guide has HUE_BRIDGE, HUE_APP_KEY, TRIGGER_TOKEN ... exported. No test
# may see them: the processes the tests start would inherit them and drive the real bridge.
for _name in list(os.environ):
    if _name.startswith("HUE_") or _name in {"TRIGGER_TOKEN", "MAX_BODY_BYTES", "EXTERNAL_COOLDOWN_SECONDS",
                                             "CLOUD_RUN_TIMEOUT_SECONDS", "DEVSTACK_PORT_OFFSET",
                                             "DEVSTACK_BRIDGE_MODE"}:  # fmt: skip
        del os.environ[_name]

pytest_plugins = ["tests.support.fixtures"]
