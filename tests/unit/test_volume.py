"""Where a service's data lives: mountinfo parsing, journal detection, and the image policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.stack.process import StackError
from bench.stack.volume import (
    Filesystem,
    Mount,
    journaled,
    mount_of,
    needs_image,
    parse_mountinfo,
    policy_from_env,
)

MOUNTINFO = """\
22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
30 22 0:26 / /dev/shm rw,nosuid shared:4 - tmpfs tmpfs rw
41 22 7:0 / /srv/my\\040stack/es/data rw,noatime shared:20 - ext4 /dev/loop0 rw
42 22 259:1 / /srv rw - xfs /dev/nvme0n1p1 rw
"""


def test_mountinfo_fields_and_escapes() -> None:
    mounts = parse_mountinfo(MOUNTINFO + "garbage without a separator\n")
    assert [m.point for m in mounts] == [
        Path("/"),
        Path("/dev/shm"),
        Path("/srv/my stack/es/data"),
        Path("/srv"),
    ]
    assert mounts[2] == Mount(Path("/srv/my stack/es/data"), "7:0", "ext4", "/dev/loop0")


@pytest.mark.parametrize(
    ("path", "point"),
    [
        ("/srv/my stack/es/data/indices/x", "/srv/my stack/es/data"),
        ("/srv/my stack/es/data", "/srv/my stack/es/data"),
        ("/srv/my stack/es/datab", "/srv"),
        ("/srvx", "/"),
        ("/dev/shm/a", "/dev/shm"),
    ],
)
def test_the_longest_mount_point_holds_a_path(path: str, point: str) -> None:
    assert mount_of(Path(path), parse_mountinfo(MOUNTINFO)).point == Path(point)


def test_the_last_of_two_mounts_on_one_point_wins() -> None:
    stacked = MOUNTINFO + "50 41 7:1 / /srv/my\\040stack/es/data rw - ext4 /dev/loop1 rw\n"
    assert mount_of(Path("/srv/my stack/es/data"), parse_mountinfo(stacked)).source == "/dev/loop1"


def test_a_journal_is_known_by_its_jbd2_entry() -> None:
    # A device number no machine has, so the name comes from the mount's source.
    loop = Mount(Path("/d"), "999:999", "ext4", "/dev/loop7")
    assert journaled(loop, {"loop7-8", "vda-8"}) is True
    assert journaled(loop, {"vda-8"}) is False
    assert journaled(Mount(Path("/d"), "999:999", "tmpfs", "tmpfs"), set()) is False
    assert journaled(Mount(Path("/d"), "999:999", "ext2", "/dev/sdb"), {"sdb-8"}) is False
    assert journaled(Mount(Path("/d"), "999:999", "xfs", "/dev/sdb"), set()) is None


def _fs(fstype: str = "ext4", source: str = "/dev/vda", journal: bool | None = False) -> Filesystem:
    return Filesystem(fstype, source, Path("/"), journal)


@pytest.mark.parametrize(
    ("fs", "policy", "root", "expected"),
    [
        (_fs(), "auto", True, True),
        (_fs(), "auto", False, False),
        (_fs(journal=True), "auto", True, False),
        (_fs("xfs", journal=None), "auto", True, False),
        (_fs("tmpfs", "tmpfs"), "auto", True, False),
        (_fs(source="/dev/loop0", journal=True), "auto", True, False),
        (_fs(source="/dev/loop0", journal=True), "image", True, False),
        (_fs(journal=True), "image", True, True),
        (_fs(), "plain", True, False),
    ],
)
def test_when_the_data_goes_on_an_image(
    fs: Filesystem, policy: str, root: bool, expected: bool
) -> None:
    assert needs_image(fs, policy, is_root=root) is expected  # type: ignore[arg-type]


def test_image_without_root_is_refused_by_name() -> None:
    with pytest.raises(StackError, match="CQRS_ES_VOLUME=image needs root"):
        needs_image(_fs(), "image", is_root=False)


def test_policy_is_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CQRS_ES_VOLUME", raising=False)
    assert policy_from_env() == "auto"
    monkeypatch.setenv("CQRS_ES_VOLUME", "plain")
    assert policy_from_env() == "plain"
    monkeypatch.setenv("CQRS_ES_VOLUME", "tmpfs")
    with pytest.raises(StackError, match=r"CQRS_ES_VOLUME='tmpfs': expected one of auto, image"):
        policy_from_env()


def test_describe_names_journal_and_loop() -> None:
    assert _fs().describe() == "ext4 (no journal) at /"
    assert _fs(source="/dev/loop3", journal=True).describe() == "ext4 (journal, loop image) at /"
