"""docker-compose.yml is valid (Debian's `docker-compose config -q`) and keeps its promises."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[2]
ENV_NAMES = {
    "CQRS_PG_DSN",
    "CQRS_KAFKA_BOOTSTRAP",
    "CQRS_ES_URL",
    "CQRS_PROMETHEUS_URL",
    "CQRS_PUSHGATEWAY_URL",
    "CQRS_GRAFANA_URL",
}


def _compose() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    pytest.fail("no compose CLI: `apt-get install -y docker-compose` (needs no Docker engine)")


REQUIRED_SECRETS = {"CQRS_GRAFANA_PASSWORD": "g-secret", "CQRS_PG_SUPERUSER_PASSWORD": "p-secret"}


def _run_config(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CQRS_")}
    return subprocess.run(
        [*_compose(), "-f", str(ROOT / "docker-compose.yml"), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**base, **REQUIRED_SECRETS, **(env or {})},
    )


def _config(env: dict[str, str] | None = None) -> dict[str, Any]:
    done = _run_config("--profile", "load", "config", env=env)
    assert done.returncode == 0, done.stderr
    parsed: dict[str, Any] = yaml.safe_load(done.stdout)
    return parsed


def test_compose_file_is_valid() -> None:
    done = _run_config("config", "-q")
    assert done.returncode == 0, done.stderr


def test_images_pinned_healthchecked_and_settings_named_alike() -> None:
    config = _config()
    services: dict[str, dict[str, Any]] = config["services"]
    expected = {
        "postgres",
        "kafka",
        "elasticsearch",
        "prometheus",
        "pushgateway",
        "grafana",
        "api",
        "relay",
        "projector",
        "locust-master",
        "locust-worker",
    }
    assert expected <= set(services)
    for name, svc in services.items():
        image = str(svc.get("image", ""))
        if "build" not in svc:
            tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else ""
            assert tag and tag != "latest", f"{name}: image {image!r} is not pinned"
    for name in expected - {"locust-master", "locust-worker"}:
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
    for name in ("api", "relay", "projector", "locust-master", "locust-worker"):
        env = services[name]["environment"]
        assert set(env) >= ENV_NAMES, f"{name} lacks {ENV_NAMES - set(env)}"
    for name in ("locust-master", "locust-worker"):
        assert services[name].get("profiles") == ["load"]
    assert {"pgdata", "kafkadata", "esdata", "promdata", "grafanadata"} <= set(config["volumes"])


README_SERVICES = {
    "PostgreSQL": "postgres",
    "Kafka (KRaft, 1 node)": "kafka",
    "Elasticsearch": "elasticsearch",
    "Pushgateway": "pushgateway",
    "Prometheus": "prometheus",
}
"""The README stack table's rows of native services, by compose service."""


def _native_versions() -> dict[str, str]:
    """Compose service -> version, from the README's stack table (the native stack's versions)."""
    versions: dict[str, str] = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0] in README_SERVICES:
            versions[README_SERVICES[cells[0]]] = cells[1]
    return versions


def _image_version(image: str) -> str:
    """`prom/prometheus:v2.42.0` -> 2.42.0, `postgres:15.18-bookworm` -> 15.18."""
    tag = image.rsplit(":", 1)[-1]
    return tag.removeprefix("v").split("-", 1)[0]


def test_image_versions_equal_the_native_stacks() -> None:
    from bench.stack.elasticsearch import ES_VERSION
    from bench.stack.kafka import KAFKA_VERSION

    native = _native_versions()
    assert set(native) == set(README_SERVICES.values()), native
    assert native["elasticsearch"] == ES_VERSION and native["kafka"] == KAFKA_VERSION
    services: dict[str, dict[str, Any]] = _config()["services"]
    images = {name: _image_version(str(services[name]["image"])) for name in native}
    assert images == native


def test_plain_locust_in_compose_needs_no_config_and_is_scraped() -> None:
    from bench.load.options import add_arguments, config_from_options

    services: dict[str, dict[str, Any]] = _config()["services"]
    master, worker = services["locust-master"], services["locust-worker"]
    for svc in (master, worker):
        command = [str(part) for part in svc["command"]]
        locustfile = command[command.index("-f") + 1]
        assert (ROOT / locustfile).is_file() and locustfile.endswith("locustfile.py"), command
        assert not {"CQRS_LOAD_CONFIG", "CQRS_SEED_FILE"} & set(svc["environment"])
    command = [str(part) for part in master["command"]]
    assert command[command.index("--host") + 1] == "http://api:18000"
    parser = argparse.ArgumentParser()
    add_arguments(_LocustParser(parser))
    options, _ = parser.parse_known_args(command[1:])
    assert options.exporter_host == "0.0.0.0" and options.seed_file == ""
    config = config_from_options(options, users=4, workers=1)
    assert config.scenario and config.exporter_port > 0
    assert parser.parse_known_args([])[0].exporter_host == "127.0.0.1"
    scrapes = yaml.safe_load((ROOT / "dashboards" / "prometheus.compose.yml").read_text())
    job = next(j for j in scrapes["scrape_configs"] if j["job_name"] == "locust")
    assert job["static_configs"][0]["targets"] == [f"locust-master:{config.exporter_port}"]


class _LocustParser:
    """argparse with locust's extra keyword (`include_in_web_ui`) dropped."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self._parser = parser

    def add_argument(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("include_in_web_ui", None)
        return self._parser.add_argument(*args, **kwargs)


def test_the_system_processes_are_restarted_when_they_die() -> None:
    services: dict[str, dict[str, Any]] = _config()["services"]
    for name in ("api", "relay", "projector"):
        assert services[name].get("restart") in {"unless-stopped", "on-failure", "always"}, name


def test_prometheus_configs_scrape_the_same_jobs() -> None:
    native = yaml.safe_load((ROOT / "dashboards" / "prometheus.yml").read_text())
    compose = yaml.safe_load((ROOT / "dashboards" / "prometheus.compose.yml").read_text())
    jobs = {j["job_name"] for j in native["scrape_configs"]}
    assert jobs == {j["job_name"] for j in compose["scrape_configs"]}
    assert jobs >= {"prometheus", "pushgateway", "api", "relay", "projector", "locust"}
    for cfg in (native, compose):
        push = next(j for j in cfg["scrape_configs"] if j["job_name"] == "pushgateway")
        assert push["honor_labels"] is True


def _published_hosts(service: dict[str, Any]) -> list[str]:
    hosts = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            hosts.append(str(port.get("host_ip", "")))
        else:
            hosts.append(str(port).rsplit(":", 2)[0] if str(port).count(":") == 2 else "")
    return hosts


def test_ports_are_published_on_loopback_unless_asked() -> None:
    for env, expected in (({}, "127.0.0.1"), ({"CQRS_BIND_HOST": "0.0.0.0"}, "0.0.0.0")):
        services: dict[str, dict[str, Any]] = _config(env)["services"]
        published = {name: _published_hosts(svc) for name, svc in services.items()}
        assert published["api"] and published["postgres"] and published["grafana"]
        for name, hosts in published.items():
            assert all(host == expected for host in hosts), (name, hosts)


def test_no_anonymous_admin_no_lifecycle_api_and_required_secrets() -> None:
    services: dict[str, dict[str, Any]] = _config()["services"]
    grafana = services["grafana"]["environment"]
    assert grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert "GF_AUTH_ANONYMOUS_ORG_ROLE" not in grafana
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"] == REQUIRED_SECRETS["CQRS_GRAFANA_PASSWORD"]
    prometheus = services["prometheus"]
    assert "enable-lifecycle" not in str(prometheus.get("command", ""))
    for name in REQUIRED_SECRETS:
        missing = _run_config("config", "-q", env={name: ""})
        assert missing.returncode != 0 and name in missing.stderr, (name, missing.stderr)


def test_the_application_role_is_no_superuser_and_migrations_run_as_owner() -> None:
    services: dict[str, dict[str, Any]] = _config()["services"]
    postgres = services["postgres"]["environment"]
    assert postgres["POSTGRES_USER"] == "postgres"
    for name in ("api", "relay", "projector", "migrate"):
        env = services[name]["environment"]
        assert env["CQRS_PG_DSN"].startswith("postgresql://cqrs:"), name
        assert env["CQRS_PG_OWNER_DSN"].startswith("postgresql://cqrs_owner:"), name
    assert services["migrate"]["command"] == ["cqrs-bench", "db", "migrate"]
    init = (ROOT / "docker" / "postgres" / "10-cqrs-roles.sh").read_text()
    assert "CREATE ROLE cqrs LOGIN NOCREATEDB NOCREATEROLE" in init
    assert "CREATE DATABASE cqrs OWNER cqrs_owner" in init
    for name in ("api", "relay", "projector"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
