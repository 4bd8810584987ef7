"""The Kubernetes API as a pod reaches it: in-cluster settings, credentials read per request, bounded calls.

In a pod the kubelet sets KUBERNETES_SERVICE_HOST/PORT, and the token, the cluster's CA and the namespace
are files (the standard service-account paths unless HUE_LEDGER_TOKEN_FILE, _CA_FILE, _NAMESPACE_FILE say
otherwise). The token file is read on every request: a projected token is rotated under a running pod.
Calls go through huelights.transport (a deadline that also bounds a slow answer, a cap on its size) and
every failure becomes one LedgerProblem line that names the cause and never the token.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from huelights.errors import (
    BridgeBusy,
    BudgetExhausted,
    ConfigError,
    PermanentBridgeError,
    TransientBridgeError,
    shorten,
)
from huelights.transport import Deadline, HttpAnswer, Transport

if TYPE_CHECKING:
    import logging

    import requests

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
TOKEN_FILE = SERVICE_ACCOUNT_DIR / "token"
CA_FILE = SERVICE_ACCOUNT_DIR / "ca.crt"
NAMESPACE_FILE = SERVICE_ACCOUNT_DIR / "namespace"
SERVICE_UID_FILE = Path("/etc/podinfo/service-uid")
CONFIGMAP = "huelights-runs"
MAX_ANSWER_BYTES = 4 * 1024 * 1024  # a full ConfigMap (1 MiB of values, JSON-escaped) with its metadata
# ConfigMap data keys (the API server's rule): the function's name becomes one.
DATA_KEY = re.compile(r"[-._a-zA-Z0-9]{1,253}")
NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


@dataclass(frozen=True)
class LedgerSettings:
    """Where the API is and where the pod's credentials are; every path settable (the local stack, tests)."""

    api_url: str
    service: str
    """The function's Knative Service: its data key and the object its Events are about."""
    token_file: Path = TOKEN_FILE
    ca_file: Path = CA_FILE
    namespace_file: Path = NAMESPACE_FILE
    service_uid_file: Path = SERVICE_UID_FILE
    """A downward API file holding the pod's label serving.knative.dev/serviceUID."""
    configmap: str = CONFIGMAP
    connect_timeout: float = 2.0
    read_timeout: float = 5.0


def ledger_settings(environ: Mapping[str, str], service: str) -> LedgerSettings | None:
    """The in-cluster settings for function `service`, or None outside a cluster (no KUBERNETES_SERVICE_HOST).

    A value that cannot be right raises ConfigError naming the variable.
    """
    host = environ.get("KUBERNETES_SERVICE_HOST", "").strip()
    if not host:
        return None
    if any(char in host for char in "/@?#[] "):
        raise ConfigError("KUBERNETES_SERVICE_HOST", f"{shorten(host, 60)!r} is not a host name or IP address")
    port = environ.get("KUBERNETES_SERVICE_PORT", "443").strip()
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError("KUBERNETES_SERVICE_PORT", f"{shorten(port, 20)!r} is not a port number (1-65535)")
    if not DATA_KEY.fullmatch(service):
        raise ValueError(f"service {shorten(service, 60)!r} cannot name a ConfigMap data key")
    bracketed = f"[{host}]" if ":" in host else host  # an IPv6 address, as the official client writes it
    return LedgerSettings(
        f"https://{bracketed}:{int(port)}",
        service,
        token_file=_path(environ, "HUE_LEDGER_TOKEN_FILE", TOKEN_FILE),
        ca_file=_path(environ, "HUE_LEDGER_CA_FILE", CA_FILE),
        namespace_file=_path(environ, "HUE_LEDGER_NAMESPACE_FILE", NAMESPACE_FILE),
        service_uid_file=_path(environ, "HUE_LEDGER_SERVICE_UID_FILE", SERVICE_UID_FILE),
    )


def _path(environ: Mapping[str, str], variable: str, default: Path) -> Path:
    value = environ.get(variable, "").strip()
    return Path(value) if value else default


class LedgerProblem(Exception):
    """Why the ledger could not be read or written: one line, no secret in it."""

    def __init__(self, message: str, *, reaches_api: bool = True) -> None:
        super().__init__(message)
        self.reaches_api = reaches_api
        """False when no request can succeed now (no token, API unreachable, time spent): skip the rest."""


def read_line(path: Path, what: str) -> str:
    """A one-line file the kubelet mounts (token, namespace, a label); LedgerProblem if unreadable or empty."""
    try:
        text = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as error:
        raise LedgerProblem(f"cannot read {what} at {path} ({type(error).__name__})", reaches_api=False) from None
    if not text:
        raise LedgerProblem(f"{what} at {path} is empty", reaches_api=False)
    return text


class KubeApi:
    """Requests to the API server as the pod's ServiceAccount; `requests_sent` is what they cost."""

    def __init__(
        self,
        settings: LedgerSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        log: logging.Logger | None = None,
    ) -> None:
        self.settings = settings
        self.transport = Transport(
            settings.api_url,
            self._new_session,
            redact=lambda text: text,  # no secret travels in a path here; the token is in a header
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            max_attempts=1,
            clock=clock,
            sleep=sleep,
            log=log,
        )

    @property
    def requests_sent(self) -> int:
        return self.transport.requests_sent

    def namespace(self) -> str:
        """The pod's namespace, which goes into every path: checked to be one."""
        namespace = read_line(self.settings.namespace_file, "the namespace")
        if not NAMESPACE.fullmatch(namespace):
            raise LedgerProblem(f"{self.settings.namespace_file} holds no namespace name", reaches_api=False)
        return namespace

    def send(
        self, method: str, path: str, deadline: Deadline, *, body: Any = None, content_type: str = "application/json"
    ) -> HttpAnswer:
        """One request with the current token; LedgerProblem when no answer came (any answer is returned)."""
        token = read_line(self.settings.token_file, "the service-account token")
        if not self.settings.ca_file.is_file():
            raise LedgerProblem(f"no CA file at {self.settings.ca_file} to verify the API server", reaches_api=False)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        what = f"{method} {path}"
        try:
            return self.transport.send(
                method, path, deadline, headers=headers, json_body=body, what=what, max_bytes=MAX_ANSWER_BYTES
            )
        except BudgetExhausted:
            raise LedgerProblem(f"{what}: no answer within the time left", reaches_api=False) from None
        except BridgeBusy:
            raise LedgerProblem(f"{what}: the answer is longer than {MAX_ANSWER_BYTES} bytes") from None
        except TransientBridgeError:
            raise LedgerProblem(
                f"{what}: cannot reach the Kubernetes API at {self.settings.api_url} (refused, reset or no answer)",
                reaches_api=False,
            ) from None
        except PermanentBridgeError as error:  # TLS verification failed, or an unusable URL
            raise LedgerProblem(
                f"{what}: no trusted connection to {self.settings.api_url} ({type(error).__name__}; "
                f"is {self.settings.ca_file} the cluster's CA?)",
                reaches_api=False,
            ) from None

    def _new_session(self) -> requests.Session:
        import requests

        session = requests.Session()
        # Nothing from the environment: a proxy variable would route the token elsewhere, and requests lets
        # REQUESTS_CA_BUNDLE replace `verify`, so the cluster's CA would not be the one trusted.
        session.trust_env = False
        session.verify = str(self.settings.ca_file)
        session.headers["User-Agent"] = "huelights-ledger"
        return session


def refusal(answer: HttpAnswer) -> str:
    """The API server's Status for a refused request in one line: code, reason and its message, cut."""
    try:
        body = json.loads(answer.content)
        reason, message = str(body.get("reason", "")), str(body.get("message", ""))
    except (ValueError, AttributeError, RecursionError):
        reason, message = "", ""
    text = (
        f"HTTP {answer.status}" + (f" {reason}" if reason else "") + (f": {shorten(message, 300)}" if message else "")
    )
    if answer.status == 401:
        text += " (the service-account token was not accepted)"
    elif answer.status == 403:
        text += " (the Role must allow get and patch on this ConfigMap and create on events)"
    return text
