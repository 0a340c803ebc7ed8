# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: install install-dev run test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --disable-pip-version-check -e . 1>&2
	@touch $@

install-dev: $(VENV)/.installed-dev

$(VENV)/.installed-dev: $(VENV)/.installed
	@$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]' 1>&2
	@touch $@

run: install
	@$(BIN)/campaign-bot run

lint: install-dev
	$(BIN)/ruff check bot tests bench
	$(BIN)/mypy bot

test: lint
	$(BIN)/pytest -q

bench: install-dev
	$(BIN)/python bench/bench_matcher.py
	$(BIN)/python bench/bench_ssh.py
	$(BIN)/python bench/bench_slack.py
	$(BIN)/python bench/bench_http.py
	$(BIN)/python bench/bench_fanout.py
	$(BIN)/python bench/bench_recovery.py
	$(BIN)/python bench/bench_redact.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
