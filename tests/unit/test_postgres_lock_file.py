"""`postmaster.pid` is never deleted from under a live cluster (PostgreSQL's guard against
backends orphaned by a kill -9); only a file naming an unrelated live process goes.

The "cluster" here is a `sleep` started in the data directory: PostgreSQL's processes are
recognised by their working directory, as a postmaster and its backends chdir there.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.stack.postgres import _settle_lock_file, cluster_processes
from bench.stack.process import StackError


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def cluster_process(data: Path) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "60"], cwd=data)
    yield proc
    proc.kill()
    proc.wait()


@pytest.fixture
def unrelated_process(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "60"], cwd=tmp_path)
    yield proc
    proc.kill()
    proc.wait()


def _lock(data: Path, pid: int) -> Path:
    path = data / "postmaster.pid"
    path.write_text(f"{pid}\n{data}\n1700000000\n54329\n\n127.0.0.1\n  1234567    65538\nready\n")
    return path


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


async def test_a_live_postmaster_of_the_data_directory_keeps_its_file_and_stops_the_start(
    data: Path, cluster_process: subprocess.Popen[bytes]
) -> None:
    lock = _lock(data, cluster_process.pid)
    assert cluster_processes(data) == [cluster_process.pid]
    with pytest.raises(StackError, match=f"postmaster \\(pid {cluster_process.pid}\\) still runs"):
        await _settle_lock_file(data)
    assert lock.exists()


async def test_orphaned_backends_keep_the_file_and_stop_the_start(
    data: Path, cluster_process: subprocess.Popen[bytes]
) -> None:
    lock = _lock(data, _dead_pid())
    with pytest.raises(StackError, match="processes of the old cluster are still alive"):
        await _settle_lock_file(data, wait_s=0.3)
    assert lock.exists()


async def test_a_dead_postmaster_leaves_the_file_for_postgresql_to_recover_from(
    data: Path,
) -> None:
    lock = _lock(data, _dead_pid())
    await _settle_lock_file(data)
    assert lock.exists()


async def test_a_pid_reused_by_an_unrelated_process_is_the_only_file_removed(
    data: Path, unrelated_process: subprocess.Popen[bytes]
) -> None:
    lock = _lock(data, unrelated_process.pid)
    await _settle_lock_file(data)
    assert not lock.exists()
