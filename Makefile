# `make` alone lists the targets. Every target that runs something sets up the environment
# first: .venv with exactly the versions pinned (with hashes) in requirements.lock.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 2
# The revision `make diff` compares the working tree with.
BASE ?= HEAD
# uv installs the lock file in seconds; it comes from PyPI itself, pinned with its hashes in
# requirements-uv.lock (written by `make lock`). If it cannot be installed or fails, pip
# installs the same lock file (a few minutes).
UV_VERSION := 0.13.8
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check
UV := $(BIN)/uv

# Make's own commands write bytecode for whatever the set-up did not compile.
unexport PYTHONDONTWRITEBYTECODE
# Imports compiled by `make setup`: every module of the package, Snakemake as a run and a job
# use it, the libraries the jobs and the tests import.
define WARM_UP
import importlib, pkgutil, analysis
for m in pkgutil.walk_packages(analysis.__path__, "analysis."):
    if not m.name.endswith("__main__"):
        importlib.import_module(m.name)
import snakemake.cli, snakemake.api, snakemake.dag, snakemake.scheduling, snakemake.script
import snakemake_executor_plugin_slurm, snakemake_executor_plugin_slurm_jobstep
import snakemake.executors.local, snakemake.executors.touch, snakemake.executors.dryrun
import matplotlib.pyplot, matplotlib.backends.backend_agg, plotnine, scipy.stats, scipy.optimize
import jsonschema, yaml, pypandoc, typst, pytest, hypothesis, _pytest.pytester
endef
export WARM_UP
# Whole packages that Snakemake's job and script machinery import (found by listing the
# modules a full run without bytecode imports that WARM_UP had not compiled).
SITE = $(VENV)/lib/python3.11/site-packages
JOB_PACKAGES := snakemake plotnine nbformat docutils urllib3 requests jinja2 smart_open \
	traitlets fastjsonschema yte dpath PIL platformdirs markupsafe certifi

.DEFAULT_GOAL := help
.PHONY: help setup pipeline test lint diff lock clean-venv mutation mutation-ci

help: ## list the targets with what each does (the default)
	@echo "usage: make TARGET   (times: a 2-core machine, see README)"
	@awk 'BEGIN { FS = ":.*## " } /^[a-z-]+:.*## / { printf "  %-11s %s\n", $$1, $$2 }' \
		$(MAKEFILE_LIST)

$(BIN)/.installed: requirements.lock requirements-uv.lock pyproject.toml
	@rm -f $@
	@echo "==> 1/4 virtual environment $(VENV) ($(PYTHON))"
	$(PYTHON) -m venv $(VENV)
	@echo "==> 2/4 packages of requirements.lock (uv $(UV_VERSION), hashes checked)"
	@if $(PIP) install --no-compile --require-hashes -r requirements-uv.lock \
		&& $(UV) pip install --python $(BIN)/python --require-hashes -r requirements.lock \
		&& $(UV) pip install --python $(BIN)/python --quiet --no-deps --no-build-isolation -e .; \
	then :; else \
		echo "==> uv unavailable or failed: pip installs the same lock file (a few minutes)"; \
		$(PIP) install --require-hashes -r requirements.lock \
			&& $(PIP) install --no-deps --no-build-isolation -e . || exit 1; \
	fi
	@# PYTHONDONTWRITEBYTECODE=1 leaves an environment without bytecode, which makes every
	@# import in every Snakemake job two to three times slower: compile once here what the
	@# jobs and the tests import (importing it with bytecode writing on: a third of the
	@# environment, a third of the time of compiling all of it).
	@echo "==> 3/4 bytecode of what the pipeline and the tests import, compiled once"
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -c "$$WARM_UP"
	$(BIN)/python -m compileall -q -j 0 -x '/tests?/' $(addprefix $(SITE)/,$(JOB_PACKAGES)) > /dev/null
	@echo "==> 4/4 check: the analysis package imports from this checkout"
	$(BIN)/python -c "import analysis, snakemake_executor_plugin_slurm; print('   ', analysis.__file__)"
	touch $@
	@echo "==> $(VENV) is ready"

setup: $(BIN)/.installed ## create .venv from requirements.lock (once; again when the lock changes)

pipeline: setup ## run the pipeline on data/raw/ (only the jobs whose inputs changed)
	$(BIN)/snakemake --cores $(CORES)

test: setup ## run the test suite
	$(BIN)/python -m pytest

lint: setup ## ruff, snakefmt and snakemake --lint
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint

diff: setup ## what changed in the results against BASE (default HEAD), as Markdown
	@$(BIN)/python -m analysis changes $(BASE)

# Regenerate the lock files after changing dependencies in pyproject.toml: with uv from PATH,
# else the one `make setup` put into .venv.
LOCK_UV = $(or $(shell command -v uv),$(BIN)/uv)
lock: ## regenerate requirements.lock and requirements-uv.lock (uv from PATH or .venv)
	$(LOCK_UV) pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes \
		--python-platform x86_64-manylinux_2_28 -o requirements.lock
	echo "uv==$(UV_VERSION)" | $(LOCK_UV) pip compile - --python-version 3.11 --generate-hashes \
		--python-platform x86_64-manylinux_2_28 -o requirements-uv.lock

clean-venv: ## delete .venv (the next target that needs it sets it up again)
	rm -rf $(VENV)

# Mutation testing with mutmut (docs/testing.md): slow, so not part of `make test`. One
# module at a time: make mutation MODULES=cases. Prints each module's score and fails as
# mutation-ci does; the run is kept in .mutation/ and an interrupted one resumes.
MODULES ?= harmonize conversions validate cases pooling tau2 heterogeneity effect_sizes
mutation: setup ## mutation scores per module (slow; MODULES=cases for one), docs/testing.md
	$(BIN)/python tests/mutation_ci.py --keep $(MODULES)

# CI's share of it: one module in a temporary copy, failing below 90 % or on a survivor that
# docs/testing.md does not list as equivalent (a few minutes on two cores).
CI_MUTATION_MODULES ?= conversions
mutation-ci: setup ## CI's mutation check (conversions); docs/testing.md
	$(BIN)/python tests/mutation_ci.py $(CI_MUTATION_MODULES)
