# One command each, on a fresh machine: `make book`, `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU wheel that these machines carry. With a GPU, install a CUDA build of
# a version that requirements.txt admits instead, e.g.
#   make book TORCH_SPEC="torch==2.13.0 --index-url <your CUDA wheel index>"
TORCH_SPEC ?= torch==2.13.0
STAMP  := $(VENV)/.installed
PORT   ?= 8000

.PHONY: all install book test lint serve bench mutate clean
all: book

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

install: $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . -W --keep-going

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP)
	$(BIN)/python -m pytest --nbval --nbval-current-env tests chapters

serve:
	@test -f _build/html/index.html || { echo "no _build/html: run 'make book' first"; exit 1; }
	$(BIN)/python -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

bench: $(STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/chunked_ce.py

# The mutation score (issue 11): every planted bug in mutate/mutants/ must be
# caught by a cell tagged verifies-4.5.N. Scratch goes to test-artifacts/mutate.
mutate: $(STAMP)
	$(BIN)/python mutate/run.py

clean:
	rm -rf _build .pytest_cache .ruff_cache .hypothesis test-artifacts
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
