# The two commands of the README: `make run` and `make test`. Each installs what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# Two processes for two cores; one file stays on one process (shared fixtures, fake servers).
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: run test test-pgbouncer check lint format migrations services clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when a requirements file changed.
$(VENV)/.installed: requirements.txt | $(VENV)/bin/activate
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

var/secret_key:
	@mkdir -p var
	@$(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $@
	@chmod 600 $@

# Runs web (port $(PORT)), worker and beat from the Procfile under supervisord (bin/supervise):
# a process that dies is restarted; Ctrl-C stops them all, the worker within its grace time.
run: $(VENV)/.installed var/secret_key
	@export DEBUG=$${DEBUG:-1} SECRET_KEY=$${SECRET_KEY:-$$(cat var/secret_key)} PORT=$(PORT) \
	  PUBLIC_BASE_URL=$${PUBLIC_BASE_URL:-http://127.0.0.1:$(PORT)}; \
	  PATH="$(CURDIR)/$(VENV)/bin:$$PATH"; \
	  $(PY) manage.py migrate --noinput && \
	  $(PY) manage.py ensure_admin && \
	  exec $(PY) bin/supervise web worker beat

check: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

# Test databases: local PostgreSQL and Redis (started if installed but down); SQLite only as a
# loudly announced fallback when no PostgreSQL can be reached. The suite runs twice at once:
# whole, straight to PostgreSQL, and every test that touches the database through PgBouncer in
# transaction pooling mode (Debian's package, bin/ensure-pgbouncer; skipped, loudly, when it
# cannot be installed). Tests marked `alone` (seconds of a real worker's time) run after the
# rest, one at a time (bin/test-passes).
test: check
	@bin/ensure-browser
	@PY=$(PY) PYTEST_ARGS="$(PYTEST_ARGS)" bin/test-passes

# Only the pass through PgBouncer (PGBOUNCER_TESTS=<paths> narrows it).
test-pgbouncer: $(VENV)/.installed-dev
	@bin/ensure-browser
	@PY=$(PY) PYTEST_ARGS="$(PYTEST_ARGS)" bin/test-passes pgbouncer

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrations: $(VENV)/.installed-dev
	DEBUG=1 $(PY) manage.py makemigrations

clean:
	rm -rf $(VENV) var .pytest_cache
