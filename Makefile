# The two commands of the README, and what they rely on.
#   make demo   installs everything into .venv and runs the main job on the embedded defaults
#   make test   installs everything (Debian packages too) and runs every test tier this machine can run
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
AILAB := .venv/bin/ailab
# Debian packages the integration tests use: debootstrap builds the Debian rootfs the Ansible roles converge
# (systemd-container, iproute2 and socat boot it in network namespaces of its own and reach it over SSH),
# postgresql runs the on-premises database's password rotation for real, openssl answers RFC 3161 timestamps.
APT_PACKAGES := debootstrap gnupg openssh-client openssl postgresql systemd-container iproute2 socat
REPORTS := reports

.PHONY: install apt demo test lint typecheck unit bench clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Idempotent: uv installs exactly what uv.lock pins, and nothing when it is already there.
# Bytecode is compiled at install time so start-up stays fast where PYTHONDONTWRITEBYTECODE is set.
install: $(UV)
	$(UV) sync --locked --quiet --compile-bytecode

# Debian packages, installed only when missing; without root they are reported, and the tests
# that need them skip with that reason.
apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else \
		echo "make apt: not root, cannot install: $$missing (tests needing them will skip)"; \
	fi

demo: install
	mkdir -p $(REPORTS)
	$(AILAB) lab validate
	$(AILAB) lab plan --stack aws-eu --json $(REPORTS)/plan-aws-eu.json
	$(AILAB) lab plan --stack onprem --json $(REPORTS)/plan-onprem.json
	$(AILAB) policy check --stack aws-eu --waivers policies/waivers.example.yaml --format console,html,sarif --output $(REPORTS)
	$(AILAB) policy check --stack onprem --waivers policies/waivers.example.yaml --format console,html,sarif --output $(REPORTS)
	$(AILAB) sandbox plan 2026-042-chatbot --team alice,bob --profile gpu-mig --stack aws-eu \
		--purpose "Example audit: bias evaluation of a chatbot" --json $(REPORTS)/sandbox-plan-2026-042-chatbot.json
	# Evaluation run on this machine: ailab's own MLflow, a model trained on bundled data (no download).
	# Exit 1 means a check failed, which is a finding the report shows, not a broken demo.
	$(AILAB) lab local up
	.venv/bin/python examples/eval/train_demo_model.py
	$(AILAB) eval run examples/eval/diabetes-plan.yaml --local --json $(REPORTS)/eval-run.json || [ $$? -eq 1 ]
	$(AILAB) eval report "$$(.venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["mlflow_run_id"])' $(REPORTS)/eval-run.json)" \
		--format html,md,json --output $(REPORTS)
	@echo "demo done: reports in $(REPORTS)/; the local MLflow server is still running for the report's links" \
		"($(AILAB) lab local status); stop it with: $(AILAB) lab local down"

lint: install
	.venv/bin/ruff check src tests benchmarks
	.venv/bin/ruff format --check src tests benchmarks
	.venv/bin/lint-imports --no-logo
	PATH="$(CURDIR)/.venv/bin:$$PATH" .venv/bin/ansible-lint -q roles playbooks inventories

typecheck: install
	.venv/bin/mypy

test: install apt lint typecheck
	.venv/bin/pytest

unit: install
	.venv/bin/pytest -m "not integration and not pulumi_cli and not gpu"

bench: install
	.venv/bin/python benchmarks/run_all.py

clean:
	rm -rf .venv .tools .mypy_cache .ruff_cache .pytest_cache .import_linter_cache $(REPORTS)
