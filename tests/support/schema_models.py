"""Schema checks of manifests with the kubernetes-models packages from the npm registry.

@kubernetes-models/knative (Knative Serving/Eventing Go API types), @kubernetes-models/gateway-api and
kubernetes-models (core Kubernetes), pinned in tests/schema/package.json and installed by `npm ci` from
tests/schema/package-lock.json into build/schema-validator/. Their JSON-schema validators catch wrong
types, enum values, patterns and limits but let unknown fields through, so every object is also
type-checked by TypeScript against the same packages' interfaces: a typo'd field is an excess property
there. Which upstream release each package models: tests/schema/versions.toml.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.support.manifests import Obj
from tests.support.schema_packages import schema_packages


def schema_module(api_version: str, kind: str) -> str:
    group, _, version = api_version.rpartition("/")
    if group == "":
        return f"kubernetes-models/{version}/{kind}"
    if group.endswith("knative.dev"):
        return f"@kubernetes-models/knative/{group}/{version}/{kind}"
    if group == "gateway.networking.k8s.io":
        return f"@kubernetes-models/gateway-api/{group}/{version}/{kind}"
    if "." not in group or group.endswith(".k8s.io"):
        return f"kubernetes-models/{group}/{version}/{kind}"
    raise AssertionError(f"no schema package known for {api_version} {kind}")


def json_schema_errors(workdir: Path, items: dict[str, Obj]) -> dict[str, list[str]]:
    payload = [
        {
            "id": key,
            "module": schema_module(obj["apiVersion"], obj["kind"]),
            "kind": obj["kind"],
            "object": obj,
        }
        for key, obj in items.items()
    ]
    (workdir / "input.json").write_text(json.dumps(payload))
    result = subprocess.run(
        [schema_packages().node, "validate.mjs", "input.json"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"validate.mjs failed:\n{result.stderr[-3000:]}"
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def type_errors(workdir: Path, items: dict[str, Obj]) -> dict[str, list[str]]:
    """One TypeScript file, one object per line, checked once: excess properties and wrong types."""
    keys = list(items)
    imports: dict[tuple[str, str], str] = {}
    lines: list[str] = []
    for key in keys:
        obj = items[key]
        module = schema_module(obj["apiVersion"], obj["kind"])
        alias = imports.setdefault((module, obj["kind"]), f"T{len(imports)}")
        lines.append(f"export const v{len(lines)}: {alias} = {json.dumps(obj)};")
    header = [f'import type {{ I{kind} as {alias} }} from "{module}";' for (module, kind), alias in imports.items()]
    (workdir / "check.ts").write_text("\n".join(header + lines) + "\n")
    tsconfig = {
        "compilerOptions": {
            "strict": True,
            "noEmit": True,
            "module": "nodenext",
            "moduleResolution": "nodenext",
            "target": "es2022",
            "skipLibCheck": True,
        },
        "files": ["check.ts"],
    }
    (workdir / "tsconfig.json").write_text(json.dumps(tsconfig))
    result = subprocess.run(
        [schema_packages().node, "node_modules/typescript/bin/tsc", "-p", "tsconfig.json", "--pretty", "false"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    errors: dict[str, list[str]] = {key: [] for key in keys}
    for line in result.stdout.splitlines():
        match = re.match(r"check\.ts\((\d+),\d+\): (error .*)", line)
        assert match, f"unexpected TypeScript output: {line}"
        index = int(match.group(1)) - 1 - len(header)
        assert 0 <= index < len(keys), f"TypeScript error outside the objects: {line}"
        errors[keys[index]].append(match.group(2))
    assert result.returncode in (0, 2), f"tsc failed to run:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
    return errors
