# Set-up is two commands on a fresh machine: `make demo` and `make test`.
# Both create .venv when it is missing and install the project with its dev extras.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The torch build served on this machine; a venv that already has a torch keeps its own.
TORCH_PIN ?= torch==2.14.1 torchvision==0.29.1
# The suite runs on this many processes (pytest-xdist); most tests use one core at a time.
TEST_WORKERS ?= 2
# OpenMP threads that wait sleep instead of spinning: with every core busy (two workers on two
# cores) a spinning thread burns the core its peer needs. The README examples' test on the
# 2-core machine, load 3.8-4.5: 96.1 and 56.1 s with the default, 50.4 and 36.3 s passive
# (torch training after scikit-learn loaded its own libgomp is where the spinning costs most).
TEST_OMP_WAIT_POLICY ?= PASSIVE
# ... from the first moment: `import automl` lets them spin briefly (GOMP_SPINCOUNT=3000), which
# pays on an idle machine, not on busy cores (histogram gradient boosting, 50,000 rows, three busy
# processes beside it: 3.7 s without the spin, 7.1 s with it). The whole suite: 731.7 s with the
# spin (893d81b), 655.0 and 725.8 s without (893d81b, 6b73ab7): within its run-to-run spread.
TEST_GOMP_SPINCOUNT ?= 0

.PHONY: install demo test lint format bench bench-tabular clean
TABULAR := adult bank_marketing credit_g california_housing covertype

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch, torchvision" 2>/dev/null || $(PY) -m pip install $(TORCH_PIN)
	$(PY) -m pip install -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) studies/demo.py

test: install
	OMP_WAIT_POLICY=$(TEST_OMP_WAIT_POLICY) GOMP_SPINCOUNT=$(TEST_GOMP_SPINCOUNT) $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --durations=15

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# make bench STUDIES="adult sms_spam" (default: every studies/*.toml); benchmarks/ holds the scripts
bench: install
	$(PY) benchmarks/bench.py $(STUDIES)

bench-tabular: install
	$(PY) benchmarks/bench.py $(TABULAR)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache .import_linter_cache
