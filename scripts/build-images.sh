#!/usr/bin/env bash
# Build the three function images from Containerfile (`make images`).
#
#   REGISTRY   image name prefix             (default registry.lab/huelights; match knative/kustomization.yaml)
#   TAG        image tag                     (default: the version in pyproject.toml)
#   PUSH=1     push each image after building it
#   PLATFORM   e.g. linux/arm64 for a Raspberry Pi cluster (passed to --platform)
#   CONTAINER_ENGINE=podman|docker           use this engine instead of the first usable one
set -euo pipefail
cd "$(dirname "$0")/.."

REGISTRY="${REGISTRY:-registry.lab/huelights}"
TAG="${TAG:-$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml | head -n 1)}"
FUNCTIONS=(lights_off lights_on colorloop)

# A client binary is not enough (a docker CLI without a daemon is common): ask the engine itself.
engine_works() {
    command -v "$1" >/dev/null 2>&1 || return 1
    if command -v timeout >/dev/null 2>&1; then
        timeout 20 "$1" info >/dev/null 2>&1
    else
        "$1" info >/dev/null 2>&1
    fi
}

ENGINE=""
for candidate in ${CONTAINER_ENGINE:-podman docker}; do
    if engine_works "$candidate"; then
        ENGINE="$candidate"
        break
    fi
done
if [[ -z "$ENGINE" ]]; then
    {
        echo "build-images: no usable container engine."
        echo "  Tried: ${CONTAINER_ENGINE:-podman docker} (found on PATH: $(command -v podman docker | tr '\n' ' '))"
        echo "  Install Podman or Docker with a running daemon, or set CONTAINER_ENGINE."
        echo "  As root, 'pytest tests/integration/test_images.py' installs Podman itself and builds and"
        echo "  runs the images without a registry (docs/images.md)."
    } >&2
    exit 1
fi
if [[ -z "$TAG" ]]; then
    echo "build-images: could not read the version from pyproject.toml; set TAG" >&2
    exit 1
fi

platform_args=()
if [[ -n "${PLATFORM:-}" ]]; then
    platform_args=(--platform "$PLATFORM")
fi

for fn in "${FUNCTIONS[@]}"; do
    image="${REGISTRY}/${fn//_/-}:${TAG}"
    echo "build-images: $ENGINE build $image (FUNCTION=$fn)"
    "$ENGINE" build "${platform_args[@]}" -f Containerfile --build-arg "FUNCTION=$fn" -t "$image" .
    if [[ "${PUSH:-0}" == "1" ]]; then
        "$ENGINE" push "$image"
    fi
done
echo "build-images: built ${FUNCTIONS[*]} as ${REGISTRY}/<name>:${TAG}"
