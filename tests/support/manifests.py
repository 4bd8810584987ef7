"""The deploy manifests (knative/, gateway/) rendered as a cluster would see them, and what the tests share.

Rendering: `kubectl kustomize` when kubectl is on PATH (it is on the development machines and in CI);
otherwise the kustomization's plain resources are loaded with PyYAML so most checks still run, and the
checks that need kustomize's patches are skipped (`needs_kustomize`).

The rules shared by several test files live here too: every sink names an object of the render
(`sink_problems`), and the PingSources keep the agreed schedules (`schedule_problems`). The Gateway API
rule engine is in tests/support/gateway_rules.py, the schema check in tests/support/schema_models.py.
"""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.tools import find_kubectl

ROOT = Path(__file__).resolve().parents[2]

Obj = dict[str, Any]

NAMESPACE = "gohome"
TIMEZONE = "America/Toronto"
SCHEDULES = {"lights-off": "30 22 * * *", "lights-on": "30 5 * * *", "colorloop": "35 5 * * *"}
FUNCTION_SERVICES = {"lights_off": "lights-off", "lights_on": "lights-on", "colorloop": "colorloop"}
ROUTE_HOST = "colorloop.lab"  # what callers from outside name (gateway/components/host)

KUSTOMIZATIONS = {
    "knative": ROOT / "knative",
    "broker": ROOT / "knative" / "overlays" / "broker",
    "ca-bundle": ROOT / "knative" / "overlays" / "ca-bundle",
    "gateway-operator": ROOT / "gateway" / "operator",
    "gateway-route": ROOT / "gateway" / "route",
    "gateway-route-istio": ROOT / "gateway" / "route-istio",
    "gateway-route-knative-operator": ROOT / "gateway" / "route-knative-operator",
    "gateway-route-existing-gateway": ROOT / "gateway" / "route-existing-gateway",
}

KUBECTL = find_kubectl()
# The `kubectl` fixture skips without kubectl (overlays' patches need kustomize) and fails under CI=true.
needs_kustomize = pytest.mark.usefixtures("kubectl")


def load_yaml_documents(path: Path) -> list[Obj]:
    """The objects of one YAML file as a plain reader (the local stack) sees them: `List`s flattened."""
    objects: list[Obj] = []
    for document in yaml.safe_load_all(path.read_text()):
        if not document:
            continue
        if document.get("kind") == "List":
            objects.extend(document["items"])
        else:
            objects.append(document)
    return objects


def _plain_resources(directory: Path) -> list[Obj]:
    """What kustomize builds from `resources:` and `namespace:` alone (no patches, no images)."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    objects: list[Obj] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        objects.extend(_plain_resources(path) if path.is_dir() else load_yaml_documents(path))
    namespace = kustomization.get("namespace")
    if namespace:
        for obj in objects:
            if obj["kind"] != "Namespace":
                obj.setdefault("metadata", {})["namespace"] = namespace
    return objects


def kustomize(directory: Path) -> list[Obj]:
    """`kubectl kustomize <directory>`: every object it renders (kubectl must be on PATH)."""
    assert KUBECTL, "kubectl not on PATH"
    result = subprocess.run(
        [KUBECTL, "kustomize", str(directory)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


_RENDERED: dict[str, list[Obj]] = {}


def rendered(name: str) -> list[Obj]:
    """The objects of one kustomization, rendered once per test session (callers get copies)."""
    if name not in _RENDERED:
        directory = KUSTOMIZATIONS[name]
        _RENDERED[name] = kustomize(directory) if KUBECTL else _plain_resources(directory)
    return copy.deepcopy(_RENDERED[name])


def of_kind(objects: list[Obj], kind: str) -> list[Obj]:
    return [obj for obj in objects if obj["kind"] == kind]


def by_name(objects: list[Obj], kind: str) -> dict[str, Obj]:
    return {obj["metadata"]["name"]: obj for obj in of_kind(objects, kind)}


def ns_of(obj: Obj) -> str:
    return str(obj["metadata"].get("namespace", ""))


def ksvc_container(service: Obj) -> Obj:
    containers = service["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, "one container per Knative Service"
    return containers[0]  # type: ignore[no-any-return]


def function_services(objects: list[Obj]) -> list[Obj]:
    services = [obj for obj in of_kind(objects, "Service") if obj["metadata"]["name"] in SCHEDULES]
    assert services, "no function Services rendered"
    return services


def sink_problems(objects: list[Obj]) -> list[str]:
    """Every sink, subscriber and dead-letter ref names an object of the same render and namespace."""
    known = {(o["apiVersion"], o["kind"], ns_of(o), o["metadata"]["name"]) for o in objects}
    problems = []
    for obj in objects:
        refs = []
        spec = obj.get("spec", {})
        if obj["kind"] == "PingSource":
            refs.append(("sink", spec.get("sink", {}).get("ref")))
        if obj["kind"] == "Trigger":
            refs.append(("subscriber", spec.get("subscriber", {}).get("ref")))
            refs.append(("broker", {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker", "name": spec["broker"]}))
        if obj["kind"] in ("Trigger", "Broker") and "delivery" in spec:
            refs.append(("deadLetterSink", spec["delivery"].get("deadLetterSink", {}).get("ref")))
        for label, ref in refs:
            if ref is None:
                problems.append(f"{obj['kind']} {obj['metadata']['name']}: no {label} ref")
                continue
            key = (ref["apiVersion"], ref["kind"], ref.get("namespace", ns_of(obj)), ref["name"])
            if key not in known:
                problems.append(f"{obj['kind']} {obj['metadata']['name']}: {label} {key} does not exist")
    return problems


def schedule_problems(objects: list[Obj]) -> list[str]:
    sources = by_name(objects, "PingSource")
    problems = [] if set(sources) == set(SCHEDULES) else [f"PingSources {sorted(sources)}"]
    for name, source in sources.items():
        spec = source["spec"]
        if spec.get("schedule") != SCHEDULES.get(name):
            problems.append(f"{name}: schedule {spec.get('schedule')!r}")
        if spec.get("timezone") != TIMEZONE:
            problems.append(f"{name}: timezone {spec.get('timezone')!r}")
        if spec.get("contentType") != "application/json":
            problems.append(f"{name}: contentType must be application/json")
        if "data" in spec and not isinstance(json.loads(spec["data"]), dict):
            problems.append(f"{name}: data must be a JSON object")
    return problems
