"""deploy/k8s: every manifest the kustomization lists parses, runs a real cqrs-bench command,
and takes its settings from the config map and secret the system reads (system/config.py).

Checked by hand too (not here: the tools are not project dependencies): `kubectl kustomize
deploy/k8s` renders it and `kubernetes-validate --strict` passes it against Kubernetes 1.37.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from system.config import Settings

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
COMMANDS = {("cqrs-bench", "serve", "api"), ("cqrs-bench", "serve", "relay")}
COMMANDS |= {("cqrs-bench", "serve", "projector"), ("cqrs-bench", "db", "migrate")}


def _documents() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    docs = []
    for name in kustomization["resources"]:
        docs += [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]
    return docs


def _by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in _documents() if d["kind"] == kind}


def test_every_listed_file_exists_and_every_manifest_is_listed() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_deployments_select_their_pods_and_run_real_commands() -> None:
    deployments = _by_kind("Deployment")
    assert set(deployments) == {"api", "relay", "projector", "locust-master", "locust-worker"}
    for name, dep in deployments.items():
        spec = dep["spec"]
        labels = spec["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= labels.items(), name
        (container,) = spec["template"]["spec"]["containers"]
        command = tuple(container["command"])
        assert command in COMMANDS or command[0] == "locust", (name, command)
    assert deployments["api"]["spec"]["replicas"] >= 2
    assert deployments["relay"]["spec"]["replicas"] == 2  # a leader and a standby
    job = _by_kind("Job")["migrate"]["spec"]["template"]["spec"]["containers"][0]
    assert tuple(job["command"]) == ("cqrs-bench", "db", "migrate")


def test_services_reach_the_ports_their_pods_name() -> None:
    deployments = _by_kind("Deployment")
    for name, service in _by_kind("Service").items():
        pod = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        named = {p["name"] for p in pod["ports"]}
        assert service["spec"]["selector"] == deployments[name]["spec"]["selector"]["matchLabels"]
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= named, name


def test_the_config_map_is_settings_the_system_reads_and_matches_the_services() -> None:
    data = _by_kind("ConfigMap")["cqrs-bench-config"]["data"]
    settings = Settings.from_env(data)
    assert settings.kafka_replication_factor == 3 and settings.es_replicas == 1
    projectors = _by_kind("Deployment")["projector"]["spec"]["replicas"]
    assert projectors <= settings.kafka_partitions
    assert settings.api_url == "http://api:18000"
    master = _by_kind("Deployment")["locust-master"]["spec"]["template"]["spec"]["containers"][0]
    assert master["command"][master["command"].index("--host") + 1] == settings.api_url
    for dep in [*_by_kind("Deployment").values(), *_by_kind("Job").values()]:
        env = dep["spec"]["template"]["spec"]["containers"][0]["envFrom"]
        refs = {next(iter(ref.values()))["name"] for ref in env}
        assert refs == {"cqrs-bench-config", "cqrs-bench-secrets"}
