# Two commands do everything (see README): `make report` and `make test`.
# The venv is made once and reinstalled only when the package list or the pins change.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup report ingest test test-fast bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test]"
	touch $(STAMP)

# The main job: ingest data/raw and run the batch report into reports/default/.
report: $(STAMP)
	$(BIN)/python -m vizlib report

ingest: $(STAMP)
	$(BIN)/python -m vizlib ingest

# The whole test suite, browser tests included (they skip, saying why, where no Chromium is found).
test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not browser and not slow"

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) reports
	find data/processed -mindepth 1 -maxdepth 1 ! -name .gitkeep -exec rm -rf {} +
