"""The local Kubernetes API judged by real clients: the official `kubernetes` package and kubectl.

What the ledger's correctness rests on must behave as the API server does: 409 on a stale
resourceVersion, 403 (with the server's message) for what the Role does not allow, 401 for an unknown
token; and kubectl must find its way by discovery and print the ConfigMap and the Events.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from devstack.cluster.kube_api import LocalCluster, write_kubeconfig
from huelights.ledger import RunLedger, decode_runs, ledger_settings
from tests.support.ledger import NAMESPACE, SERVICE_ACCOUNT, kubectl, make_run, serve_ledger_cluster

pytestmark = pytest.mark.integration

RUNS = "huelights-runs"
SA_USER = f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"
CONFLICT = (
    f'Operation cannot be fulfilled on configmaps "{RUNS}": the object has been modified; '
    "please apply your changes to the latest version and try again"
)


class Clock:
    """Wall time the test moves (Event expiry)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def wall() -> Clock:
    return Clock()


@pytest.fixture
def cluster(tmp_path: Path, wall: Clock) -> Iterator[LocalCluster]:
    with serve_ledger_cluster(tmp_path / "cluster", clock=wall) as running:
        yield running


@pytest.fixture
def admin(cluster: LocalCluster) -> client.CoreV1Api:
    """The official client as the user's kubeconfig configures it."""
    return client.CoreV1Api(config.new_client_from_config(config_file=str(cluster.kubeconfig)))


def as_service_account(cluster: LocalCluster, token: str) -> client.CoreV1Api:
    """The official client with a kubeconfig of its own for `token`."""
    path = write_kubeconfig(
        cluster.ca_file.parent / f"kubeconfig-{token[:8]}", cluster.url, cluster.ca_pem, token, NAMESPACE
    )
    return client.CoreV1Api(config.new_client_from_config(config_file=str(path)))


def refusal(call: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(ApiException) as caught:
        call()
    body: dict[str, Any] = json.loads(caught.value.body)
    assert caught.value.status == body["code"]
    return caught.value.status, body


def event(service: str, uid: str, reason: str = "RunSucceeded") -> dict[str, Any]:
    return {
        "metadata": {"generateName": f"{service}.", "namespace": NAMESPACE},
        "involvedObject": {
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Service",
            "name": service,
            "namespace": NAMESPACE,
            "uid": uid,
        },
        "type": "Normal",
        "reason": reason,
        "message": f"{service} ran",
        "lastTimestamp": "2027-01-15T08:00:00Z",
    }


def test_the_official_client_reads_patches_and_is_refused_a_stale_version(admin: client.CoreV1Api) -> None:
    version = admin.read_namespaced_config_map(RUNS, NAMESPACE).metadata.resource_version

    # The client's default patch for a dict is a strategic merge patch.
    patched = admin.patch_namespaced_config_map(
        RUNS, NAMESPACE, {"metadata": {"resourceVersion": version}, "data": {"colorloop": "run-1"}}
    )
    assert patched.data == {"colorloop": "run-1"}
    assert int(patched.metadata.resource_version) > int(version)

    code, status = refusal(
        lambda: admin.patch_namespaced_config_map(
            RUNS, NAMESPACE, {"metadata": {"resourceVersion": version}, "data": {"colorloop": "lost"}}
        )
    )
    assert (code, status["reason"], status["message"]) == (409, "Conflict", CONFLICT)
    assert status["details"] == {"name": RUNS, "kind": "configmaps"}

    merged = admin.patch_namespaced_config_map(
        RUNS, NAMESPACE, {"data": {"lights-on": "run-2"}}, _content_type="application/merge-patch+json"
    )
    assert merged.data == {"colorloop": "run-1", "lights-on": "run-2"}  # other keys kept, no version: no 409
    removed = admin.patch_namespaced_config_map(
        RUNS, NAMESPACE, {"data": {"colorloop": None}}, _content_type="application/merge-patch+json"
    )
    assert removed.data == {"lights-on": "run-2"}

    stale = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=RUNS, resource_version=version), data={})
    assert refusal(lambda: admin.replace_namespaced_config_map(RUNS, NAMESPACE, stale))[0] == 409
    current = admin.read_namespaced_config_map(RUNS, NAMESPACE)
    current.data = {"colorloop": "run-3"}
    assert admin.replace_namespaced_config_map(RUNS, NAMESPACE, current).data == {"colorloop": "run-3"}


def test_missing_existing_and_oversized_objects_are_refused_as_the_api_server_does(admin: client.CoreV1Api) -> None:
    code, status = refusal(lambda: admin.read_namespaced_config_map("absent", NAMESPACE))
    assert (code, status["reason"], status["message"]) == (404, "NotFound", 'configmaps "absent" not found')

    again = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=RUNS))
    code, status = refusal(lambda: admin.create_namespaced_config_map(NAMESPACE, again))
    assert (code, status["reason"], status["message"]) == (409, "AlreadyExists", f'configmaps "{RUNS}" already exists')

    absent = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="absent"), data={})
    assert (
        refusal(lambda: admin.replace_namespaced_config_map("absent", NAMESPACE, absent))[0] == 404
    )  # PUT never creates

    oversized = {"data": {"colorloop": "x" * (1024 * 1024 + 1)}}
    code, status = refusal(
        lambda: admin.patch_namespaced_config_map(
            RUNS, NAMESPACE, oversized, _content_type="application/merge-patch+json"
        )
    )
    assert (code, status["reason"]) == (422, "Invalid")
    bad_key = {"data": {"colour loop": "x"}}
    assert refusal(lambda: admin.patch_namespaced_config_map(RUNS, NAMESPACE, bad_key))[0] == 422
    assert (
        refusal(lambda: admin.patch_namespaced_config_map(RUNS, NAMESPACE, [{"op": "remove", "path": "/data"}]))[0]
        == 415
    )


def test_the_ledgers_role_allows_exactly_get_and_patch_on_its_configmap_and_creating_events(
    cluster: LocalCluster, admin: client.CoreV1Api
) -> None:
    admin.create_namespaced_config_map(NAMESPACE, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="other")))
    token = cluster.pod_environment(cluster.ca_file.parent / "pod", "colorloop", SERVICE_ACCOUNT)
    pod = as_service_account(cluster, Path(token["HUE_LEDGER_TOKEN_FILE"]).read_text())

    assert pod.read_namespaced_config_map(RUNS, NAMESPACE).metadata.name == RUNS
    pod.patch_namespaced_config_map(RUNS, NAMESPACE, {"data": {"colorloop": "run"}})
    pod.create_namespaced_event(NAMESPACE, event("colorloop", "uid-1"))

    code, status = refusal(lambda: pod.read_namespaced_config_map("other", NAMESPACE))
    assert (code, status["reason"]) == (403, "Forbidden")
    assert status["message"] == (
        f'configmaps "other" is forbidden: User "{SA_USER}" cannot get resource "configmaps" in API group "" '
        f'in the namespace "{NAMESPACE}"'
    )
    assert status["details"] == {"name": "other", "kind": "configmaps"}
    code, status = refusal(lambda: pod.list_namespaced_config_map(NAMESPACE))
    assert status["message"] == (
        f'configmaps is forbidden: User "{SA_USER}" cannot list resource "configmaps" in API group "" '
        f'in the namespace "{NAMESPACE}"'
    )
    new = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=RUNS + "-2"))
    assert "cannot create resource" in refusal(lambda: pod.create_namespaced_config_map(NAMESPACE, new))[1]["message"]
    current = pod.read_namespaced_config_map(RUNS, NAMESPACE)
    assert (
        "cannot update resource"
        in refusal(lambda: pod.replace_namespaced_config_map(RUNS, NAMESPACE, current))[1]["message"]
    )
    assert "cannot list resource" in refusal(lambda: pod.list_namespaced_event(NAMESPACE))[1]["message"]

    stranger = as_service_account(cluster, "not-a-token")
    code, status = refusal(lambda: stranger.read_namespaced_config_map(RUNS, NAMESPACE))
    assert (code, status["reason"]) == (401, "Unauthorized")


def test_events_are_found_by_the_fields_kubectl_describe_asks_for_and_expire_after_an_hour(
    admin: client.CoreV1Api, wall: Clock
) -> None:
    admin.create_namespaced_event(NAMESPACE, event("colorloop", "uid-1"))
    admin.create_namespaced_event(NAMESPACE, event("colorloop", "uid-old-ksvc"))
    admin.create_namespaced_event(NAMESPACE, event("lights-on", "uid-2"))

    describe = (
        f"involvedObject.name=colorloop,involvedObject.namespace={NAMESPACE},involvedObject.kind=Service,"
        "involvedObject.uid=uid-1"
    )
    found = admin.list_namespaced_event(NAMESPACE, field_selector=describe).items
    assert [(e.involved_object.name, e.involved_object.uid) for e in found] == [("colorloop", "uid-1")]
    assert found[0].metadata.name.startswith("colorloop.")
    assert len(admin.list_namespaced_event(NAMESPACE).items) == 3

    wall.now += 3601  # the API server's event TTL
    assert admin.list_namespaced_event(NAMESPACE).items == []
    mismatched = event("colorloop", "uid-1")
    mismatched["involvedObject"]["namespace"] = "elsewhere"
    assert refusal(lambda: admin.create_namespaced_event(NAMESPACE, mismatched))[0] == 422


def test_kubectl_shows_the_ledgers_configmap_and_events(cluster: LocalCluster, tmp_path: Path) -> None:
    env = cluster.pod_environment(tmp_path / "pod", "colorloop", SERVICE_ACCOUNT)
    settings = ledger_settings(env, "colorloop")
    assert settings is not None
    ledger = RunLedger(settings)
    runs = [make_run("ev-1"), make_run("ev-2", "transient")]
    for run in runs:
        assert ledger.record(run, ledger.deadline(10)).stored

    shown = kubectl(cluster, tmp_path / "cache", "get", "configmap", RUNS, "-o", "yaml")
    assert shown.returncode == 0, shown.stderr
    assert decode_runs(yaml.safe_load(shown.stdout)["data"]["colorloop"]) == tuple(runs)
    # kubectl found its way by the legacy discovery documents
    paths = [request.path for request in cluster.server.requests if request.user != SA_USER]
    assert {"/api", "/apis", "/api/v1"} <= set(paths)

    events = kubectl(cluster, tmp_path / "cache", "get", "events")
    assert events.returncode == 0, events.stderr
    header, *rows = events.stdout.splitlines()
    assert header.split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert len(rows) == 2
    assert rows[0].split()[1:4] == ["Normal", "RunSucceeded", "service/colorloop"]
    assert rows[1].split()[1:4] == ["Warning", "RunFailed", "service/colorloop"]
    assert "event ev-2" in rows[1]


def test_kubectl_meets_the_conflict_and_the_forbidden_as_from_a_cluster(cluster: LocalCluster, tmp_path: Path) -> None:
    stale = json.dumps({"metadata": {"resourceVersion": "1"}, "data": {"colorloop": "x"}})

    patched = kubectl(cluster, tmp_path / "cache", "patch", "configmap", RUNS, "--type", "merge", "-p", stale)
    assert patched.returncode != 0
    assert f"Error from server (Conflict): {CONFLICT}" in patched.stderr

    token = cluster.add_service_account("reader", {"rules": []})
    listed = kubectl(cluster, tmp_path / "cache", "get", "configmaps", token=token)
    assert listed.returncode != 0
    user = f"system:serviceaccount:{NAMESPACE}:reader"
    assert f'Error from server (Forbidden): configmaps is forbidden: User "{user}" cannot list' in listed.stderr
