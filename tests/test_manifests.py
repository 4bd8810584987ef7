"""The deploy manifests (knative/, gateway/, functions/*/func.yaml) as a cluster would see them.

Rendering: `kubectl kustomize` when kubectl is on PATH (it is on the development machines and in CI);
otherwise the kustomization's plain resources are loaded with PyYAML so most checks still run, and the
checks that need kustomize's patches are skipped.

Schemas: the objects are validated with the maintained kubernetes-models packages from the npm registry
(@kubernetes-models/knative: Knative Serving/Eventing Go API types of knative.dev v0.49 = Knative 1.22;
@kubernetes-models/gateway-api: Gateway API v1.5.1; kubernetes-models: core Kubernetes), installed by
`npm ci` from tests/schema/package-lock.json into build/schema-validator/. Their JSON-schema validators
catch wrong types, enum values, patterns and limits but let unknown fields through, so every object is
also type-checked by TypeScript against the same packages' interfaces: a typo'd field is an excess
property there. The mutation tests below prove both halves reject what they should.

On top of the schemas: the Knative webhook rules a schema does not carry, and the cross-references
between objects (sinks, subscribers, route -> Gateway, route -> backend -> ReferenceGrant).
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
import re
import shutil
import subprocess
import tomllib
import zoneinfo
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cronsim import CronSim

from huelights.actions import COLORLOOP, LIGHTS_ON
from huelights.trigger import EXTERNAL_HEADER, OUTCOME_EVENT_TYPE

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_SOURCES = Path(__file__).resolve().parent / "schema"
SCHEMA_WORKDIR = ROOT / "build" / "schema-validator"

Obj = dict[str, Any]

NAMESPACE = "gohome"
TIMEZONE = "America/Toronto"
SCHEDULES = {"lights-off": "30 22 * * *", "lights-on": "30 5 * * *", "colorloop": "35 5 * * *"}
FUNCTION_SERVICES = {"lights_off": "lights-off", "lights_on": "lights-on", "colorloop": "colorloop"}
SECRET_NAME = "huelights"
PING_EVENT_TYPE = "dev.knative.sources.ping"
KOURIER = ("kourier-system", "kourier-internal", 80)
KOURIER_OPERATOR = ("knative-serving", "kourier-internal", 80)  # the Knative Operator's install
ISTIO = ("istio-system", "knative-local-gateway", 80)
# The user's own Gateway that gateway/components/existing-gateway attaches the route to.
EXISTING_GATEWAY: dict[str, Any] = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "Gateway",
    "metadata": {"name": "nginx-gateway", "namespace": "nginx-gateway"},
    "spec": {
        "gatewayClassName": "nginx",
        "listeners": [
            {"name": "http", "protocol": "HTTP", "port": 80, "allowedRoutes": {"namespaces": {"from": "All"}}}
        ],
    },
}

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

KUBECTL = shutil.which("kubectl")
NODE = shutil.which("node")
NPM = shutil.which("npm")
needs_kustomize = pytest.mark.skipif(KUBECTL is None, reason="kubectl not on PATH: overlays' patches need kustomize")


# ---------------------------------------------------------------------------------------------------
# Rendering


def _load_yaml_documents(path: Path) -> list[Obj]:
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
        objects.extend(_plain_resources(path) if path.is_dir() else _load_yaml_documents(path))
    namespace = kustomization.get("namespace")
    if namespace:
        for obj in objects:
            if obj["kind"] != "Namespace":
                obj.setdefault("metadata", {})["namespace"] = namespace
    return objects


_RENDERED: dict[str, list[Obj]] = {}


def rendered(name: str) -> list[Obj]:
    """The objects of one kustomization, rendered once per test session (callers get copies)."""
    if name not in _RENDERED:
        directory = KUSTOMIZATIONS[name]
        if KUBECTL:
            result = subprocess.run(
                [KUBECTL, "kustomize", str(directory)], capture_output=True, text=True, timeout=120, check=False
            )
            assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
            _RENDERED[name] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
        else:
            _RENDERED[name] = _plain_resources(directory)
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


def containerfile_env() -> dict[str, str]:
    """ENV values of the Containerfile (the `ENV A=1 \\ B=2` form it uses)."""
    text = (ROOT / "Containerfile").read_text().replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            env.update(dict(re.findall(r"(\w+)=(\S+)", line)))
    return env


# ---------------------------------------------------------------------------------------------------
# Schema validation (kubernetes-models from npm: JSON-schema validators + TypeScript interfaces)


def schema_module(api_version: str, kind: str) -> str:
    group, _, version = api_version.rpartition("/")
    if group == "":
        return f"kubernetes-models/{version}/{kind}"
    if group.endswith("knative.dev"):
        return f"@kubernetes-models/knative/{group}/{version}/{kind}"
    if group == "gateway.networking.k8s.io":
        return f"@kubernetes-models/gateway-api/{group}/{version}/{kind}"
    if "." not in group or group.endswith(".k8s.io"):
        return f"kubernetes-models/{group}/{version}/{kind}"
    raise AssertionError(f"no schema package known for {api_version} {kind}")


def _ensure_schema_packages() -> Path:
    """npm ci into build/schema-validator/ once per lock file (a hash marker says which one is there)."""
    if not (NODE and NPM):
        pytest.skip("node/npm not on PATH: schema validation needs the kubernetes-models packages")
    lock = (SCHEMA_SOURCES / "package-lock.json").read_bytes()
    digest = hashlib.sha256(lock + (SCHEMA_SOURCES / "package.json").read_bytes()).hexdigest()
    marker = SCHEMA_WORKDIR / ".installed"
    SCHEMA_WORKDIR.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json", "validate.mjs"):
        shutil.copyfile(SCHEMA_SOURCES / name, SCHEMA_WORKDIR / name)
    if not (marker.exists() and marker.read_text() == digest):
        result = subprocess.run(
            [NPM, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=SCHEMA_WORKDIR,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, f"npm ci for the schema packages failed:\n{result.stderr[-3000:]}"
        marker.write_text(digest)
    return SCHEMA_WORKDIR


def _json_schema_errors(workdir: Path, items: dict[str, Obj]) -> dict[str, list[str]]:
    payload = [
        {
            "id": key,
            "module": schema_module(obj["apiVersion"], obj["kind"]),
            "kind": obj["kind"],
            "object": obj,
        }
        for key, obj in items.items()
    ]
    (workdir / "input.json").write_text(json.dumps(payload))
    result = subprocess.run(
        [str(NODE), "validate.mjs", "input.json"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"validate.mjs failed:\n{result.stderr[-3000:]}"
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _type_errors(workdir: Path, items: dict[str, Obj]) -> dict[str, list[str]]:
    """One TypeScript file, one object per line, checked once: excess properties and wrong types."""
    keys = list(items)
    imports: dict[tuple[str, str], str] = {}
    lines: list[str] = []
    for key in keys:
        obj = items[key]
        module = schema_module(obj["apiVersion"], obj["kind"])
        alias = imports.setdefault((module, obj["kind"]), f"T{len(imports)}")
        lines.append(f"export const v{len(lines)}: {alias} = {json.dumps(obj)};")
    header = [f'import type {{ I{kind} as {alias} }} from "{module}";' for (module, kind), alias in imports.items()]
    (workdir / "check.ts").write_text("\n".join(header + lines) + "\n")
    tsconfig = {
        "compilerOptions": {
            "strict": True,
            "noEmit": True,
            "module": "nodenext",
            "moduleResolution": "nodenext",
            "target": "es2022",
            "skipLibCheck": True,
        },
        "files": ["check.ts"],
    }
    (workdir / "tsconfig.json").write_text(json.dumps(tsconfig))
    result = subprocess.run(
        [str(NODE), "node_modules/typescript/bin/tsc", "-p", "tsconfig.json", "--pretty", "false"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    errors: dict[str, list[str]] = {key: [] for key in keys}
    for line in result.stdout.splitlines():
        match = re.match(r"check\.ts\((\d+),\d+\): (error .*)", line)
        assert match, f"unexpected TypeScript output: {line}"
        index = int(match.group(1)) - 1 - len(header)
        assert 0 <= index < len(keys), f"TypeScript error outside the objects: {line}"
        errors[keys[index]].append(match.group(2))
    assert result.returncode in (0, 2), f"tsc failed to run:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
    return errors


# Bad variants of good objects: each must be rejected by the schema check.
def _field(path: str) -> Callable[[Obj], tuple[Obj, str]]:
    def at(obj: Obj) -> tuple[Obj, str]:
        *parents, last = path.split(".")
        node: Any = obj
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        return node, last

    return at


def _rename(path: str, new_name: str) -> Callable[[Obj], None]:
    def mutate(obj: Obj) -> None:
        parent, last = _field(path)(obj)
        parent[new_name] = parent.pop(last)

    return mutate


def _set(path: str, value: Any) -> Callable[[Obj], None]:
    def mutate(obj: Obj) -> None:
        parent, last = _field(path)(obj)
        parent[last] = value

    return mutate


def _set_annotation(key: str, value: Any) -> Callable[[Obj], None]:
    """Annotation keys contain dots, so they cannot be reached through a dotted path."""

    def mutate(obj: Obj) -> None:
        obj["spec"]["template"]["metadata"]["annotations"][key] = value

    return mutate


TEMPLATE = "spec.template.spec"
CONTAINER = f"{TEMPLATE}.containers.0"
SCHEMA_MUTATIONS: dict[str, tuple[str, str, str, Callable[[Obj], None]]] = {
    # id: (kustomization, kind, name, mutation)
    "ksvc-typo-containerConcurrency": (
        "knative",
        "Service",
        "colorloop",
        _rename(f"{TEMPLATE}.containerConcurrency", "containerConcurency"),
    ),
    "ksvc-string-containerConcurrency": (
        "knative",
        "Service",
        "colorloop",
        _set(f"{TEMPLATE}.containerConcurrency", "1"),
    ),
    "ksvc-typo-readinessProbe": (
        "knative",
        "Service",
        "lights-on",
        _rename(f"{CONTAINER}.readinessProbe", "readinesProbe"),
    ),
    "ksvc-typo-securityContext-field": (
        "knative",
        "Service",
        "lights-off",
        _rename(f"{CONTAINER}.securityContext.runAsNonRoot", "runAsNonRot"),
    ),
    "ksvc-string-readOnlyRootFilesystem": (
        "knative",
        "Service",
        "lights-off",
        _set(f"{CONTAINER}.securityContext.readOnlyRootFilesystem", "yes"),
    ),
    "ksvc-integer-annotation": (
        "knative",
        "Service",
        "lights-off",
        _set_annotation("autoscaling.knative.dev/max-scale", 1),
    ),
    "ksvc-string-port": ("knative", "Service", "colorloop", _set(f"{CONTAINER}.ports.0.containerPort", "8080")),
    "pingsource-typo-timezone": ("knative", "PingSource", "lights-off", _rename("spec.timezone", "timeZone")),
    "pingsource-integer-schedule": ("knative", "PingSource", "lights-on", _set("spec.schedule", 530)),
    "pingsource-typo-sink-ref": ("knative", "PingSource", "colorloop", _rename("spec.sink.ref", "reference")),
    "configmap-integer-value": ("knative", "ConfigMap", "huelights-config", _set("data.HUE_BUDGET_SECONDS", 25)),
    "ca-bundle-typo-configMap-optional": (
        "ca-bundle",
        "Service",
        "lights-on",
        _rename(f"{TEMPLATE}.volumes.1.configMap.optional", "optinal"),
    ),
    "ca-bundle-string-readOnly": (
        "ca-bundle",
        "Service",
        "colorloop",
        _set(f"{CONTAINER}.volumeMounts.1.readOnly", "yes"),
    ),
    "namespace-typo-metadata": ("knative", "Namespace", "gohome", _rename("metadata.name", "nmae")),
    "broker-typo-backoffPolicy": (
        "broker",
        "Broker",
        "huelights",
        _rename("spec.delivery.backoffPolicy", "backofPolicy"),
    ),
    "trigger-string-retry": ("broker", "Trigger", "lights-on", _set("spec.delivery.retry", "6")),
    "trigger-typo-subscriber": ("broker", "Trigger", "colorloop", _rename("spec.subscriber", "subscribr")),
    "httproute-typo-backendRefs": (
        "gateway-route",
        "HTTPRoute",
        "colorloop",
        _rename("spec.rules.0.backendRefs", "backendRef"),
    ),
    "httproute-string-port": ("gateway-route", "HTTPRoute", "colorloop", _set("spec.rules.0.backendRefs.0.port", "80")),
    "httproute-unknown-filter-type": (
        "gateway-route",
        "HTTPRoute",
        "colorloop",
        _set("spec.rules.0.filters.1.type", "URLRewrites"),
    ),
    "httproute-unknown-path-type": (
        "gateway-route",
        "HTTPRoute",
        "colorloop",
        _set("spec.rules.0.matches.0.path.type", "Prefix"),
    ),
    "httproute-redirect-status-not-a-redirect": (
        "gateway-route",
        "HTTPRoute",
        "colorloop-https-redirect",
        _set("spec.rules.0.filters.0.requestRedirect.statusCode", 200),
    ),
    "httproute-redirect-unknown-scheme": (
        "gateway-route",
        "HTTPRoute",
        "colorloop-https-redirect",
        _set("spec.rules.0.filters.0.requestRedirect.scheme", "tls"),
    ),
    "gateway-unknown-tls-mode": (
        "gateway-operator",
        "Gateway",
        "homelab",
        _set("spec.listeners.0.tls.mode", "Terminated"),
    ),
    "gateway-typo-certificateRefs": (
        "gateway-operator",
        "Gateway",
        "homelab",
        _rename("spec.listeners.0.tls.certificateRefs", "certificateRef"),
    ),
    "operator-route-typo-backendRefs": (
        "gateway-route-knative-operator",
        "HTTPRoute",
        "colorloop",
        _rename("spec.rules.0.backendRefs", "backendRef"),
    ),
    "existing-gateway-route-string-port": (
        "gateway-route-existing-gateway",
        "HTTPRoute",
        "colorloop",
        _set("spec.parentRefs.0.port", "80"),
    ),
    "gateway-typo-allowedRoutes": (
        "gateway-operator",
        "Gateway",
        "homelab",
        _rename("spec.listeners.0.allowedRoutes", "allowedRoute"),
    ),
    "gateway-unknown-selector-mode": (
        "gateway-operator",
        "Gateway",
        "homelab",
        _set("spec.listeners.0.allowedRoutes.namespaces.from", "Any"),
    ),
    "referencegrant-unknown-field": (
        "gateway-route",
        "ReferenceGrant",
        "gohome-httproutes-to-kourier-internal",
        _set("spec.to.0.namespace", "kourier-system"),
    ),
}


def _all_rendered_objects() -> dict[str, Obj]:
    items: dict[str, Obj] = {}
    for name in KUSTOMIZATIONS:
        for obj in rendered(name):
            key = f"{name}:{obj['apiVersion']}/{obj['kind']}/{ns_of(obj)}/{obj['metadata']['name']}"
            items[key] = obj
    return items


def _mutants() -> dict[str, Obj]:
    mutants: dict[str, Obj] = {}
    for key, (kustomization, kind, name, mutate) in SCHEMA_MUTATIONS.items():
        obj = copy.deepcopy(by_name(rendered(kustomization), kind)[name])
        mutate(obj)
        mutants[f"mutant:{key}"] = obj
    return mutants


@pytest.fixture(scope="module")
def schema_errors() -> dict[str, list[str]]:
    """Schema errors of every rendered object and every mutant, from one node run and one tsc run."""
    workdir = _ensure_schema_packages()
    items = {**_all_rendered_objects(), **_mutants()}
    json_errors = _json_schema_errors(workdir, items)
    type_errors = _type_errors(workdir, items)
    return {key: json_errors.get(key, ["not validated"]) + type_errors[key] for key in items}


def test_every_rendered_manifest_matches_its_schema(schema_errors: dict[str, list[str]]) -> None:
    good = {key: errors for key, errors in schema_errors.items() if not key.startswith("mutant:")}
    assert len(good) >= 20
    assert {key: errors for key, errors in good.items() if errors} == {}


@pytest.mark.parametrize("mutation", sorted(SCHEMA_MUTATIONS))
def test_schema_check_rejects_typos_and_wrong_types(schema_errors: dict[str, list[str]], mutation: str) -> None:
    assert schema_errors[f"mutant:{mutation}"], f"{mutation} passed the schema check"


# ---------------------------------------------------------------------------------------------------
# Knative Services: scale to zero, limits, webhook rules a schema does not carry

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
        assert [p for s in services for p in webhook_problems(s) + hardening_problems(s)] == []


def test_services_are_cluster_local_and_probe_the_health_endpoints() -> None:
    for service in of_kind(rendered("broker"), "Service"):
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
        for source in container.get("envFrom", []):
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
    for name in KUSTOMIZATIONS:
        objects = rendered(name)
        assert of_kind(objects, "Secret") == []
        for config_map in of_kind(objects, "ConfigMap"):
            assert not {"HUE_APP_KEY", "TRIGGER_TOKEN"} & set(config_map.get("data", {}))


def test_images_match_the_build_script_and_the_project_version() -> None:
    script = (ROOT / "scripts" / "build-images.sh").read_text()
    registry = re.search(r'REGISTRY="\$\{REGISTRY:-([^}]+)\}"', script)
    assert registry
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    functions = re.search(r"FUNCTIONS=\(([^)]*)\)", script)
    assert functions and functions.group(1).split() == list(FUNCTION_SERVICES)
    for service in function_services(rendered("knative")):
        name = service["metadata"]["name"]
        image = ksvc_container(service)["image"]
        if KUBECTL:
            assert image == f"{registry.group(1)}/{name}:{version}"
        else:
            assert image == f"huelights/{name}"
    user = re.search(r"^USER (\d+):(\d+)$", (ROOT / "Containerfile").read_text(), re.M)
    assert user
    for service in of_kind(rendered("knative"), "Service"):
        context = ksvc_container(service)["securityContext"]
        assert (context["runAsUser"], context["runAsGroup"]) == (int(user.group(1)), int(user.group(2)))


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


# ---------------------------------------------------------------------------------------------------
# PingSources: schedules, time zone, sinks


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


def test_pingsources_fire_at_the_agreed_local_times() -> None:
    objects = rendered("knative")
    assert schedule_problems(objects) == []
    for source in of_kind(objects, "PingSource"):
        zoneinfo.ZoneInfo(source["spec"]["timezone"])
        CronSim(source["spec"]["schedule"], datetime.datetime(2026, 3, 8))


def test_time_zone_and_schedules_are_written_in_one_place() -> None:
    """Changing the zone is one edit: it is spelled once, in the file that holds all three schedules."""
    manifests = [p for p in (ROOT / "knative").rglob("*.yaml")]
    holders = [p for p in manifests if TIMEZONE in p.read_text()]
    assert [p.relative_to(ROOT).as_posix() for p in holders] == ["knative/base/pingsources.yaml"]
    text = holders[0].read_text()
    assert text.count(TIMEZONE) == 1
    assert all(text.count(f'"{schedule}"') == 1 for schedule in SCHEDULES.values())
    # And a plain YAML reader (the local stack) sees the same values as kustomize.
    plain = _load_yaml_documents(holders[0])
    assert schedule_problems(plain) == []


def test_every_pingsource_sinks_to_its_own_function() -> None:
    objects = rendered("knative")
    assert sink_problems(objects) == []
    for source in of_kind(objects, "PingSource"):
        ref = source["spec"]["sink"]["ref"]
        assert (ref["kind"], ref["name"]) == ("Service", source["metadata"]["name"])
        assert ns_of(source) == NAMESPACE


@pytest.mark.parametrize(
    "mutate",
    [
        lambda o: by_name(o, "PingSource")["colorloop"]["spec"]["sink"]["ref"].update({"name": "color-loop"}),
        lambda o: by_name(o, "PingSource")["lights-on"]["spec"]["sink"]["ref"].update({"apiVersion": "v1"}),
        lambda o: by_name(o, "PingSource")["lights-off"]["spec"].update({"timezone": "Europe/Berlin"}),
        lambda o: by_name(o, "PingSource")["lights-off"]["spec"].update({"schedule": "30 10 * * *"}),
        lambda o: by_name(o, "PingSource")["lights-on"]["spec"].pop("contentType"),
    ],
    ids=["sink-name", "sink-api-version", "timezone", "schedule", "content-type"],
)
def test_pingsource_checks_catch_broken_sources(mutate: Callable[[list[Obj]], None]) -> None:
    objects = rendered("knative")
    mutate(objects)
    assert sink_problems(objects) + schedule_problems(objects)


# ---------------------------------------------------------------------------------------------------
# Broker overlay


@needs_kustomize
def test_broker_overlay_routes_every_tick_through_a_trigger_with_retries() -> None:
    base = rendered("knative")
    objects = rendered("broker")
    assert sink_problems(objects) == []
    assert schedule_problems(objects) == []
    brokers = by_name(objects, "Broker")
    triggers = of_kind(objects, "Trigger")
    services = by_name(objects, "Service")
    for source in of_kind(objects, "PingSource"):
        name = source["metadata"]["name"]
        assert source["spec"]["sink"]["ref"]["kind"] == "Broker"
        assert source["spec"]["sink"]["ref"]["name"] in brokers
        base_sink = by_name(base, "PingSource")[name]["spec"]["sink"]["ref"]["name"]
        mine = [
            t
            for t in triggers
            if t["spec"]["filter"]["attributes"].get("source")
            == f"/apis/v1/namespaces/{ns_of(source)}/pingsources/{name}"
        ]
        assert len(mine) == 1, f"one Trigger for PingSource {name}"
        trigger = mine[0]
        assert trigger["spec"]["subscriber"]["ref"]["name"] == base_sink
        delivery = trigger["spec"]["delivery"]
        assert delivery["retry"] >= 3
        assert delivery["backoffPolicy"] == "exponential"
        assert re.fullmatch(r"PT\d+(\.\d+)?S", delivery["backoffDelay"])
        assert "deadLetterSink" in delivery
        timeout = re.fullmatch(r"PT(\d+)S", delivery["timeout"])
        assert timeout
        assert int(timeout.group(1)) < services[base_sink]["spec"]["template"]["spec"]["timeoutSeconds"]


def _iso_seconds(text: str) -> float:
    match = re.fullmatch(r"PT(\d+(?:\.\d+)?)S", text)
    assert match, f"{text}: write seconds as PT<n>S"
    return float(match.group(1))


def worst_retry_window(delivery: Obj) -> float:
    """Seconds from a tick to its last attempt's end when every attempt fails as late as it can: each
    runs into the timeout, and the exponential waits are counted from 2^1 (a dispatcher counting from
    2^0 waits half as long)."""
    retries, delay = delivery["retry"], _iso_seconds(delivery["backoffDelay"])
    assert delivery["backoffPolicy"] == "exponential"
    return (retries + 1) * _iso_seconds(delivery["timeout"]) + sum(delay * 2**k for k in range(1, retries + 1))


def seconds_to_next_tick(objects: list[Obj], source: Obj) -> float:
    """From this PingSource's daily tick to the next tick of any other PingSource (all act on the lights)."""

    def minute_of_day(ping: Obj) -> int:
        minute, hour, *_ = ping["spec"]["schedule"].split()
        return int(hour) * 60 + int(minute)

    mine = minute_of_day(source)
    others = [minute_of_day(s) for s in of_kind(objects, "PingSource") if s is not source]
    return min((other - mine) % (24 * 60) or 24 * 60 for other in others) * 60.0


def retry_overlaps(objects: list[Obj]) -> list[str]:
    triggers = of_kind(objects, "Trigger")
    problems = []
    for source in of_kind(objects, "PingSource"):
        address = f"/apis/v1/namespaces/{ns_of(source)}/pingsources/{source['metadata']['name']}"
        for trigger in triggers:
            if trigger["spec"]["filter"]["attributes"].get("source") != address:
                continue
            window, gap = worst_retry_window(trigger["spec"]["delivery"]), seconds_to_next_tick(objects, source)
            if window >= gap:
                problems.append(
                    f"{trigger['metadata']['name']}: retries for up to {window:.0f} s, next tick in {gap:.0f} s"
                )
    return problems


@needs_kustomize
def test_a_failing_tick_gives_up_before_the_next_tick() -> None:
    objects = rendered("broker")
    assert retry_overlaps(objects) == []
    broker = by_name(objects, "Broker")["huelights"]["spec"]["delivery"]
    assert worst_retry_window(broker) < seconds_to_next_tick(objects, by_name(objects, "PingSource")["lights-on"])


@needs_kustomize
def test_retry_window_check_catches_the_old_numbers() -> None:
    """7 attempts of up to 50 s with waits of 2 ... 64 s kept a 05:30 tick alive past 05:35."""
    objects = rendered("broker")
    by_name(objects, "Trigger")["lights-on"]["spec"]["delivery"].update(retry=6, backoffDelay="PT2S", timeout="PT50S")
    assert retry_overlaps(objects) == ["lights-on: retries for up to 602 s, next tick in 300 s"]


def test_a_late_lights_on_cannot_undo_a_colorloop() -> None:
    """Even a lights-on attempt that lands after the colorloop changes nothing the colorloop set: it sends
    only `on: true`, which the colorloop sent too, and a Hue light keeps its effect until told otherwise."""
    shared = set(LIGHTS_ON.command) & set(COLORLOOP.command)
    assert set(LIGHTS_ON.command) == shared == {"on"}
    assert all(LIGHTS_ON.command[key] == COLORLOOP.command[key] for key in shared)


@needs_kustomize
def test_function_replies_never_match_a_trigger() -> None:
    """A function answers a CloudEvent with an outcome event that the Broker takes back in."""
    for trigger in of_kind(rendered("broker"), "Trigger"):
        attributes = trigger["spec"]["filter"]["attributes"]
        assert attributes["type"] == PING_EVENT_TYPE
        assert attributes["type"] != OUTCOME_EVENT_TYPE


@needs_kustomize
def test_broker_checks_catch_a_dangling_dead_letter_sink() -> None:
    objects = rendered("broker")
    by_name(objects, "Trigger")["lights-on"]["spec"]["delivery"]["deadLetterSink"]["ref"]["name"] = "nowhere"
    by_name(objects, "Trigger")["colorloop"]["spec"]["broker"] = "default"
    assert len(sink_problems(objects)) == 2


# ---------------------------------------------------------------------------------------------------
# Gateway: route -> Gateway, route -> Knative ingress -> ReferenceGrant


def route_problems(
    gateways: list[Obj],
    route_objects: list[Obj],
    services: list[Obj],
    ingress: tuple[str, str, int],
    hostnames: tuple[str, ...] = ("colorloop.lab",),
    plain_http: bool = False,
) -> list[str]:
    """What keeps the colorloop route from working (or from being safe) on these Gateways.

    plain_http admits a route on an HTTP listener (someone else's Gateway that has no HTTPS listener);
    ours carries the bearer token over HTTPS only.
    """
    problems: list[str] = []
    routes = [r for r in of_kind(route_objects, "HTTPRoute") if r["metadata"]["name"] == "colorloop"]
    grants = of_kind(route_objects, "ReferenceGrant")
    if len(routes) != 1:
        return [f"{len(routes)} HTTPRoutes named colorloop"]
    route = routes[0]
    route_ns = ns_of(route)
    spec = route["spec"]
    for parent in spec["parentRefs"]:
        admitting = _admitting_listeners(gateways, parent, route_ns, spec.get("hostnames", []))
        if admitting is None:
            problems.append(f"parentRef {parent} names no Gateway")
        elif not admitting:
            problems.append(f"no listener of {parent.get('namespace')}/{parent['name']} admits the route")
        elif not plain_http and any(ln["protocol"] != "HTTPS" for ln in admitting):
            problems.append(f"the route attaches to a plain-HTTP listener of {parent['name']}: the token goes in clear")
    if tuple(spec.get("hostnames", [])) != hostnames:
        problems.append(f"hostnames {spec.get('hostnames')}")
    # Knative's ingress serves a cluster-local ksvc as <name>.<ns>.svc on any cluster; the name with the
    # cluster domain (svc.cluster.local) fails on clusters with another DNS domain.
    local_services = {
        f"{s['metadata']['name']}.{ns_of(s)}.svc"
        for s in services
        if s["metadata"].get("labels", {}).get("networking.knative.dev/visibility") == "cluster-local"
    }
    for rule in spec["rules"]:
        matches = rule.get("matches", [])
        if matches != [{"path": {"type": "PathPrefix", "value": "/colorloop"}, "method": "POST"}]:
            problems.append(f"matches {matches}")
        filters = {f["type"]: f for f in rule.get("filters", [])}
        rewrite = filters.get("URLRewrite", {}).get("urlRewrite", {})
        if rewrite.get("hostname") != "colorloop.gohome.svc" or rewrite["hostname"] not in local_services:
            problems.append(f"Host rewrite {rewrite.get('hostname')} is not the cluster-local colorloop Service")
        if rewrite.get("path") != {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}:
            problems.append(f"path rewrite {rewrite.get('path')}")
        header_set = filters.get("RequestHeaderModifier", {}).get("requestHeaderModifier", {}).get("set", [])
        if EXTERNAL_HEADER.lower() not in {h["name"].lower() for h in header_set}:
            problems.append(f"the route does not set {EXTERNAL_HEADER}")
        for backend in rule.get("backendRefs", []):
            target = (backend.get("namespace", route_ns), backend["name"], backend.get("port"))
            if backend.get("kind", "Service") != "Service" or backend.get("group", "") != "" or target != ingress:
                problems.append(f"backend {target} is not Knative's internal ingress {ingress}")
            if target[0] != route_ns and not any(_grants(g, route_ns, target) for g in grants):
                problems.append(f"no ReferenceGrant in {target[0]} lets {route_ns} HTTPRoutes reach {target[1]}")
    return problems


def redirect_problems(gateways: list[Obj], route_objects: list[Obj]) -> list[str]:
    """Plain HTTP for the route's hostnames only redirects to HTTPS, and nothing is forwarded from it."""
    routes = by_name(of_kind(route_objects, "HTTPRoute"), "HTTPRoute")
    redirect, main = routes.get("colorloop-https-redirect"), routes.get("colorloop")
    if redirect is None or main is None:
        return ["no colorloop-https-redirect route beside colorloop"]
    problems = []
    spec = redirect["spec"]
    if spec.get("hostnames") != main["spec"].get("hostnames"):
        problems.append(f"redirect hostnames {spec.get('hostnames')} differ from the route's")
    for parent in spec["parentRefs"]:
        admitting = _admitting_listeners(gateways, parent, ns_of(redirect), spec.get("hostnames", []))
        if not admitting or any(ln["protocol"] != "HTTP" for ln in admitting):
            problems.append(f"the redirect is not on a plain-HTTP listener of {parent['name']}")
    for rule in spec["rules"]:
        if rule.get("backendRefs"):
            problems.append("the redirect route forwards requests")
        redirects = [f["requestRedirect"] for f in rule.get("filters", []) if f["type"] == "RequestRedirect"]
        if [r.get("scheme") for r in redirects] != ["https"]:
            problems.append(f"redirect {redirects} is not to https")
    for gateway in gateways:
        for listener in gateway["spec"]["listeners"]:
            refs = listener.get("tls", {}).get("certificateRefs", [])
            if listener["protocol"] == "HTTPS" and (
                listener["tls"].get("mode", "Terminate") != "Terminate" or not refs
            ):
                problems.append(f"HTTPS listener {listener['name']} terminates no TLS with a certificate Secret")
    return problems


def _admitting_listeners(gateways: list[Obj], parent: Obj, route_ns: str, hostnames: list[str]) -> list[Obj] | None:
    gateway = next(
        (
            g
            for g in gateways
            if g["metadata"]["name"] == parent["name"] and ns_of(g) == parent.get("namespace", route_ns)
        ),
        None,
    )
    if gateway is None:
        return None
    listeners = [ln for ln in gateway["spec"]["listeners"] if parent.get("sectionName") in (None, ln["name"])]
    return [ln for ln in listeners if _admits(ln, route_ns, ns_of(gateway), hostnames)]


def _admits(listener: Obj, route_ns: str, gateway_ns: str, hostnames: list[str]) -> bool:
    allowed = listener.get("allowedRoutes", {})
    kinds = allowed.get("kinds")
    if kinds and not any(k["kind"] == "HTTPRoute" for k in kinds):
        return False
    namespaces = allowed.get("namespaces", {"from": "Same"})
    mode = namespaces.get("from", "Same")
    if mode == "Same" and route_ns != gateway_ns:
        return False
    if mode == "Selector":
        selector = namespaces.get("selector", {})
        labels = {"kubernetes.io/metadata.name": route_ns}
        if selector.get("matchExpressions") or not selector.get("matchLabels"):
            return False
        if any(labels.get(key) != value for key, value in selector["matchLabels"].items()):
            return False
    pattern = listener.get("hostname")
    if pattern:
        suffix = pattern[1:] if pattern.startswith("*.") else None
        if not any(h == pattern or (suffix and h.endswith(suffix)) for h in hostnames):
            return False
    return listener.get("protocol") in ("HTTP", "HTTPS")


def _grants(grant: Obj, route_ns: str, target: tuple[str, str, int]) -> bool:
    namespace, name, _ = target
    if ns_of(grant) != namespace:
        return False
    sources = grant["spec"]["from"]
    if not any(
        f["group"] == "gateway.networking.k8s.io" and f["kind"] == "HTTPRoute" and f["namespace"] == route_ns
        for f in sources
    ):
        return False
    return any(t["group"] == "" and t["kind"] == "Service" and t.get("name", name) == name for t in grant["spec"]["to"])


def test_route_reaches_colorloop_through_kourier_with_a_matching_grant() -> None:
    assert (
        route_problems(
            rendered("gateway-operator"), rendered("gateway-route"), of_kind(rendered("knative"), "Service"), KOURIER
        )
        == []
    )


def test_plain_http_only_redirects_to_https() -> None:
    assert redirect_problems(rendered("gateway-operator"), rendered("gateway-route")) == []


@needs_kustomize
def test_knative_operator_variant_routes_to_kourier_in_knative_serving() -> None:
    objects = rendered("gateway-route-knative-operator")
    services = of_kind(rendered("knative"), "Service")
    assert route_problems(rendered("gateway-operator"), objects, services, KOURIER_OPERATOR) == []
    assert [ns_of(g) for g in of_kind(objects, "ReferenceGrant")] == ["knative-serving"]
    assert redirect_problems(rendered("gateway-operator"), objects) == []


@needs_kustomize
def test_existing_gateway_component_attaches_the_route_under_its_hostname() -> None:
    objects = rendered("gateway-route-existing-gateway")
    services = of_kind(rendered("knative"), "Service")
    problems = route_problems([EXISTING_GATEWAY], objects, services, KOURIER, ("colorlooper.lab",), plain_http=True)
    assert problems == []
    assert [r["metadata"]["name"] for r in of_kind(objects, "HTTPRoute")] == ["colorloop"], "no redirect route"
    # On that HTTP-only listener our own check flags the token in clear: the docs say so too.
    assert route_problems([EXISTING_GATEWAY], objects, services, KOURIER, ("colorlooper.lab",))
    # Only the component is needed: the kustomization using it adds nothing of its own.
    kustomization = yaml.safe_load(
        (KUSTOMIZATIONS["gateway-route-existing-gateway"] / "kustomization.yaml").read_text()
    )
    assert set(kustomization) == {"apiVersion", "kind", "resources", "components"}


@needs_kustomize
def test_istio_variant_routes_to_knative_local_gateway() -> None:
    objects = rendered("gateway-route-istio")
    assert route_problems(rendered("gateway-operator"), objects, of_kind(rendered("knative"), "Service"), ISTIO) == []
    assert [ns_of(g) for g in of_kind(objects, "ReferenceGrant")] == ["istio-system"]


def test_route_kustomizations_do_not_move_the_grant() -> None:
    for name in [n for n in KUSTOMIZATIONS if n.startswith("gateway-")]:
        kustomization = yaml.safe_load((KUSTOMIZATIONS[name] / "kustomization.yaml").read_text())
        assert "namespace" not in kustomization, f"{name}: a top-level namespace would rewrite the ReferenceGrant"


def _route_mutations() -> Iterator[tuple[str, Callable[[list[Obj], list[Obj]], None]]]:
    def route(objects: list[Obj]) -> Obj:
        return of_kind(objects, "HTTPRoute")[0]

    yield (
        "grant-moved-to-app-namespace",
        lambda g, r: of_kind(r, "ReferenceGrant")[0]["metadata"].update({"namespace": NAMESPACE}),
    )
    yield (
        "grant-for-other-service",
        lambda g, r: of_kind(r, "ReferenceGrant")[0]["spec"]["to"][0].update({"name": "kourier"}),
    )
    yield (
        "backend-external-kourier",
        lambda g, r: route(r)["spec"]["rules"][0]["backendRefs"][0].update({"name": "kourier"}),
    )
    yield (
        "backend-revision-private",
        lambda g, r: route(r)["spec"]["rules"][0]["backendRefs"][0].update(
            {"name": "colorloop-00001-private", "namespace": NAMESPACE}
        ),
    )
    yield (
        "host-rewrite-wrong-service",
        lambda g, r: route(r)["spec"]["rules"][0]["filters"][1]["urlRewrite"].update(
            {"hostname": "colour-loop.gohome.svc"}
        ),
    )
    yield (
        "host-rewrite-with-cluster-domain",
        lambda g, r: route(r)["spec"]["rules"][0]["filters"][1]["urlRewrite"].update(
            {"hostname": "colorloop.gohome.svc.cluster.local"}
        ),
    )
    yield "no-path-rewrite", lambda g, r: route(r)["spec"]["rules"][0]["filters"][1]["urlRewrite"].pop("path")
    yield "no-external-header", lambda g, r: route(r)["spec"]["rules"][0]["filters"].pop(0)
    yield (
        "gateway-admits-other-namespace",
        lambda g, r: g[0]["spec"]["listeners"][0]["allowedRoutes"]["namespaces"]["selector"]["matchLabels"].update(
            {"kubernetes.io/metadata.name": "default"}
        ),
    )
    yield "gateway-default-same-namespace", lambda g, r: g[0]["spec"]["listeners"][0].pop("allowedRoutes")
    yield "gateway-other-hostname", lambda g, r: g[0]["spec"]["listeners"][0].update({"hostname": "*.home"})
    yield "parent-wrong-gateway", lambda g, r: route(r)["spec"]["parentRefs"][0].update({"name": "nginx"})
    yield "parent-wrong-section", lambda g, r: route(r)["spec"]["parentRefs"][0].update({"sectionName": "admin"})
    yield "parent-plain-http", lambda g, r: route(r)["spec"]["parentRefs"][0].update({"sectionName": "http"})
    yield "parent-any-listener", lambda g, r: route(r)["spec"]["parentRefs"][0].pop("sectionName")


def _redirect_mutations() -> Iterator[tuple[str, Callable[[list[Obj], list[Obj]], None]]]:
    def redirect(objects: list[Obj]) -> Obj:
        return by_name(objects, "HTTPRoute")["colorloop-https-redirect"]

    yield "redirect-missing", lambda g, r: r.remove(redirect(r))
    yield (
        "redirect-to-http",
        lambda g, r: redirect(r)["spec"]["rules"][0]["filters"][0]["requestRedirect"].update({"scheme": "http"}),
    )
    yield (
        "redirect-forwards",
        lambda g, r: redirect(r)["spec"]["rules"][0].update(
            {"backendRefs": [{"name": "kourier-internal", "namespace": "kourier-system", "port": 80}]}
        ),
    )
    yield "redirect-on-https", lambda g, r: redirect(r)["spec"]["parentRefs"][0].update({"sectionName": "https"})
    yield "redirect-other-host", lambda g, r: redirect(r)["spec"].update({"hostnames": ["other.lab"]})
    yield "https-without-certificate", lambda g, r: g[0]["spec"]["listeners"][0]["tls"].pop("certificateRefs")


@pytest.mark.parametrize(
    ("label", "mutate"), list(_redirect_mutations()), ids=[label for label, _ in _redirect_mutations()]
)
def test_redirect_checks_catch_broken_redirects(label: str, mutate: Callable[[list[Obj], list[Obj]], None]) -> None:
    gateways, route_objects = rendered("gateway-operator"), rendered("gateway-route")
    mutate(gateways, route_objects)
    assert redirect_problems(gateways, route_objects), label


@pytest.mark.parametrize(("label", "mutate"), list(_route_mutations()), ids=[label for label, _ in _route_mutations()])
def test_route_checks_catch_broken_references(label: str, mutate: Callable[[list[Obj], list[Obj]], None]) -> None:
    gateways, route_objects = rendered("gateway-operator"), rendered("gateway-route")
    mutate(gateways, route_objects)
    assert route_problems(gateways, route_objects, of_kind(rendered("knative"), "Service"), KOURIER), label


# ---------------------------------------------------------------------------------------------------
# func.yaml


@pytest.mark.parametrize("function", sorted(FUNCTION_SERVICES))
def test_func_yaml_lets_func_invoke_find_the_function(function: str) -> None:
    folder = ROOT / "functions" / function
    assert (folder / "main.py").is_file()
    meta = yaml.safe_load((folder / "func.yaml").read_text())
    assert set(meta) <= {
        "specVersion", "name", "runtime", "registry", "image", "namespace", "domain", "created", "invoke",
        "build", "run", "deploy", "deployer",
    }  # fmt: skip
    assert meta["specVersion"] == "0.36.0"
    assert meta["created"], "func treats a function without `created` as missing"
    assert meta["name"] == FUNCTION_SERVICES[function]
    assert meta["invoke"] in ("http", "cloudevent")
    assert meta["deploy"]["namespace"] == NAMESPACE
    service = by_name(rendered("knative"), "Service")[meta["name"]]
    container = ksvc_container(service)
    assert meta["deploy"]["healthEndpoints"] == {
        "liveness": container["livenessProbe"]["httpGet"]["path"],
        "readiness": container["readinessProbe"]["httpGet"]["path"],
    }
    scale = meta["deploy"]["options"]["scale"]
    assert (scale["min"], scale["max"]) == (0, 1)


def test_every_function_folder_is_deployed() -> None:
    folders = sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "main.py").exists())
    assert folders == sorted(FUNCTION_SERVICES)


# ---------------------------------------------------------------------------------------------------
# HTTPS to the bridge: nothing to add for a current bridge; a CA bundle component for an older one

CA_BUNDLE_CONFIGMAP = "huelights-ca-bundle"


def ca_bundle_problems(service: Obj) -> list[str]:
    """The function reads HUE_CA_BUNDLE from a read-only mount of the ConfigMap key the docs create (ca.pem)."""
    name = service["metadata"]["name"]
    container = ksvc_container(service)
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    volumes = {v["name"]: v for v in service["spec"]["template"]["spec"].get("volumes", [])}
    sources = {
        n: v["configMap"] for n, v in volumes.items() if v.get("configMap", {}).get("name") == CA_BUNDLE_CONFIGMAP
    }
    mounts = [m for m in container.get("volumeMounts", []) if m["name"] in sources]
    if len(mounts) != 1:
        return [f"{name}: {len(mounts)} mounts of the ConfigMap {CA_BUNDLE_CONFIGMAP}"]
    mount = mounts[0]
    problems = []
    if env.get("HUE_CA_BUNDLE") != f"{mount['mountPath']}/ca.pem":
        problems.append(f"{name}: HUE_CA_BUNDLE={env.get('HUE_CA_BUNDLE')} is not ca.pem in {mount['mountPath']}")
    if not mount.get("readOnly"):
        problems.append(f"{name}: the CA bundle mount is writable")
    if mount["mountPath"] in ("/tmp", "/app") or mount["mountPath"].startswith(("/tmp/", "/app/")):
        problems.append(f"{name}: the CA bundle hides or shares another mount at {mount['mountPath']}")
    if not sources[mount["name"]].get("optional"):
        problems.append(f"{name}: a missing ConfigMap should end in the function's one-line HUE_CA_BUNDLE error")
    return problems


def test_the_base_talks_https_with_signifys_roots_and_needs_no_ca_bundle() -> None:
    from huelights.config import load_settings

    objects = rendered("knative")
    data = by_name(objects, "ConfigMap")["huelights-config"]["data"]
    settings = load_settings({**data, "HUE_APP_KEY": "placeholder-key"})
    assert settings.bridge_url.startswith("https://")
    assert (settings.ca_bundle, settings.bridge_id) == (None, None), "an empty HUE_BRIDGE_ID is confirmed at start"
    for service in function_services(objects):
        assert "HUE_CA_BUNDLE" not in {e["name"] for e in ksvc_container(service).get("env", [])}


@needs_kustomize
def test_the_ca_bundle_overlay_mounts_the_configmap_into_every_function_and_changes_nothing_else() -> None:
    base = by_name(rendered("knative"), "Service")
    services = function_services(rendered("ca-bundle"))
    assert [p for s in services for p in ca_bundle_problems(s)] == []
    for service in services:
        stripped = copy.deepcopy(service)
        pod = stripped["spec"]["template"]["spec"]
        pod["volumes"] = [v for v in pod["volumes"] if "configMap" not in v]
        container = ksvc_container(stripped)
        container["volumeMounts"] = [m for m in container["volumeMounts"] if m["name"] != "ca-bundle"]
        container["env"] = [e for e in container["env"] if e["name"] != "HUE_CA_BUNDLE"]
        assert stripped == base[service["metadata"]["name"]]
    docs = (ROOT / "knative" / "components" / "ca-bundle" / "kustomization.yaml").read_text()
    assert f"create configmap {CA_BUNDLE_CONFIGMAP} --from-file=ca.pem=" in docs


@needs_kustomize
def test_the_ca_bundle_component_also_composes_with_the_broker_overlay() -> None:
    folder = ROOT / "build" / "ca-bundle-with-broker"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources:\n  - ../../knative/overlays/broker\ncomponents:\n  - ../../knative/components/ca-bundle\n"
    )
    assert KUBECTL
    result = subprocess.run(
        [KUBECTL, "kustomize", str(folder)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    objects = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert sink_problems(objects) == []
    assert [p for s in function_services(objects) for p in ca_bundle_problems(s)] == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: ksvc_container(s)["env"].pop(),
        lambda s: ksvc_container(s)["volumeMounts"][1].update({"readOnly": False}),
        lambda s: s["spec"]["template"]["spec"]["volumes"][1]["configMap"].update({"name": "ca-bundle"}),
        lambda s: ksvc_container(s)["env"][-1].update({"value": "/etc/huelights/ca/bundle.pem"}),
    ],
    ids=["no-env", "writable", "other-configmap", "other-key"],
)
@needs_kustomize
def test_ca_bundle_checks_catch_a_broken_mount(mutate: Callable[[Obj], None]) -> None:
    service = by_name(rendered("ca-bundle"), "Service")["lights-off"]
    mutate(service)
    assert ca_bundle_problems(service)
