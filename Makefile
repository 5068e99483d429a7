# The two commands of the README: `make demo` and `make test`. `make install` is their shared first step.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU wheel of torch; an unpinned torch pulls a multi-GB CUDA build. Override on a GPU machine:
#   make install TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml Makefile | cksum | cut -d' ' -f1)
DEMO   ?= demo
PYTEST_ARGS ?= -n 2

.PHONY: install demo signal test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	# taming's modules need only torch, numpy and einops; the package also declares torchvision and
	# pytorch-lightning for its training code, which would drag in a torchvision that breaks beside
	# the CPU torch. Install it without its declared dependencies (README, "Installing").
	$(BIN)/python -m pip install -q --no-deps taming-transformers-rom1504==0.0.6
	$(BIN)/python -m pip install -q -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $@

demo: install
	$(BIN)/python -m pipeline.demo $(DEMO) $(DEMO_ARGS)

# issue 13: the signal corpus (faces drawn from their labels), trained and scored on its held-out split; signal/report.{json,html}
SIGNAL ?= signal
SIGNAL_ARGS ?= --tasks all --limit 60
signal: install
	$(BIN)/python -m pipeline.signal $(SIGNAL) $(SIGNAL_ARGS)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

# Every benchmark that has a quick mode (bench_converters_attr has --scale instead); results: bench/RESULTS.md
bench: install
	for b in bench/bench_*.py; do grep -q -- '"--quick"' $$b || continue; echo "== $$b"; $(BIN)/python $$b --quick || exit 1; done

clean:
	rm -rf $(VENV) $(DEMO) $(SIGNAL) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
