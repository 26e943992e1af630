# Two commands for a newcomer: `make run` and `make test`. Everything else is a detail.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app app

.PHONY: install messages i18n run test lint bench proof clean

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed messages

## The gettext catalogues, compiled (.mo files are built, never committed). A .mo is rebuilt
## whenever its .po changes: after re-wording a text, `make messages` and restart.
PYBABEL := $(VENV)/bin/pybabel
MO_FILES := $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/messages.po))
messages: $(MO_FILES)

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(PYBABEL) compile --statistics -l $* -i $< -o $@

## After changing a text in the code or a template: extract every message into
## translations/messages.pot and merge it into both catalogues, then translate what
## tests/test_i18n.py reports as missing (empty or fuzzy msgstr) and `make messages`.
## The keywords: gettext/_ and ngettext (Babel's defaults), lazy_gettext imported as _l.
EXTRACT_KEYWORDS := -k _l -k lazy_gettext -k lazy_ngettext:1,2
i18n: $(VENV)/.installed
	$(PYBABEL) extract -F babel.cfg $(EXTRACT_KEYWORDS) --add-location=file --sort-by-file \
		--project=suara-warga -o translations/messages.pot .
	$(PYBABEL) update -i translations/messages.pot -d translations --ignore-obsolete
	$(MAKE) messages

## Migrate, seed the demo Kotabumi (and sixteen weeks of responses, its last complete quarter
## published) if the database is empty,
## serve on HOST:PORT (default 127.0.0.1:5000) with the scheduler. `make run HOST=0.0.0.0`
## lets phones on the same network open the survey (the printed URLs use the LAN address).
run: install
	$(FLASK) db upgrade
	$(FLASK) surveys sync
	$(FLASK) demo --weeks 16
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

## The proof of issue 16 (bench/proof/__init__.py): on SQLite and PostgreSQL, 50 clients for
## 30 s while a worker and the master are killed with kill -9 and the database is cut off;
## prints acknowledged, stored, lost and doubled, and fails on any loss or double.
## PROOF_ENGINES=sqlite,postgresql PROOF_CLIENTS=50 PROOF_SECONDS=30 PROOF_PG_URL=…
proof: install
	$(PY) -m bench.proof

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
