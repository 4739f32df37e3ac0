# Two commands on a fresh machine:  `make demo`  and  `make test`.
# Each creates .venv on first use. torch is pinned by constraints.txt to the CPU wheel this kind of
# machine has on disk (an unpinned torch would pull a multi-GB CUDA build); the package never pins torch.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-dev
# openMind 1.0 pins Python < 3.11, transformers 4.45 and setuptools 69 (torch 2.13 needs >= 77), so it gets
# its own environment, installed without its pins where they cannot hold; the tests run openmind-cli from it.
# openMind goes in last and --no-deps: pip checks nothing then, while any later install would print its knowingly
# unmet pins (setuptools==69.5.1, ...) as an ERROR.
OM_VENV  ?= .venv-openmind
OM_STAMP := $(OM_VENV)/.installed

# The review page's browser test drives Debian's headless Chromium through its chromedriver (installed when missing;
# apt needs root, else sudo).
CHROMEDRIVER ?= /usr/bin/chromedriver
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: demo test clean openmind-venv

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt torch==2.13.0 -e '.[dev]'
	touch $@

$(OM_STAMP): constraints.txt
	$(PYTHON) -m venv $(OM_VENV)
	$(OM_VENV)/bin/pip install -q --upgrade pip
	$(OM_VENV)/bin/pip download -q openmind==1.0.0 --no-deps --python-version 3.10 --only-binary=:all: -d $(OM_VENV)/wheels
	$(OM_VENV)/bin/pip install -q -c constraints.txt torch==2.13.0
	$(OM_VENV)/bin/pip install -q -c constraints.txt --ignore-requires-python "datasets>=2.18,<=2.21" "numpy<2" \
		openmind-hub==0.9.1 einops==0.8.0 sentencepiece tabulate tiktoken tokenizers docker decorator "pyarrow<20" \
		transformers==4.45.2 accelerate==1.0.0rc1 peft==0.14.0
	$(OM_VENV)/bin/pip install -q -c constraints.txt --no-deps --ignore-requires-python $(OM_VENV)/wheels/openmind-1.0.0-*.whl
	touch $@

openmind-venv: $(OM_STAMP)

$(CHROMEDRIVER):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver > /dev/null

demo: $(STAMP)
	$(VENV)/bin/mathmind doctor
	$(VENV)/bin/mathmind demo --out demo-out

test: $(STAMP) $(OM_STAMP) $(CHROMEDRIVER)
	MATHMIND_REQUIRE_OPENMIND=1 MATHMIND_REQUIRE_BROWSER=1 $(PY) -m pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) $(OM_VENV) demo-out build dist *.egg-info
