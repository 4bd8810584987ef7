"""TLS to a Hue bridge: Signify's roots, the certificate's CN checked against the bridge id, key sent last.

A bridge's certificate names the bridge id (CN, 16 hex digits), not its address, and has no
subjectAltName; it chains to one of Signify's two roots shipped in `certs/` (directly, or through an
intermediate the bridge sends). So the usual host-name check is off and replaced by a CN check that runs
right after the handshake of every connection, before a single request byte is written:

- HUE_BRIDGE_ID set: the CN must be that id (pinned);
- not set: the CN must be a well-formed bridge id, and before anything but `GET /api/config` (which needs
  no key) may travel, the id the bridge reports there must equal the CN. The id is then pinned for the
  life of the process and logged once, so the user can pin it in the configuration.

Trusted: exactly the shipped roots plus HUE_CA_BUNDLE (an older bridge's self-signed certificate);
never the system store, never `verify=False`.
"""

from __future__ import annotations

import io
import json
import logging
import re
import socket
import ssl
import threading
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from huelights.config import Settings

log = logging.getLogger("huelights.tls")

ROOT_FILES = ("root-bridge.pem", "hue-root-ca-01.pem")
BRIDGE_ID = re.compile(r"[0-9a-f]{16}")
PUBLIC_CONFIG_PATH = "/api/config"
# The bridge's /api/config answer is well under 2 KiB; anything much larger is not a bridge.
CONFIG_BODY_LIMIT = 64 * 1024

SELF_SIGNED_HELP = (
    "an older bridge firmware signs its own certificate: save it with the setup tool's `trust-cert` command "
    "and set HUE_CA_BUNDLE to that file (docs/setup.md, 'A bridge with a self-signed certificate')"
)
# OpenSSL verify codes (x509_vfy.h) -> what it means for a Hue bridge and what to do.
VERIFY_CODE_HELP = {
    9: ("the certificate is not valid yet", "check the clock of this machine and of the bridge"),
    10: ("the certificate has expired", "check the clock of this machine; the bridge needs a firmware update"),
    18: ("the bridge presents a self-signed certificate", SELF_SIGNED_HELP),
    19: ("the certificate chain ends in a self-signed root that is not trusted", SELF_SIGNED_HELP),
    20: (
        "the certificate is not issued by Signify's Hue roots (nor by HUE_CA_BUNDLE)",
        "is this a Hue bridge? For a bridge emulator or an older bridge, set HUE_CA_BUNDLE to its CA or certificate",
    ),
    21: (
        "the certificate is not issued by Signify's Hue roots (nor by HUE_CA_BUNDLE)",
        "is this a Hue bridge? For a bridge emulator or an older bridge, set HUE_CA_BUNDLE to its CA or certificate",
    ),
}


def is_bridge_id(text: str) -> bool:
    return BRIDGE_ID.fullmatch(text) is not None


class BridgeCertificateError(ssl.SSLCertVerificationError):
    """The certificate chains to a trusted root but does not name the bridge we expect.

    An SSLCertVerificationError so that urllib3 and requests treat it as any failed verification (the
    connection is closed, requests raises its SSLError); `message` names the cause and the fix.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def common_name(certificate: dict[str, Any]) -> str | None:
    """The subject CN of a certificate as `SSLSocket.getpeercert()` returns it (verified peers only)."""
    for rdn in certificate.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


def describe_names(certificate: dict[str, Any]) -> str:
    names = [f"{kind} {value}" for kind, value in certificate.get("subjectAltName", ())]
    cn = common_name(certificate)
    shown = [f"CN {cn!r}" if cn is not None else "no CN", *names]
    return ", ".join(shown)


class BridgeIdentity:
    """Which bridge id the certificates of this process's connections must carry, pinned or being learned."""

    def __init__(self, pinned: str | None) -> None:
        self._lock = threading.Lock()
        self.pinned_by_config = pinned is not None
        self._expected = pinned
        self._seen: str | None = None

    @property
    def confirmed(self) -> str | None:
        """The bridge id every connection is held to, or None while it is still to be confirmed."""
        return self._expected

    def check(self, certificate: dict[str, Any]) -> None:
        """Called after each handshake: raise BridgeCertificateError unless the CN is the right bridge id."""
        cn = common_name(certificate)
        if cn is None or not is_bridge_id(cn.lower()):
            raise BridgeCertificateError(
                f"the certificate does not name a Hue bridge id ({describe_names(certificate)}); a Hue bridge's "
                "certificate has CN = its bridge id (16 hex digits). Point HUE_BRIDGE at the bridge itself, "
                "not at a proxy or another server"
            )
        cn = cn.lower()
        with self._lock:
            if self._expected is not None and cn != self._expected:
                if self.pinned_by_config:
                    where, fix = "HUE_BRIDGE_ID", "fix HUE_BRIDGE, or HUE_BRIDGE_ID if you replaced the bridge"
                else:
                    where, fix = "confirmed at this process's first call", "if you replaced the bridge, restart"
                raise BridgeCertificateError(
                    f"the certificate is for bridge {cn}, not {self._expected} ({where}): another bridge "
                    f"answers at this address; {fix}"
                )
            if self._expected is None:
                if self._seen is not None and cn != self._seen:
                    raise BridgeCertificateError(
                        f"two connections to HUE_BRIDGE presented certificates for different bridges "
                        f"({self._seen}, {cn}); set HUE_BRIDGE_ID to the one you mean"
                    )
                self._seen = cn

    def confirm(self, reported: object) -> str:
        """Pin the id once the bridge's own /api/config agrees with the certificate seen on the connection."""
        with self._lock:
            if self._expected is not None:
                return self._expected
            seen = self._seen
            reported_id = reported.lower() if isinstance(reported, str) else None
            if seen is None or reported_id != seen:
                raise BridgeCertificateError(
                    f"the certificate names bridge {seen}, but the bridge reports bridgeid {reported!r} in "
                    "/api/config: not the bridge it claims to be; check HUE_BRIDGE, and pin the right id with "
                    "HUE_BRIDGE_ID"
                )
            self._expected = seen
        log.info(
            "bridge id %s confirmed (certificate and /api/config agree); set HUE_BRIDGE_ID=%s to pin it", seen, seen
        )
        return seen


class _BridgeSocket(ssl.SSLSocket):
    """Checks the bridge id right after the handshake, before the caller can write a byte."""

    def do_handshake(self, block: bool = False) -> None:
        super().do_handshake(block)
        certificate = self.getpeercert()
        if not certificate:  # cannot happen with CERT_REQUIRED; refuse rather than assume
            raise BridgeCertificateError("the bridge presented no certificate")
        context = self.context
        assert isinstance(context, BridgeContext), "only BridgeContext makes these sockets"
        context.identity.check(certificate)


class BridgeContext(ssl.SSLContext):
    """An SSLContext that trusts the Hue roots (+ a bundle) and whose sockets check the bridge id."""

    identity: BridgeIdentity
    sslsocket_class = _BridgeSocket


def trust_store(ca_bundle: str | None) -> list[str]:
    """The PEM texts trusted for a bridge: Signify's roots shipped with the package, then the user's bundle."""
    certs = resources.files("huelights").joinpath("certs")
    texts = [certs.joinpath(name).read_text(encoding="ascii") for name in ROOT_FILES]
    if ca_bundle:
        with open(ca_bundle, encoding="ascii", errors="replace") as file:
            texts.append(file.read())
    return texts


def bridge_context(ca_bundle: str | None, bridge_id: str | None) -> BridgeContext:
    context = BridgeContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False  # the address is not in a bridge certificate; the CN check replaces it
    context.verify_mode = ssl.CERT_REQUIRED
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # A certificate in HUE_CA_BUNDLE is an anchor even when it is not a root: the bridge's own certificate
    # (saved by trust-cert, or an emulator's) works whether or not it signed itself. Signify's are roots.
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    for text in trust_store(ca_bundle):
        context.load_verify_locations(cadata=text)
    context.identity = BridgeIdentity(bridge_id)
    return context


class BridgeTLSAdapter(HTTPAdapter):
    """requests adapter for an https:// bridge: every connection uses the BridgeContext; nothing but
    `GET /api/config` goes out until the bridge id is confirmed (or was pinned by HUE_BRIDGE_ID)."""

    def __init__(self, context: BridgeContext) -> None:
        self.context = context
        self._confirm_lock = threading.Lock()
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self.context
        kwargs["assert_hostname"] = False  # urllib3's host-name check; the context checks the CN instead
        super().init_poolmanager(*args, **kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        # A CA path in `verify` (REQUESTS_CA_BUNDLE, a caller's verify=...) would be added to the context's
        # trust, and False would turn checks off: the trust is the context's alone.
        kwargs["verify"] = True
        # The bridge is on the LAN; a proxy (HTTPS_PROXY) would also wrap TLS in a way these checks do not see.
        kwargs["proxies"] = {}
        if self.context.identity.confirmed is None:
            with self._confirm_lock:
                if self.context.identity.confirmed is None:
                    probe = self._confirm_bridge_id(request, kwargs)
                    if probe is not None:
                        return probe
        return super().send(request, **kwargs)

    def _confirm_bridge_id(self, request: requests.PreparedRequest, kwargs: dict[str, Any]) -> requests.Response | None:
        """GET /api/config (no key) and confirm its bridgeid against the certificate of that connection.

        Returns a response for the caller when the probe answers the caller's own request, or when the
        probe failed (an HTTP error or a body that is not JSON, which the caller reports as it would any
        such answer); returns None when confirmed and the caller's request is still to be sent.
        """
        url = urlsplit(request.url or "")
        probe = requests.Request("GET", f"{url.scheme}://{url.netloc}{PUBLIC_CONFIG_PATH}").prepare()
        probe.headers.update({k: v for k, v in request.headers.items() if k.lower() == "user-agent"})
        raw = super().send(probe, **{**kwargs, "stream": True})
        body = b""
        try:
            # iter_content, not raw.read: a broken or stalled answer then raises requests' own exceptions.
            for chunk in raw.iter_content(8192):
                body += chunk
                if len(body) > CONFIG_BODY_LIMIT:
                    break
        except BaseException:
            raw.close()
            raise
        if len(body) > CONFIG_BODY_LIMIT:
            raw.close()
        else:
            raw.raw.release_conn()  # read to the end: the caller's request can reuse this verified connection
        if len(body) > CONFIG_BODY_LIMIT:
            refused = BridgeCertificateError(
                f"cannot confirm the bridge id: /api/config answered with over {CONFIG_BODY_LIMIT // 1024} KiB, "
                "which no Hue bridge does; check HUE_BRIDGE, or pin the id with HUE_BRIDGE_ID"
            )
            raise requests.exceptions.SSLError(refused, request=request)
        answers_caller = request.method == "GET" and url.path == PUBLIC_CONFIG_PATH
        rebuilt = self._rebuild(probe, raw, body)
        if raw.status_code != 200:
            return rebuilt
        try:
            config = json.loads(body)
        except ValueError:
            return rebuilt  # e.g. an overloaded bridge's HTML page: the caller treats it as busy
        reported = config.get("bridgeid") if isinstance(config, dict) else None
        try:
            self.context.identity.confirm(reported)
        except BridgeCertificateError as error:
            raise requests.exceptions.SSLError(error, request=request) from None
        return rebuilt if answers_caller else None

    def _rebuild(self, probe: requests.PreparedRequest, raw: requests.Response, body: bytes) -> requests.Response:
        # The body is decoded already: drop the headers that describe its encoding on the wire.
        headers = {k: v for k, v in raw.headers.items() if k.lower() not in ("content-encoding", "content-length")}
        response = urllib3.HTTPResponse(
            body=io.BytesIO(body), headers=headers, status=raw.status_code, preload_content=False
        )
        # Left unread: requests' Session reads it for a plain caller, and the transport streams it with its
        # size cap like any other answer.
        return self.build_response(probe, response)


def mount_bridge_tls(session: requests.Session, settings: Settings) -> None:
    """The hook for session.py: route https:// to the bridge through the Hue trust and CN checks."""
    session.verify = True
    session.mount("https://", BridgeTLSAdapter(bridge_context(settings.ca_bundle, settings.bridge_id)))


def failure_message(error: BaseException) -> str:
    """One line for a failed TLS verification: the cause and the fix, without the URL (it carries the key)."""
    cause = _find_verification_error(error)
    if isinstance(cause, BridgeCertificateError):
        detail = cause.message
    elif isinstance(cause, ssl.SSLCertVerificationError):
        what, fix = VERIFY_CODE_HELP.get(
            cause.verify_code, (f"OpenSSL says: {cause.verify_message}", "check HUE_CA_BUNDLE and HUE_BRIDGE_ID")
        )
        detail = f"{what}; {fix}"
    elif isinstance(cause, ssl.SSLError):
        detail = f"the TLS handshake failed ({cause.reason or type(cause).__name__}); is HUE_BRIDGE really https?"
    else:
        detail = f"the TLS handshake failed ({type(error).__name__}); check HUE_BRIDGE, HUE_CA_BUNDLE and HUE_BRIDGE_ID"
    return f"TLS verification of the bridge failed: {detail}"


def _find_verification_error(error: BaseException) -> BaseException | None:
    """requests wraps urllib3's MaxRetryError wraps urllib3's SSLError wraps the ssl error: unwrap."""
    seen: set[int] = set()
    pending: list[Any] = [error]
    fallback: BaseException | None = None
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return current
        if isinstance(current, ssl.SSLError) and fallback is None:
            fallback = current
        pending.extend([*current.args, getattr(current, "reason", None), current.__cause__, current.__context__])
    return fallback


def peer_certificate(host: str, port: int, context: ssl.SSLContext, timeout: float) -> dict[str, Any]:
    """Handshake only (nothing is sent after it) and return the verified peer certificate."""
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=None) as sock,
    ):
        return sock.getpeercert() or {}
