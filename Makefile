# Two commands a newcomer needs: `make demo` and `make test`. Both create .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup browser java demo test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: setup
	$(BIN)/microradar demo

# The radar report's browser test drives Debian's Chromium (browser downloads are not reachable);
# installed once, as root, when missing.
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver)

# Spark's reader test (tests/storage/test_readers_spark.py) runs pyspark on Java 17 or later; installed
# once, as root, when missing (Debian's default JRE: 17 on bookworm, 21 on trixie).
java:
	@command -v java >/dev/null || (apt-get update -qq && apt-get install -y -qq default-jre-headless)

test: setup lint browser java
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint sql

clean:
	rm -rf demo warehouse .pytest_cache
