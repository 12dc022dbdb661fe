# The two commands of the README. Both set up the environment from the lock file first.
#   make pipeline   set up, then run the whole pipeline on the shipped data
#   make test       set up, then run the test suite
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 2

.PHONY: setup pipeline test lint lock clean-venv mutation

$(BIN)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@# PYTHONDONTWRITEBYTECODE=1 leaves an environment without bytecode, which makes every
	@# import in every Snakemake job two to three times slower: compile it once here.
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib analysis > /dev/null
	touch $@

setup: $(BIN)/.installed

pipeline: setup
	$(BIN)/snakemake --cores $(CORES)

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint

# Regenerate the lock file after changing dependencies in pyproject.toml (needs uv).
lock:
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes \
		--python-platform x86_64-manylinux_2_28 -o requirements.lock

# Mutation testing with mutmut (docs/testing.md): slow, so not part of `make test`. One
# module at a time: make mutation MODULES=cases. Prints each module's score.
MODULES ?= harmonize conversions validate cases pooling tau2 heterogeneity effect_sizes
mutation: setup
	for m in $(MODULES); do $(BIN)/mutmut run "analysis.$$m.*" > /dev/null || exit 1; done
	$(BIN)/python tests/mutation_score.py $(MODULES)
