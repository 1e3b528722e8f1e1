# The two commands a new user needs: `make demo` and `make test`.
PY      ?= python3
VENV    := .venv
VPY     := $(VENV)/bin/python
STAMP   := $(VENV)/.installed

.PHONY: test demo bench lint clean sysdeps fuzz compiled test-compiled bench-compiled

$(STAMP): pyproject.toml
	test -x $(VPY) || $(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# System packages the tests use, installed when missing and running as root.
SYSPKGS := tshark iptables iproute2 libusrsctp-examples libusrsctp-dev gcc
sysdeps:
	@missing=""; for p in $(SYSPKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "note: not root, not installing$$missing (tests needing them will fail)"; fi; \
	fi

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy --strict src

test: $(STAMP) sysdeps lint
	$(VENV)/bin/pytest

demo: $(STAMP)
	$(VPY) -m sctpx demo

# compare.py installs what it compares against (aiortc via pip; libusrsctp-examples via apt
# when root) and needs root for its set-up and black-hole rows; see docs/performance.md.
bench: $(STAMP)
	$(VPY) bench/wire.py
	$(VPY) bench/core_transfer.py
	$(VPY) bench/hol.py
	$(VPY) bench/compare.py
	$(VPY) bench/kernel_vm.py

# The endpoint fuzzer's long run (issue 16; docs/fuzzing.md): 10**6 mutated packets over
# its three targets, in 2 processes; make test runs a short fixed-seed part of it.
fuzz: $(STAMP)
	$(VPY) tests/fuzz/fuzz_harness.py --packets 1000000 --jobs 2 --seed 1

# Optional compiled build (issue 14; docs/performance.md "mypyc"): sctpx/core compiled
# with mypyc (part of mypy, a dev dependency) and a C compiler into build/compiled/src, a
# copy of src/; the pure-Python package in src/ stays what `make test` and `make demo` use.
# core/errors.py stays Python (mypyc cannot compile a subclass of OSError).
# `make test-compiled` runs the suite on it (CI runs it after `make test`), all of it but
# tests/kernel_backend, whose scenarios run in the VM on the src/ it ships there (the pure
# build: a second run would test nothing new). Without a C compiler and the Python
# headers it says so and skips. COMPILED_DIR=... builds elsewhere.
COMPILED_DIR ?= build/compiled
COMPILED := $(COMPILED_DIR)/src
HAVE_CC = { command -v cc || command -v gcc; } >/dev/null 2>&1 && \
  $(VPY) -c "import os, sysconfig; assert os.path.exists(sysconfig.get_paths()['include'] + '/Python.h')" 2>/dev/null
compiled: $(STAMP)
	@$(HAVE_CC) || { echo "compiled: needs a C compiler (cc or gcc) and Python.h"; exit 1; }
	rm -rf $(COMPILED_DIR) && mkdir -p $(COMPILED_DIR) && cp -r src $(COMPILED)
	find $(COMPILED) -name __pycache__ -prune -exec rm -rf {} +
	cd $(COMPILED) && $(abspath $(VENV))/bin/mypyc $$(ls sctpx/core/*.py | grep -v errors.py) >../mypyc.log 2>&1 \
	  || { tail -20 ../mypyc.log; exit 1; }
	PYTHONPATH=$(COMPILED) $(VPY) -c "import importlib, pathlib; \
	  mods = [p.stem for p in pathlib.Path('$(COMPILED)/sctpx/core').glob('*.py') if p.stem not in ('errors', '__init__')]; \
	  bad = [m for m in mods if not importlib.import_module('sctpx.core.' + m).__file__.endswith('.so')]; \
	  assert not bad, bad; print('compiled:', len(mods), 'modules of sctpx.core')"

test-compiled: $(STAMP) sysdeps
	@if ! $(HAVE_CC); then \
	  echo "test-compiled: SKIPPED: no C compiler (cc or gcc) or no Python.h to build the mypyc core"; \
	else \
	  $(MAKE) --no-print-directory compiled && \
	  PYTHONPATH=$(abspath $(COMPILED)) $(VENV)/bin/pytest --ignore=tests/kernel_backend; \
	fi

bench-compiled: compiled
	PYTHONPATH=$(abspath $(COMPILED)) $(VPY) bench/core_transfer.py
	PYTHONPATH=$(abspath $(COMPILED)) $(VPY) bench/compare.py --only bulk --only inmem

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
