# The system under test and the harness (api, relay, projector, locust) for docker-compose.yml.
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PATH=/app/.venv/bin:$PATH

RUN pip install --no-cache-dir uv==0.13.9

WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY system ./system
COPY bench ./bench
COPY dashboards ./dashboards
RUN uv sync --frozen --no-dev

EXPOSE 18000 18001 18002 8089 18089
CMD ["cqrs-bench", "serve", "api"]
