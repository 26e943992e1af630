# Two commands for a newcomer: `make run` and `make test`. Everything else is a detail.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app app

.PHONY: install run test lint bench clean

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

## Migrate, seed the demo Kotabumi (and eight weeks of responses) if the database is empty,
## serve on HOST:PORT (default 127.0.0.1:5000) with the scheduler. `make run HOST=0.0.0.0`
## lets phones on the same network open the survey (the printed URLs use the LAN address).
run: install
	$(FLASK) db upgrade
	$(FLASK) surveys sync
	$(FLASK) demo --weeks 8
	$(FLASK) serve

## The whole suite, on two processes (PYTEST_ARGS= for one). Set TEST_DATABASE_URL to run the
## database tests on PostgreSQL too (each process in its own schema).
## pytest's exit code 5 ("no tests collected") is a failure here, not a pass.
PYTEST_ARGS ?= -n 2
test: install
	@$(VENV)/bin/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	exit $$rc

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
