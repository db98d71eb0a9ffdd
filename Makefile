# One entry point for working on the template. Needs make, git and Python 3.11+: uv is
# installed the way the README's Quick start installs it. `make help` lists the targets.
PYTHON ?= python3
# uv, in a virtual environment of its own, as the README's Quick start installs it: that works
# with any Python 3.11+, a system Python that refuses `pip install` (PEP 668) included.
UV_VENV := .uv
UV := $(UV_VENV)/bin/uv
RUN := $(UV) run --locked
# The four slow kinds of meta-test (pyproject.toml's markers), left out by test-fast.
SLOW := fresh_env or live_server or fuzz or update_chain
# Requests per operation and mode of a rendered project's schema test in test-fast, against its
# default 25: the runs that prove what that test finds (mutations, fuzzing) keep the 25.
FAST_SCHEMA_EXAMPLES := 2
# Bytecode for this repository's and every rendered project's Python processes, written once
# outside the checkout: where PYTHONDONTWRITEBYTECODE is set (these machines set it), each of
# the meta-suite's hundreds of processes would compile its imports from source again.
unexport PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX ?= $(or $(TMPDIR),/tmp)/meta-pycache

.DEFAULT_GOAL := help
.PHONY: help setup lint test test-fast docs bench bench-edge pg pg-stop gen domain

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: $(UV)  ## the development environment: .venv from uv.lock
	$(UV) sync --locked

$(UV):
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/pip install --quiet "uv==0.13.9"

lint: $(UV)  ## ruff on the repository and the template's plain files, mypy on tests/ and bench/
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy

test: $(UV)  ## the whole meta-suite, as CI runs it (PostgreSQL tests need `make pg` first)
	$(RUN) pytest -n auto --dist worksteal

test-fast: $(UV)  ## everything but fresh installs, live-server runs, fuzzing and update chains
	SCHEMA_EXAMPLES=$(FAST_SCHEMA_EXAMPLES) $(RUN) pytest -n auto --dist worksteal -m "not ($(SLOW))"

# The site is built strictly: mkdocs prints every warning (a broken link or anchor, a page
# missing from nav, a missing snippet) and fails on any. No --quiet: it stops mkdocs emitting
# warnings, and strict mode counts only those it emitted. lychee then checks the built site's
# internal links and anchors; external ones are left out (--offline). The meta-test of this
# target builds another tree (DOCS_CONFIG, DOCS_SITE).
DOCS_CONFIG ?= mkdocs.yml
DOCS_SITE ?= site
SITE_DIR = $(abspath $(DOCS_SITE))

docs: $(UV)  ## the documentation site, strictly (a warning or a broken link or anchor fails)
	NO_MKDOCS_2_WARNING=1 $(RUN) --group docs mkdocs build --strict \
	  --config-file $(DOCS_CONFIG) --site-dir $(SITE_DIR)
	$(RUN) --group docs lychee --offline --include-fragments --index-files index.html \
	  --root-dir $(SITE_DIR) --extensions html,css --no-progress --mode plain $(SITE_DIR)

bench: $(UV)  ## the harness benchmark (about 10 minutes; docs/benchmarks.md)
	$(RUN) --group bench python -m bench.harness_benchmark

# EDGE_ARGS: more options, e.g. EDGE_ARGS='--baseline 8.0.0 --rounds 5'.
bench-edge: $(UV)  ## the HTTP edge against a floor app under wrk (a few minutes; docs/benchmarks.md)
	$(RUN) python -m bench.edge_benchmark $(EDGE_ARGS)

pg:  ## a throwaway PostgreSQL server for the meta-suite: eval "$(make -s pg)"
	@bash scripts/postgres.sh start

pg-stop:  ## stop it
	@bash scripts/postgres.sh stop

gen: $(UV)  ## render the template as it is into ../sample-service, to read (DATA='database=postgresql')
	$(UV) tool run --from copier==9.19.1 copier copy --defaults --overwrite --vcs-ref HEAD \
		--data project_name="Sample Service" $(foreach answer,$(DATA),--data $(answer)) \
		"$(CURDIR)" ../sample-service

domain: $(UV)  ## add a domain to the `make gen` sample (DOMAIN=notes FIELDS='title:str! body:text?')
	cd ../sample-service && git init -q && git add -A && git -c user.name=make -c user.email=make@localhost commit -qm sample --allow-empty
	$(UV) tool run --from copier==9.19.1 copier copy --defaults --vcs-ref HEAD \
		-a .copier-answers.$(DOMAIN).yml --data kind=domain --data domain=$(DOMAIN) \
		--data fields='$(FIELDS)' "$(CURDIR)" ../sample-service
