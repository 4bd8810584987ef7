"""Starting the local Kubernetes API: its CA and certificate, its tokens, a kubeconfig, a pod's files.

    with serve_kube_api(folder, service_accounts={"huelights": role}, configmaps=[runs]) as cluster:
        cluster.kubeconfig                                   # for kubectl and huelights_setup status
        env = cluster.pod_environment(folder / "colorloop", "colorloop", "huelights")
        # env: KUBERNETES_SERVICE_HOST/PORT and HUE_LEDGER_* pointing at the files a pod would have

The certificate is minted per run by a fresh CA (devstack/bridge/tls.py's builder) for 127.0.0.1 only;
a pod's `ca.crt` and the kubeconfig carry that CA, so every client verifies the server as in a cluster.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from devstack.bridge.tls import CertificateAuthority, ServerCredentials
from devstack.cluster.kube_api.rbac import Identity
from devstack.cluster.kube_api.server import KubeApiServer
from devstack.cluster.kube_api.store import ClusterStore, JsonDict

CLUSTER_NAME = "huelights-devstack"
ADMIN_USER = "devstack-admin"
HOST = "127.0.0.1"


def write_kubeconfig(path: Path, server_url: str, ca_pem: bytes, token: str, namespace: str) -> Path:
    """A kubeconfig with one cluster, one user (a bearer token) and one current context; mode 600."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CLUSTER_NAME,
                "cluster": {"server": server_url, "certificate-authority-data": base64.b64encode(ca_pem).decode()},
            }
        ],
        "users": [{"name": ADMIN_USER, "user": {"token": token}}],
        "contexts": [
            {"name": CLUSTER_NAME, "context": {"cluster": CLUSTER_NAME, "user": ADMIN_USER, "namespace": namespace}}
        ],
        "current-context": CLUSTER_NAME,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _write_secret(path: Path, text: str) -> None:
    path.touch(mode=0o600)
    path.write_text(text)


class LocalCluster:
    """The running API with what a client needs to reach it: its CA, tokens per ServiceAccount, a kubeconfig."""

    def __init__(self, server: KubeApiServer, ca_pem: bytes, folder: Path, namespace: str) -> None:
        self.server = server
        self.store = server.store
        self.ca_pem = ca_pem
        self.namespace = namespace
        self.ca_file = folder / "ca.crt"
        self.ca_file.write_bytes(ca_pem)
        self.admin_token = secrets.token_urlsafe(32)
        server.tokens[self.admin_token] = Identity(ADMIN_USER, None)
        self.kubeconfig = write_kubeconfig(folder / "kubeconfig", server.url, ca_pem, self.admin_token, namespace)
        self._lock = threading.Lock()
        self._accounts: dict[str, tuple[str, Identity]] = {}
        self._token_files: dict[str, list[Path]] = {}
        self._service_uids: dict[str, str] = {}

    @property
    def url(self) -> str:
        return self.server.url

    def add_service_account(self, name: str, role: Mapping[str, Any]) -> str:
        """ServiceAccount `name` in the namespace, bound to `role` (a Role manifest); returns its token."""
        identity = Identity.service_account(self.namespace, name, role)
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._accounts[name] = (token, identity)
            self.server.tokens[token] = identity
        return token

    def rotate_token(self, service_account: str) -> str:
        """Issue a new token, stop accepting the old one (stricter than a cluster, which lets it run out),
        and rewrite every pod token file of the account, as the kubelet does."""
        with self._lock:
            old, identity = self._accounts[service_account]
            token = secrets.token_urlsafe(32)
            del self.server.tokens[old]
            self.server.tokens[token] = identity
            self._accounts[service_account] = (token, identity)
            for path in self._token_files.get(service_account, []):
                _write_secret(path, token)
        return token

    def service_uid(self, service: str) -> str:
        """The UID of Knative Service `service`, as its pods' serving.knative.dev/serviceUID label has it."""
        with self._lock:
            return self._service_uids.setdefault(service, str(uuid.uuid4()))

    def pod_environment(self, folder: Path, service: str, service_account: str) -> dict[str, str]:
        """Write the files a pod of `service` running as `service_account` has, return its environment."""
        folder.mkdir(parents=True, exist_ok=True)
        files = {name: folder / name for name in ("token", "ca.crt", "namespace", "service-uid")}
        with self._lock:
            _write_secret(files["token"], self._accounts[service_account][0])
            self._token_files.setdefault(service_account, []).append(files["token"])
        files["ca.crt"].write_bytes(self.ca_pem)
        files["namespace"].write_text(self.namespace)
        files["service-uid"].write_text(self.service_uid(service))
        return {
            "KUBERNETES_SERVICE_HOST": self.server.host,
            "KUBERNETES_SERVICE_PORT": str(self.server.port),
            "HUE_LEDGER_TOKEN_FILE": str(files["token"]),
            "HUE_LEDGER_CA_FILE": str(files["ca.crt"]),
            "HUE_LEDGER_NAMESPACE_FILE": str(files["namespace"]),
            "HUE_LEDGER_SERVICE_UID_FILE": str(files["service-uid"]),
        }


@contextmanager
def serve_kube_api(
    folder: Path,
    *,
    namespace: str = "gohome",
    service_accounts: Mapping[str, Mapping[str, Any]] | None = None,
    configmaps: Iterable[JsonDict] = (),
    port: int = 0,
    clock: Callable[[], float] = time.time,
) -> Iterator[LocalCluster]:
    """The local API on HTTPS 127.0.0.1:`port` (0: a free one) until the block ends.

    `service_accounts` maps each ServiceAccount name to its Role manifest; `configmaps` are created first
    (the manifests' own, e.g. the empty `huelights-runs`).
    """
    authority = CertificateAuthority.root("huelights devstack cluster CA", organization="huelights devstack")
    credentials = ServerCredentials(authority.leaf("kube-apiserver", san_ips=(HOST,)))
    store = ClusterStore(clock=clock)
    for configmap in configmaps:
        store.create("configmaps", namespace, {**configmap, "metadata": dict(configmap.get("metadata") or {})})
    server = KubeApiServer(store, {}, host=HOST, port=port, ssl_context=credentials.server_context())
    folder.mkdir(parents=True, exist_ok=True)
    server.start()
    try:
        cluster = LocalCluster(server, authority.pem, folder, namespace)
        for name, role in (service_accounts or {}).items():
            cluster.add_service_account(name, role)
        yield cluster
    finally:
        server.stop()
