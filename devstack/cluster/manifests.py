"""Read the repo's Kubernetes manifests the way `kubectl kustomize` would, as far as the local stack needs.

The manifests are the single source of truth for schedules, routes and settings; the local stack reads
them and never copies a schedule or a path into code. Supported kustomize subset: `resources` (files and
folders with a kustomization.yaml, recursively) and `namespace` (an outer kustomization's namespace wins,
as in kustomize); `kind: List` documents are flattened; YAML anchors work within one document.
Patches are not applied: the local stack reads the plain bases (knative/, gateway/route/), not overlays.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

JsonDict = dict[str, Any]
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


class ManifestError(ValueError):
    """A manifest the local stack cannot use; the message names the file and the field."""


def _documents(path: Path) -> list[JsonDict]:
    try:
        docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    except (OSError, yaml.YAMLError) as exc:
        raise ManifestError(f"{path}: {exc}") from exc
    objects: list[JsonDict] = []
    for doc in docs:
        if not isinstance(doc, dict):
            raise ManifestError(f"{path}: a document is not a mapping")
        if doc.get("kind") == "List" or (doc.get("kind", "").endswith("List") and "items" in doc):
            objects.extend(item for item in doc.get("items") or [] if isinstance(item, dict))
        else:
            objects.append(doc)
    return objects


def kustomization_file(folder: Path) -> Path | None:
    for name in KUSTOMIZATION_NAMES:
        if (folder / name).is_file():
            return folder / name
    return None


def load_objects(path: Path) -> list[JsonDict]:
    """All objects below a kustomization folder (or in one YAML file), namespaces set as kustomize would."""
    path = Path(path)
    if path.is_file():
        return _documents(path)
    kustomization = kustomization_file(path)
    if kustomization is None:
        raise ManifestError(f"{path}: no kustomization.yaml")
    (spec,) = _documents(kustomization) or [{}]
    objects: list[JsonDict] = []
    for resource in spec.get("resources") or []:
        target = (path / str(resource)).resolve()
        if not target.exists():
            raise ManifestError(f"{kustomization}: resource {resource} does not exist")
        objects.extend(load_objects(target))
    namespace = spec.get("namespace")
    if namespace:
        for obj in objects:
            obj.setdefault("metadata", {})["namespace"] = namespace
    return objects


@dataclass(frozen=True)
class PingSourceSpec:
    """The fields of a PingSource that decide what and when mt-ping sends."""

    name: str
    namespace: str
    schedule: str
    timezone: str | None
    content_type: str | None
    data: bytes | None  # spec.data verbatim, or spec.dataBase64 decoded; None = no data
    sink_service: str | None  # the Knative Service named by sink.ref
    sink_uri: str | None
    extensions: tuple[tuple[str, str], ...] = ()

    @property
    def ce_source(self) -> str:
        return f"/apis/v1/namespaces/{self.namespace}/pingsources/{self.name}"

    @property
    def sink_host(self) -> str:
        """Host of the sink URI Knative resolves for a ksvc ref (what the function sees as Host)."""
        return f"{self.sink_service}.{self.namespace}.svc.cluster.local"


def ping_sources(knative_dir: Path, default_namespace: str = "default") -> dict[str, PingSourceSpec]:
    sources: dict[str, PingSourceSpec] = {}
    for obj in load_objects(knative_dir):
        if obj.get("kind") != "PingSource":
            continue
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        name = meta.get("name")
        where = f"PingSource {name or '<unnamed>'} in {knative_dir}"
        if not name:
            raise ManifestError(f"{where}: metadata.name missing")
        data: bytes | None = None
        if spec.get("dataBase64"):
            try:
                data = base64.b64decode(str(spec["dataBase64"]), validate=True)
            except binascii.Error as exc:
                raise ManifestError(f"{where}: spec.dataBase64 is not base64") from exc
        elif spec.get("data"):
            data = str(spec["data"]).encode()
        content_type = spec.get("contentType") or None
        if data is not None and content_type == "application/json":
            try:
                parsed = json.loads(data)
            except ValueError as exc:  # the Knative webhook rejects it too
                raise ManifestError(f"{where}: spec.data is not JSON although contentType is JSON") from exc
            if not isinstance(parsed, dict):
                raise ManifestError(f"{where}: spec.data must be a JSON object for application/json")
        sink = spec.get("sink") or {}
        ref = sink.get("ref") or {}
        extensions = (spec.get("ceOverrides") or {}).get("extensions") or {}
        sources[name] = PingSourceSpec(
            name=name,
            namespace=meta.get("namespace") or default_namespace,
            schedule=str(spec.get("schedule") or "* * * * *"),  # Knative's default
            timezone=spec.get("timezone") or None,
            content_type=content_type,
            data=data,
            sink_service=ref.get("name") if ref.get("kind", "Service") == "Service" else None,
            sink_uri=sink.get("uri"),
            extensions=tuple(sorted((str(k), str(v)) for k, v in extensions.items())),
        )
    return sources


def http_routes(gateway_dir: Path) -> list[JsonDict]:
    return [obj for obj in load_objects(gateway_dir) if obj.get("kind") == "HTTPRoute"]


def config_map_data(knative_dir: Path, name: str) -> dict[str, str]:
    for obj in load_objects(knative_dir):
        if obj.get("kind") == "ConfigMap" and (obj.get("metadata") or {}).get("name") == name:
            return {str(k): str(v) for k, v in (obj.get("data") or {}).items()}
    return {}


def service_env_names(knative_dir: Path, service: str) -> set[str] | None:
    """Names of the `env` entries of a Knative Service's containers; None if the Service is not there."""
    for obj in load_objects(knative_dir):
        if obj.get("kind") == "Service" and (obj.get("metadata") or {}).get("name") == service:
            containers = (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
            return {str(e.get("name")) for c in containers for e in c.get("env") or []}
    return None
