# appmount.wsgi developer commands. Every target uses .venv (made by `make setup`).
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
.DEFAULT_GOAL := help
VENV := .venv
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
DEMO_PORT ?= 8080
DEMO_HTTPS_PORT ?= 8443
APPS ?= examples/apps.yml
SCENARIOS ?= $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml)))

.PHONY: help setup docker images lint unit docs sanity package-test molecule compat test demo demo-test demo-down bench

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(STAMP): requirements.txt scripts/setup.sh
	scripts/setup.sh
	touch $@

setup: $(STAMP) ## create .venv with the pinned Python tools

docker: ## make sure a Docker engine answers (installs Debian's docker.io as root if needed)
	scripts/ensure-docker.sh

images: docker ## build or reuse the Debian 12 and 13 systemd test images
	scripts/build-images.sh 12 13

lint: $(STAMP) ## yamllint, ansible-lint (production profile), ruff and mypy (strict for plugins/)
	yamllint --strict .
	ansible-lint
	ruff check plugins tests/unit
	mypy --strict plugins

unit: $(STAMP) ## pytest unit tests of the plugins and the role metadata
	pytest -q tests/unit

# Each scenario's output is kept in tests/output/; when one fails, its test
# failures are printed again at the end, where a truncated CI log still shows them.
molecule: $(STAMP) images ## molecule test for every scenario (Debian 12 and 13)
	@mkdir -p tests/output
	set -e; for s in $(SCENARIOS); do \
	  log=tests/output/molecule-$$s.log; start=$$(date +%s); \
	  if ! molecule test -s $$s 2>&1 | tee $$log; then \
	    echo "== molecule scenario $$s failed; its failures, from $$log:"; \
	    sed 's/\x1b\[[0-9;]*m//g' $$log | grep -aE ' E  |FAILED tests/|___ test_|fatal: |Error|ERROR ' | tail -80; \
	    exit 1; \
	  fi; \
	  echo "== molecule scenario $$s passed in $$(( $$(date +%s) - start )) s"; \
	done

docs: $(STAMP) ## regenerate roles/*/README.md and README.md's variable tables from the argument specs
	python tools/role_docs.py

sanity: $(STAMP) ## ansible-test sanity on a copy of the collection (Python 3.11)
	tests/sanity/run.sh

package-test: $(STAMP) images ## build and install the collection, deploy the examples from the tarball into a container
	tests/packaging/run.sh

# The oldest ansible-core that meta/runtime.yml claims (requires_ansible), in its own virtualenv
# .venv-2.18 (scripts/setup.sh 2.18, from requirements-2.18.txt): unit tests, sanity, and a
# converge + idempotence of the default scenario on Debian 12 and 13 with it.
COMPAT := 2.18
COMPAT_VENV := .venv-$(COMPAT)

compat: images ## unit tests, sanity, converge + idempotence with ansible-core 2.18, the oldest claimed
	scripts/setup.sh $(COMPAT)
	$(COMPAT_VENV)/bin/pytest -q tests/unit
	ANSIBLE_TEST=$(CURDIR)/$(COMPAT_VENV)/bin/ansible-test tests/sanity/run.sh
	@mkdir -p tests/output
	export PATH=$(CURDIR)/$(COMPAT_VENV)/bin:$$PATH; ansible --version | sed -n 1p; status=0; \
	  { molecule converge -s default && molecule idempotence -s default; } 2>&1 | tee tests/output/molecule-compat.log \
	    || status=1; \
	  molecule destroy -s default >/dev/null 2>&1; exit $$status

test: lint unit sanity package-test demo-test molecule compat ## everything CI runs

demo: $(STAMP) ## deploy the example apps (or APPS=file.yml) into a local Debian 12 container
	DEMO_PORT=$(DEMO_PORT) DEMO_HTTPS_PORT=$(DEMO_HTTPS_PORT) APPS=$(APPS) scripts/demo.sh

demo-test: $(STAMP) images ## make demo twice, on ports of its own (the second time on others): HTTPS, summary, redirect
	tests/demo/run.sh

demo-down: ## remove the demo container
	docker rm -f appmount-demo

# Not part of `make test`: about 25 minutes on 2 cores. BENCH_ARGS passes options
# to bench/run.py, e.g. BENCH_ARGS="--sizes 1,10 --no-tuning" or "--strict".
BENCH_ARGS ?=
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP) bench/requirements.txt
	$(VENV)/bin/pip install -q -r bench/requirements.txt
	touch $@

bench: $(BENCH_STAMP) ## playbook time vs number of apps, serving speed and tuning, in Debian 12 containers (bench/results/)
	python bench/run.py $(BENCH_ARGS)
