"""One place for the cluster's versions, tests/schema/versions.toml: docs/k3s.md installs exactly those,
and the schema packages the manifests are validated with (tests/schema/package.json) model the same APIs."""

from __future__ import annotations

import json
import re
import tomllib

from tests.support.manifests import ROOT

VERSIONS = tomllib.loads((ROOT / "tests" / "schema" / "versions.toml").read_text())
CLUSTER: dict[str, str] = VERSIONS["cluster"]
SCHEMA: dict[str, dict[str, str]] = VERSIONS["schema"]
K3S_PAGE = ROOT / "docs" / "k3s.md"

# Where docs/k3s.md's commands pin each component: the pattern's group is the version.
PINNED_IN_COMMANDS = {
    "k3s": r"INSTALL_K3S_VERSION=(\S+)",
    "metallb": r"metallb/metallb/(v[\d.]+)/config/manifests",
    "gateway-api": r"kubernetes-sigs/gateway-api/releases/download/(v[\d.]+)/",
    "nginx-gateway-fabric": r"charts/nginx-gateway-fabric --version (\S+)",
    "cert-manager": r"charts/cert-manager --version (\S+)",
    "knative-serving": r"knative/serving/releases/download/knative-v([\d.]+)/",
    "net-kourier": r"net-kourier/releases/download/knative-v([\d.]+)/",
    "knative-eventing": r"knative/eventing/releases/download/knative-v([\d.]+)/",
    "curl-image": r"curlimages/curl:([\d.]+)",
}
# The rows of docs/k3s.md's version table, by their first cell.
TABLE_ROWS = {
    "k3s": ["k3s"],
    "MetalLB": ["metallb"],
    "Gateway API CRDs": ["gateway-api"],
    "NGINX Gateway Fabric": ["nginx-gateway-fabric"],
    "Knative Serving, net-kourier": ["knative-serving", "net-kourier"],
    "Knative Eventing": ["knative-eventing"],
    "cert-manager": ["cert-manager"],
    "knative/func CLI": ["func"],
    "curlimages/curl": ["curl-image"],
}


def version_table(text: str) -> dict[str, str]:
    """First cell -> the version (first word of the second cell) of the table under `| component | version |`."""
    table = text.split("| component | version |", 1)[1].split("\n\n", 1)[0]
    rows = [line.split("|")[1:3] for line in table.splitlines()[2:]]
    assert rows, "docs/k3s.md has no version table"
    return {name.strip(): version.split()[0].rstrip(",") for name, version in rows}


def test_every_component_of_the_cluster_is_pinned_in_docs_k3s() -> None:
    assert set(PINNED_IN_COMMANDS) | {key for keys in TABLE_ROWS.values() for key in keys} == set(CLUSTER)
    assert set(PINNED_IN_COMMANDS) <= set(CLUSTER)


def test_docs_k3s_installs_exactly_the_pinned_versions() -> None:
    text = K3S_PAGE.read_text()
    found = {component: set(re.findall(pattern, text)) for component, pattern in PINNED_IN_COMMANDS.items()}
    assert {component: versions for component, versions in found.items() if versions != {CLUSTER[component]}} == {}


def test_the_version_table_of_docs_k3s_is_the_pinned_one() -> None:
    table = version_table(K3S_PAGE.read_text())
    assert set(table) == set(TABLE_ROWS)
    wrong = {
        name: version for name, version in table.items() if {CLUSTER[key] for key in TABLE_ROWS[name]} != {version}
    }
    assert wrong == {}


def test_the_schema_packages_model_the_installed_apis() -> None:
    package = json.loads((ROOT / "tests" / "schema" / "package.json").read_text())
    assert {name: package["dependencies"][name] for name in SCHEMA} == {
        name: pins["package"] for name, pins in SCHEMA.items()
    }
    assert SCHEMA["@kubernetes-models/gateway-api"]["models"] == CLUSTER["gateway-api"]
    installed = tuple(int(part) for part in CLUSTER["knative-serving"].split(".")[:2])
    modelled = tuple(int(part) for part in SCHEMA["@kubernetes-models/knative"]["models"].split("."))
    assert installed[0] == modelled[0] and 0 <= installed[1] - modelled[1] <= 1, "Knative types too old"
    assert CLUSTER["knative-serving"] == CLUSTER["net-kourier"] == CLUSTER["knative-eventing"]
    # docs/deploy.md says which packages check the manifests: the same ones.
    deploy = " ".join((ROOT / "docs" / "deploy.md").read_text().split())
    for name, pins in SCHEMA.items():
        assert f"`{name}` {pins['package']}" in deploy, name
