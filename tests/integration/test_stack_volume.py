"""Elasticsearch's data on a journaled filesystem, and the image that gives it one as root."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.report.environment import gather_environment
from bench.stack.process import StackError
from bench.stack.registry import service_paths
from bench.stack.volume import ensure_journaled, filesystem_of
from system.config import Settings

pytestmark = pytest.mark.integration

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="mkfs and mount -o loop need root")


@as_root
def test_the_stacks_elasticsearch_data_keeps_a_journal(settings: Settings) -> None:
    """`cqrs-bench up` as root moved the data onto a journaled filesystem (CQRS_ES_VOLUME=auto)."""
    fs = filesystem_of(service_paths(settings, "elasticsearch").root / "data")
    assert fs.journaled is True, fs.describe()


async def test_a_runs_environment_names_each_data_filesystem(settings: Settings) -> None:
    env = await gather_environment(settings)
    described = env.get("data_filesystems", {})
    assert set(described) == {"postgres", "kafka", "elasticsearch"}
    es = filesystem_of(service_paths(settings, "elasticsearch").root / "data")
    assert described["elasticsearch"] == es.describe()


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    data = tmp_path / "data"
    yield data
    if filesystem_of(data).point == data:
        subprocess.run(["umount", str(data)], check=True)


@as_root
def test_an_image_takes_the_data_it_finds_and_keeps_it_across_mounts(scratch: Path) -> None:
    (scratch / "indices").mkdir(parents=True)
    (scratch / "indices" / "segment").write_bytes(b"payload")
    (scratch / "node.lock").touch()

    assert ensure_journaled(scratch, "image", size="64M") is None

    fs = filesystem_of(scratch)
    assert (fs.point, fs.fstype, fs.journaled) == (scratch, "ext4", True)
    assert fs.source.startswith("/dev/loop")
    assert sorted(p.name for p in scratch.iterdir()) == ["indices", "node.lock"]
    assert (scratch / "indices" / "segment").read_bytes() == b"payload"
    assert [p.name for p in scratch.parent.iterdir() if p.name.startswith(".mount-")] == []

    # A second `up` on the mounted image changes nothing; after a reboot it is mounted again.
    assert ensure_journaled(scratch, "image", size="64M") is None
    subprocess.run(["umount", str(scratch)], check=True)
    assert list(scratch.iterdir()) == []
    assert ensure_journaled(scratch, "image", size="64M") is None
    assert (scratch / "indices" / "segment").read_bytes() == b"payload"


@as_root
def test_data_in_both_places_is_refused_and_left_alone(scratch: Path) -> None:
    scratch.mkdir()
    assert ensure_journaled(scratch, "image", size="64M") is None
    subprocess.run(["umount", str(scratch)], check=True)
    (scratch / "stray").write_text("written while the image was not mounted")

    with pytest.raises(StackError, match="hold Elasticsearch data: remove the one to drop"):
        ensure_journaled(scratch, "image", size="64M")

    assert filesystem_of(scratch).point != scratch
    assert [p.name for p in scratch.iterdir()] == ["stray"]
