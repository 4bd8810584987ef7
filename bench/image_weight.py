"""The bench's image weight: the real function images against a hello-world image, built the same way.

Both are built by Podman over the same stand-in base (devstack/cluster/image_engine.py: Debian bookworm
with Python 3.11 in place of python:3.11-slim, which cannot be pulled here), so their difference is what
the project adds on top of functions-framework; the base's own size is reported beside them. Where no
container engine can be had, `measure` says why and the bench keeps its install-size estimate.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from devstack.cluster import image_engine

HELLO = Path(__file__).resolve().parent / "hello"


def measure(functions: tuple[str, ...], framework_pin: str) -> dict[str, Any]:
    """Sizes in bytes of each function image, the hello-world image and the stand-in base.

    Raises image_engine.EngineUnavailable when there is no engine; the images are removed afterwards.
    """
    image_engine.ensure_tools()
    image_engine.build_standin_base()
    run_id = uuid.uuid4().hex[:8]
    tags = {function: f"localhost/huelights-bench/{function}:{run_id}" for function in functions}
    hello = f"localhost/huelights-bench/hello:{run_id}"
    try:
        for function, tag in tags.items():
            image_engine.build_image(tag, {"FUNCTION": function})
        image_engine.build_image(
            hello, {"FRAMEWORK": framework_pin}, context=HELLO, containerfile=HELLO / "Containerfile"
        )
        sizes = {function: image_engine.image_size(tag) for function, tag in tags.items()}
        return {
            "image_sizes": sizes,
            "image_bytes": max(sizes.values()),
            "baseline_bytes": image_engine.image_size(hello),
            "base_bytes": image_engine.image_size(image_engine.STANDIN_BASE),
            "method": "real images: podman build over the stand-in base (bookworm, Python 3.11); "
            "baseline: functions-framework hello-world built the same way",
        }
    finally:
        for tag in [*tags.values(), hello]:
            image_engine.remove_image(tag)
