from __future__ import annotations

from pathlib import Path

import pytest

from system.config import (
    DEFAULT_ES_PORT,
    DEFAULT_KAFKA_PORT,
    DEFAULT_PG_PORT,
    DEFAULT_PROMETHEUS_PORT,
    DEFAULT_PUSHGATEWAY_PORT,
    Settings,
)


def test_defaults_point_at_the_native_stack() -> None:
    s = Settings.from_env({})
    assert s.pg_dsn == f"postgresql://cqrs:cqrs@127.0.0.1:{DEFAULT_PG_PORT}/cqrs"
    assert s.kafka_bootstrap == f"127.0.0.1:{DEFAULT_KAFKA_PORT}"
    assert s.es_url == f"http://127.0.0.1:{DEFAULT_ES_PORT}"
    assert s.prometheus_url == f"http://127.0.0.1:{DEFAULT_PROMETHEUS_PORT}"
    assert s.pushgateway_url == f"http://127.0.0.1:{DEFAULT_PUSHGATEWAY_PORT}"
    assert s.stack_dir == Path(".stack").resolve()
    assert s.snapshot_every == 100


def test_environment_overrides_every_address() -> None:
    env = {
        "CQRS_PG_DSN": "postgresql://u:p@db:5432/x",
        "CQRS_KAFKA_BOOTSTRAP": "kafka:9092",
        "CQRS_ES_URL": "http://elasticsearch:9200",
        "CQRS_PROMETHEUS_URL": "http://prometheus:9090",
        "CQRS_PUSHGATEWAY_URL": "http://pushgateway:9091",
        "CQRS_GRAFANA_URL": "http://grafana:3000",
        "CQRS_STACK_DIR": "/tmp/somewhere",
        "CQRS_CACHE_DIR": "/tmp/cache",
        "CQRS_KAFKA_PARTITIONS": "6",
    }
    s = Settings.from_env(env)
    assert s.pg_dsn == env["CQRS_PG_DSN"]
    assert s.kafka_bootstrap == "kafka:9092"
    assert s.es_url == "http://elasticsearch:9200"
    assert s.prometheus_url == "http://prometheus:9090"
    assert s.pushgateway_url == "http://pushgateway:9091"
    assert s.grafana_url == "http://grafana:3000"
    assert s.stack_dir == Path("/tmp/somewhere")
    assert s.cache_dir == Path("/tmp/cache")
    assert s.kafka_partitions == 6


@pytest.mark.parametrize(("raw", "expected"), [("off", None), ("0", None), ("", None), ("25", 25)])
def test_snapshot_every(raw: str, expected: int | None) -> None:
    assert Settings.from_env({"CQRS_SNAPSHOT_EVERY": raw}).snapshot_every == expected


def test_snapshot_every_rejects_negative() -> None:
    with pytest.raises(ValueError, match="CQRS_SNAPSHOT_EVERY"):
        Settings.from_env({"CQRS_SNAPSHOT_EVERY": "-3"})


def test_dotenv_is_read_and_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(
        "# comment\nCQRS_ES_URL='http://from-dotenv:9200'\nCQRS_KAFKA_BOOTSTRAP=dotenv:9092\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CQRS_KAFKA_BOOTSTRAP", "env:9092")
    monkeypatch.delenv("CQRS_ES_URL", raising=False)
    s = Settings.from_env()
    assert s.es_url == "http://from-dotenv:9200"
    assert s.kafka_bootstrap == "env:9092"


def test_local_default_detection() -> None:
    from bench.stack.registry import host_port, is_local_default

    assert is_local_default(Settings.from_env({}).pg_dsn, DEFAULT_PG_PORT)
    assert not is_local_default("postgresql://u:p@db:5432/x", DEFAULT_PG_PORT)
    assert not is_local_default("127.0.0.1:9092", DEFAULT_KAFKA_PORT)
    assert host_port("kafka:9092", DEFAULT_KAFKA_PORT) == ("kafka", 9092)


@pytest.mark.parametrize("mode", ["explicit", "immediate", "wait_for"])
def test_projection_refresh_modes(mode: str) -> None:
    assert Settings.from_env({"CQRS_PROJECTION_REFRESH": mode}).projection_refresh == mode


def test_projection_refresh_rejects_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="CQRS_PROJECTION_REFRESH"):
        Settings.from_env({"CQRS_PROJECTION_REFRESH": "true"})
