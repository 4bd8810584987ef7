"""Local Gateway: serves the HTTPRoutes in gateway/ on 127.0.0.1 and proxies to the local functions.

Implemented from the Gateway API spec (HTTPRoute v1, standard channel), as NGINX Gateway Fabric applies it:
- hostnames (exact or `*.` wildcard; none = any), matches: path Exact / PathPrefix (whole segments) /
  RegularExpression, method, headers, queryParams (Exact / RegularExpression); several matching rules ->
  the most specific wins (exact path, regex, longest prefix, method, most header then query matches);
- filters RequestHeaderModifier (set / add / remove), ResponseHeaderModifier, URLRewrite (hostname,
  ReplacePrefixMatch, ReplaceFullPath); any other filter is refused at start, naming the route;
- backend: Knative's ingress (kourier-internal, knative-local-gateway) routes by the rewritten Host
  `<ksvc>.<ns>`, `<ksvc>.<ns>.svc` or `<ksvc>.<ns>.svc.cluster.local`, so that name picks the local
  function; otherwise the backendRef's Service name does. Only the first backendRef is used (weights ignored).
- a request line or header with bytes outside ASCII -> 400 with a JSON line saying which (before matching);
  nothing matches -> 404; bodies over 1 MiB -> 413 (nginx's default), refused by their declared length
  before any byte is read, chunked ones as soon as they cross it; Content-Length together with
  Transfer-Encoding -> 400, as nginx answers (devstack/upstream.py); backend down -> 502; slow -> 504.
The listeners of the operator's Gateway (`*.lab`) are not emulated: the local gateway listens on one
plain-HTTP port, stands for the HTTPS listener the route attaches to, and the route's own hostnames
decide. A route that only redirects to HTTPS (the plain listener's job) is left out: locally there is no
HTTPS to send anyone to. Send `Host: colorloop.lab` with curl.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from devstack.cluster.manifests import ManifestError
from devstack.upstream import MAX_BODY_BYTES, Refused, Target, forward, read_body, refuse_non_ascii
from devstack.web import close_after, html_response, json_response

JsonDict = dict[str, Any]
SUPPORTED_FILTERS = ("RequestHeaderModifier", "ResponseHeaderModifier", "URLRewrite")
KNATIVE_INGRESSES = ("kourier-internal", "knative-local-gateway", "kourier")
# The names Knative's ingress serves a cluster-local ksvc under, whatever the cluster's DNS domain.
KNATIVE_HOST = re.compile(r"([a-z0-9-]+)\.[a-z0-9-]+(\.svc(\.cluster\.local)?)?")
PATH_SAFE = "/!$&'()*+,;=:@-._~"  # RFC 3986 pchar: the decoded path goes out encoded again, as nginx does
UPSTREAM_TIMEOUT = 70.0  # longer than the functions' Knative timeoutSeconds (60)


@dataclass(frozen=True)
class Candidate:
    route: str
    rule: JsonDict
    match: JsonDict
    prefix: str | None  # the matched PathPrefix, for ReplacePrefixMatch

    def precedence(self) -> tuple[int, int, int, int, int]:
        path = self.match.get("path") or {}
        kind, value = path.get("type", "PathPrefix"), path.get("value", "/")
        # The spec leaves regular expressions to the implementation; nginx tries regex locations after
        # an exact match and before ordinary prefixes, so they rank in between.
        return (
            {"Exact": 2, "RegularExpression": 1}.get(kind, 0),
            len(value) if kind == "PathPrefix" else 0,
            "method" in self.match,
            len(self.match.get("headers") or []),
            len(self.match.get("queryParams") or []),
        )


def _host_matches(patterns: list[str], host: str) -> bool:
    if not patterns:
        return True
    for pattern in patterns:
        pattern = pattern.lower()
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


def _prefix_matches(prefix: str, path: str) -> bool:
    prefix = prefix.rstrip("/") or "/"
    return prefix == "/" or path == prefix or path.startswith(prefix + "/")


def _value_matches(rule: JsonDict, actual: str | None) -> bool:
    if actual is None:
        return False
    if rule.get("type", "Exact") == "RegularExpression":
        return re.fullmatch(str(rule["value"]), actual) is not None
    return actual == str(rule["value"])


def _match(match: JsonDict, request: Request) -> bool:
    path = match.get("path") or {"type": "PathPrefix", "value": "/"}
    kind, value = path.get("type", "PathPrefix"), str(path.get("value", "/"))
    if kind == "Exact" and request.path != value:
        return False
    if kind == "PathPrefix" and not _prefix_matches(value, request.path):
        return False
    if kind == "RegularExpression" and re.fullmatch(value, request.path) is None:
        return False
    if "method" in match and request.method != str(match["method"]).upper():
        return False
    if not all(_value_matches(h, request.headers.get(h["name"])) for h in match.get("headers") or []):
        return False
    return all(_value_matches(q, request.args.get(q["name"])) for q in match.get("queryParams") or [])


def _rewrite_path(path: str, prefix: str | None, rewrite: JsonDict) -> str:
    if rewrite.get("type") == "ReplaceFullPath":
        return str(rewrite["replaceFullPath"])
    if rewrite.get("type") == "ReplacePrefixMatch" and prefix is not None:
        replacement = str(rewrite["replacePrefixMatch"])
        rest = path[len(prefix.rstrip("/")) :]
        if replacement.endswith("/") and rest.startswith("/"):
            rest = rest[1:]
        return (replacement + rest) or "/"
    return path


class LocalGateway:
    """A WSGI app applying HTTPRoute objects; `targets` maps Knative Service names to local ports."""

    def __init__(self, routes: list[JsonDict], targets: Mapping[str, Target]) -> None:
        self.routes = [route for route in routes if not redirects_to_https(route)]
        self.targets = targets
        for route in self.routes:
            name = (route.get("metadata") or {}).get("name", "<unnamed>")
            for rule in (route.get("spec") or {}).get("rules") or []:
                for flt in rule.get("filters") or []:
                    if flt.get("type") not in SUPPORTED_FILTERS:
                        raise ManifestError(f"HTTPRoute {name}: filter {flt.get('type')} is not emulated locally")

    def _candidates(self, request: Request, host: str) -> list[Candidate]:
        found = []
        for route in self.routes:
            spec = route.get("spec") or {}
            if not _host_matches(spec.get("hostnames") or [], host):
                continue
            for rule in spec.get("rules") or []:
                for match in rule.get("matches") or [{}]:
                    if _match(match, request):
                        path = match.get("path") or {}
                        prefix = path.get("value", "/") if path.get("type", "PathPrefix") == "PathPrefix" else None
                        found.append(Candidate((route.get("metadata") or {}).get("name", ""), rule, match, prefix))
        return found

    def _backend(self, rule: JsonDict, host: str) -> Target | None:
        refs = rule.get("backendRefs") or []
        if not refs:
            return None
        name = str(refs[0].get("name", ""))
        knative_host = KNATIVE_HOST.fullmatch(host)
        if name in KNATIVE_INGRESSES and knative_host:
            name = knative_host.group(1)  # Knative's ingress picks the ksvc by Host
        return self.targets.get(name)

    def __call__(self, environ: JsonDict, start_response: Any) -> Any:
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        try:
            refuse_non_ascii(request.environ)  # before the route matching reads path, query and headers
        except Refused as refusal:
            return close_after(json_response({"error": refusal.reason}, refusal.status), request.environ)
        host = (request.host or "").rsplit(":", 1)[0].lower()
        candidates = self._candidates(request, host)
        if not candidates:
            return html_response(404, "Not Found")
        best = max(candidates, key=Candidate.precedence)
        try:
            body = read_body(request, MAX_BODY_BYTES)
        except Refused as refusal:
            return close_after(html_response(refusal.status, refusal.reason), request.environ)
        headers = dict(request.headers.items())
        headers.update({"X-Forwarded-For": request.remote_addr or "", "X-Forwarded-Proto": "http"})
        headers["X-Forwarded-Host"] = request.host or ""
        path, upstream_host, response_mods = request.path, request.host or "", {}
        for flt in best.rule.get("filters") or []:
            if flt["type"] == "RequestHeaderModifier":
                _modify_headers(headers, flt["requestHeaderModifier"])
            elif flt["type"] == "ResponseHeaderModifier":
                response_mods = flt["responseHeaderModifier"]
            elif flt["type"] == "URLRewrite":
                rewrite = flt["urlRewrite"]
                upstream_host = rewrite.get("hostname") or upstream_host
                path = _rewrite_path(path, best.prefix, rewrite.get("path") or {})
        headers["Host"] = upstream_host
        target = self._backend(best.rule, upstream_host.rsplit(":", 1)[0])
        if target is None:
            return html_response(500, "Internal Server Error")  # NGF answers 500 for a route without a usable backend
        query = request.query_string.decode()
        try:
            # Like nginx, the gateway answers with its own Server and Date headers.
            response = forward(
                target,
                request.method,
                quote(path, safe=PATH_SAFE) + (f"?{query}" if query else ""),
                headers,
                body,
                UPSTREAM_TIMEOUT,
                drop_response_headers=frozenset({"server", "date"}),
            )
        except TimeoutError:
            return html_response(504, "Gateway Time-out")
        except (OSError, http.client.HTTPException):
            return html_response(502, "Bad Gateway")
        if response_mods:
            _modify_headers(response.headers, response_mods)
        return response


def redirects_to_https(route: JsonDict) -> bool:
    rules = (route.get("spec") or {}).get("rules") or []
    return bool(rules) and all(
        any(f.get("type") == "RequestRedirect" and (f.get("requestRedirect") or {}).get("scheme") == "https"
            for f in rule.get("filters") or [])
        for rule in rules
    )  # fmt: skip


def _modify_headers(headers: Any, modifier: JsonDict) -> None:
    """Gateway API semantics: set replaces, add appends, remove deletes (names case-insensitive)."""

    def find(name: str) -> list[str]:
        return [k for k in list(headers.keys()) if k.lower() == name.lower()]

    for item in modifier.get("set") or []:
        for key in find(item["name"]):
            del headers[key]
        headers[item["name"]] = str(item["value"])
    for item in modifier.get("add") or []:
        existing = find(item["name"])
        if existing:
            headers[existing[0]] = f"{headers[existing[0]]},{item['value']}"
        else:
            headers[item["name"]] = str(item["value"])
    for name in modifier.get("remove") or []:
        for key in find(name):
            del headers[key]
