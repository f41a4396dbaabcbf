# Espace Pro — `make run` to try it, `make test` to check it. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
PORT ?= 5000
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run serve lint test test-postgres probe bench browser wrk messages translations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

# The languages: translations/<lang>/LC_MESSAGES/messages.po are committed, their .mo built here.
CATALOGUES := $(wildcard translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)
PYBABEL := $(BIN)/pybabel
KEYWORDS := -k _l -k lazy_gettext -k lazy_ngettext:1,2

%.mo: %.po $(VENV)/.runtime
	$(PYBABEL) compile --statistics -i $< -o $@

## translations: compile the catalogues (make run and make test do it)
translations: $(COMPILED)

## messages: extract every message of the code and templates, then update the catalogues
## (new messages appear empty in translations/{de,en}/LC_MESSAGES/messages.po: translate them)
messages: $(VENV)/.runtime
	$(PYBABEL) -q extract -F babel.cfg $(KEYWORDS) --no-wrap --sort-by-file \
		--ignore-dirs='.* _* tests scripts instance translations' \
		--project='Espace Pro' --msgid-bugs-address='helpdesk@espace-pro.lu' \
		-o translations/messages.pot .
	$(PYBABEL) -q update --no-wrap --ignore-obsolete -i translations/messages.pot -d translations

## run: the app on http://127.0.0.1:$(PORT) with SQLite under instance/, demo data and the local outbox
# seed-demo on every start: it adds what the database of DATABASE_URL lacks (a new one gets the catalogue)
run: $(VENV)/.runtime translations
	$(FLASK) init-db
	$(FLASK) seed-demo
	ESPACE_ENV=development $(FLASK) run --host 127.0.0.1 --port $(PORT) --no-debugger --no-reload

## serve: production-style, gunicorn with gunicorn.conf.py (workers from the cores, or WORKERS; BIND; needs SECRET_KEY, see README)
serve: $(VENV)/.runtime translations
	ESPACE_ENV=production $(FLASK) init-db
	ESPACE_ENV=production PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py 'app:create_app()'

## bench: the scale dataset's pages under load on a throwaway PostgreSQL (gunicorn, 4 workers, wrk),
## against a reference page in the same run; prints the table and writes docs/benchmarks.md
bench: $(VENV)/.dev translations wrk
	./scripts/bench/run.sh

## wrk: Debian's HTTP load generator, for make bench
wrk:
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; }

## browser: Debian's chromium for the browser tests (Playwright cannot download its own here)
browser:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

## lint: ruff (settings in pyproject.toml) over the whole tree, rules and format; make test runs it first
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## test: lint, then the whole suite, browser tests included (TEST_DATABASE_URL=postgresql://… for PostgreSQL)
test: lint $(VENV)/.dev browser translations
	$(BIN)/python -m pytest

## test-postgres: the whole suite against a throwaway PostgreSQL cluster started here
test-postgres: $(VENV)/.dev browser translations
	./scripts/with-postgres.sh $(MAKE) test

## probe: the security probes (control characters, line breaks, maximum lengths, a copied agent
## cookie, password spraying) and 100 concurrent redemptions of one code, against gunicorn with
## 4 workers on a throwaway PostgreSQL cluster
probe: $(VENV)/.runtime translations
	./scripts/probe.sh

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
