# TrailRoom: `make dev` runs the whole product, `make test` runs the whole suite.
# Both install what they need first: Python packages from uv.lock, npm assets from
# package-lock.json, and the Debian packages the browser tests and PDFs need.

SHELL := /bin/bash
UV_VERSION := 0.13.8
TOOLS := .cache/tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
VENDOR := platform/trailroom/static/vendor
WIDGET_JS := platform/trailroom/static/widget/v1/trailroom.js

.PHONY: dev test install assets widget system-deps lint typecheck pytest format bench clean

dev: install assets
	$(BIN)/trailroom dev

test: install assets system-deps lint typecheck pytest

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

install: $(UV)
	$(UV) sync --frozen --quiet

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

assets: node_modules/.package-lock.json $(WIDGET_JS)
	@mkdir -p $(VENDOR)/swagger-ui
	@cp node_modules/swagger-ui-dist/{swagger-ui-bundle.js,swagger-ui.css,swagger-ui-standalone-preset.js,favicon-32x32.png,LICENSE,NOTICE} $(VENDOR)/swagger-ui/

# The drop-in widget (widget/src) as one minified script the platform serves at /widget/v1/trailroom.js.
$(WIDGET_JS): node_modules/.package-lock.json $(wildcard widget/src/*.js)
	npm run --silent build:widget

widget: $(WIDGET_JS)
	$(BIN)/python scripts/widget_size.py

system-deps:
	@scripts/system-deps.sh

lint:
	$(BIN)/ruff check platform tests scripts plugins
	$(BIN)/ruff format --check platform tests scripts plugins

format:
	$(BIN)/ruff check --fix platform tests scripts plugins
	$(BIN)/ruff format platform tests scripts plugins

typecheck:
	$(BIN)/mypy

pytest:
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .cache node_modules $(VENDOR) $(dir $(WIDGET_JS)) .pytest_cache .mypy_cache .ruff_cache
