"""What names and builds the functions agrees with the Services: the function folders, their func.yaml
(for `func invoke`, and honest about `func deploy`), the image build script, the project version and the
Containerfile's user."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest
import yaml

from tests.support.manifests import (
    FUNCTION_SERVICES,
    KUBECTL,
    NAMESPACE,
    ROOT,
    Obj,
    by_name,
    function_services,
    ksvc_container,
    of_kind,
    rendered,
)

# The fields of func.yaml as knative/func 1.23's schema (schema/func_yaml-schema.json) declares them (of `run`
# only those this project can use); every level has additionalProperties false, so func rejects the rest.
FUNC_YAML_FIELDS = {
    "": {"specVersion", "name", "runtime", "registry", "image", "namespace", "domain", "created", "invoke",
         "build", "run", "deploy", "deployer"},
    "run": {"envs", "volumes"},
    "run.envs": {"name", "value"},
    "run.volumes": {"secret", "configMap", "persistentVolumeClaim", "emptyDir", "path"},
    "run.volumes.emptyDir": {"medium", "sizeLimit"},
    "deploy": {"namespace", "image", "annotations", "options", "labels", "healthEndpoints", "serviceAccountName",
               "imagePullSecret", "subscriptions"},
    "deploy.labels": {"key", "value"},
    "deploy.healthEndpoints": {"liveness", "readiness"},
    "deploy.options": {"scale", "resources"},
    "deploy.options.scale": {"min", "max", "metric", "target", "utilization"},
    "deploy.options.resources": {"requests", "limits"},
    "deploy.options.resources.requests": {"cpu", "memory"},
    "deploy.options.resources.limits": {"cpu", "memory", "concurrency"},
}  # fmt: skip
SECRET_ENV = re.compile(r"\{\{ secret:([\w.-]+):(\w+) \}\}")
WHOLE_CONFIGMAP_ENV = re.compile(r"\{\{ configMap:([\w.-]+) \}\}")


def func_yaml(function: str) -> Obj:
    return yaml.safe_load((ROOT / "functions" / function / "func.yaml").read_text())  # type: ignore[no-any-return]


def unknown_fields(node: Any, path: str = "") -> list[str]:
    """Fields func's schema does not know, as dotted paths."""
    if isinstance(node, list):
        return [problem for item in node for problem in unknown_fields(item, path)]
    if not isinstance(node, dict) or path not in FUNC_YAML_FIELDS:
        return []
    problems = [f"{path}.{key}".lstrip(".") for key in sorted(set(node) - FUNC_YAML_FIELDS[path])]
    return problems + [p for key, value in node.items() for p in unknown_fields(value, f"{path}.{key}".lstrip("."))]


def secret_ref(value: str) -> tuple[str, str]:
    match = SECRET_ENV.fullmatch(value)
    assert match, f"{value}: not a {{{{ secret:NAME:KEY }}}} reference"
    return match.group(1), match.group(2)


def as_func_deploys_it(meta: Obj) -> Obj:
    """The parts of a Knative Service `func deploy` writes from func.yaml (pkg/knative/deployer.go,
    pkg/k8s/deployer.go): envFrom, secret env, emptyDir mounts, labels, scale, resources, concurrency, probes."""
    run, deploy = meta.get("run", {}), meta.get("deploy", {})
    envs, options = run.get("envs", []), deploy.get("options", {})
    limits = dict(options.get("resources", {}).get("limits", {}))
    return {
        "envFrom": [m.group(1) for e in envs if "name" not in e and (m := WHOLE_CONFIGMAP_ENV.fullmatch(e["value"]))],
        "secretEnv": {e["name"]: secret_ref(e["value"]) for e in envs if "name" in e},
        "emptyDirs": {v["path"]: v["emptyDir"] for v in run.get("volumes", []) if "emptyDir" in v},
        "labels": {label["key"]: label["value"] for label in deploy.get("labels", [])},
        "scale": options.get("scale"),
        "containerConcurrency": limits.pop("concurrency", None),
        "resources": {"requests": options.get("resources", {}).get("requests"), "limits": limits},
        "probes": deploy.get("healthEndpoints"),
    }


def as_the_manifest_has_it(service: Obj) -> Obj:
    """The same parts of the rendered Service."""
    pod = service["spec"]["template"]["spec"]
    container = ksvc_container(service)
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    annotations = service["spec"]["template"]["metadata"]["annotations"]
    return {
        "envFrom": [source["configMapRef"]["name"] for source in container.get("envFrom", [])],
        "secretEnv": {
            e["name"]: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
            for e in container.get("env", [])
            if "secretKeyRef" in e.get("valueFrom", {})
        },
        "emptyDirs": {
            m["mountPath"]: volumes[m["name"]]["emptyDir"]
            for m in container.get("volumeMounts", [])
            if "emptyDir" in volumes[m["name"]]
        },
        "labels": service["metadata"]["labels"],
        "scale": {
            "min": int(annotations["autoscaling.knative.dev/min-scale"]),
            "max": int(annotations["autoscaling.knative.dev/max-scale"]),
        },
        "containerConcurrency": pod["containerConcurrency"],
        "resources": container["resources"],
        "probes": {
            "liveness": container["livenessProbe"]["httpGet"]["path"],
            "readiness": container["readinessProbe"]["httpGet"]["path"],
        },
    }


@pytest.mark.parametrize("function", sorted(FUNCTION_SERVICES))
def test_func_yaml_lets_func_invoke_find_the_function(function: str) -> None:
    folder = ROOT / "functions" / function
    assert (folder / "main.py").is_file()
    meta = func_yaml(function)
    assert unknown_fields(meta) == []
    assert meta["specVersion"] == "0.36.0"
    assert meta["created"], "func treats a function without `created` as missing"
    assert meta["name"] == FUNCTION_SERVICES[function]
    assert meta["invoke"] in ("http", "cloudevent")
    service = by_name(rendered("knative"), "Service")[meta["name"]]
    container = ksvc_container(service)
    assert meta["deploy"]["healthEndpoints"] == {
        "liveness": container["livenessProbe"]["httpGet"]["path"],
        "readiness": container["readinessProbe"]["httpGet"]["path"],
    }
    scale = meta["deploy"]["options"]["scale"]
    assert (scale["min"], scale["max"]) == (0, 1)


@pytest.mark.parametrize("function", sorted(FUNCTION_SERVICES))
def test_func_yaml_names_no_namespace_so_func_deploy_never_replaces_the_real_service(function: str) -> None:
    """`func deploy` goes to the function's namespace by default, and updates any Service of its name there."""
    meta = func_yaml(function)
    assert "namespace" not in meta
    assert "namespace" not in meta["deploy"]
    assert NAMESPACE not in yaml.safe_dump(meta)


@pytest.mark.parametrize("function", sorted(FUNCTION_SERVICES))
def test_a_scratch_func_deploy_gets_what_func_can_express_of_the_real_service(function: str) -> None:
    """Settings, key, /tmp, labels (cluster-local), scale, resources and concurrency as the manifest has them."""
    meta = func_yaml(function)
    service = by_name(rendered("knative"), "Service")[meta["name"]]
    assert as_func_deploys_it(meta) == as_the_manifest_has_it(service)


def paragraphs_naming_func_deploy() -> list[tuple[str, str]]:
    """(file, paragraph) for each paragraph (or comment block) of func.yaml, README and docs/ naming `func deploy`."""
    files = [
        *sorted((ROOT / "functions").glob("*/func.yaml")),
        ROOT / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
    ]
    found = []
    for path in files:
        text = path.read_text()
        if path.suffix == ".yaml":  # one comment block
            text = "\n".join(line for line in text.splitlines() if line.startswith("#"))
        found += [(path.name, block) for block in re.split(r"\n\s*\n", text) if "func deploy" in block]
    return found


def test_no_comment_or_doc_offers_func_deploy_for_the_real_service() -> None:
    """Wherever `func deploy` is named, the same paragraph confines it to a scratch namespace."""
    found = paragraphs_naming_func_deploy()
    assert {name for name, _ in found} >= {"func.yaml", "deploy.md"}
    assert [(name, block) for name, block in found if "scratch namespace" not in " ".join(block.split())] == []
    for name, block in found:
        if name == "func.yaml":
            assert "`kubectl apply -k knative/`" in block, "func.yaml names the deploy that is meant"


def test_every_function_folder_is_deployed() -> None:
    folders = sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "main.py").exists())
    assert folders == sorted(FUNCTION_SERVICES)


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
    services = of_kind(rendered("knative"), "Service")
    assert services
    for service in services:
        context = ksvc_container(service)["securityContext"]
        assert (context["runAsUser"], context["runAsGroup"]) == (int(user.group(1)), int(user.group(2)))
