"""Replication settings for a cluster: topics' replication factor and indexes' replicas."""

from __future__ import annotations

import pytest

from system.config import Settings


def test_single_node_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.kafka_replication_factor == 1
    assert settings.es_replicas == 0


def test_cluster_values_from_the_environment() -> None:
    env = {"CQRS_KAFKA_REPLICATION_FACTOR": "3", "CQRS_ES_REPLICAS": "1"}
    settings = Settings.from_env(env)
    assert settings.kafka_replication_factor == 3
    assert settings.es_replicas == 1


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("CQRS_KAFKA_REPLICATION_FACTOR", "0"),
        ("CQRS_KAFKA_REPLICATION_FACTOR", "three"),
        ("CQRS_ES_REPLICAS", "-1"),
        ("CQRS_ES_REPLICAS", "one"),
    ],
)
def test_bad_values_name_their_variable(name: str, raw: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: raw})
