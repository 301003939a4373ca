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

.PHONY: all install book pdf catalogs test test-gpu lint serve bench mutate clean
all: book

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

install: $(STAMP)

# The site, with its downloads (issue 17): the llmloss wheel and the notebook
# archive (takeaway/downloads.py, offline), and the PDF if `make pdf` made one.
# Two editions from the same sources (issue 18, i18n/editions.py): English at
# _build/html, Chinese (locales/zh_CN) at _build/html/zh, both with -W.
book: $(STAMP)
	$(BIN)/python takeaway/downloads.py _build/downloads
	$(BIN)/python i18n/editions.py html

# After changing English text: extract the messages afresh and merge them into
# locales/zh_CN (sphinx-intl), then list what needs translating (i18n/catalogs.py).
catalogs: $(STAMP)
	$(BIN)/python i18n/editions.py catalogs
	$(BIN)/python i18n/catalogs.py check

# The whole book as one PDF per edition, _build/latex/llmloss-book.pdf and
# _build/latex-zh/llmloss-book-zh.pdf (XeLaTeX; the TeX packages that .ci/run
# installs). Run it before `make book` to link the PDFs.
pdf: $(STAMP)
	$(BIN)/python takeaway/build_pdf.py

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP)
	$(BIN)/python -m pytest --nbval --nbval-current-env tests chapters

# The helper tests and nbval (strict) on a CUDA device; says so and runs nothing without one.
test-gpu: $(STAMP)
	@if $(BIN)/python -c "import sys, torch; sys.exit(not torch.cuda.is_available())"; then \
		LLMLOSS_DEVICE=cuda $(BIN)/python -m pytest --nbval --nbval-current-env tests chapters \
			--ignore=tests/test_build.py --ignore=tests/test_browser.py --ignore=tests/test_mutate.py; \
	else \
		echo "make test-gpu: torch $$($(BIN)/python -c 'import torch; print(torch.__version__)') sees no CUDA device:" \
			"nothing run (install a CUDA build of torch, see README)"; \
	fi

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
