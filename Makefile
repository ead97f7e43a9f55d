VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test bench clean

install: $(STAMP)

# torch first, pinned to the CPU wheel available locally: anything else may pull a multi-GB CUDA build
$(STAMP): pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q torch==2.13.0
	$(PYTHON) -m pip install -q -e ".[dev,cluster]"
	touch $(STAMP)

run: install
	$(VENV)/bin/nco demo

test: install
	$(PYTHON) -m pytest -q

bench: install
	$(PYTHON) scripts/bench.py env
	$(PYTHON) scripts/bench.py model

clean:
	rm -rf $(VENV) outputs
