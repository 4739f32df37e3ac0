# Two commands on a fresh machine:  `make demo`  and  `make test`.
# Each creates .venv on first use. The package never pins torch; these environments get TORCH (a requirement or
# a wheel file; constraints.txt holds it at 2.13.0) from TORCH_INDEX when set, else from pip's own index:
#   - PyPI (Linux x86_64) serves the CUDA build there, with several GB of NVIDIA wheels;
#   - the project's build machines serve the CPU wheel they keep on disk (pip's find-links).
#   make demo TORCH_INDEX=https://download.pytorch.org/whl/cpu     the CPU build (~200 MB) from PyTorch's index
#   make demo TORCH_INDEX=https://download.pytorch.org/whl/cu128   a CUDA 12.8 build
#   make demo TORCH=/path/to/torch-2.13.0+cpu-cp311-...whl         a wheel file you have
# (`make clean` first to rebuild an existing .venv.)
TORCH       ?= torch==2.13.0
TORCH_INDEX ?=
TORCH_FROM  := $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
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
# LLaMA-Factory 0.9.5 gets its own environment too (transformers <= 5.6, datasets <= 4.0, trl <= 0.24). Its
# torchvision/torchaudio requirements would pull wheels built for another torch that break its import, so it is
# installed without them: torchvision absent (transformers does without it), torchaudio 2.11 (imported by
# llamafactory.data.mm_plugin, used only for audio data) without its compiled extension, which targets CUDA torch
# 2.11; torchaudio treats a missing extension as not built. The web UI / API / video / hub packages are left out.
# LLaMA-Factory goes in last and --no-deps, so pip does not print the requirements left out as errors.
LF_VENV  ?= .venv-llamafactory
LF_STAMP := $(LF_VENV)/.installed
LF_SKIP  := torchvision torchaudio gradio fastapi uvicorn sse-starlette av hf-transfer fire modelscope tyro torchdata

# The review page's browser test drives Debian's headless Chromium through its chromedriver (installed when missing;
# apt needs root, else sudo).
CHROMEDRIVER ?= /usr/bin/chromedriver
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: demo test clean openmind-venv llamafactory-venv

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt $(TORCH_FROM) "$(TORCH)"
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

$(OM_STAMP): constraints.txt
	$(PYTHON) -m venv $(OM_VENV)
	$(OM_VENV)/bin/pip install -q --upgrade pip
	$(OM_VENV)/bin/pip download -q openmind==1.0.0 --no-deps --python-version 3.10 --only-binary=:all: -d $(OM_VENV)/wheels
	$(OM_VENV)/bin/pip install -q -c constraints.txt $(TORCH_FROM) "$(TORCH)"
	$(OM_VENV)/bin/pip install -q -c constraints.txt --ignore-requires-python "datasets>=2.18,<=2.21" "numpy<2" \
		openmind-hub==0.9.1 einops==0.8.0 sentencepiece tabulate tiktoken tokenizers docker decorator "pyarrow<20" \
		transformers==4.45.2 accelerate==1.0.0rc1 peft==0.14.0
	$(OM_VENV)/bin/pip install -q -c constraints.txt --no-deps --ignore-requires-python $(OM_VENV)/wheels/openmind-1.0.0-*.whl
	touch $@

openmind-venv: $(OM_STAMP)

$(CHROMEDRIVER):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver > /dev/null

$(LF_STAMP): constraints.txt
	$(PYTHON) -m venv $(LF_VENV)
	$(LF_VENV)/bin/pip install -q --upgrade pip
	$(LF_VENV)/bin/pip install -q -c constraints.txt $(TORCH_FROM) "$(TORCH)"
	$(LF_VENV)/bin/pip download -q llamafactory==0.9.5 --no-deps -d $(LF_VENV)/wheels
	$(LF_VENV)/bin/python -c "import re, sys, zipfile; w = zipfile.ZipFile(sys.argv[1]); skip = set(sys.argv[2:]); \
		meta = w.read(next(n for n in w.namelist() if n.endswith('.dist-info/METADATA'))).decode(); \
		reqs = [l.split(': ', 1)[1] for l in meta.splitlines() if l.startswith('Requires-Dist: ')]; \
		print('\n'.join(r for r in reqs if 'extra ==' not in r and re.match(r'[\w.-]+', r)[0] not in skip))" \
		$(LF_VENV)/wheels/llamafactory-0.9.5-py3-none-any.whl $(LF_SKIP) > $(LF_VENV)/requirements.txt
	$(LF_VENV)/bin/pip install -q -c constraints.txt -r $(LF_VENV)/requirements.txt
	$(LF_VENV)/bin/pip install -q --no-deps torchaudio==2.11.0
	rm -f $(LF_VENV)/lib/python*/site-packages/torchaudio/lib/*.so
	$(LF_VENV)/bin/pip install -q --no-deps $(LF_VENV)/wheels/llamafactory-0.9.5-py3-none-any.whl
	$(LF_VENV)/bin/python -c "import llamafactory.data.mm_plugin, llamafactory.hparams; print('LLaMA-Factory imports')"
	touch $@

llamafactory-venv: $(LF_STAMP)

demo: $(STAMP)
	$(VENV)/bin/mathmind doctor
	$(VENV)/bin/mathmind demo --out demo-out

test: $(STAMP) $(OM_STAMP) $(LF_STAMP) $(CHROMEDRIVER)
	MATHMIND_REQUIRE_OPENMIND=1 MATHMIND_REQUIRE_LLAMAFACTORY=1 MATHMIND_REQUIRE_BROWSER=1 $(PY) -m pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) $(OM_VENV) $(LF_VENV) demo-out build dist *.egg-info
