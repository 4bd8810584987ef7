"""The HTTP session to the bridge, with TLS verified against a Hue certificate.

Kept apart from bridge.py so that requests is imported only when the first bridge call is made.
"""

from __future__ import annotations

import ssl
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from huelights.config import Settings


class BridgeIdTLSAdapter(HTTPAdapter):
    """Verifies a Hue bridge certificate: issued by the given CA, common name = the bridge id.

    Hue certificates name the bridge id, not the IP, and carry no subjectAltName, so the usual hostname
    check against the address always fails. Checking against the bridge id instead keeps verification on.
    """

    def __init__(self, ca_bundle: str, bridge_id: str) -> None:
        self._context = ssl.create_default_context(cafile=ca_bundle)
        self._context.hostname_checks_common_name = True
        self._bridge_id = bridge_id
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        kwargs["server_hostname"] = self._bridge_id
        kwargs["assert_hostname"] = self._bridge_id
        super().init_poolmanager(*args, **kwargs)


def make_session(settings: Settings) -> requests.Session:
    """A session with keep-alive to the bridge; TLS is never unverified."""
    session = requests.Session()
    # Never HTTP(S)_PROXY, NO_PROXY, .netrc or REQUESTS_CA_BUNDLE from the environment: the bridge is on
    # the local network, and a proxy injected into the pod would receive the key in every URL.
    session.trust_env = False
    session.headers["User-Agent"] = "huelights"
    if settings.bridge_url.startswith("https://"):
        # Never verify=False: a CA bundle (and optionally the bridge id) or the system trust store.
        session.verify = settings.ca_bundle or True
        if settings.ca_bundle and settings.bridge_id:
            session.mount("https://", BridgeIdTLSAdapter(settings.ca_bundle, settings.bridge_id))
    return session
