"""What names and builds the functions agrees with the Services: the function folders, their func.yaml
(for `func invoke`), the image build script, the project version and the Containerfile's user."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml

from tests.support.manifests import (
    FUNCTION_SERVICES,
    KUBECTL,
    NAMESPACE,
    ROOT,
    by_name,
    function_services,
    ksvc_container,
    of_kind,
    rendered,
)


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
