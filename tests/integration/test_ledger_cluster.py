"""The run ledger against the local Kubernetes API over HTTPS, with the Role the manifests will ship:
several pods writing at once lose no run, a stale write is refused and retried, a rotated token is
picked up, and an API that refuses or is gone costs one WARNING, never the run's answer."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.bridge.tls import CertificateAuthority
from devstack.cluster.kube_api import LocalCluster
from huelights.ledger import MAX_RUNS, RunLedger, decode_runs, ledger_settings
from tests.support.ledger import NAMESPACE, SERVICE_ACCOUNT, make_run, serve_ledger_cluster

pytestmark = pytest.mark.integration

RUNS = "huelights-runs"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    with serve_ledger_cluster(tmp_path / "cluster") as running:
        yield running


def pod_ledger(cluster: LocalCluster, folder: Path, service: str, account: str = SERVICE_ACCOUNT) -> RunLedger:
    """The ledger of one pod of `service`, configured from the environment the pod would get."""
    settings = ledger_settings(cluster.pod_environment(folder, service, account), service)
    assert settings is not None
    return RunLedger(settings)


def stored_runs(cluster: LocalCluster, service: str) -> list[str]:
    data = cluster.store.get("configmaps", NAMESPACE, RUNS).get("data") or {}
    return [run.event_id for run in decode_runs(data.get(service, ""))]


def patches(cluster: LocalCluster) -> list[int]:
    return [request.status for request in cluster.server.requests if request.method == "PATCH"]


def test_pods_writing_at_once_lose_no_run(cluster: LocalCluster, tmp_path: Path) -> None:
    # Two pods of colorloop (a retried tick and an external call) and lights-on, all at once: 32 runs.
    writers = {
        "colorloop-a": (pod_ledger(cluster, tmp_path / "a", "colorloop"), "colorloop", 10),
        "colorloop-b": (pod_ledger(cluster, tmp_path / "b", "colorloop"), "colorloop", 10),
        "lights-on": (pod_ledger(cluster, tmp_path / "c", "lights-on"), "lights-on", 12),
    }
    start = threading.Barrier(len(writers), timeout=30)
    results: dict[str, list[bool]] = {name: [] for name in writers}

    def write(name: str, ledger: RunLedger, count: int) -> None:
        start.wait()
        for number in range(count):
            results[name].append(ledger.record(make_run(f"{name}-{number}"), ledger.deadline(20)).stored)

    threads = [
        threading.Thread(target=write, args=(name, ledger, count)) for name, (ledger, _, count) in writers.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)

    assert {name: all(stored) and len(stored) for name, stored in results.items()} == {
        "colorloop-a": 10,
        "colorloop-b": 10,
        "lights-on": 12,
    }
    colorloop = stored_runs(cluster, "colorloop")
    assert len(colorloop) == MAX_RUNS
    assert sorted(colorloop) == sorted(
        [f"colorloop-a-{n}" for n in range(10)] + [f"colorloop-b-{n}" for n in range(10)]
    )
    assert stored_runs(cluster, "lights-on") == [f"lights-on-{n}" for n in range(12)]
    # Every refused (stale) patch was followed by one that went through.
    statuses = patches(cluster)
    assert set(statuses) <= {200, 409}
    assert statuses.count(200) == 32
    events = cluster.store.list("events", NAMESPACE, {})
    assert len(events) == 32
    assert {event["involvedObject"]["uid"] for event in events} == {
        cluster.service_uid("colorloop"),
        cluster.service_uid("lights-on"),
    }


def test_a_stale_write_is_refused_with_409_and_retried(cluster: LocalCluster, tmp_path: Path) -> None:
    first = pod_ledger(cluster, tmp_path / "first", "colorloop")
    second = pod_ledger(cluster, tmp_path / "second", "colorloop")
    view = first.read(first.deadline(10))  # for duplicate detection, before the bridge work
    assert view is not None
    assert second.record(make_run("ev-second"), second.deadline(10)).stored  # meanwhile, another pod

    assert first.record(make_run("ev-first"), first.deadline(10), basis=view).stored

    assert patches(cluster) == [200, 409, 200]
    assert stored_runs(cluster, "colorloop") == ["ev-second", "ev-first"]


def test_a_rotated_token_is_read_again(cluster: LocalCluster, tmp_path: Path) -> None:
    ledger = pod_ledger(cluster, tmp_path / "pod", "colorloop")
    assert ledger.record(make_run("ev-1"), ledger.deadline(10)).stored

    cluster.rotate_token(SERVICE_ACCOUNT)  # the old token is refused from now on

    assert ledger.record(make_run("ev-2"), ledger.deadline(10)).stored
    assert stored_runs(cluster, "colorloop") == ["ev-1", "ev-2"]
    assert all(request.status != 401 for request in cluster.server.requests)


def test_a_role_without_events_costs_the_event_and_one_warning_not_the_run(
    cluster: LocalCluster, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    narrow = {
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [RUNS], "verbs": ["get", "patch"]}]
    }
    cluster.add_service_account("narrow", narrow)
    ledger = pod_ledger(cluster, tmp_path / "pod", "colorloop", "narrow")

    with caplog.at_level(logging.WARNING, logger="huelights.ledger"):
        result = ledger.record(make_run(), ledger.deadline(10))

    assert (result.stored, result.event_posted) == (True, False)
    (warning,) = [record.getMessage() for record in caplog.records if record.name == "huelights.ledger"]
    assert (
        f'Event not posted: HTTP 403 Forbidden: events is forbidden: User "system:serviceaccount:{NAMESPACE}:narrow" '
        f'cannot create resource "events"' in warning
    )
    token = (tmp_path / "pod" / "token").read_text()
    assert token not in caplog.text


def test_a_server_with_another_ca_is_not_trusted(
    cluster: LocalCluster, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = pod_ledger(cluster, tmp_path / "pod", "colorloop")
    (tmp_path / "pod" / "ca.crt").write_bytes(CertificateAuthority.root("another cluster").pem)

    with caplog.at_level(logging.WARNING, logger="huelights.ledger"):
        result = ledger.record(make_run(), ledger.deadline(10))

    assert not result.stored
    (warning,) = [record.getMessage() for record in caplog.records if record.name == "huelights.ledger"]
    assert "no trusted connection to https://127.0.0.1:" in warning
    assert list(cluster.server.requests) == []  # the token never left the pod


def test_an_api_that_is_gone_costs_one_warning_within_the_deadline(
    cluster: LocalCluster, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = pod_ledger(cluster, tmp_path / "pod", "colorloop")
    cluster.server.pause()
    started = time.monotonic()

    with caplog.at_level(logging.WARNING, logger="huelights.ledger"):
        result = ledger.record(make_run(), ledger.deadline(2))

    assert time.monotonic() - started < 3
    assert (result.stored, result.event_posted) == (False, False)
    assert len([record for record in caplog.records if record.name == "huelights.ledger"]) == 1


def test_importing_the_ledger_loads_neither_requests_nor_urllib3() -> None:
    # The functions will import it at cold start; the HTTP stack must wait for the first write.
    probe = "import sys, huelights.ledger; print(sorted(m for m in ('requests', 'urllib3') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert loaded.stdout.strip() == "[]"
