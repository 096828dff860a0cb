# genlab: `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ARGS   ?=

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed ## Create .venv and install genlab (editable) with its dev tools

train: $(VENV)/.installed ## Train the default model on MNIST (extra overrides: make train ARGS="model=gan arch=cnn")
	$(BIN)/python -m genlab.train $(ARGS)

report: $(VENV)/.installed ## Table and plot of a sweep (make report ARGS="outputs/multirun/<time> --sort fid")
	$(BIN)/python -m genlab.report $(ARGS)

test: $(VENV)/.installed ## Run the test suite
	$(BIN)/python -m pytest $(ARGS)

install-check: $(VENV)/.installed ## A wheel installed without extras runs the README's commands (ARGS="--extras sweeps,mlflow")
	$(BIN)/python scripts/install_check.py $(ARGS)

test-cluster: $(VENV)/.installed ## Cluster tests: starts SLURM (apt-get if missing), Ray (pip extra), 2 torchrun nodes; stops them
	bash scripts/cluster/test.sh $(ARGS)

lint: $(VENV)/.installed ## Check style with ruff
	$(BIN)/ruff check genlab hydra_plugins tests scripts
	$(BIN)/ruff format --check genlab hydra_plugins tests scripts

format: $(VENV)/.installed ## Format the code with ruff
	$(BIN)/ruff format genlab hydra_plugins tests scripts
	$(BIN)/ruff check --fix genlab hydra_plugins tests scripts

bench: $(VENV)/.installed ## Train speed against the tutorial loop (ARGS="--models gan-mlp --out speed.md")
	$(BIN)/python -m genlab.bench $(ARGS)

tensorboard: $(VENV)/.installed ## Open TensorBoard on every run under outputs/
	$(BIN)/tensorboard --logdir outputs

clean: ## Remove caches (keeps .venv, data/ and outputs/)
	rm -rf .pytest_cache .ruff_cache $$(find . -name __pycache__ -not -path './$(VENV)/*')

.PHONY: help install train report test install-check test-cluster bench lint format tensorboard clean
