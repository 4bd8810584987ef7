"""Every rendered manifest matches the schemas of its API, and the schema check rejects broken copies.

The schemas: the maintained kubernetes-models packages from the npm registry
(@kubernetes-models/knative: Knative Serving/Eventing Go API types of knative.dev v0.49 = Knative 1.22;
@kubernetes-models/gateway-api: Gateway API v1.5.1; kubernetes-models: core Kubernetes), checked with
their JSON-schema validators and, for unknown fields, with TypeScript against their interfaces
(tests/support/schema_models.py). The mutations below prove both halves reject what they should.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.manifests import KUSTOMIZATIONS, Obj, by_name, ns_of, rendered
from tests.support.schema_models import json_schema_errors, type_errors
from tests.support.schema_packages import schema_packages


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
    workdir = schema_packages().workdir
    items = {**_all_rendered_objects(), **_mutants()}
    json_errors = json_schema_errors(workdir, items)
    types = type_errors(workdir, items)
    return {key: json_errors.get(key, ["not validated"]) + types[key] for key in items}


def test_every_rendered_manifest_matches_its_schema(schema_errors: dict[str, list[str]]) -> None:
    good = {key: errors for key, errors in schema_errors.items() if not key.startswith("mutant:")}
    assert len(good) >= 20
    assert {key: errors for key, errors in good.items() if errors} == {}


@pytest.mark.parametrize("mutation", sorted(SCHEMA_MUTATIONS))
def test_schema_check_rejects_typos_and_wrong_types(schema_errors: dict[str, list[str]], mutation: str) -> None:
    assert schema_errors[f"mutant:{mutation}"], f"{mutation} passed the schema check"
