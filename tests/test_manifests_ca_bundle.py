"""HTTPS to the bridge: nothing to add for a current bridge (Signify's roots are in the image); a CA
bundle component, mounted read-only into every function, for an older bridge's own certificate."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from tests.support.manifests import (
    ROOT,
    Obj,
    by_name,
    function_services,
    ksvc_container,
    kustomize,
    needs_kustomize,
    rendered,
    sink_problems,
)

CA_BUNDLE_CONFIGMAP = "huelights-ca-bundle"


def ca_bundle_problems(service: Obj) -> list[str]:
    """The function reads HUE_CA_BUNDLE from a read-only mount of the ConfigMap key the docs create (ca.pem)."""
    name = service["metadata"]["name"]
    container = ksvc_container(service)
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    volumes = {v["name"]: v for v in service["spec"]["template"]["spec"].get("volumes", [])}
    sources = {
        n: v["configMap"] for n, v in volumes.items() if v.get("configMap", {}).get("name") == CA_BUNDLE_CONFIGMAP
    }
    mounts = [m for m in container.get("volumeMounts", []) if m["name"] in sources]
    if len(mounts) != 1:
        return [f"{name}: {len(mounts)} mounts of the ConfigMap {CA_BUNDLE_CONFIGMAP}"]
    mount = mounts[0]
    problems = []
    if env.get("HUE_CA_BUNDLE") != f"{mount['mountPath']}/ca.pem":
        problems.append(f"{name}: HUE_CA_BUNDLE={env.get('HUE_CA_BUNDLE')} is not ca.pem in {mount['mountPath']}")
    if not mount.get("readOnly"):
        problems.append(f"{name}: the CA bundle mount is writable")
    if mount["mountPath"] in ("/tmp", "/app") or mount["mountPath"].startswith(("/tmp/", "/app/")):
        problems.append(f"{name}: the CA bundle hides or shares another mount at {mount['mountPath']}")
    if not sources[mount["name"]].get("optional"):
        problems.append(f"{name}: a missing ConfigMap should end in the function's one-line HUE_CA_BUNDLE error")
    return problems


def test_the_base_talks_https_with_signifys_roots_and_needs_no_ca_bundle() -> None:
    from huelights.config import load_settings

    objects = rendered("knative")
    data = by_name(objects, "ConfigMap")["huelights-config"]["data"]
    settings = load_settings({**data, "HUE_APP_KEY": "placeholder-key"})
    assert settings.bridge_url.startswith("https://")
    assert (settings.ca_bundle, settings.bridge_id) == (None, None), "an empty HUE_BRIDGE_ID is confirmed at start"
    for service in function_services(objects):
        assert "HUE_CA_BUNDLE" not in {e["name"] for e in ksvc_container(service).get("env", [])}


@needs_kustomize
def test_the_ca_bundle_overlay_mounts_the_configmap_into_every_function_and_changes_nothing_else() -> None:
    base = by_name(rendered("knative"), "Service")
    services = function_services(rendered("ca-bundle"))
    assert [p for s in services for p in ca_bundle_problems(s)] == []
    for service in services:
        stripped = copy.deepcopy(service)
        pod = stripped["spec"]["template"]["spec"]
        pod["volumes"] = [v for v in pod["volumes"] if "configMap" not in v]
        container = ksvc_container(stripped)
        container["volumeMounts"] = [m for m in container["volumeMounts"] if m["name"] != "ca-bundle"]
        container["env"] = [e for e in container["env"] if e["name"] != "HUE_CA_BUNDLE"]
        assert stripped == base[service["metadata"]["name"]]
    docs = (ROOT / "knative" / "components" / "ca-bundle" / "kustomization.yaml").read_text()
    assert f"create configmap {CA_BUNDLE_CONFIGMAP} --from-file=ca.pem=" in docs


@needs_kustomize
def test_the_ca_bundle_component_also_composes_with_the_broker_overlay() -> None:
    folder = ROOT / "build" / "ca-bundle-with-broker"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources:\n  - ../../knative/overlays/broker\ncomponents:\n  - ../../knative/components/ca-bundle\n"
    )
    objects = kustomize(folder)
    assert sink_problems(objects) == []
    assert [p for s in function_services(objects) for p in ca_bundle_problems(s)] == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: ksvc_container(s)["env"].pop(),
        lambda s: ksvc_container(s)["volumeMounts"][1].update({"readOnly": False}),
        lambda s: s["spec"]["template"]["spec"]["volumes"][1]["configMap"].update({"name": "ca-bundle"}),
        lambda s: ksvc_container(s)["env"][-1].update({"value": "/etc/huelights/ca/bundle.pem"}),
    ],
    ids=["no-env", "writable", "other-configmap", "other-key"],
)
@needs_kustomize
def test_ca_bundle_checks_catch_a_broken_mount(mutate: Callable[[Obj], None]) -> None:
    service = by_name(rendered("ca-bundle"), "Service")["lights-off"]
    mutate(service)
    assert ca_bundle_problems(service)
