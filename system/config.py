"""Typed settings, read once from the environment (or `.env`) with defaults for the native stack."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

DEFAULT_PG_PORT = 54329
DEFAULT_KAFKA_PORT = 19092
DEFAULT_KAFKA_CONTROLLER_PORT = 19093
DEFAULT_ES_PORT = 19200
DEFAULT_PROMETHEUS_PORT = 19090
DEFAULT_PUSHGATEWAY_PORT = 19091
DEFAULT_GRAFANA_PORT = 13000
DEFAULT_API_PORT = 18000
DEFAULT_RELAY_METRICS_PORT = 18001
DEFAULT_PROJECTOR_METRICS_PORT = 18002
REFRESH_MODES = ("explicit", "immediate", "wait_for")
"""Values of `CQRS_PROJECTION_REFRESH` (`Settings.projection_refresh`)."""


def _read_dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip('"').strip("'")
    return values


@dataclass(frozen=True)
class Settings:
    """Where the services are and how the system under test behaves."""

    pg_dsn: str = f"postgresql://cqrs:cqrs@127.0.0.1:{DEFAULT_PG_PORT}/cqrs"
    """The application role: SELECT/INSERT on the event store and nothing it could escalate."""
    pg_owner_dsn: str = ""
    """The schema owner (migrations, scratch databases); default: `pg_dsn` as `cqrs_owner`."""
    kafka_bootstrap: str = f"127.0.0.1:{DEFAULT_KAFKA_PORT}"
    es_url: str = f"http://127.0.0.1:{DEFAULT_ES_PORT}"
    prometheus_url: str = f"http://127.0.0.1:{DEFAULT_PROMETHEUS_PORT}"
    pushgateway_url: str = f"http://127.0.0.1:{DEFAULT_PUSHGATEWAY_PORT}"
    grafana_url: str = f"http://127.0.0.1:{DEFAULT_GRAFANA_PORT}"
    grafana_user: str = "admin"
    grafana_password: str = "admin"
    grafana_token: str = ""
    """A Grafana service-account token; when set, it is used instead of user and password."""
    api_url: str = f"http://127.0.0.1:{DEFAULT_API_PORT}"
    stack_dir: Path = field(default_factory=lambda: Path(".stack").resolve())
    cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "cqrs-bench")
    snapshot_every: int | None = 100
    kafka_partitions: int = 3
    kafka_replication_factor: int = 1
    """Replicas of each topic the system creates (3 on the compose `cluster` profile)."""
    es_replicas: int = 0
    """Replicas of each index the read store creates (1 on the compose `cluster` profile)."""
    es_index_prefix: str = "cqrs"
    kafka_topic_prefix: str = ""
    """Prepended to every topic name (`account-events` …); empty in production."""
    projection_refresh: str = "immediate"
    """How a projector makes its writes searchable: `immediate` (bulk with refresh=true, the
    default), `explicit` refresh after each bulk, or `wait_for` (bulk with refresh=wait_for,
    riding the index's periodic refresh); see `system/projections/projector.py`."""
    projection_refresh_gap_ms: int = 50
    """Least time between the starts of two refreshes (0: back to back): in `immediate` mode
    between two bulks of one projector (`Receiver`), in `explicit` mode between two shared
    refreshes (`SharedRefresh`), both in `system/projections/pipeline.py`."""
    lag_stamps: bool = True
    """Whether projectors write per-event lag stamps (one record per batch) to Elasticsearch;
    off, the lag report falls back to the projectors' Prometheus histograms."""
    pg_statement_timeout_s: float = 5.0
    """PostgreSQL's `statement_timeout` on every pooled connection of the api and the relay."""
    pg_acquire_timeout_s: float = 5.0
    """Longest wait for a pooled connection (api); beyond it the request answers 503."""
    pg_connect_timeout_s: float = 5.0
    es_timeout_s: float = 10.0
    """Per Elasticsearch request."""
    kafka_timeout_s: float = 15.0
    """Per Kafka request; also how long the relay's producer tries to deliver a message."""
    api_max_in_flight: int = 512
    """Requests the api handles at once; beyond that it answers 503 with Retry-After."""
    api_token: str = ""
    """When set, every api route but /health and /health/live needs `Authorization: Bearer`."""
    relay_crash_after_ack: int | None = None
    """Fault-injection hook, off (None) by default: the relay exits abruptly after Kafka acked
    its Nth batch, before marking it in the outbox (`CQRS_RELAY_CRASH_AFTER_ACK=N`)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `env` (default: `.env` overlaid by the process environment)."""
        if env is None:
            env = {**_read_dotenv(Path(".env")), **os.environ}
        defaults = cls()
        snapshot = env.get("CQRS_SNAPSHOT_EVERY")
        pg_dsn = env.get("CQRS_PG_DSN", defaults.pg_dsn)
        return cls(
            pg_dsn=pg_dsn,
            pg_owner_dsn=env.get("CQRS_PG_OWNER_DSN") or owner_dsn(pg_dsn),
            kafka_bootstrap=env.get("CQRS_KAFKA_BOOTSTRAP", defaults.kafka_bootstrap),
            es_url=env.get("CQRS_ES_URL", defaults.es_url),
            prometheus_url=env.get("CQRS_PROMETHEUS_URL", defaults.prometheus_url),
            pushgateway_url=env.get("CQRS_PUSHGATEWAY_URL", defaults.pushgateway_url),
            grafana_url=env.get("CQRS_GRAFANA_URL", defaults.grafana_url),
            grafana_user=env.get("CQRS_GRAFANA_USER", defaults.grafana_user),
            grafana_password=env.get("CQRS_GRAFANA_PASSWORD", defaults.grafana_password),
            grafana_token=env.get("CQRS_GRAFANA_TOKEN", defaults.grafana_token),
            api_url=env.get("CQRS_API_URL", defaults.api_url),
            stack_dir=Path(env.get("CQRS_STACK_DIR", str(defaults.stack_dir))).resolve(),
            cache_dir=Path(env.get("CQRS_CACHE_DIR", str(defaults.cache_dir))),
            snapshot_every=_parse_snapshot_every(snapshot, defaults.snapshot_every),
            kafka_partitions=int(env.get("CQRS_KAFKA_PARTITIONS", defaults.kafka_partitions)),
            kafka_replication_factor=int(
                _positive(env, "CQRS_KAFKA_REPLICATION_FACTOR", 1, integer=True)
            ),
            es_replicas=_count(env, "CQRS_ES_REPLICAS", defaults.es_replicas),
            es_index_prefix=env.get("CQRS_ES_INDEX_PREFIX", defaults.es_index_prefix),
            kafka_topic_prefix=env.get("CQRS_KAFKA_TOPIC_PREFIX", defaults.kafka_topic_prefix),
            projection_refresh=_parse_refresh(
                env.get("CQRS_PROJECTION_REFRESH", defaults.projection_refresh)
            ),
            projection_refresh_gap_ms=_count(
                env, "CQRS_PROJECTION_REFRESH_GAP_MS", defaults.projection_refresh_gap_ms
            ),
            lag_stamps=_parse_switch("CQRS_LAG_STAMPS", env.get("CQRS_LAG_STAMPS"), True),
            pg_statement_timeout_s=_positive(env, "CQRS_PG_STATEMENT_TIMEOUT_S", 5.0),
            pg_acquire_timeout_s=_positive(env, "CQRS_PG_ACQUIRE_TIMEOUT_S", 5.0),
            pg_connect_timeout_s=_positive(env, "CQRS_PG_CONNECT_TIMEOUT_S", 5.0),
            es_timeout_s=_positive(env, "CQRS_ES_TIMEOUT_S", 10.0),
            kafka_timeout_s=_positive(env, "CQRS_KAFKA_TIMEOUT_S", 15.0),
            api_max_in_flight=int(_positive(env, "CQRS_API_MAX_IN_FLIGHT", 512, integer=True)),
            api_token=env.get("CQRS_API_TOKEN", ""),
            relay_crash_after_ack=_optional_count(env, RELAY_CRASH_AFTER_ACK),
        )

    def __post_init__(self) -> None:
        if not self.pg_owner_dsn:
            object.__setattr__(self, "pg_owner_dsn", owner_dsn(self.pg_dsn))


RELAY_CRASH_AFTER_ACK = "CQRS_RELAY_CRASH_AFTER_ACK"
"""The relay's fault-injection hook (see `Settings.relay_crash_after_ack`)."""

OWNER_ROLE = "cqrs_owner"
"""Owns the event store's tables and runs migrations; the application role only uses them."""


def owner_dsn(app_dsn: str) -> str:
    """`app_dsn` with the owner role as its user (same password, server and database)."""
    parts = urlsplit(app_dsn)
    host = parts.netloc.rpartition("@")[2]
    password = f":{parts.password}" if parts.password else ""
    return urlunsplit(parts._replace(netloc=f"{OWNER_ROLE}{password}@{host}"))


def dsn_user(dsn: str) -> str:
    """The role a DSN connects as (`cqrs` when it names none)."""
    return urlsplit(dsn).username or "cqrs"


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    """A non-negative integer from `env[name]` (default when unset)."""
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {raw!r}")
    return value


def _parse_snapshot_every(raw: str | None, default: int | None) -> int | None:
    if raw is None:
        return default
    if raw.strip().lower() in {"", "off", "0", "none"}:
        return None
    value = int(raw)
    if value < 1:
        raise ValueError(f"CQRS_SNAPSHOT_EVERY must be a positive integer or 'off', got {raw!r}")
    return value


def _parse_refresh(raw: str) -> str:
    if raw not in REFRESH_MODES:
        raise ValueError(f"CQRS_PROJECTION_REFRESH must be one of {REFRESH_MODES}, got {raw!r}")
    return raw


def _parse_switch(name: str, raw: str | None, default: bool) -> bool:
    if raw is None:
        return default
    value = raw.strip().lower()
    if value not in {"on", "off", "true", "false", "1", "0"}:
        raise ValueError(f"{name} must be 'on' or 'off', got {raw!r}")
    return value in {"on", "true", "1"}


def _positive(env: Mapping[str, str], name: str, default: float, *, integer: bool = False) -> float:
    """A positive number (seconds, or a count with `integer`) from `env[name]`, else `default`."""
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        value = 0
    if not value > 0:
        kind = "a positive integer" if integer else "a positive number of seconds"
        raise ValueError(f"{name} must be {kind}, got {raw!r}")
    return value


def _optional_count(env: Mapping[str, str], name: str) -> int | None:
    """A positive integer from `env[name]`, or None when unset or empty."""
    raw = env.get(name)
    if raw is None or not raw.strip():
        return None
    return int(_positive(env, name, 1, integer=True))
