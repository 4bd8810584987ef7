"""The Knative Services: scale to zero, one request at a time, the webhook rules a schema does not carry,
hardening, timeouts, and the ConfigMap and Secret they read."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.support.manifests import (
    KUSTOMIZATIONS,
    ROOT,
    SCHEDULES,
    Obj,
    by_name,
    function_services,
    ksvc_container,
    of_kind,
    rendered,
)

SECRET_NAME = "huelights"

ALLOWED_POD_FIELDS = {
    "serviceAccountName", "containers", "volumes", "imagePullSecrets", "enableServiceLinks",
    "automountServiceAccountToken", "containerConcurrency", "timeoutSeconds",
    "responseStartTimeoutSeconds", "idleTimeoutSeconds",
}  # fmt: skip
ALLOWED_CONTAINER_FIELDS = {
    "name", "args", "command", "env", "envFrom", "workingDir", "image", "imagePullPolicy", "ports",
    "livenessProbe", "readinessProbe", "startupProbe", "resources", "securityContext",
    "terminationMessagePath", "terminationMessagePolicy", "volumeMounts",
}  # fmt: skip
RESERVED_ENV = {"PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"}
RESERVED_PORTS = {8012, 8013, 8022, 9090, 9091, 8008}


def containerfile_env() -> dict[str, str]:
    """ENV values of the Containerfile (the `ENV A=1 \\ B=2` form it uses)."""
    text = (ROOT / "Containerfile").read_text().replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            env.update(dict(re.findall(r"(\w+)=(\S+)", line)))
    return env


def scale_problems(service: Obj) -> list[str]:
    name = service["metadata"]["name"]
    problems = []
    if any(key.startswith("autoscaling.knative.dev/") for key in service["metadata"].get("annotations", {})):
        problems.append(f"{name}: autoscaling annotations on the Service (the webhook rejects them)")
    annotations = service["spec"]["template"].get("metadata", {}).get("annotations", {})
    if annotations.get("autoscaling.knative.dev/min-scale", "0") != "0":
        problems.append(f"{name}: min-scale keeps a pod running")
    if annotations.get("autoscaling.knative.dev/initial-scale", "0") not in ("0", "1"):
        problems.append(f"{name}: initial-scale")
    if annotations.get("autoscaling.knative.dev/max-scale") != "1":
        problems.append(f"{name}: max-scale must be 1")
    if service["spec"]["template"]["spec"].get("containerConcurrency") != 1:
        problems.append(f"{name}: containerConcurrency must be 1")
    return problems


def webhook_problems(service: Obj) -> list[str]:
    name = service["metadata"]["name"]
    pod = service["spec"]["template"]["spec"]
    problems = [f"{name}: pod field {key} not allowed" for key in sorted(set(pod) - ALLOWED_POD_FIELDS)]
    container = ksvc_container(service)
    problems += [f"{name}: container field {k}" for k in sorted(set(container) - ALLOWED_CONTAINER_FIELDS)]
    ports = container.get("ports", [])
    if len(ports) != 1 or ports[0].get("name") not in ("http1", "h2c", None):
        problems.append(f"{name}: exactly one port named http1 or h2c")
    problems += [f"{name}: reserved port {p['containerPort']}" for p in ports if p["containerPort"] in RESERVED_PORTS]
    problems += [f"{name}: reserved env {e['name']}" for e in container.get("env", []) if e["name"] in RESERVED_ENV]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        probe_port = container.get(probe, {}).get("httpGet", {}).get("port")
        if probe_port is not None and ports and probe_port not in (ports[0]["containerPort"], ports[0].get("name")):
            problems.append(f"{name}: {probe} port {probe_port} is not the container port")
    readiness = container.get("readinessProbe", {})
    if "periodSeconds" not in readiness and {"failureThreshold", "timeoutSeconds"} & set(readiness):
        problems.append(f"{name}: aggressive readiness probing takes no failureThreshold/timeoutSeconds")
    mounts = {m["name"] for m in container.get("volumeMounts", [])}
    problems += [f"{name}: volume {v['name']} not mounted" for v in pod.get("volumes", []) if v["name"] not in mounts]
    return problems


def hardening_problems(service: Obj) -> list[str]:
    name = service["metadata"]["name"]
    container = ksvc_container(service)
    context = container.get("securityContext", {})
    expected = {
        "runAsNonRoot": True,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    problems = [f"{name}: securityContext.{k} must be {v!r}" for k, v in expected.items() if context.get(k) != v]
    if context.get("privileged"):
        problems.append(f"{name}: privileged")
    resources = container.get("resources", {})
    if set(resources) != {"requests", "limits"} or "memory" not in resources.get("limits", {}):
        problems.append(f"{name}: resources need requests and a memory limit")
    if name in SCHEDULES and context.get("readOnlyRootFilesystem"):
        tmp = [m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
        volumes = {v["name"]: v for v in service["spec"]["template"]["spec"].get("volumes", [])}
        if not tmp or "emptyDir" not in volumes.get(tmp[0]["name"], {}):
            problems.append(f"{name}: read-only root filesystem needs an emptyDir on /tmp (gunicorn heartbeat)")
    return problems


def test_every_function_service_scales_to_zero_with_one_pod_and_one_request() -> None:
    services = function_services(rendered("knative"))
    assert sorted(s["metadata"]["name"] for s in services) == sorted(SCHEDULES)
    assert [p for s in services for p in scale_problems(s)] == []


def test_services_respect_the_knative_webhook_rules_and_are_hardened() -> None:
    for name in ("knative", "broker", "ca-bundle"):
        services = of_kind(rendered(name), "Service")
        assert services, f"{name}: no Services rendered"
        assert [p for s in services for p in webhook_problems(s) + hardening_problems(s)] == []


def test_services_are_cluster_local_and_probe_the_health_endpoints() -> None:
    services = of_kind(rendered("broker"), "Service")
    assert services
    for service in services:
        assert service["metadata"]["labels"]["networking.knative.dev/visibility"] == "cluster-local"
    for service in function_services(rendered("knative")):
        container = ksvc_container(service)
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/readiness"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/liveness"
        assert "periodSeconds" not in container["readinessProbe"]


def test_timeouts_nest_budget_inside_gunicorn_inside_knative() -> None:
    objects = rendered("knative")
    config = by_name(objects, "ConfigMap")["huelights-config"]["data"]
    budget = float(config.get("HUE_BUDGET_SECONDS", "25"))
    env = containerfile_env()
    hard_timeout = int(env["CLOUD_RUN_TIMEOUT_SECONDS"])
    assert env["THREADED_TIMEOUT_ENABLED"] == "true", "without it the timeout does not bound a request"
    assert (env["WORKERS"], env["THREADS"]) == ("1", "2")
    for service in function_services(objects):
        timeout = service["spec"]["template"]["spec"]["timeoutSeconds"]
        assert budget < hard_timeout < timeout <= 600, service["metadata"]["name"]


def test_services_read_config_and_secret_by_the_documented_names() -> None:
    objects = rendered("knative")
    config_maps = set(by_name(objects, "ConfigMap"))
    for service in function_services(objects):
        container = ksvc_container(service)
        assert container.get("envFrom"), f"{service['metadata']['name']} reads no ConfigMap"
        for source in container["envFrom"]:
            assert source["configMapRef"]["name"] in config_maps
        secret_refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container.get("env", []) if "valueFrom" in e}
        assert secret_refs["HUE_APP_KEY"]["name"] == SECRET_NAME
        assert not secret_refs["HUE_APP_KEY"].get("optional", False)
        token = secret_refs.get("TRIGGER_TOKEN")
        if service["metadata"]["name"] == "colorloop":
            assert token == {"name": SECRET_NAME, "key": "TRIGGER_TOKEN", "optional": True}
        else:
            assert token is None, "only colorloop is reachable through the Gateway"
    # The Secret is created by hand (never committed): the deploy docs must show the command.
    docs = (ROOT / "docs" / "deploy.md").read_text()
    assert f"create secret generic {SECRET_NAME}" in docs


def test_no_secret_or_credential_is_committed() -> None:
    config_maps = []
    for name in KUSTOMIZATIONS:
        objects = rendered(name)
        assert of_kind(objects, "Secret") == []
        config_maps += of_kind(objects, "ConfigMap")
    assert config_maps, "the check would see no ConfigMap at all"
    for config_map in config_maps:
        assert not {"HUE_APP_KEY", "TRIGGER_TOKEN"} & set(config_map.get("data", {}))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s["spec"]["template"]["metadata"]["annotations"].update({"autoscaling.knative.dev/min-scale": "1"}),
        lambda s: s["metadata"].setdefault("annotations", {}).update({"autoscaling.knative.dev/max-scale": "1"}),
        lambda s: s["spec"]["template"]["spec"].update({"containerConcurrency": 0}),
        lambda s: s["spec"]["template"]["spec"].update({"securityContext": {"runAsNonRoot": True}}),
        lambda s: s["spec"]["template"]["spec"]["containers"][0]["ports"][0].update({"name": "http"}),
        lambda s: s["spec"]["template"]["spec"]["containers"][0]["readinessProbe"].update({"failureThreshold": 3}),
        lambda s: s["spec"]["template"]["spec"]["containers"][0]["securityContext"]["capabilities"].update(
            {"drop": ["all"]}
        ),
        lambda s: s["spec"]["template"]["spec"].update({"volumes": []}),
        lambda s: s["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"].update({"port": 9000}),
    ],
    ids=[
        "min-scale",
        "annotation-on-service",
        "unlimited-concurrency",
        "pod-securityContext",
        "port-name",
        "aggressive-probe-threshold",
        "lowercase-all",
        "no-tmp-volume",
        "probe-port",
    ],
)
def test_service_checks_catch_broken_services(mutate: Callable[[Obj], None]) -> None:
    service = by_name(rendered("knative"), "Service")["colorloop"]
    mutate(service)
    assert scale_problems(service) + webhook_problems(service) + hardening_problems(service)
