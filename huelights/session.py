"""The HTTP session to the bridge; TLS to it is huelights.tls's business.

Kept apart from bridge.py so that requests is imported only when the first bridge call is made.
"""

from __future__ import annotations

import requests

from huelights.config import Settings
from huelights.tls import mount_bridge_tls


def make_session(settings: Settings) -> requests.Session:
    """A session with keep-alive to the bridge; TLS is never unverified."""
    session = requests.Session()
    # Never HTTP(S)_PROXY, NO_PROXY, .netrc or REQUESTS_CA_BUNDLE from the environment: the bridge is on
    # the local network, and a proxy injected into the pod would receive the key in every URL.
    session.trust_env = False
    session.headers["User-Agent"] = "huelights"
    if settings.bridge_url.startswith("https://"):
        mount_bridge_tls(session, settings)  # Signify's roots (+ HUE_CA_BUNDLE), CN = bridge id; never unverified
    return session
