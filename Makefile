# Developer and CI entry points. `make run` starts JupyterLab with the extension;
# `make test` installs what is missing and runs every check and test suite.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
# Stamp files that make `venv` and `build` incremental.
STAMPS := .make
# package.json's build scripts call `jupyter-builder` from the venv.
WITH_VENV := PATH="$(CURDIR)/$(VENV)/bin:$$PATH"
# jupyter_server refuses to start as root without --allow-root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)
# Python paths to lint; tests/ and benchmarks/ may not exist yet.
PY_LINT_PATHS := $(wildcard jupyterlab_jobs tests benchmarks)
FRONTEND_SOURCES := $(shell find src style schema -type f 2>/dev/null) \
	package.json package-lock.json tsconfig.json README.md
CHROMIUM := /usr/bin/chromium
LABEXT_LINK := $(VENV)/share/jupyter/labextensions/jupyterlab-jobs

.PHONY: help venv build run run-hub lint jest pytest pytest-unprivileged ui-test test bench \
	bench-quick chromium postgresql clean

help:
	@echo "make run    start JupyterLab with jupyterlab-jobs (examples/jupyter_server_config.py)"
	@echo "make run-hub  a local multi-user JupyterHub with the jobs service (examples/jupyterhub_config.py)"
	@echo "make test   lint, then the jest, pytest (also as an unprivileged account) and"
	@echo "            browser test suites"
	@echo "make pytest-unprivileged"
	@echo "            the tests marked unprivileged, as an account whose uid != gid"
	@echo "make venv   create .venv/ with the package installed in editable mode"
	@echo "make build  rebuild the frontend into jupyterlab_jobs/labextension"
	@echo "make lint   ruff, mypy, eslint and prettier"
	@echo "make bench  run the benchmarks, side by side with jupyter-scheduler (records them)"
	@echo "make bench-quick  the same with few samples (a smoke run, not recorded)"
	@echo "make clean  remove the venv, node_modules and build output"

venv: $(STAMPS)/venv

# Frontend packages, exactly as locked; redone when package.json or the lock changes.
$(STAMPS)/npm: package.json package-lock.json
	npm ci
	@mkdir -p $(STAMPS) && touch $@

# Redone only when the Python or npm dependencies change.
$(STAMPS)/venv: pyproject.toml $(STAMPS)/npm
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# Unlink the develop link first: reinstalling would delete and rewrite the files of
	# the old install through it, i.e. in jupyterlab_jobs/labextension.
	if [ -L $(LABEXT_LINK) ]; then rm $(LABEXT_LINK); fi
	# The editable install builds the labextension (hatch-jupyter-builder).
	$(PY) -m pip install --quiet -e ".[test]"
	# The build hook's `npm install` rewrites package-lock.json (same content, new time):
	# the packages are as locked, so don't let that trigger another `npm ci`.
	touch $(STAMPS)/npm
	# Link the source tree's labextension into the venv, so `make build` takes effect
	# (`jupyter labextension develop` is deprecated in favour of this command).
	$(VENV)/bin/jupyter-builder develop --overwrite .
	extensions="$$($(VENV)/bin/jupyter labextension list 2>&1)"; echo "$$extensions"; \
		grep -Eq 'jupyterlab-jobs v[^ ]+ .*enabled.*OK' <<<"$$extensions"
	@mkdir -p $(STAMPS) && touch $@

build: $(STAMPS)/build

$(STAMPS)/build: $(FRONTEND_SOURCES) $(STAMPS)/venv
	$(WITH_VENV) npm run build
	@mkdir -p $(STAMPS) && touch $@

run: venv build
	@test -f examples/jupyter_server_config.py \
		|| { echo "examples/jupyter_server_config.py is missing" >&2; exit 1; }
	$(VENV)/bin/jupyter lab --config=examples/jupyter_server_config.py \
		--ip=127.0.0.1 --no-browser $(ALLOW_ROOT)

# The multi-user mode on one machine: JupyterHub, the jobs service and demo users
# (jupyterhub and configurable-http-proxy come with the test extra `make venv` installs).
run-hub: venv build
	@echo "JupyterHub at http://127.0.0.1:8000/ - log in as alice (group research), bob (ops)"
	@echo "or carol (both) with any password. State: .demo-hub/ (delete it to start over)."
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/jupyterhub -f examples/jupyterhub_config.py

lint: venv
	$(VENV)/bin/ruff check $(PY_LINT_PATHS)
	$(VENV)/bin/ruff format --check $(PY_LINT_PATHS)
	$(VENV)/bin/mypy jupyterlab_jobs
	npm run --silent lint:check

jest: venv
	npm test

# pytest's exit code 5 means "no tests collected": a failure here.
pytest: venv build postgresql
	$(PY) -m pytest tests || { rc=$$?; \
		if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; fi; exit $$rc; }

# The tests marked `unprivileged` (processes, files, sockets) again, as an account whose
# uid differs from its gid (created when running as root, as CI does): see the script.
pytest-unprivileged: venv build
	tests/unprivileged.sh $(PY)

# Browser tests live in ui-tests/ with their own pytest.ini (so that pyproject.toml's
# pytest-jupyter plugin, whose autouse fixtures clash with Playwright's sync API, is not
# loaded there) or with their own package.json (Galata).
ui-test: venv build chromium
	@if [ -d ui-tests ] && find ui-tests -name node_modules -prune -o -name 'test_*.py' -print \
			| grep -q .; then \
		cd ui-tests && CHROMIUM=$(CHROMIUM) ../$(PY) -m pytest || { rc=$$?; \
			if [ $$rc -eq 5 ]; then echo "ui-tests: no tests collected" >&2; fi; exit $$rc; }; \
	elif [ -f ui-tests/package.json ]; then \
		cd ui-tests && npm ci && $(WITH_VENV) npm test; \
	else \
		echo "ui-tests: none yet"; \
	fi

test: chromium postgresql venv build
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory jest
	$(MAKE) --no-print-directory pytest
	$(MAKE) --no-print-directory pytest-unprivileged
	$(MAKE) --no-print-directory ui-test

# Debian's Chromium for the browser tests (Playwright cannot download its own here).
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && apt-get install -y -q chromium </dev/null; \
	fi

# Debian's PostgreSQL for the store tests and benchmarks: a fixture runs its own server
# with initdb/pg_ctl in a temporary directory (the binaries are off PATH, in
# /usr/lib/postgresql/<version>/bin). The package's own cluster is not used.
postgresql:
	@if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && apt-get install -y -q postgresql </dev/null; \
	fi

# The side-by-side benchmark installs jupyter-scheduler into benchmarks/.work/peer-venv.
bench: venv postgresql
	$(PY) -m benchmarks

bench-quick: venv postgresql
	$(PY) -m benchmarks --quick

clean:
	rm -rf $(VENV) $(STAMPS) node_modules lib tsconfig.tsbuildinfo .eslintcache coverage \
		jupyterlab_jobs/labextension dist build .pytest_cache .mypy_cache .ruff_cache
