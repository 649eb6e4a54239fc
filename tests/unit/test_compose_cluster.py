"""The compose `cluster` profile keeps its promises (docker-compose.yml, docker/cluster.env).

`docker-compose config` (Debian's, no engine needed) interpolates and validates the file
against the compose-spec JSON Schema it ships; the resolved config is validated against that
schema again here, then the profile's facts are asserted: 3 brokers with replication 3 and
min ISR 2, 3 Elasticsearch nodes, 1 replica per index, api replicas behind one port, projector
replicas, locust master + workers, and nothing published on 0.0.0.0.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml  # type: ignore[import-untyped]

from system.bus.envelope import topics
from system.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {"CQRS_GRAFANA_PASSWORD": "g-secret", "CQRS_PG_SUPERUSER_PASSWORD": "p-secret"}
SINGLE_NODE = ("kafka", "elasticsearch", "api", "relay", "projector")
BROKERS = ("kafka-1", "kafka-2", "kafka-3")
ES_NODES = ("es-1", "es-2", "es-3")


def _env_file() -> dict[str, str]:
    values = {}
    for line in (ROOT / "docker" / "cluster.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _compose_config(*args: str) -> dict[str, Any]:
    if not shutil.which("docker-compose"):
        pytest.fail("no compose CLI: `apt-get install -y docker-compose` (needs no Docker engine)")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CQRS_", "COMPOSE_"))}
    done = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), *args, "config"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**base, **SECRETS},
    )
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = yaml.safe_load(done.stdout)
    return config


@pytest.fixture(scope="module")
def cluster() -> dict[str, Any]:
    return _compose_config(
        "--env-file", str(ROOT / "docker" / "cluster.env"), "--profile", "cluster"
    )


def _services(config: dict[str, Any], *profiles: str) -> dict[str, dict[str, Any]]:
    """The services `docker compose --profile …` would start (`config` lists every one)."""
    wanted = set(profiles or ("cluster",))
    return {
        name: svc
        for name, svc in config["services"].items()
        if (not svc.get("profiles") or wanted & set(svc["profiles"])) and svc.get("scale") != 0
    }


def _compose_spec_schema() -> dict[str, Any]:
    """The compose-spec JSON Schema that docker-compose itself validates with."""
    done = subprocess.run(
        [
            "/usr/bin/python3",
            "-c",
            "import compose.config as c, os; print(os.path.dirname(c.__file__))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    schema: dict[str, Any] = json.loads(
        (Path(done.stdout.strip()) / "compose_spec.json").read_text()
    )
    return schema


def test_the_resolved_cluster_config_passes_the_compose_spec_schema(
    cluster: dict[str, Any],
) -> None:
    validator = jsonschema.Draft201909Validator(_compose_spec_schema())
    validator.validate(cluster)
    broken = json.loads(json.dumps(cluster))
    broken["services"]["kafka-1"]["deploy"] = {"replicas": "three"}
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)


def test_three_brokers_replicate_each_topic_three_times_with_min_isr_two(
    cluster: dict[str, Any],
) -> None:
    services = _services(cluster)
    voters = {str(services[b]["environment"]["KAFKA_CONTROLLER_QUORUM_VOTERS"]) for b in BROKERS}
    assert voters == {"1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"}
    assert {str(services[b]["environment"]["KAFKA_NODE_ID"]) for b in BROKERS} == {"1", "2", "3"}
    for broker in BROKERS:
        env = {k: str(v) for k, v in services[broker]["environment"].items()}
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "2"
        assert env["KAFKA_ADVERTISED_LISTENERS"].startswith(f"INTERNAL://{broker}:9092,")
    script = " ".join(str(part) for part in services["kafka-topics"]["command"])
    assert "--replication-factor 3" in script and "min.insync.replicas=2" in script
    created = script.split("for topic in ", 1)[1].split(";", 1)[0].split()
    assert created == topics("")  # every topic the relay publishes to, and no other


def test_the_apps_create_topics_and_indexes_replicated(cluster: dict[str, Any]) -> None:
    services = _services(cluster)
    partitions = int(_env_file()["CQRS_KAFKA_PARTITIONS"])
    for name in ("cluster-api", "cluster-relay", "cluster-projector", "cluster-locust-master"):
        env = {k: str(v) for k, v in services[name]["environment"].items()}
        settings = Settings.from_env(env)
        assert settings.kafka_replication_factor == 3 and settings.es_replicas == 1, name
        assert settings.kafka_partitions == partitions
        assert set(settings.kafka_bootstrap.split(",")) == {f"{b}:9092" for b in BROKERS}
        assert settings.es_url == "http://lb:9200"


def test_three_elasticsearch_nodes_form_one_cluster(cluster: dict[str, Any]) -> None:
    services = _services(cluster)
    for node in ES_NODES:
        env = services[node]["environment"]
        assert "discovery.type" not in env
        assert env["cluster.initial_master_nodes"] == ",".join(ES_NODES)
        assert set(env["discovery.seed_hosts"].split(",")) == set(ES_NODES) - {node}
        assert env["node.name"] == node
    haproxy = (ROOT / "docker" / "haproxy" / "haproxy.cfg").read_text()
    for node in ES_NODES:
        assert f"server {node} {node}:9200 check" in haproxy
    assert "cluster-api:18000 check" in haproxy


def test_replicas_one_api_port_and_locust_master_with_workers(cluster: dict[str, Any]) -> None:
    services = _services(cluster)
    env = _env_file()
    assert services["cluster-api"]["deploy"]["replicas"] == int(env["CQRS_API_REPLICAS"]) >= 2
    projectors = services["cluster-projector"]["deploy"]["replicas"]
    assert projectors == int(env["CQRS_PROJECTORS"]) >= 2
    assert projectors <= int(env["CQRS_KAFKA_PARTITIONS"])  # each instance can own a partition
    api_ports = [
        name
        for name, svc in services.items()
        for port in svc.get("ports", [])
        if str(port).split("/")[0].endswith(":18000")
    ]
    assert api_ports == ["lb"]
    for name in ("cluster-api", "cluster-relay", "cluster-projector"):
        assert "ports" not in services[name], name  # replicas publish nothing
    master = [str(p) for p in services["cluster-locust-master"]["command"]]
    worker = [str(p) for p in services["cluster-locust-worker"]["command"]]
    assert "--master" in master and master[master.index("--host") + 1] == "http://lb:18000"
    assert worker[worker.index("--master-host") + 1] == "cluster-locust-master"
    assert services["cluster-locust-worker"]["deploy"]["replicas"] >= 1
    every = cluster["services"]
    for name in SINGLE_NODE:
        assert every[name]["scale"] == 0 and name not in services  # the single node steps aside
    prometheus = services["prometheus"]["volumes"][0]
    assert "prometheus.cluster.yml" in str(prometheus)


def test_nothing_is_published_on_all_interfaces(cluster: dict[str, Any]) -> None:
    for name, svc in _services(cluster).items():
        for port in svc.get("ports", []):
            text = str(port)
            host = port.get("host_ip") if isinstance(port, dict) else text.rsplit(":", 2)[0]
            assert host == "127.0.0.1", (name, port)


def test_the_default_stack_is_unchanged_by_the_profile() -> None:
    services = _services(_compose_config("--profile", "load"), "load")
    for name in SINGLE_NODE:
        assert services[name].get("scale", 1) == 1, name
    assert not {*BROKERS, *ES_NODES, "lb", "cluster-api"} & set(services)
    assert services["elasticsearch"]["environment"]["discovery.type"] == "single-node"
    prometheus = str(services["prometheus"]["volumes"][0])
    assert "dashboards/prometheus.compose.yml" in prometheus


def test_the_cluster_prometheus_scrapes_the_same_jobs_as_the_compose_one() -> None:
    jobs = {}
    for path in ("dashboards/prometheus.compose.yml", "docker/prometheus.cluster.yml"):
        config = yaml.safe_load((ROOT / path).read_text())
        jobs[path] = {j["job_name"] for j in config["scrape_configs"]}
    assert jobs["dashboards/prometheus.compose.yml"] == jobs["docker/prometheus.cluster.yml"]
