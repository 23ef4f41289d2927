# One entry point for users and CI. Every target that needs the toolchain runs the idempotent
# setup first (Debian packages, Docker engine, venv, base image, wheelhouse): a fresh clone needs
# nothing else than `make deploy` or `make test`.

VARIANT ?= s3
TARGET  ?= local
CATALOG ?= offline
MODEL   ?= nlp1
# Unset QUESTION/CONTEXT: `make invoke` sends the sample's car question and paragraph
# (harness/example.py, their one definition).
QUESTION ?=
CONTEXT ?=
PYTEST_ARGS ?=
ARGS    ?= plan

PY      := .venv/bin/python
HARNESS := $(PY) -m harness
SETUP   := bash scripts/setup.sh
# The offline catalog resolves from ../shared/hf-cache unless the caller points elsewhere.
export HF_HUB_CACHE ?= $(abspath ../shared/hf-cache)
export HF_HUB_OFFLINE ?= 1

.PHONY: help setup test unit lint fmt validate checkov integration image publish deploy destroy plan tf invoke logs \
        local-up local-down local-status bench soak clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

setup: ## Install and start everything the project needs (idempotent)
	@$(SETUP)

test: setup ## Lint, unit, image, local-cloud, Terraform and integration tests (what CI runs)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	terraform fmt -check -recursive modules terraform
	$(PY) -m pytest $(PYTEST_ARGS)

unit: setup ## Fast tests only (no Docker, no local cloud, no Terraform plans or applies, no checkov)
	$(PY) -m pytest -m "not docker and not localcloud and not integration and not slow" $(PYTEST_ARGS)

integration: setup ## Deploy each variant on the local cloud, query it, destroy it
	$(PY) -m pytest -m integration $(PYTEST_ARGS)

lint: setup ## ruff check, ruff format --check, terraform fmt -check
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	terraform fmt -check -recursive modules terraform

fmt: setup ## Format Python and Terraform
	$(PY) -m ruff format .
	terraform fmt -recursive modules terraform

validate: setup ## terraform validate + checkov on every module and stack
	$(PY) -m pytest tests/terraform -m "not integration" -q

image: setup ## Build the function image for VARIANT
	$(HARNESS) image --variant $(VARIANT) --catalog $(CATALOG)

publish: setup ## Publish CATALOG's models to VARIANT's store (new revisions without redeploy)
	$(HARNESS) publish --variant $(VARIANT) --target $(TARGET) --catalog $(CATALOG)

deploy: setup ## Build, push, publish, apply, wait, print the URL
	$(HARNESS) deploy --variant $(VARIANT) --target $(TARGET) --catalog $(CATALOG)

destroy: setup ## Destroy VARIANT's stack
	$(HARNESS) destroy --variant $(VARIANT) --target $(TARGET)

plan: setup ## terraform plan for VARIANT
	$(HARNESS) plan --variant $(VARIANT) --target $(TARGET) --catalog $(CATALOG)

tf: setup ## Any terraform command on VARIANT's stack as the harness runs it: make tf VARIANT=efs ARGS="state list"
	$(HARNESS) terraform --variant $(VARIANT) --target $(TARGET) -- $(ARGS)

invoke: setup ## POST a question: make invoke VARIANT=efs MODEL=nlp2 QUESTION=... CONTEXT=... [TOKEN=<jwt>] (AWS_IAM APIs are signed)
	$(HARNESS) invoke --variant $(VARIANT) --target $(TARGET) --model "$(MODEL)" $(if $(QUESTION),--question "$(QUESTION)") $(if $(CONTEXT),--context "$(CONTEXT)")

logs: setup ## The function's CloudWatch log group (one stream per execution environment) [FOLLOW=1] [SINCE=10m]
	$(HARNESS) logs --variant $(VARIANT) --target $(TARGET) $(if $(SINCE),--since $(SINCE)) $(if $(FOLLOW),--follow)

local-up: setup ## Start the local cloud (Docker engine, registry, moto, gateway)
	$(HARNESS) local up

local-down: ## Stop the local cloud and remove what it created
	@if [ -x $(PY) ]; then $(HARNESS) local down; fi

local-status: ## What the local cloud runs now
	$(HARNESS) local status

# VARIANT=s3,oci and BENCH_CATALOGS=offline,offline-int8 (or CATALOG=... on the command line) pick a
# subset of the matrix; BENCH_ARGS passes more options (python -m harness bench --help).
bench: comma := ,
bench: BENCH_CATALOGS ?= $(if $(filter command line,$(origin CATALOG)),$(CATALOG),)
bench: setup ## Benchmark every variant x engine catalog (or VARIANT=..., BENCH_CATALOGS=a,b) on the local cloud
	$(HARNESS) bench $(if $(filter command line,$(origin VARIANT)),$(foreach v,$(subst $(comma), ,$(VARIANT)),--variant $(v)),) \
	  $(if $(BENCH_CATALOGS),--catalog $(BENCH_CATALOGS),) $(BENCH_ARGS)

# Not a timed test: one stack (VARIANT, efs unless given) under CONCURRENCY clients for SOAK_MINUTES,
# sampled every ~10 s; bench/results/soak.json + soak.png, and results.md / README when results.json is there.
soak: SOAK_VARIANT = $(if $(filter command line environment,$(origin VARIANT)),$(VARIANT),efs)
soak: SOAK_MINUTES ?= 10
soak: CONCURRENCY ?= 8
soak: setup ## Soak VARIANT (efs) at CONCURRENCY (8) for SOAK_MINUTES (10): errors, memory flat, logs/state bounded
	$(HARNESS) soak --variant $(SOAK_VARIANT) --catalog $(CATALOG) --minutes $(SOAK_MINUTES) \
	  --concurrency $(CONCURRENCY) $(SOAK_ARGS)

clean: local-down ## Remove all generated state (.state/)
	rm -rf .state
