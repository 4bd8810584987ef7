"""Dev-only tooling that runs huelights on one machine; never copied into an image.

- `devstack.bridge_sim`   simulated Hue bridge (CLIP v1 subset, faults, admin API); also
                          hue_model, clip_routes, sim_admin, bridge_server
- `devstack.manifests`    reads knative/ and gateway/ as kustomize would (resources, namespace)
- `devstack.pingsource`   local PingSource: Knative's wire format, retries, schedule, demo clock
- `devstack.gateway`      local HTTPRoute emulation proxying to the local functions
- `devstack.__main__`     `python -m devstack` (= `make run`): the whole stack on 127.0.0.1 (stack, control)
- `devstack.fire`         `python -m devstack.fire <source>` (= `make fire SOURCE=...`)
- `devstack.processes`, `devstack.load`, `devstack.image_staging`: helpers shared by tests and the bench
"""
