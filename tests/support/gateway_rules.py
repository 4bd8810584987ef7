"""A Gateway API rule engine for the colorloop route: what would keep it from working, or from being safe.

Implemented from the Gateway API spec (HTTPRoute v1, ReferenceGrant, Listener.allowedRoutes and
hostname matching), Knative's networking (a cluster-local ksvc is served by the internal ingress under
`<name>.<namespace>.svc`) and, for the HTTPS listener's certificate, cert-manager's gateway-shim
(pkg/controller/certificate-shim: one Certificate per referenced Secret, dnsNames = the hostnames of the
Terminate listeners naming it, no commonName) and OpenSSL's host check (crypto/x509/v3_utl.c, which
curl's and Python's checks agree with: `*` matches one label, and only with at least two labels after
it). Each `*_problems` function returns a list of problems, empty when all is well.
"""

from __future__ import annotations

from huelights.trigger import EXTERNAL_HEADER
from tests.support.manifests import ROUTE_HOST, Obj, by_name, ns_of, of_kind


def route_problems(
    gateways: list[Obj],
    route_objects: list[Obj],
    services: list[Obj],
    ingress: tuple[str, str, int],
    hostnames: tuple[str, ...] = (ROUTE_HOST,),
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


# (certificate DNS name, host, verifies): what name_verifies models, run against real OpenSSL and curl by
# tests/integration/test_gateway_certificate.py.
HOST_MATCH_CASES = [
    ("colorloop.lab", "colorloop.lab", True),
    ("Colorloop.LAB", "colorloop.lab", True),
    ("*.lab", "colorloop.lab", False),  # one label after the star: a literal name to OpenSSL
    ("*.home.lab", "colorloop.home.lab", True),
    ("*.home.lab", "a.colorloop.home.lab", False),  # the star stands for one label only
    ("*.home.lab", "home.lab", False),
    ("colorloop.lab", "other.lab", False),
]


def shim_certificates(gateway: Obj) -> dict[str, list[str]]:
    """The Certificates cert-manager's gateway-shim makes for an annotated Gateway: Secret name -> dnsNames.

    Only HTTPS/TLS listeners in Terminate mode with a hostname and a Secret of the Gateway's own
    namespace count; each Secret gets the de-duplicated hostnames of the listeners that name it.
    """
    certificates: dict[str, list[str]] = {}
    for listener in gateway["spec"]["listeners"]:
        tls = listener.get("tls", {})
        hostname = listener.get("hostname")
        if listener["protocol"] not in ("HTTPS", "TLS") or tls.get("mode", "Terminate") != "Terminate":
            continue
        for ref in tls.get("certificateRefs", []) if hostname else []:
            own_secret = ref.get("group", "") == "" and ref.get("kind", "Secret") == "Secret"
            if own_secret and ref.get("namespace", ns_of(gateway)) == ns_of(gateway):
                names = certificates.setdefault(ref["name"], [])
                names += [] if hostname in names else [hostname]
    return certificates


def one_label_wildcard(name: str) -> bool:
    """`*.lab`: a wildcard with one label after the star, which OpenSSL compares as a literal name."""
    return name.startswith("*.") and "." not in name[2:].rstrip(".")


def name_verifies(name: str, host: str) -> bool:
    """Whether a certificate's DNS name verifies `host` for OpenSSL, curl and Python's ssl: the same name,
    or `*.` before at least two labels standing for exactly one label of the host."""
    name, host = name.lower().rstrip("."), host.lower().rstrip(".")
    if not name.startswith("*."):
        return name == host
    first, _, rest = host.partition(".")
    return not one_label_wildcard(name) and bool(first) and rest == name[2:]


def certificate_problems(gateways: list[Obj], route_objects: list[Obj]) -> list[str]:
    """Every route host on an HTTPS listener is verified by the certificate cert-manager issues for it,
    and no listener names a one-label wildcard."""
    problems = []
    for gateway in gateways:
        for listener in gateway["spec"]["listeners"]:
            hostname = listener.get("hostname")
            if listener["protocol"] == "HTTPS" and not hostname:
                problems.append(
                    f"HTTPS listener {listener['name']} has no hostname: cert-manager issues no certificate"
                )
            if hostname and one_label_wildcard(hostname):
                problems.append(f"listener {listener['name']} hostname {hostname}: no host verifies against it")
    for route in of_kind(route_objects, "HTTPRoute"):
        hosts = route["spec"].get("hostnames", [])
        for parent in route["spec"]["parentRefs"]:
            parent_gateway = _parent_gateway(gateways, parent, ns_of(route))
            names = shim_certificates(parent_gateway) if parent_gateway else {}
            for listener in _admitting_listeners(gateways, parent, ns_of(route), hosts) or []:
                if listener["protocol"] != "HTTPS":
                    continue
                certified = [
                    n for ref in listener["tls"].get("certificateRefs", []) for n in names.get(ref["name"], [])
                ]
                problems += [
                    f"route {route['metadata']['name']}: the certificate for {certified} does not verify {host}"
                    for host in hosts or ["any host"]
                    if not any(name_verifies(name, host) for name in certified)
                ]
    return problems


def _parent_gateway(gateways: list[Obj], parent: Obj, route_ns: str) -> Obj | None:
    namespace = parent.get("namespace", route_ns)
    return next((g for g in gateways if g["metadata"]["name"] == parent["name"] and ns_of(g) == namespace), None)


def _admitting_listeners(gateways: list[Obj], parent: Obj, route_ns: str, hostnames: list[str]) -> list[Obj] | None:
    """The listeners of the parentRef's Gateway that accept this route; None when no such Gateway exists."""
    gateway = _parent_gateway(gateways, parent, route_ns)
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
