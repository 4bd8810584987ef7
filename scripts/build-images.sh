#!/usr/bin/env bash
# Build the three function images from Containerfile (`make images`).
#
#   REGISTRY   image name prefix             (default registry.lab/huelights)
#   TAG        image tag                     (default: the version in pyproject.toml)
#   PUSH=1     push each image after building it, then write the pushed digests into the `images:` of
#              KUSTOMIZATION (newName, newTag and digest per function): Knative then never has to
#              resolve a tag in your registry
#   REGISTRY=dev.local/...  for a cluster without a registry: nothing is pushed; `images:` gets these names
#              (Knative never resolves dev.local) and the script prints how to import the images into k3s
#   KUSTOMIZATION  the file whose `images:` names the images (default knative/base/kustomization.yaml)
#   PLATFORM   e.g. linux/arm64 for a Raspberry Pi cluster (passed to --platform)
#   CONTAINER_ENGINE=podman|docker           use this engine instead of the first usable one
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

REGISTRY="${REGISTRY:-registry.lab/huelights}"
TAG="${TAG:-$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml | head -n 1)}"
KUSTOMIZATION="${KUSTOMIZATION:-knative/base/kustomization.yaml}"
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

# Push one image and print the digest the registry now holds for it (sha256:<64 hex>).
push_image() {
    local image="$1" repository="${1%:*}" digest=""
    case "${ENGINE##*/}" in
        podman*)
            local file
            file="$(mktemp)"
            "$ENGINE" push --digestfile "$file" "$image" >&2
            digest="$(<"$file")"
            rm -f "$file"
            ;;
        *)
            "$ENGINE" push "$image" >&2
            while IFS= read -r reference; do
                [[ "$reference" == "$repository@"* ]] && digest="${reference#*@}"
            done < <("$ENGINE" image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$image")
            ;;
    esac
    if [[ ! "$digest" =~ ^sha256:[0-9a-f]{64}$ ]]; then
        echo "build-images: no digest for $image after the push (got '${digest}')" >&2
        return 1
    fi
    echo "$digest"
}

# Replace the `images:` block of $KUSTOMIZATION (or add one at its end) with one entry per function, in
# kustomize's own terms: name (as services.yaml writes it), newName, newTag and, when given, digest.
# Kustomize renders `newName:newTag@digest`; an image named by digest is never resolved by Knative.
write_images() {
    local digests=("$@") tmp line in_block=0 written=0
    [[ -f "$KUSTOMIZATION" ]] || { echo "build-images: $KUSTOMIZATION does not exist" >&2; return 1; }
    tmp="$(mktemp "$KUSTOMIZATION.XXXXXX")"
    {
        while IFS= read -r line || [[ -n "$line" ]]; do
            if [[ "$line" == "images:"* ]]; then
                in_block=1
                written=1
                images_block "${digests[@]}"
                continue
            fi
            # The block ends at the next top-level line (a sequence may also start at column 0).
            if ((in_block)) && [[ -n "$line" && "$line" != [[:space:]-]* ]]; then
                in_block=0
            fi
            ((in_block)) || printf '%s\n' "$line"
        done <"$KUSTOMIZATION"
        ((written)) || images_block "${digests[@]}"
    } >"$tmp"
    chmod 644 "$tmp"
    mv "$tmp" "$KUSTOMIZATION"
}

images_block() {
    local digests=("$@") i name
    echo "images:"
    for i in "${!FUNCTIONS[@]}"; do
        name="${FUNCTIONS[$i]//_/-}"
        echo "  - name: huelights/$name"
        echo "    newName: $REGISTRY/$name"
        echo "    newTag: \"$TAG\""
        if [[ -n "${digests[$i]:-}" ]]; then
            echo "    digest: ${digests[$i]}"
        fi
    done
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
LOCAL_ONLY=0
if [[ "$REGISTRY" == dev.local/* ]]; then
    LOCAL_ONLY=1
    if [[ "${PUSH:-0}" == "1" ]]; then
        echo "build-images: dev.local names are imported into k3s, never pushed: drop PUSH=1" >&2
        exit 1
    fi
fi

platform_args=()
if [[ -n "${PLATFORM:-}" ]]; then
    platform_args=(--platform "$PLATFORM")
fi

digests=()
for fn in "${FUNCTIONS[@]}"; do
    image="${REGISTRY}/${fn//_/-}:${TAG}"
    echo "build-images: $ENGINE build $image (FUNCTION=$fn)"
    "$ENGINE" build "${platform_args[@]}" -f Containerfile --build-arg "FUNCTION=$fn" -t "$image" .
    if [[ "${PUSH:-0}" == "1" ]]; then
        digests+=("$(push_image "$image")")
    fi
done
echo "build-images: built ${FUNCTIONS[*]} as ${REGISTRY}/<name>:${TAG}"

if [[ "${PUSH:-0}" == "1" ]]; then
    write_images "${digests[@]}"
    echo "build-images: pushed; $KUSTOMIZATION now names each image by digest (kubectl apply -k knative/)"
elif ((LOCAL_ONLY)); then
    write_images
    echo "build-images: $KUSTOMIZATION now names the dev.local images. Import them on every k3s node, e.g."
    for fn in "${FUNCTIONS[@]}"; do
        echo "  $ENGINE save ${REGISTRY}/${fn//_/-}:${TAG} | sudo k3s ctr images import -"
    done
else
    echo "build-images: nothing pushed, $KUSTOMIZATION unchanged (PUSH=1 pushes and pins the digests there)"
fi
