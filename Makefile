# Two commands on a fresh machine:  `make demo`  and  `make test`.
# Each creates .venv on first use. torch is pinned by constraints.txt to the CPU wheel this kind of
# machine has on disk (an unpinned torch would pull a multi-GB CUDA build); the package never pins torch.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-dev

.PHONY: demo test clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt torch==2.13.0 -e '.[dev]'
	touch $@

demo: $(STAMP)
	$(VENV)/bin/mathmind doctor
	$(VENV)/bin/mathmind demo --out demo-out

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) demo-out build dist *.egg-info
