"""`make bench` (`python -m bench`): cold start, memory, image weight, bridge cost and throughput of the
function images, each against a baseline measured in the same run on the same machine.

- `bench.environment`  staged images (as the Containerfile builds them) and their runtime installs
- `bench.measure`      the measurements: cold starts, bridge cost per action, bursts of calls
- `bench.report`       medians, ratios against the baselines, targets, the table and the JSON
- `bench/hello/`       the baseline: a bare functions-framework `@http` hello-world
"""
