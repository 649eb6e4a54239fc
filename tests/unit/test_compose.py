"""docker-compose.yml is valid (Debian's `docker-compose config -q`) and keeps its promises."""

from __future__ import annotations

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


def _config() -> dict[str, Any]:
    done = subprocess.run(
        [*_compose(), "-f", str(ROOT / "docker-compose.yml"), "--profile", "load", "config"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    parsed: dict[str, Any] = yaml.safe_load(done.stdout)
    return parsed


def test_compose_file_is_valid() -> None:
    done = subprocess.run(
        [*_compose(), "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
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
    es_image = str(services["elasticsearch"]["image"])
    from bench.stack.elasticsearch import ES_VERSION
    from bench.stack.kafka import KAFKA_VERSION

    assert es_image.endswith(f":{ES_VERSION}")
    assert str(services["kafka"]["image"]).endswith(f":{KAFKA_VERSION}")
    assert str(services["postgres"]["image"]).startswith("postgres:15")


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
