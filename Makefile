# The two commands of the README: `make demo` (set up, then run the main job offline on
# sample_trajectories/) and `make test` (set up, then lint, type-check and run the tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= runs/demo

.PHONY: setup demo test test-fast lint typecheck layers schemas samples bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The main job, offline: what the sample folder holds (mixed formats included), an audit of every
# failed rollout into the MemEx taxonomy and its agreement with the planted labels, then best-of-N
# aggregation against majority vote. Rerunning resumes the run folders in $(OUT).
demo: setup
	$(BIN)/memex-audit info sample_trajectories/
	$(BIN)/memex-audit audit sample_trajectories/ --glob '*.jsonl' --taxonomy memex --out $(OUT)/audit
	$(BIN)/memex-audit eval-audit $(OUT)/audit
	$(BIN)/memex-audit aggregate sample_trajectories/best_of_n --out $(OUT)/aggregate
	$(BIN)/memex-audit eval-aggregate $(OUT)/aggregate
	@echo "Browse the results: $(BIN)/memex-audit app $(OUT)/audit $(OUT)/aggregate"

lint: setup
	$(BIN)/ruff check memex_audit tests apps benchmarks scripts
	$(BIN)/ruff format --check memex_audit tests apps benchmarks scripts

typecheck: setup
	$(BIN)/mypy

# The layers of DESIGN.md, enforced: a layer imports only from the layers below it.
layers: setup
	$(BIN)/lint-imports

# The schema drift check, the pinned public names and the private-module contract are part of these.
test: lint typecheck layers
	$(BIN)/pytest

# The quick loop while editing: lint, the import contracts and the tests not marked slow.
test-fast: lint layers
	$(BIN)/pytest -q -m "not slow"

schemas: setup
	$(BIN)/memex-audit schema --out schemas

samples: setup
	$(BIN)/memex-audit samples generate --out sample_trajectories/

bench: setup
	$(BIN)/python benchmarks/load.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

.PHONY: app
# The web app over the demo's run folders (make demo first); APP_ARGS="--port 8600" to change the port.
app: setup
	$(BIN)/memex-audit app $(OUT) $(APP_ARGS)
