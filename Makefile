# o365.admin: `make test` and `make demo` work on a fresh machine (Python 3 with venv; npm for the contract check).
SHELL := /bin/bash
PYTHON ?= python3
ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
BIN := $(VENV)/bin
COLLECTIONS := $(ROOT)/build/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/o365/admin
SANITY_ROOT := $(ROOT)/build/sanity/ansible_collections/o365/admin

# Everything below finds the collection as o365.admin through this path.
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)

# pytest exits 5 when it collects nothing; that is not a failure of the suite.
define pytest
	cd $(COLLECTION_LINK) && PYTHONPATH=$(COLLECTIONS):$(ROOT) $(BIN)/python -m pytest -p no:cacheprovider $(1); \
	rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest: no tests collected in $(1)"; exit 0; fi; exit $$rc
endef

.PHONY: setup test unit integration prism sanity lint build clean demo bench

setup: $(VENV)/.installed $(COLLECTION_LINK)

$(VENV)/.installed: requirements-dev.txt requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

$(COLLECTION_LINK):
	mkdir -p $(dir $(COLLECTION_LINK))
	ln -sfn ../../../.. $(COLLECTION_LINK)

test: unit integration sanity lint

unit: setup
	$(call pytest,tests/unit)

# ansible-test wants the collection under ansible_collections/o365/admin and lists files with git:
# test a copy of the tracked (and new, unignored) files, with a git index of its own.
sanity: setup
	rm -rf $(SANITY_ROOT) && mkdir -p $(SANITY_ROOT)
	git ls-files -co --exclude-standard | tar -cf - -T - | tar -xf - -C $(SANITY_ROOT)
	cd $(SANITY_ROOT) && git init -q && git add -A
	$(BIN)/python tools/ansible_test_pip_bootstrap.py
	cd $(SANITY_ROOT) && $(BIN)/ansible-test sanity --local --color no \
	  --python $$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')

lint: setup
	$(BIN)/ansible-lint --offline --profile production roles/ playbooks/ tests/integration/playbooks/ benchmarks/playbooks/

build: setup
	mkdir -p build/dist && $(BIN)/ansible-galaxy collection build --force --output-path build/dist .

clean:
	rm -rf build .venv

# Prism validates the module's requests and the emulator's answers against tests/contract/graph-v1.0-subset.yaml.
PRISM_VERSION := 5.14.2
.prism/node_modules/.bin/prism:
	npm install --prefix .prism --no-audit --no-fund --silent @stoplight/prism-cli@$(PRISM_VERSION)

prism: .prism/node_modules/.bin/prism

integration: setup prism
	$(call pytest,tests/integration)

demo: setup
	$(BIN)/python tools/demo.py

# Figures, not a test: see benchmarks/revoke_bulk.py. BENCH_ARGS="--sizes 1,100" for a quicker run.
bench: setup
	$(BIN)/python benchmarks/revoke_bulk.py $(BENCH_ARGS)
