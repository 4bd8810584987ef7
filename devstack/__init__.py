"""Dev-only tooling that runs huelights on one machine; never copied into an image.

- `devstack/bridge/`    the simulated Hue bridge (state, CLIP v1 routes, faults, admin API, server);
                        `python -m devstack.bridge`
- `devstack/cluster/`   what stands in for the cluster, read from the manifests: manifests (kustomize),
                        pingsource (Knative PingSource), gateway (HTTPRoute), image_staging (the Containerfile)
- `devstack/stack/`     the local stack: runner (`python -m devstack` = `make run`), functions (the function
                        processes and ports), control API + dashboard + static/, fire (`make fire SOURCE=...`),
                        load (bursts for tests and the bench)
- `devstack/web.py`       server thread, JSON answers and the JSON router every server here uses
- `devstack/processes.py` starting, measuring and stopping process groups (the stack, tests, the bench)
"""
