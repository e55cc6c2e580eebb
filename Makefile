# o365.admin: `make test` and `make demo` work on a fresh clone (Python 3.11+ with venv, git; npm for Prism).
SHELL := /bin/bash
PYTHON ?= python3
ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
BIN := $(VENV)/bin
COLLECTIONS := $(ROOT)/build/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/o365/admin
# The oldest ansible-core that meta/runtime.yml's requires_ansible admits, read from it (">=2.16.0" -> 2.16).
FLOOR_CORE := $(shell sed -n 's/^requires_ansible: *["'"'"']\{0,1\}>= *\([0-9]*\.[0-9]*\).*/\1/p' $(ROOT)/meta/runtime.yml)
FLOOR_PYTHON ?= $(PYTHON)
SANITY_ROOT := $(ROOT)/build/sanity/ansible_collections/o365/admin

# Everything below finds the collection as o365.admin through this path.
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)

# pytest exits 5 when it collects nothing; that is not a failure of the suite.
define pytest
	cd $(COLLECTION_LINK) && PYTHONPATH=$(COLLECTIONS):$(ROOT) $(BIN)/python -m pytest -p no:cacheprovider $(1); \
	rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest: no tests collected in $(1)"; exit 0; fi; exit $$rc
endef

.PHONY: setup test unit floor integration artifact prism sanity lint docs-lint changelog docs build clean demo bench bench-groups bench-identity matrix \
	eda eda-venv bench-eda

setup: $(VENV)/.installed $(COLLECTION_LINK)

$(VENV)/.installed: requirements-dev.txt requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "make needs Python 3.11 or later" \
	  "for the pinned ansible-core 2.19 ($(PYTHON) is $$($(PYTHON) -V 2>&1)): run make PYTHON=python3.11 ..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

$(COLLECTION_LINK):
	mkdir -p $(dir $(COLLECTION_LINK))
	ln -sfn ../../../.. $(COLLECTION_LINK)

test: unit floor integration eda artifact sanity lint docs-lint

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
	$(BIN)/ansible-lint --offline --profile production roles/ playbooks/ tests/integration/playbooks/ benchmarks/playbooks/ \
	  execution-environment/ extensions/

# Changelog fragments are valid, CHANGELOG.rst is what changelogs/changelog.yaml generates, every plugin's and
# role's docs and the guides (docs/docsite) pass the checks the Ansible package runs on its collections, and every
# internal link and anchor of the built site (make docs) leads somewhere (offline: external links are not fetched).
docs-lint: setup docs
	cd $(COLLECTION_LINK) && PATH=$(BIN):$$PATH $(BIN)/antsibull-changelog lint
	cp CHANGELOG.rst build/CHANGELOG.rst.committed
	cd $(COLLECTION_LINK) && PATH=$(BIN):$$PATH $(BIN)/antsibull-changelog generate
	@cmp -s CHANGELOG.rst build/CHANGELOG.rst.committed || { diff -u build/CHANGELOG.rst.committed CHANGELOG.rst; \
	  cp build/CHANGELOG.rst.committed CHANGELOG.rst; \
	  echo "CHANGELOG.rst is not what changelogs/changelog.yaml generates: run make changelog"; exit 1; }
	cd $(COLLECTION_LINK) && PATH=$(BIN):$$PATH $(BIN)/antsibull-docs lint-collection-docs --plugin-docs .
	$(BIN)/python tools/check_site_links.py $(DOCS)/html docs/docsite/extra-docs.yml README.md
	@echo "docs-lint: changelog fragments, CHANGELOG.rst, collection docs, guides and the site's links passed"

# Fold the changelog fragments into the release being prepared (galaxy.yml's version) and regenerate CHANGELOG.rst.
changelog: setup
	cd $(COLLECTION_LINK) && PATH=$(BIN):$$PATH $(BIN)/antsibull-changelog release --update-existing \
	  --version $$($(BIN)/python -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')

# The HTML documentation site in build/docs/html: the guides (docs/docsite/rst, listed in docs/docsite/extra-docs.yml,
# the one list: tools/site_pages.py writes the site's guide toctree from it), antsibull-docs' pages for every module,
# role and plugin, and the event source's page (written by tools/site_pages.py). Offline; warnings are errors.
DOCS := $(ROOT)/build/docs
docs: setup
	rm -rf $(DOCS) && mkdir -p $(DOCS)/rst && chmod 755 $(DOCS) $(DOCS)/rst
	PATH=$(BIN):$$PATH $(BIN)/antsibull-docs collection --use-current --dest-dir $(DOCS)/rst --fail-on-error o365.admin
	$(BIN)/python tools/site_pages.py $(DOCS)/rst
	cp docs/rst/action_plugins.rst $(DOCS)/rst/
	$(BIN)/sphinx-build -q -b html -c docs -W --keep-going $(DOCS)/rst $(DOCS)/html
	@echo "Documentation site: $(DOCS)/html/index.html"

build: setup
	mkdir -p build/dist && $(BIN)/ansible-galaxy collection build --force --output-path build/dist .

clean:
	rm -rf build .venv

# The artifact is what gets tested: build the Galaxy tarball, install it into an empty collections path, check
# its contents, then run a representative part of the end-to-end suite against the INSTALLED copy (PYTHONPATH
# holds the checkout's tests, not build/collections, so nothing can reach the checkout's plugins).
ARTIFACT := $(ROOT)/build/artifact
ARTIFACT_E2E := test_revoke_succeeds_and_the_user_is_revoked or test_bulk_revoke_in_batches_of_twenty \
	or test_check_mode_reads_the_user_and_sends_no_post or test_check_mode_with_users_reads_them_and_revokes_nothing \
	or test_certificate_credential or test_environment_names_of_the_awx_azure_credential
define artifact_pytest
	cd $(ROOT) && ANSIBLE_COLLECTIONS_PATH=$(ARTIFACT)/collections O365_TEST_COLLECTIONS_PATH=$(ARTIFACT)/collections \
	  O365_TEST_TARBALL=$$(ls $(ARTIFACT)/dist/o365-admin-*.tar.gz) O365_TEST_ROUTES=direct \
	  PYTHONPATH=$(ARTIFACT)/collections:$(ROOT) $(BIN)/python -m pytest -p no:cacheprovider $(1)
endef

# galaxy-importer, the importer Galaxy and Automation Hub run, in a virtualenv of its own (it pins its own
# ansible-core and ansible-lint); configured by tests/artifact/galaxy-importer.cfg to need no container engine.
IMPORTER := $(ROOT)/build/importer
$(IMPORTER)/.installed: tools/requirements-importer.txt
	rm -rf $(IMPORTER) && $(PYTHON) -m venv $(IMPORTER)
	$(IMPORTER)/bin/pip install --quiet -r tools/requirements-importer.txt
	touch $@

artifact: setup $(IMPORTER)/.installed
	rm -rf $(ARTIFACT) && mkdir -p $(ARTIFACT)/dist $(ARTIFACT)/collections
	$(BIN)/ansible-galaxy collection build --output-path $(ARTIFACT)/dist .
	$(BIN)/python tools/galaxy_import.py $(IMPORTER)/bin/python $$(ls $(ARTIFACT)/dist/o365-admin-*.tar.gz) \
	  $(ARTIFACT)/galaxy-importer.log
	ANSIBLE_COLLECTIONS_PATH=$(ARTIFACT)/collections $(BIN)/ansible-galaxy collection install --offline \
	  -p $(ARTIFACT)/collections $(ARTIFACT)/dist/o365-admin-*.tar.gz
	@ls -l $(ARTIFACT)/dist/o365-admin-*.tar.gz
	$(call artifact_pytest,tests/artifact)
	$(call artifact_pytest,tests/integration -k "$(ARTIFACT_E2E)")

# Prism validates the module's requests and the emulator's answers against tests/contract/graph-v1.0-subset.yaml.
PRISM_VERSION := 5.14.2
.prism/node_modules/.bin/prism:
	npm install --prefix .prism --no-audit --no-fund --silent @stoplight/prism-cli@$(PRISM_VERSION)

prism: .prism/node_modules/.bin/prism

# Two pytest-xdist workers (INTEGRATION_WORKERS): the direct route's scenarios on one, Prism's on the other, each
# with an emulator of its own (tests/integration/conftest.py), side by side. INTEGRATION_WORKERS=0
# runs the suite in one process.
INTEGRATION_WORKERS ?= 2
integration: setup prism
	$(call pytest,tests/integration $(if $(filter-out 0,$(INTEGRATION_WORKERS)),-n $(INTEGRATION_WORKERS) --dist loadgroup))

# `make demo` and `make emulator` need only ansible-core, msal, requests and what the emulator uses: a small
# virtualenv of their own, pinned as requirements-dev.txt pins them, not the whole development toolchain.
DEMO_VENV := $(ROOT)/build/demo
DEMO_PACKAGES := ansible-core|msal|requests|cryptography|PyJWT|trustme
$(DEMO_VENV)/.installed: requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "make demo needs Python 3.11 or later" \
	  "for the pinned ansible-core ($(PYTHON) is $$($(PYTHON) -V 2>&1)): run make PYTHON=python3.11 ..." >&2; exit 1; }
	rm -rf $(DEMO_VENV) && $(PYTHON) -m venv $(DEMO_VENV)
	grep -E '^($(DEMO_PACKAGES))(\[[a-z]+\])?==' requirements-dev.txt > $(DEMO_VENV)/requirements.txt
	$(DEMO_VENV)/bin/pip install --quiet -r $(DEMO_VENV)/requirements.txt
	touch $@

demo: $(DEMO_VENV)/.installed $(COLLECTION_LINK)
	$(DEMO_VENV)/bin/python tools/demo.py

# The emulator in the foreground, for your own playbooks: prints the export lines (or a module_defaults block) for
# an app holding every permission the guides use, the demo tenant's users, how to make a user risky and the
# ansible-rulebook line with its inventory and variables (written to build/emulator); Ctrl-C stops it.
# TENANTS=3 starts three emulator tenants instead and writes build/emulator/tenants.yml for contain_tenants.yml.
# EMULATOR_ARGS="--port 8443", "--app o365-admin-demo", "--latency-ms 50".
.PHONY: emulator
emulator: $(DEMO_VENV)/.installed $(COLLECTION_LINK)
	$(DEMO_VENV)/bin/python tools/emulator.py $(if $(TENANTS),--tenants $(TENANTS)) $(EMULATOR_ARGS)

# Figures, not a test: see benchmarks/revoke_bulk.py and benchmarks/group_vs_users.py.
# BENCH_ARGS="--sizes 1,100" for a quicker revoke_bulk run; `make bench-groups` runs the group figures alone.
bench: setup bench-groups bench-identity bench-tenants bench-eda bench-evidence bench-containment bench-release
	$(BIN)/python benchmarks/revoke_bulk.py $(BENCH_ARGS)

# What comparing users as directory objects costs: 1,000 users named in one form, and in mixed forms.
bench-identity: setup
	$(BIN)/python benchmarks/identity_forms.py

bench-groups: setup
	$(BIN)/python benchmarks/group_vs_users.py

# Unit tests and the direct end-to-end suite on every supported ansible-core, each on the oldest and newest
# Python of pyenv's that it supports (one virtualenv each under build/matrix). Not part of `make test`: ~80 min.
# MATRIX_ARGS="--only 2.16,2.21" for some minors.
matrix: setup
	$(BIN)/python tools/matrix.py $(MATRIX_ARGS)

# Part of `make test` (about a minute): the unit tests and an end-to-end revoke on the lowest versions the collection
# claims, read from meta/runtime.yml and requirements.txt (ansible-core 2.16.0, msal 1.29, requests 2.25), each
# installed at exactly that version in a virtualenv of its own under build/floor (tools/floor.py), with $(PYTHON).
# ansible-core 2.16 takes Python 3.10 to 3.12: with PYTHON=python3.13, give FLOOR_PYTHON=python3.12.
# FLOOR_ARGS="--set msal==1.28.1" runs the same job below a claim.
floor: setup
	@test -n "$(FLOOR_CORE)" || { echo "make floor: no requires_ansible \">=X.Y\" in meta/runtime.yml" >&2; exit 1; }
	$(BIN)/python tools/floor.py --python $$(command -v $(FLOOR_PYTHON)) $(FLOOR_ARGS)

# The Execution Environment image, built for real with podman (runc, execution-environment/containers.conf) on a
# Debian bookworm base made with mmdebstrap, from execution-environment/execution-environment-local.yml; then a job
# inside it (podman run --network host, ansible-playbook) revokes a user at the emulator on loopback. Installs
# podman, runc and mmdebstrap with apt-get when missing. Slow (about 2 minutes, 1 more for a new base), so not part
# of `make test`. EE_ARGS="--rebuild-base" makes the base image again.
.PHONY: ee
ee: build
	$(BIN)/python tools/ee.py $$(ls build/dist/o365-admin-*.tar.gz) $(EE_ARGS) --tag localhost/o365-admin-ee:$$($(BIN)/python \
	  -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')

# The property-based tests of the user reference encoder at full size (`make test` runs them small).
.PHONY: fuzz
fuzz: setup
	export O365_FUZZ_EXAMPLES=10000; $(call pytest,tests/unit/plugins/module_utils/test__user_ref_properties.py -q)

# Event-Driven Ansible (issue 19): ansible-rulebook, pinned in requirements-eda.txt, in a virtualenv of its own (the
# engine and its Drools JVM bridge stay out of .venv). Its Drools engine needs Java 17: JAVA_HOME is taken from the
# java on PATH when not set.
EDA_VENV := $(ROOT)/build/eda-venv
EDA_JAVA_HOME := $(or $(JAVA_HOME),$(shell j=$$(readlink -f $$(command -v java) 2>/dev/null) && dirname $$(dirname $$j)))
$(EDA_VENV)/.installed: requirements-eda.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "make eda needs Python 3.11 or later" >&2; exit 1; }
	@test -n "$(EDA_JAVA_HOME)" || { echo "make eda needs Java 17 (ansible-rulebook's Drools engine): install it or set JAVA_HOME" >&2; exit 1; }
	$(PYTHON) -m venv $(EDA_VENV)
	$(EDA_VENV)/bin/pip install --quiet -r requirements-eda.txt
	touch $@

eda-venv: $(EDA_VENV)/.installed

# The rulebook end to end with the real engine against the emulator (tests/eda; about a minute). Not part of
# `make integration` (it needs Java, which this machine kind has, and its own virtualenv), but part of `make test`.
eda: setup eda-venv
	export JAVA_HOME=$(EDA_JAVA_HOME) O365_EDA_VENV=$(EDA_VENV); $(call pytest,tests/eda -q)

# Seconds from the emulator marking a user risky to Graph seeing the revoke and to its verification, 10 s poll
# interval, 5 runs each of the shipped playbook and of the one before issue 26 (the baseline), alternating, in one
# run (benchmarks/eda_latency.py; BENCH_EDA_ARGS="--runs 3 --paths new" is quicker).
bench-eda: setup eda-venv
	JAVA_HOME=$(EDA_JAVA_HOME) O365_EDA_VENV=$(EDA_VENV) $(BIN)/python benchmarks/eda_latency.py $(BENCH_EDA_ARGS)

# Figures for issue 26: 1,000 users contained by o365_containment, by the contain_user role and by the role as it was
# before (the baseline), in one run, then the module under a scaled-down write quota (benchmarks/containment.py;
# BENCH_CONTAINMENT_ARGS="--users 100 --no-quota" is quicker).
.PHONY: bench-containment
bench-containment: setup
	$(BIN)/python benchmarks/containment.py $(BENCH_CONTAINMENT_ARGS)

# Figures for issue 20: playbooks/contain_tenants.yml over 3 tenants x 1,000 users (forks 3) against 1 tenant x 1,000
# users, 50 ms per Graph request, in one run (benchmarks/tenants.py; BENCH_TENANTS_ARGS="--users 100" is quicker).
.PHONY: bench-tenants
bench-tenants: setup
	$(BIN)/python benchmarks/tenants.py $(BENCH_TENANTS_ARGS)

# Figures for issue 27: o365_containment_evidence_info proving 500 users within the reports limit (5 requests per 10 s)
# against a per-user baseline in the same run (benchmarks/evidence.py; BENCH_EVIDENCE_ARGS="--users 100" is quicker).
.PHONY: bench-evidence
bench-evidence: setup
	$(BIN)/python benchmarks/evidence.py $(BENCH_EVIDENCE_ARGS)

# Figures for issue 25: o365_containment state=released from a record of 1,000 and of 10,000 users against the
# emulator, and the decisions alone in process; the ratio shows the cost is linear (BENCH_RELEASE_ARGS="--sizes
# 100,1000" is quicker).
.PHONY: bench-release
bench-release: setup
	$(BIN)/python benchmarks/release.py $(BENCH_RELEASE_ARGS)
