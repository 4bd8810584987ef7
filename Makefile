# Two commands matter: `make run` (the whole system on this machine) and `make test` (everything CI runs).
# Each creates the virtual environment it needs from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: venv test lint run fire images bench clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
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

images:
	./scripts/build-images.sh

bench: $(INSTALLED)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
