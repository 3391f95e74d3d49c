# Two entry points for a fresh machine: `make demo` and `make test`.
# Each makes the virtualenv, installs the package with its test extras, and gets a browser.

VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint browser install dovecot tmux postgres redis clean

# Some images and CI runners set PYTHONDONTWRITEBYTECODE: then every Python process the demo and the
# tests start (a `shopper run` is two, and each pytest worker one) compiles the harness from source
# again, and pytest rewrites the test modules again. Here the bytecode is kept (__pycache__ is ignored).
unexport PYTHONDONTWRITEBYTECODE

demo: install browser
	$(VENV)/bin/shopper demo

# Three workers even on two cores: the browser tests spend much of their time waiting (a page's
# injected delay, an email in flight, a scheduler's due time), and a third worker fills it.
test: install browser lint dovecot tmux postgres redis
	$(PY) -m pytest -n 3 --dist loadgroup

# The IMAP tests run a real Dovecot (Debian's dovecot-imapd); they fail, saying so, without it.
dovecot:
	@command -v dovecot >/dev/null || [ -x /usr/sbin/dovecot ] || \
		{ [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq dovecot-imapd; } || \
		echo "Dovecot is missing and cannot be installed here (not root): the IMAP tests will fail."

# The PostgreSQL store's tests start a real server (Debian's postgresql: initdb, pg_ctl) in a
# temporary folder on a free port (tests/postgres.py); they fail, saying so, without it.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
		{ [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq postgresql; } || \
		echo "PostgreSQL is missing and cannot be installed here (not root): the PostgreSQL store tests will fail."

# The fleet's tests (tests/test_fleet.py) start their own Redis (Debian's redis-server) on a free port.
redis:
	@command -v redis-server >/dev/null || \
		{ [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq redis-server; } || \
		echo "redis-server is missing and cannot be installed here (not root): the fleet tests will fail."

# The terminal test of `shopper run`'s live progress records a real terminal with tmux (tests/test_progress.py).
tmux:
	@command -v tmux >/dev/null || \
		{ [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq tmux; } || \
		echo "tmux is missing and cannot be installed here (not root): the terminal progress test will fail."

lint: install
	$(VENV)/bin/ruff check harness steps tests bench conftest.py
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

browser: install
	@$(PY) -m harness.record.browser

install: $(STAMP)

$(STAMP): pyproject.toml
	@# Debian's python3 ships venv separately; install it when we can.
	$(PYTHON) -m venv $(VENV) || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) reports/demo test-results *.egg-info
