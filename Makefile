# Two commands matter: `make run` (the whole system on this machine) and `make test` (everything CI runs).
# Each creates the virtual environment it needs from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: venv test lint run fire images lock bench clean

# The dev environment is installed from requirements-dev.lock (hashes checked), then the project itself
# without dependencies: tests run exactly the versions the images run, plus the dev tools.
$(INSTALLED): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

venv: $(INSTALLED)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

run: $(INSTALLED)
	$(BIN)/python -m devstack

# Fire one PingSource of the running local stack now: make fire SOURCE=colorloop
fire: $(INSTALLED)
	$(BIN)/python -m devstack.stack.fire $(SOURCE)

# Build the three images: make images [REGISTRY=...] [TAG=...] [PUSH=1]. PUSH=1 pushes them and pins
# their digests in knative/base/kustomization.yaml; REGISTRY=dev.local/... is for k3s without a registry.
images:
	./scripts/build-images.sh

# requirements.lock: every runtime distribution of the images with its hashes, resolved from
# [project].dependencies for Python 3.11 on any platform; requirements-dev.lock: the same plus the dev
# extra. Run after changing a pin in pyproject.toml (tests/test_lock.py fails until then).
LOCK := $(BIN)/uv pip compile pyproject.toml --generate-hashes --universal --python-version 3.11 \
	--custom-compile-command "make lock" --quiet
# Order-only: a pyproject.toml newer than the venv is what `make lock` is for, not a reason to reinstall.
lock: | $(INSTALLED)
	$(LOCK) -o requirements.lock
	$(LOCK) --extra dev -o requirements-dev.lock

bench: $(INSTALLED)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
