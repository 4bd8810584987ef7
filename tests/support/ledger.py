"""The run ledger's test material: the Role and ConfigMap the manifests will ship, runs, a pod's files."""

from __future__ import annotations

import datetime
import subprocess
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.cluster.kube_api import LocalCluster, serve_kube_api
from huelights.ledger import LedgerSettings, LightRun, RunRecord
from tests.support import tools

NAMESPACE = "gohome"
SERVICE_ACCOUNT = "huelights"
# The least the ledger needs (get and patch on the one ConfigMap, create on events), as the Role manifest says it.
LEDGER_ROLE: dict[str, Any] = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "Role",
    "metadata": {"name": "huelights-ledger", "namespace": NAMESPACE},
    "rules": [
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": ["huelights-runs"],
            "verbs": ["get", "patch"],
        },
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
    ],
}
RUNS_CONFIGMAP: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "huelights-runs"}}
STARTED = datetime.datetime(2026, 12, 1, 5, 35, 0, 412000, tzinfo=datetime.UTC)


def make_run(event_id: str = "ev-1", result: str = "ok", **fields: Any) -> RunRecord:
    """A colorloop run from its PingSource at 05:35 (fields override)."""
    values: dict[str, Any] = {
        "event_id": event_id,
        "trigger": "pingsource:colorloop",
        "slot": "2026-12-01T05:35:00Z",
        "started": STARTED,
        "ended": STARTED + datetime.timedelta(seconds=2.5),
        "result": result,
        "api": "v2",
        "bridge_requests": 3,
        "lights": (LightRun("Desk", "ok", "prism"), LightRun("Hall", "skipped")),
        **fields,
    }
    return RunRecord(**values)


@dataclass(frozen=True)
class PodFiles:
    """The files a pod of the function has: token, CA, namespace and its Knative Service's UID."""

    folder: Path

    @classmethod
    def write(cls, folder: Path, token: str = "pod-token-1", service_uid: str = "0c1d2e3f-uid") -> PodFiles:
        folder.mkdir(parents=True, exist_ok=True)
        files = cls(folder)
        files.token.write_text(token + "\n")
        files.ca.write_text("-----BEGIN CERTIFICATE-----\n(not read: `responses` answers)\n")
        files.namespace.write_text(NAMESPACE)
        files.service_uid.write_text(service_uid)
        return files

    @property
    def token(self) -> Path:
        return self.folder / "token"

    @property
    def ca(self) -> Path:
        return self.folder / "ca.crt"

    @property
    def namespace(self) -> Path:
        return self.folder / "namespace"

    @property
    def service_uid(self) -> Path:
        return self.folder / "service-uid"

    def settings(self, api_url: str, service: str = "colorloop") -> LedgerSettings:
        return LedgerSettings(
            api_url,
            service,
            token_file=self.token,
            ca_file=self.ca,
            namespace_file=self.namespace,
            service_uid_file=self.service_uid,
        )


def serve_ledger_cluster(folder: Path, **kw: Any) -> AbstractContextManager[LocalCluster]:
    """The local Kubernetes API with the ledger's ServiceAccount (LEDGER_ROLE) and the empty ConfigMap."""
    accounts = {SERVICE_ACCOUNT: LEDGER_ROLE, **kw.pop("service_accounts", {})}
    return serve_kube_api(folder, namespace=NAMESPACE, service_accounts=accounts, configmaps=[RUNS_CONFIGMAP], **kw)


def kubectl_binary() -> str:
    """kubectl's path (skipped without it; failed under CI=true)."""
    return tools.kubectl()


def kubectl(
    cluster: LocalCluster, cache: Path, *args: str, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    """kubectl against the local API with a fresh discovery cache (`cache`), as the kubeconfig's admin or `token`."""
    command = [kubectl_binary(), "--kubeconfig", str(cluster.kubeconfig), "--cache-dir", str(cache), "-n", NAMESPACE]
    if token is not None:
        command += ["--token", token]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=60, check=False)
