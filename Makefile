# frontier.llm: the two commands a newcomer needs are `make site` and `make test`.
# Both create .venv with the pinned toolchain (requirements-dev.txt) when it is missing.

PYTHON ?= python3
VENV ?= .venv
SCENARIO ?= default
CHECK ?=
ARGS ?=
# pytest-xdist workers for make unit (auto: one per core).
UNIT_WORKERS ?= auto
INVENTORY ?=
# The sandbox's name and the key `make sandbox-key` prints (inventories/sandbox, stack_api_keys' default).
SANDBOX ?= frontier-sandbox
SANDBOX_KEY ?= default

BIN := $(CURDIR)/$(VENV)/bin
# Molecule shells out to ansible-config, so the venv's bin must be on PATH.
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: help venv gateway release-check release-check-static release-check-molecule release-check-molecule-built molecule-vm molecule-containers site sandbox-key destroy-sandbox site-test fleet-test promtool rollout doctor plan test lint yamllint ansible-lint sanity unit molecule molecule-all images bench build clean

help:
	@echo "make site [CHECK=1]        run site.yml on the local sandbox host (inventories/sandbox), CHECK=1: --check --diff"
	@echo "make site INVENTORY=inventories/local   provision this machine itself; INVENTORY=... any inventory"
	@echo "make sandbox-key           print the sandbox's API key alone"
	@echo "make destroy-sandbox       remove the sandbox host (and only it)"
	@echo "make rollout INVENTORY=... the stack in batches (canary, 25%, rest) behind a health gate"
	@echo "make doctor [INVENTORY=...] read-only diagnosis of each host's stack"
	@echo "make test                  the whole test suite (lint, sanity, unit, molecule, the sandbox site run)"
	@echo "make lint | sanity | unit  one stage of it"
	@echo "make gateway               what each key may do through the real gateway (recording upstream)"
	@echo "make release-check         the claimed ansible-core versions (2.17 and the newest), the EE context, galaxy-importer, docs and changelog lint"
	@echo "make molecule SCENARIO=x   one Molecule scenario (default: $(SCENARIO))"
	@echo "make plan [INVENTORY=...]  print and write the resource plans (playbooks/plan.yml; default inventories/examples)"
	@echo "make bench                 planner and playbook benchmarks"
	@echo "make images                the test platform: systemd images, the stack's images and the test model"

venv: $(STAMP)

$(STAMP): requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Python >= 3.11 is needed for ansible-core 2.19 (found $$($(PYTHON) --version))"; exit 1; }
	@PYTHON=$(PYTHON) HOST_SETUP_FOR="make venv" scripts/host-setup.sh venv
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# The sandbox shares the checkout's .cache (images, model) with the tests. On the sandbox (the default inventory) this
# machine needs a Docker engine and debootstrap: scripts/host-setup.sh installs and starts them when run as root on
# Debian or Ubuntu, or stops with one line naming what to install (CHECK=1 installs nothing).
site: venv
	@$(if $(filter inventories/sandbox inventories/sandbox/,$(or $(INVENTORY),inventories/sandbox)),HOST_SETUP_FOR="make site" \
	  scripts/host-setup.sh $(if $(CHECK),--check) sandbox)
	$(BIN)/ansible-playbook site.yml -i $(or $(INVENTORY),inventories/sandbox) -e sandbox_cache_dir=$(CURDIR)/.cache \
	  $(if $(CHECK),--check --diff) $(ARGS)

sandbox-key:
	@docker exec $(SANDBOX) python3 -c 'import json, sys; print(json.load(open("/opt/frontier-llm/secrets/api_keys.json"))[sys.argv[1]]["key"])' $(SANDBOX_KEY)

destroy-sandbox: venv
	$(BIN)/ansible-playbook playbooks/sandbox.yml -i inventories/sandbox -e sandbox_state=absent

rollout: venv
	$(BIN)/ansible-playbook playbooks/rollout.yml -i $(or $(INVENTORY),inventories/sandbox) -e sandbox_cache_dir=$(CURDIR)/.cache $(ARGS)

doctor: venv
	$(BIN)/ansible-playbook playbooks/doctor.yml -i $(or $(INVENTORY),inventories/sandbox) $(ARGS)

plan: venv
	$(BIN)/ansible-playbook playbooks/plan.yml -i $(or $(INVENTORY),inventories/examples) $(ARGS)

# The stages of make test, in order: tests/run-stages.sh runs each as `make STAGE`, stops at the first failure and
# prints each stage's wall time, CPU use and result, the elapsed total, and the count of stages passed and failed.
# bg:STAGE runs in the background at nice 19 beside the stages after it (tests/run-stages.sh): the release check's
# part that runs no container takes the CPU Molecule's hosts leave idle. par:STAGE runs so at normal priority:
# - molecule-vm, the linux_vm scenario, from the start beside all the others: its VM runs under software emulation
#   (KVM hangs on these machines), so it takes about 20 minutes however idle the machine, and it shares nothing
#   with the other stages (its own disk image, no Docker container, no make prerequisite but venv);
# - release-check-molecule-built, the release check's Molecule part, after molecule-containers (whose default and
#   linux_tuning scenarios use the same hosts' names), beside site-test and fleet-test (other hosts' names); the
#   images it needs are built by then, so it does not check them at the same time as site-test does.
TEST_STAGES := par:molecule-vm lint sanity unit bg:release-check-static gateway promtool molecule-containers \
	par:release-check-molecule-built site-test fleet-test

test: venv
	tests/run-stages.sh $(TEST_STAGES)

lint: yamllint ansible-lint

yamllint: venv
	$(BIN)/yamllint --strict .

ansible-lint: venv
	$(BIN)/ansible-lint --profile production

sanity: venv
	tests/sanity.sh

unit: venv
	$(BIN)/python -m pytest -ra -n $(UNIT_WORKERS) tests/unit

images: venv
	tests/platform/build-images.sh
	tests/platform/stack-assets.sh

molecule: venv images
	$(BIN)/molecule test -s $(SCENARIO)

molecule-all: venv images
	tests/molecule-all.sh

# make test's two parts of molecule-all: the VM scenario, and every other scenario.
molecule-vm: venv
	$(BIN)/molecule test -s linux_vm

molecule-containers: venv images
	MOLECULE_ELSEWHERE=linux_vm:molecule-vm tests/molecule-all.sh

# What each key may do through the real gateway (the role's Nginx files in the stack's Nginx image) in front of a
# recording upstream, for every route of each engine's route table.
gateway: venv images
	$(BIN)/python -m pytest -ra tests/gateway

# The stack's Prometheus rules, checked and unit-tested by Debian's promtool.
promtool: venv images
	tests/promtool.sh

# Rollout in batches and the doctor on four sandbox hosts.
fleet-test: venv images
	tests/fleet.sh

# The main command as a newcomer runs it: make site, its second run, sandbox-key, destroy-sandbox.
site-test: venv images
	tests/site-sandbox.sh

# The oldest and newest claimed ansible-core (unit, sanity, Molecule default), the execution
# environment's build context, galaxy-importer, antsibull-docs and antsibull-changelog lint.
release-check: venv images
	tests/release-check.sh

# make test's two parts of it: what runs no container (unit tests and sanity under each version, the EE context,
# galaxy-importer, docs and changelog lint), then Molecule's default scenario under each version.
release-check-static: venv
	RELEASE_CHECK_STEPS="unit sanity" tests/release-check.sh

release-check-molecule: venv images release-check-molecule-built

release-check-molecule-built: venv
	RELEASE_CHECK_STAGES=versions RELEASE_CHECK_STEPS=molecule tests/release-check.sh

bench: venv
	$(BIN)/python tests/bench/run.py

build: venv
	$(BIN)/ansible-galaxy collection build --force --output-path .cache/dist .

clean:
	rm -rf .cache tests/output plans
