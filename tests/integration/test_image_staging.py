"""The Containerfile's shape, the build context, and `make images` with and without an engine.

The images themselves are built and run by tests/integration/test_images.py (a real engine); the bench
still stages the Containerfile's files without one (devstack/cluster/image_staging.py), which these checks keep
honest about what the Containerfile says.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from devstack.cluster.image_staging import CONTAINER, CONTAINERFILE, ROOT, stage
from tests.support.manifests import kustomize, needs_kustomize, of_kind

pytestmark = pytest.mark.integration

FUNCTION_SERVICES = {"lights_off": "lights-off", "lights_on": "lights-on", "colorloop": "colorloop"}


def test_containerfile_copies_only_the_library_and_the_entry_point() -> None:
    destinations = {destination for _, destination in CONTAINER.copies}
    app_files = {d for d in destinations if d.startswith(CONTAINER.workdir)}
    assert app_files == {"/app/huelights/", "/app/main.py"}
    assert CONTAINER.env["WORKERS"] == "1"
    assert CONTAINER.env["THREADS"] == "2"
    assert CONTAINER.env["PORT"] == "8080"
    text = CONTAINERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    assert re.search(r"^USER \d+:\d+$", text, re.M), "numeric non-root user (runAsNonRoot checks it)"
    assert re.search(r"^RUN python -m compileall .* /app$", text, re.M), "bytecode for a read-only root fs"
    assert '--target "$FUNCTION" --source main.py' in CONTAINER.cmd
    assert ("requirements.lock", CONTAINER.lock) in CONTAINER.copies, "the image installs the hashed lock"
    assert CONTAINER.env["XDG_RUNTIME_DIR"] == "/tmp", "gunicorn's control socket needs a writable folder"


def test_build_context_ignore_files_agree() -> None:
    assert (ROOT / ".containerignore").read_text() == (ROOT / ".dockerignore").read_text()


def tools_only(tmp_path: Path, **fakes: str) -> str:
    """A PATH with the utilities build-images.sh uses and the given fake engines, and nothing else: what
    engines this machine really has must not matter."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("bash", "sed", "head", "tr", "dirname", "timeout", "mktemp", "mv", "chmod", "rm"):
        found = shutil.which(tool)
        assert found, tool
        (folder / tool).symlink_to(found)
    for name, script in fakes.items():
        (folder / name).write_text(script)
        (folder / name).chmod(0o755)
    return str(folder)


def test_make_images_explains_a_missing_engine(tmp_path: Path) -> None:
    """A docker client without a daemon (as on the development machines) is no engine."""
    path = tools_only(tmp_path, docker="#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    result = subprocess.run(
        [str(ROOT / "scripts" / "build-images.sh")],
        env={"PATH": path, "CONTAINER_ENGINE": "podman docker"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "no usable container engine" in result.stderr


def test_make_images_builds_the_three_functions_with_a_working_engine(tmp_path: Path) -> None:
    log = tmp_path / "calls"
    path = tools_only(tmp_path, podman=f'#!/bin/sh\necho "$*" >> {log}\nexit 0\n')
    result = subprocess.run(
        [str(ROOT / "scripts" / "build-images.sh")],
        env={"PATH": path, "CONTAINER_ENGINE": "podman", "REGISTRY": "reg.test/hl", "TAG": "t1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    builds = [line for line in log.read_text().splitlines() if line.startswith("build")]
    assert builds == [
        f"build -f Containerfile --build-arg FUNCTION={function} -t reg.test/hl/{service}:t1 ."
        for function, service in FUNCTION_SERVICES.items()
    ]


# The TLS roots (huelights/certs/) travel with the library into every image.
REPO_CERTS = Path(__file__).resolve().parents[2] / "huelights" / "certs"
SIGNIFY_ROOT_FILES = ("root-bridge.pem", "hue-root-ca-01.pem")


def test_the_image_carries_the_roots_and_the_staged_library_loads_them(tmp_path: Path) -> None:
    """Staged as the Containerfile copies it (devstack.cluster.image_staging), the library finds its roots."""
    workdir = stage("lights_off", tmp_path)
    for name in SIGNIFY_ROOT_FILES:
        assert (workdir / "huelights" / "certs" / name).read_bytes() == (REPO_CERTS / name).read_bytes()
    probe = "import huelights, huelights.tls as t; print(huelights.__file__); print(len(t.trust_store(None)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=workdir, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    library, count = result.stdout.split()
    assert Path(library).is_relative_to(workdir) and count == str(len(SIGNIFY_ROOT_FILES))


# `make images PUSH=1`: the pushed digests land in the kustomization, in kustomize's `images:` terms.
DIGESTS = {service: f"sha256:{index:064x}" for index, service in enumerate(FUNCTION_SERVICES.values(), start=1)}
FAKE_PODMAN = """#!/bin/bash
echo "$*" >> {log}
if [[ "$1" == push ]]; then
    name="${{4##*/}}"
    [[ "$name" != {fail}:* ]] || exit 1
    printf '%s' "$(<{digests}/${{name%%:*}})" > "$3"
fi
"""
FAKE_DOCKER = """#!/bin/bash
echo "$*" >> {log}
[[ "$1 ${{2##*/}}" != "push {fail}:"* ]] || exit 1
if [[ "$1 $2" == "image inspect" ]]; then
    name="${{5##*/}}"
    echo "mirror.test/hl/${{name%%:*}}@sha256:{other}"
    echo "${{5%:*}}@$(<{digests}/${{name%%:*}})"
fi
"""


def fake_engine(tmp_path: Path, template: str, fail: str = "none") -> str:
    """A PATH with build-images.sh's tools and a fake engine (named like the template's engine) that
    answers pushes with DIGESTS."""
    folder = tmp_path / "digests"
    folder.mkdir(parents=True)
    for service, digest in DIGESTS.items():
        (folder / service).write_text(digest)
    script = template.format(log=tmp_path / "calls", digests=folder, fail=fail, other="f" * 64)
    return tools_only(tmp_path, **{"podman" if template is FAKE_PODMAN else "docker": script})


def build_images(path: str, kustomization: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / "build-images.sh")],
        env={"PATH": path, "KUSTOMIZATION": str(kustomization), "REGISTRY": "reg.test/hl", "TAG": "t1", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def rendered_images(knative: Path) -> dict[str, str]:
    services = [s for s in of_kind(kustomize(knative), "Service") if s["metadata"]["name"] in DIGESTS]
    assert services
    return {s["metadata"]["name"]: s["spec"]["template"]["spec"]["containers"][0]["image"] for s in services}


@needs_kustomize
@pytest.mark.parametrize("engine", [FAKE_PODMAN, FAKE_DOCKER], ids=["podman", "docker"])
def test_make_images_push_pins_every_image_by_digest_in_the_kustomization(tmp_path: Path, engine: str) -> None:
    shutil.copytree(ROOT / "knative", tmp_path / "knative")
    kustomization = tmp_path / "knative" / "base" / "kustomization.yaml"
    original = kustomization.read_text()
    before = rendered_images(tmp_path / "knative")
    failed = build_images(fake_engine(tmp_path / "failing", engine, fail="colorloop"), kustomization, PUSH="1")
    assert failed.returncode != 0
    assert kustomization.read_text() == original, "a failed push pins nothing"
    for run in range(2):  # a second push replaces the entries, it does not add to them
        result = build_images(fake_engine(tmp_path / f"run{run}", engine), kustomization, PUSH="1")
        assert result.returncode == 0, result.stderr
    assert rendered_images(tmp_path / "knative") == {
        service: f"reg.test/hl/{service}:t1@{digest}" for service, digest in DIGESTS.items()
    }
    assert before != rendered_images(tmp_path / "knative")
    entries = yaml.safe_load(kustomization.read_text())["images"]
    assert [set(entry) for entry in entries] == [{"name", "newName", "newTag", "digest"}] * len(DIGESTS)
    # Everything but `images:` is as it was: comments, resources, namespace.
    assert kustomization.read_text().split("\nimages:\n")[0] == original.split("\nimages:\n")[0]


@needs_kustomize
def test_make_images_for_dev_local_names_the_images_k3s_imports_and_pushes_nothing(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "knative", tmp_path / "knative")
    kustomization = tmp_path / "knative" / "base" / "kustomization.yaml"
    path = fake_engine(tmp_path, FAKE_PODMAN)
    result = build_images(path, kustomization, REGISTRY="dev.local/hl")
    assert result.returncode == 0, result.stderr
    assert rendered_images(tmp_path / "knative") == {service: f"dev.local/hl/{service}:t1" for service in DIGESTS}
    assert not [line for line in (tmp_path / "calls").read_text().splitlines() if line.startswith("push")]
    assert "podman save dev.local/hl/colorloop:t1 | sudo k3s ctr images import -" in result.stdout
    assert build_images(path, kustomization, REGISTRY="dev.local/hl", PUSH="1").returncode != 0
