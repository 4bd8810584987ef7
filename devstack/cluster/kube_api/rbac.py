"""Who a bearer token is, and what its Role lets it do: the RBAC rules of rbac.authorization.k8s.io/v1.

The rules come in as a Role object's `rules` (the manifests' own text), so the local stack enforces what
the cluster will. As the API server does: an HTTP method becomes a verb (GET on an object `get`, on a
collection `list`, or `watch` with watch=true; POST `create`; PUT `update`; PATCH `patch`; DELETE `delete`);
`resourceNames` limits a rule to named objects, so it never allows `create` (no name yet) and allows `list`
only when a field selector pins `metadata.name`; "*" matches anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from devstack.cluster.kube_api.store import ApiError

ALL = "*"


@dataclass(frozen=True)
class PolicyRule:
    api_groups: frozenset[str]
    resources: frozenset[str]
    verbs: frozenset[str]
    resource_names: frozenset[str] = frozenset()

    @classmethod
    def from_manifest(cls, rule: Mapping[str, Any]) -> PolicyRule:
        def names(field: str) -> frozenset[str]:
            return frozenset(str(value) for value in rule.get(field) or [])

        return cls(names("apiGroups"), names("resources"), names("verbs"), names("resourceNames"))

    def allows(self, request: RequestAttributes) -> bool:
        return (
            bool({ALL, request.api_group} & self.api_groups)
            and bool({ALL, request.resource} & self.resources)
            and bool({ALL, request.verb} & self.verbs)
            and (not self.resource_names or request.name in self.resource_names)
        )


@dataclass(frozen=True)
class RequestAttributes:
    """What the authorizer sees of a resource request."""

    verb: str
    resource: str
    namespace: str | None
    name: str
    api_group: str = ""


@dataclass(frozen=True)
class Identity:
    user: str
    rules: tuple[PolicyRule, ...] | None
    """None: everything (the kubeconfig's cluster admin)."""

    @classmethod
    def service_account(cls, namespace: str, name: str, role: Mapping[str, Any]) -> Identity:
        """A ServiceAccount bound to one Role (a Role manifest as a mapping)."""
        rules = tuple(PolicyRule.from_manifest(rule) for rule in role.get("rules") or [])
        return cls(f"system:serviceaccount:{namespace}:{name}", rules)

    def authorize(self, request: RequestAttributes) -> None:
        """ApiError 403 with the API server's message unless a rule allows the request."""
        if self.rules is None or any(rule.allows(request) for rule in self.rules):
            return
        where = f' in the namespace "{request.namespace}"' if request.namespace else " at the cluster scope"
        subject = f'{request.resource} "{request.name}"' if request.name else request.resource
        raise ApiError(
            403,
            "Forbidden",
            f'{subject} is forbidden: User "{self.user}" cannot {request.verb} resource "{request.resource}" '
            f'in API group "{request.api_group}"{where}',
            {"name": request.name, "kind": request.resource} if request.name else {"kind": request.resource},
        )


def verb_of(method: str, named: bool, watch: bool) -> str:
    if method in ("GET", "HEAD"):
        return "get" if named else ("watch" if watch else "list")
    return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete" if named else "deletecollection"}[
        method
    ]


def pinned_name(selector: Sequence[tuple[str, str]]) -> str:
    """The name a list is authorized as: that of a `metadata.name=` field selector, else none."""
    return next((value for field, value in selector if field == "metadata.name"), "")
