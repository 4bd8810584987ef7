"""The route to colorloop: route -> Gateway listener, route -> Knative's internal ingress -> ReferenceGrant,
plain HTTP only redirecting, a certificate that verifies the host, one place for the host, for every route
variant; each rule shown to catch a broken copy."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.gateway_rules import (
    HOST_MATCH_CASES,
    certificate_problems,
    name_verifies,
    redirect_problems,
    route_problems,
    shim_certificates,
)
from tests.support.manifests import (
    KUSTOMIZATIONS,
    NAMESPACE,
    ROOT,
    ROUTE_HOST,
    Obj,
    by_name,
    kustomize,
    load_yaml_documents,
    needs_kustomize,
    ns_of,
    of_kind,
    rendered,
)

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
    names = [n for n in KUSTOMIZATIONS if n.startswith("gateway-")]
    assert names
    for name in names:
        kustomization = yaml.safe_load((KUSTOMIZATIONS[name] / "kustomization.yaml").read_text())
        assert "namespace" not in kustomization, f"{name}: a top-level namespace would rewrite the ReferenceGrant"


def test_the_certificate_names_the_route_host_exactly_and_verifies_it() -> None:
    """cert-manager copies the HTTPS listener's hostname into the certificate: `*.lab` would verify nothing."""
    gateways = rendered("gateway-operator")
    assert shim_certificates(by_name(gateways, "Gateway")["homelab"]) == {"homelab-lab-tls": [ROUTE_HOST]}
    assert certificate_problems(gateways, rendered("gateway-route")) == []


@pytest.mark.parametrize(("name", "host", "verifies"), HOST_MATCH_CASES)
def test_certificate_names_match_hosts_as_openssl_does(name: str, host: str, verifies: bool) -> None:
    """The same table runs against real OpenSSL and curl in tests/integration/test_gateway_certificate.py."""
    assert name_verifies(name, host) is verifies


def _listener(gateways: list[Obj], name: str) -> Obj:
    return next(ln for ln in gateways[0]["spec"]["listeners"] if ln["name"] == name)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda g, r: _listener(g, "https").update({"hostname": "*.lab"}),
        lambda g, r: _listener(g, "https").pop("hostname"),
        lambda g, r: _listener(g, "https")["tls"]["certificateRefs"][0].update({"namespace": "cert-manager"}),
        lambda g, r: (
            _listener(g, "https").update({"hostname": "*.home.lab"}),
            by_name(r, "HTTPRoute")["colorloop"]["spec"].update({"hostnames": ["colorloop.x.home.lab"]}),
        ),
    ],
    ids=["wildcard-one-label", "no-hostname", "secret-elsewhere", "wildcard-two-labels-deep"],
)
def test_certificate_checks_catch_a_certificate_that_verifies_nothing(
    mutate: Callable[[list[Obj], list[Obj]], None],
) -> None:
    gateways, route_objects = rendered("gateway-operator"), rendered("gateway-route")
    mutate(gateways, route_objects)
    assert certificate_problems(gateways, route_objects)


@needs_kustomize
def test_one_place_sets_the_host_of_the_listeners_the_certificate_and_every_route(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "gateway", tmp_path / "gateway")
    component = tmp_path / "gateway" / "components" / "host" / "kustomization.yaml"
    text = component.read_text()
    assert text.count(f"host={ROUTE_HOST}") == 1
    component.write_text(text.replace(f"host={ROUTE_HOST}", "host=lights.home.arpa"))
    gateways = kustomize(tmp_path / "gateway" / "operator")
    listeners = by_name(gateways, "Gateway")["homelab"]["spec"]["listeners"]
    assert {ln["name"]: ln["hostname"] for ln in listeners} == {"https": "lights.home.arpa", "http": "lights.home.arpa"}
    assert shim_certificates(by_name(gateways, "Gateway")["homelab"]) == {"homelab-lab-tls": ["lights.home.arpa"]}
    services = of_kind(rendered("knative"), "Service")
    for variant, ingress in (("route", KOURIER), ("route-knative-operator", KOURIER_OPERATOR), ("route-istio", ISTIO)):
        route_objects = kustomize(tmp_path / "gateway" / variant)
        assert route_problems(gateways, route_objects, services, ingress, ("lights.home.arpa",)) == [], variant
        assert redirect_problems(gateways, route_objects) == [], variant
        assert certificate_problems(gateways, route_objects) == [], variant


def test_the_local_stack_reads_the_host_the_cluster_gets() -> None:
    """make run reads gateway/route/*.yaml without kustomize: as shipped, their literal is the component's host."""
    component = yaml.safe_load((ROOT / "gateway" / "components" / "host" / "kustomization.yaml").read_text())
    assert component["configMapGenerator"][0]["literals"] == [f"host={ROUTE_HOST}"]
    routes = [
        obj
        for name in ("httproute", "redirect")
        for obj in load_yaml_documents(ROOT / "gateway" / "route" / f"{name}.yaml")
    ]
    assert [route["spec"]["hostnames"] for route in routes] == [[ROUTE_HOST], [ROUTE_HOST]]
    (gateway,) = load_yaml_documents(ROOT / "gateway" / "operator" / "gateway.yaml")
    assert {listener["hostname"] for listener in gateway["spec"]["listeners"]} == {ROUTE_HOST}


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
