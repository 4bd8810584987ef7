"""`secret` and `config`: the Kubernetes objects the Knative Services in knative/ read, printed, never applied.

Names and keys match knative/base/services.yaml (secretKeyRef `huelights`, configMapRef `huelights-config`).
YAML is written by hand because PyYAML is not a runtime dependency: every value is a JSON string, which
is also a valid double-quoted YAML scalar, so no key or token can break the document.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from huelights_setup.safe_text import shell_word

NAMESPACE = "gohome"
SECRET_NAME = "huelights"  # noqa: S105 - the Secret object's name, not a secret
CONFIG_NAME = "huelights-config"


def _manifest(kind: str, name: str, field: str, data: Mapping[str, str], comments: list[str]) -> str:
    lines = [f"# {line}" if line else "#" for line in comments]
    lines += ["apiVersion: v1", f"kind: {kind}", "metadata:", f"  name: {name}", f"  namespace: {NAMESPACE}"]
    if kind == "Secret":
        lines.append("type: Opaque")
    lines.append(f"{field}:")
    lines += [f"  {key}: {json.dumps(value)}" for key, value in data.items()]
    return "\n".join(lines)


def secret_manifest(app_key: str, token: str) -> str:
    return _manifest(
        "Secret",
        SECRET_NAME,
        "stringData",
        {"HUE_APP_KEY": app_key, "TRIGGER_TOKEN": token},
        [
            "Application key and trigger token of huelights. Apply it, never commit it:",
            "  python -m huelights_setup secret | kubectl apply -f -",
            "Callers through the Gateway send `Authorization: Bearer <TRIGGER_TOKEN>`.",
        ],
    )


def secret_command(app_key: str, token: str) -> str:
    """Idempotent: `create --dry-run | apply` also updates an existing Secret."""
    literals = " ".join(
        shell_word(f"--from-literal={name}={value}")
        for name, value in (("HUE_APP_KEY", app_key), ("TRIGGER_TOKEN", token))
    )
    return (
        f"kubectl -n {NAMESPACE} create secret generic {SECRET_NAME} {literals} "
        "--dry-run=client -o yaml | kubectl apply -f -"
    )


def config_manifest(data: Mapping[str, str]) -> str:
    return _manifest(
        "ConfigMap",
        CONFIG_NAME,
        "data",
        data,
        [
            "Non-secret settings of the three functions (knative/base/config.yaml), written by",
            "`python -m huelights_setup config`. Keep it in knative/base/config.yaml and `kubectl apply -k knative/`;",
            "the pods read it at start: restart them after a change,",
            f"  kubectl -n {NAMESPACE} delete pod -l app.kubernetes.io/part-of=huelights",
        ],
    )
