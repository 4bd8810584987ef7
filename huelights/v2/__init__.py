"""CLIP v2, the API Signify recommends: one module per step, each usable on its own.

envelope.py   an answer's status code, `errors` and `data` -> data, warnings, or the typed error
resources.py  GET /clip/v2/resource documents -> frozen lights, devices, rooms, zones, grouped lights
inventory.py  HUE_TARGET -> the grouped_light to PUT and the lights to verify (v1 ids, names, v2 ids)
plan.py       per action and light: the PUT body (prism, or v1 colorloop where prism is missing), the
              read-back verdict and the per-light outcome; no I/O
client.py     the v2 calls through HueBridge.request, and the cached inventory
runner.py     the send / read back / re-send loop of huelights.actions on v2
"""
