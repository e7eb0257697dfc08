# Two commands do all the set-up: `make run` and `make test`. Both install into .venv first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup browser run test evals clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# llama.cpp is compiled for this CPU, but without Intel AMX: some virtual machines report AMX
# while its tile registers cannot be used, and the first matrix product crashes.
# No wheel cache, so that a build made before this flag is not reused.
NO_AMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
export CMAKE_ARGS ?= -DCMAKE_C_FLAGS='$(NO_AMX)' -DCMAKE_CXX_FLAGS='$(NO_AMX)'

# torch first and pinned: an unpinned torch would pull several GB of CUDA packages.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet --no-cache-dir -e '.[dev]'
	$(BIN)/rag setup
	touch $(STAMP)

setup: $(STAMP)

# Debian's Chromium drives the browser tests (Playwright never downloads a browser here).
browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

run: setup
	$(BIN)/rag ingest
	$(BIN)/rag serve

test: setup browser
	$(BIN)/python -m pytest -q

# The check halves of our suites and of the development archive (read from ../shared/data, never copied).
evals: setup
	$(BIN)/rag eval evals/suites/seed.jsonl --corpus corpus --half check --out evals/out/seed
	$(BIN)/rag eval evals/suites/seed-unseen.jsonl --corpus corpus --half check --out evals/out/seed-unseen
	$(BIN)/rag eval evals/suites/india-news.jsonl --half check --out evals/out/india-news
	$(BIN)/rag eval evals/suites/bbc-news.jsonl --half check --out evals/out/bbc-news
	$(BIN)/rag eval evals/suites/time-sensitive.jsonl --half check --out evals/out/time-sensitive
	$(BIN)/rag eval evals/suites/snippets.jsonl --half check --out evals/out/snippets
	$(BIN)/rag eval ../shared/data/realtimeqa-dev --half check --suite-index .rag-index-realtimeqa --out evals/out/realtimeqa
	$(BIN)/rag eval ../shared/data/realtimeqa-dev --half check --suite-index .rag-index-realtimeqa --ignore-as-of --out evals/out/realtimeqa-now
	$(BIN)/rag eval ../shared/data/squad2-dev-sample.json --half check --sample 200 --seed 1 --out evals/out/squad

clean:
	rm -rf .rag-index .rag-index-realtimeqa .pytest_cache
