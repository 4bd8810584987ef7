"""The objects of the local Kubernetes API: ConfigMaps and Events by namespace, with the API server's rules.

What the real API server does and this store copies (the facts the ledger's correctness rests on):
- one resourceVersion counter for everything; every write bumps it; a PATCH or PUT that carries a
  `metadata.resourceVersion` other than the stored one is refused 409 Conflict, without one it applies;
- PUT never creates (404); POST of an existing name is 409 AlreadyExists; `generateName` gets a suffix;
- JSON merge patches (RFC 7386); a strategic merge patch is the same for these two kinds, whose fields
  are maps and scalars only (no list with a patch merge key);
- ConfigMap data keys match `[-._a-zA-Z0-9]+` and the values add up to at most 1 MiB, else 422 Invalid;
- an Event's namespace is its involvedObject's; an Event expires EVENT_TTL_SECONDS after its last write;
- refusals are Status objects with the real reason, message and details.
"""

from __future__ import annotations

import copy
import datetime
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

JsonDict = dict[str, Any]
KINDS = {"configmaps": "ConfigMap", "events": "Event"}
MAX_CONFIGMAP_BYTES = 1024 * 1024
DATA_KEY = re.compile(r"[-._a-zA-Z0-9]+")
EVENT_TTL_SECONDS = 3600.0  # kube-apiserver --event-ttl default (k3s keeps it)
NAME_SUFFIX_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # what the API server appends to a generateName
CONFLICT_TEXT = "the object has been modified; please apply your changes to the latest version and try again"


class ApiError(Exception):
    """A refusal, answered as a Kubernetes Status."""

    def __init__(self, code: int, reason: str, message: str, details: JsonDict | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details or {}

    def status(self) -> JsonDict:
        body: JsonDict = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def not_found(resource: str, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{resource} "{name}" not found', {"name": name, "kind": resource})


def conflict(resource: str, name: str) -> ApiError:
    message = f'Operation cannot be fulfilled on {resource} "{name}": {CONFLICT_TEXT}'
    return ApiError(409, "Conflict", message, {"name": name, "kind": resource})


def invalid(resource: str, name: str, field: str, problem: str) -> ApiError:
    kind = KINDS.get(resource, resource)
    cause = {"reason": "FieldValueInvalid", "message": f"Invalid value: {problem}", "field": field}
    return ApiError(
        422,
        "Invalid",
        f'{kind} "{name}" is invalid: {field}: Invalid value: {problem}',
        {"name": name, "kind": resource, "causes": [cause]},
    )


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: maps merge key by key, null removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def rfc3339(moment: float) -> str:
    return datetime.datetime.fromtimestamp(moment, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Stored:
    obj: JsonDict
    written_at: float


class ClusterStore:
    """Every object of the local API under one lock; `clock` (wall time) decides ages and Event expiry."""

    def __init__(self, clock: Callable[[], float] = time.time, event_ttl: float = EVENT_TTL_SECONDS) -> None:
        self.clock = clock
        self.event_ttl = event_ttl
        self._lock = threading.Lock()
        self._objects: dict[tuple[str, str, str], Stored] = {}
        self._version = 1000

    def resource_version(self) -> str:
        with self._lock:
            return str(self._version)

    def get(self, resource: str, namespace: str, name: str) -> JsonDict:
        with self._lock:
            return copy.deepcopy(self._current(resource, namespace, name).obj)

    def list(self, resource: str, namespace: str | None, selector: dict[str, str]) -> list[JsonDict]:
        """Objects of a resource (all namespaces for None) whose fields equal the selector's, oldest first."""
        with self._lock:
            self._expire_events()
            found = [
                stored.obj
                for (kind, ns, _), stored in sorted(self._objects.items(), key=lambda item: item[1].written_at)
                if kind == resource and namespace in (None, ns)
            ]
            return [copy.deepcopy(obj) for obj in found if all(field_value(obj, f) == v for f, v in selector.items())]

    def create(self, resource: str, namespace: str, obj: JsonDict) -> JsonDict:
        metadata = obj.setdefault("metadata", {})
        with self._lock:
            name = metadata.get("name") or ""
            if not name and metadata.get("generateName"):
                name = metadata["generateName"] + "".join(secrets.choice(NAME_SUFFIX_CHARS) for _ in range(5))
            if not name:
                raise invalid(resource, "", "metadata.name", "name or generateName is required")
            if metadata.get("namespace", namespace) != namespace:
                raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the request")
            self._validate(resource, namespace, name, obj)
            self._expire_events()
            if (resource, namespace, name) in self._objects:
                raise ApiError(
                    409, "AlreadyExists", f'{resource} "{name}" already exists', {"name": name, "kind": resource}
                )
            metadata.update(
                name=name, namespace=namespace, uid=str(uuid.uuid4()), creationTimestamp=rfc3339(self.clock())
            )
            metadata.pop("resourceVersion", None)
            return self._store(resource, namespace, name, obj)

    def replace(self, resource: str, namespace: str, name: str, obj: JsonDict) -> JsonDict:
        """PUT: an update, conditional on the resourceVersion when the body carries one; never a create."""
        with self._lock:
            current = self._current(resource, namespace, name).obj
            if obj.get("metadata", {}).get("name", name) != name:
                raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
            return self._update(resource, namespace, name, current, obj)

    def patch(self, resource: str, namespace: str, name: str, patch: JsonDict) -> JsonDict:
        """A merge patch, conditional on the resourceVersion when the patch carries one."""
        with self._lock:
            current = self._current(resource, namespace, name).obj
            return self._update(resource, namespace, name, current, merge_patch(current, patch))

    def _update(self, resource: str, namespace: str, name: str, current: JsonDict, updated: JsonDict) -> JsonDict:
        asked = (updated.get("metadata") or {}).get("resourceVersion")
        if asked and asked != current["metadata"]["resourceVersion"]:
            raise conflict(resource, name)
        self._validate(resource, namespace, name, updated)
        metadata = updated.setdefault("metadata", {})
        for kept in ("name", "namespace", "uid", "creationTimestamp"):  # not changed by a write
            metadata[kept] = current["metadata"][kept]
        return self._store(resource, namespace, name, updated)

    def _store(self, resource: str, namespace: str, name: str, obj: JsonDict) -> JsonDict:
        self._version += 1
        obj["metadata"]["resourceVersion"] = str(self._version)
        obj["kind"], obj["apiVersion"] = KINDS[resource], "v1"
        self._objects[(resource, namespace, name)] = Stored(obj, self.clock())
        return copy.deepcopy(obj)

    def _current(self, resource: str, namespace: str, name: str) -> Stored:
        self._expire_events()
        stored = self._objects.get((resource, namespace, name))
        if stored is None:
            raise not_found(resource, name)
        return stored

    def _expire_events(self) -> None:
        limit = self.clock() - self.event_ttl
        for key in [key for key, stored in self._objects.items() if key[0] == "events" and stored.written_at < limit]:
            del self._objects[key]

    @staticmethod
    def _validate(resource: str, namespace: str, name: str, obj: JsonDict) -> None:
        if resource == "configmaps":
            size = 0
            for field in ("data", "binaryData"):
                values = obj.get(field) or {}
                if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
                    raise ApiError(400, "BadRequest", f"{field} must map keys to strings")
                for key, value in values.items():
                    if not DATA_KEY.fullmatch(key) or key in (".", "..") or key.startswith(".."):
                        raise invalid(
                            resource,
                            name,
                            f"{field}[{key}]",
                            f"{key!r}: a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                        )
                    size += len(value.encode())
            if size > MAX_CONFIGMAP_BYTES:
                raise invalid(resource, name, "[]", f"must have at most {MAX_CONFIGMAP_BYTES} bytes")
        elif resource == "events":
            involved = obj.get("involvedObject") or {}
            if involved.get("namespace", namespace) != namespace:
                raise invalid(resource, name, "involvedObject.namespace", "does not match event.namespace")


def field_value(obj: JsonDict, path: str) -> str:
    """The value a field selector compares (`involvedObject.uid`, `metadata.name`), "" when absent."""
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)
