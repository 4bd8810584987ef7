"""The HTTP side of the local Kubernetes API: bearer tokens, the resource paths, discovery, tables.

Served: `/version`; legacy discovery (`/api`, `/apis` with no groups, `/api/v1` listing configmaps and
events) as kubectl reads it when the aggregated form is not offered; GET/POST on
`/api/v1/namespaces/<ns>/<configmaps|events>`, GET on `/api/v1/<configmaps|events>` (all namespaces),
GET/PUT/PATCH on one ConfigMap and GET on one Event. `fieldSelector` (equality) and `limit` (ignored:
one page) work on lists. A client that asks for `as=Table` (kubectl's human output) gets a Table with
kubectl's columns; one that asks for protobuf first gets JSON, as a server without it answers.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.cluster.kube_api.rbac import Identity, RequestAttributes, pinned_name, verb_of
from devstack.cluster.kube_api.store import KINDS, ApiError, ClusterStore, JsonDict, field_value
from devstack.web import JsonRouter, ThreadedServer, json_response

SERVER_VERSION = {"major": "1", "minor": "33", "gitVersion": "v1.33.0", "platform": "linux/amd64"}
# JSON patch and server-side apply are not served (415): neither the ledger nor the setup tool sends them.
PATCH_TYPES = frozenset({"application/merge-patch+json", "application/strategic-merge-patch+json"})
RESOURCE_VERBS = {"configmaps": ["create", "get", "list", "patch", "update"], "events": ["create", "get", "list"]}
SHORT_NAMES = {"configmaps": ["cm"], "events": ["ev"]}
MAX_BODY_BYTES = 3 * 1024 * 1024  # the API server refuses larger request bodies
REQUESTS_KEPT = 10_000
IDENTITY = "kube_api.identity"  # where dispatch leaves the authenticated identity for the handlers


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: str
    user: str
    status: int


class KubeApiServer(ThreadedServer):
    """The store behind HTTPS on loopback; `tokens` maps each bearer token to who it is."""

    def __init__(self, store: ClusterStore, tokens: Mapping[str, Identity], **kw: Any) -> None:
        super().__init__(name="kube-api", **kw)
        self.store = store
        self.tokens = dict(tokens)
        self.requests: deque[LoggedRequest] = deque(maxlen=REQUESTS_KEPT)
        """The latest requests (tests check what a client sent; `make run` keeps only so many)."""
        self._log_lock = threading.Lock()
        self.router = JsonRouter()
        self.router.add("/version", ("GET",), lambda request: self._version())
        self.router.add("/api", ("GET",), lambda request: self._api_versions())
        self.router.add(
            "/apis", ("GET",), lambda request: json_response({"kind": "APIGroupList", "apiVersion": "v1", "groups": []})
        )
        self.router.add("/api/v1", ("GET",), lambda request: self._resource_list())
        self.router.add("/api/v1/<resource>", ("GET",), self._collection)
        every = ("GET", "POST", "PUT", "PATCH", "DELETE")
        self.router.add("/api/v1/namespaces/<namespace>/<resource>", every, self._collection)
        self.router.add("/api/v1/namespaces/<namespace>/<resource>/<name>", every, self._object)

    def dispatch(self, request: Request) -> Response:
        user = "-"
        try:
            identity = self._authenticate(request)
            user = identity.user
            request.environ[IDENTITY] = identity
            answer = self.router.dispatch(request) or _status(
                ApiError(404, "NotFound", "the server could not find the requested resource")
            )
        except ApiError as error:
            answer = _status(error)
        with self._log_lock:
            self.requests.append(
                LoggedRequest(request.method, request.path, request.query_string.decode(), user, answer.status_code)
            )
        return answer

    def _authenticate(self, request: Request) -> Identity:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        identity = self.tokens.get(token) if scheme.lower() == "bearer" else None
        if identity is None:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        return identity

    def _version(self) -> Response:
        return json_response(SERVER_VERSION)

    def _api_versions(self) -> Response:
        address = f"{self.host}:{self.port}"
        return json_response(
            {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
            }
        )

    def _resource_list(self) -> Response:
        resources = [
            {
                "name": resource,
                "singularName": kind.lower(),
                "namespaced": True,
                "kind": kind,
                "verbs": RESOURCE_VERBS[resource],
                "shortNames": SHORT_NAMES[resource],
            }
            for resource, kind in KINDS.items()
        ]
        return json_response({"kind": "APIResourceList", "groupVersion": "v1", "resources": resources})

    def _collection(self, request: Request, resource: str, namespace: str | None = None) -> Response:
        _known(resource)
        selector = _field_selector(request)
        if request.method == "GET":
            _authorize(request, resource, namespace, pinned_name(selector))
            items = self.store.list(resource, namespace, dict(selector))
            return self._list_answer(request, resource, items)
        if request.method != "POST" or namespace is None:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        _authorize(request, resource, namespace, "")
        return json_response(self.store.create(resource, namespace, _body(request)), 201)

    def _object(self, request: Request, namespace: str, resource: str, name: str) -> Response:
        _known(resource)
        _authorize(request, resource, namespace, name, named=True)
        if request.method == "GET":
            return json_response(self.store.get(resource, namespace, name))
        if resource == "configmaps" and request.method == "PUT":
            return json_response(self.store.replace(resource, namespace, name, _body(request)))
        if resource == "configmaps" and request.method == "PATCH":
            if request.mimetype not in PATCH_TYPES:
                accepted = ", ".join(sorted(PATCH_TYPES))
                message = f"the body of the request was in an unknown format - accepted media types include: {accepted}"
                raise ApiError(415, "UnsupportedMediaType", message)
            return json_response(self.store.patch(resource, namespace, name, _body(request)))
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _list_answer(self, request: Request, resource: str, items: list[JsonDict]) -> Response:
        version = self.store.resource_version()
        if "as=Table" in request.headers.get("Accept", ""):
            return json_response(table(resource, items, version, self.store.clock()))
        for item in items:  # items of a list carry no kind and apiVersion of their own
            item.pop("kind", None)
            item.pop("apiVersion", None)
        return json_response(
            {
                "kind": f"{KINDS[resource]}List",
                "apiVersion": "v1",
                "metadata": {"resourceVersion": version},
                "items": items,
            }
        )


def _known(resource: str) -> None:
    if resource not in KINDS:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")


def _authorize(request: Request, resource: str, namespace: str | None, name: str, *, named: bool = False) -> None:
    identity: Identity = request.environ[IDENTITY]
    verb = verb_of(request.method, named, watch=request.args.get("watch") in ("true", "1"))
    identity.authorize(RequestAttributes(verb, resource, namespace, name))


def _field_selector(request: Request) -> list[tuple[str, str]]:
    selector = []
    for term in filter(None, request.args.get("fieldSelector", "").split(",")):
        field, equals, value = term.partition("=")
        if not equals or field.endswith("!"):
            raise ApiError(
                400, "BadRequest", f"unable to parse requirement: only field=value selectors are served: {term!r}"
            )
        selector.append((field.rstrip("="), value.lstrip("=")))
    return selector


def _body(request: Request) -> JsonDict:
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise ApiError(413, "RequestEntityTooLarge", "the request body is too large")
    try:
        body = json.loads(request.get_data(cache=False) or b"null")
    except ValueError as error:
        raise ApiError(400, "BadRequest", f"the body is not JSON: {error}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "BadRequest", "the body must be a JSON object")
    return body


def _status(error: ApiError) -> Response:
    return json_response(error.status(), error.code)


def table(resource: str, items: list[JsonDict], version: str, now: float) -> JsonDict:
    """kubectl's columns for the two kinds (NAME DATA AGE; LAST SEEN TYPE REASON OBJECT MESSAGE)."""
    if resource == "configmaps":
        names = [("Name", "string", "name"), ("Data", "integer", ""), ("Age", "string", "")]
        rows = [
            [
                item["metadata"]["name"],
                len(item.get("data") or {}) + len(item.get("binaryData") or {}),
                _age(now, item["metadata"]["creationTimestamp"]),
            ]
            for item in items
        ]
    else:
        names = [
            ("Last Seen", "string", ""),
            ("Type", "string", ""),
            ("Reason", "string", ""),
            ("Object", "string", ""),
            ("Message", "string", ""),
        ]
        rows = [
            [
                _age(
                    now,
                    item.get("lastTimestamp")
                    or item.get("firstTimestamp")
                    or item.get("eventTime")
                    or item["metadata"]["creationTimestamp"],
                ),
                item.get("type", ""),
                item.get("reason", ""),
                f"{field_value(item, 'involvedObject.kind').lower()}/{field_value(item, 'involvedObject.name')}",
                item.get("message", ""),
            ]
            for item in items
        ]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": version},
        "columnDefinitions": [
            {"name": n, "type": t, "format": f, "description": "", "priority": 0} for n, t, f in names
        ],
        "rows": [
            {
                "cells": cells,
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": item["metadata"],
                },
            }
            for cells, item in zip(rows, items, strict=True)
        ],
    }


def _age(now: float, stamp: str) -> str:
    """The API server's short durations: 42s, 5m3s, 17m, 3h12m, 2d."""
    from datetime import datetime

    seconds = max(0, int(now - datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()))
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if hours < 3:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    return f"{days}d{hours % 24}h" if days < 8 and hours % 24 else f"{days}d"
