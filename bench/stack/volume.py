"""The filesystem under a service's data, and a journaled ext4 image for Elasticsearch's.

Elasticsearch's refreshes create and delete tens of files a second, and ext4 without a journal
makes each new inode cost a scan of every inode deleted recently (see
`bench/stack/elasticsearch.py`): the projectors' lag then measures the disk's formatting, not
the system. Ordinary machines have a journal; some VM images (this project's dev box) do not.
So when Elasticsearch's data directory sits on a journal-less ext2/3/4 and we run as root,
`cqrs-bench up` formats a sparse image with a journal and loop-mounts it there, moving any data
already in the directory into it. Without root it warns instead. `CQRS_ES_VOLUME` chooses:
`auto` (the default, as above), `image` (always, failing without root) or `plain` (never).
PostgreSQL and Kafka stay where they are: they create and delete few files, and a loop device
would add a layer under PostgreSQL's commit fsync. Every run records which filesystem each
service's data is on (`environment.data_filesystems`).

Measured on the dev box (2 cores, `cqrs-bench load --scenario orders --rate 50 --duration 40s
--warmup 5s --no-ceilings`, order_status, a discarded warm-up run before each measured one,
the same node's data copied between the two places, rounds alternated):

| Elasticsearch data on       | end-to-end lag p50 / p99 | Elasticsearch CPU-ms per request |
|-----------------------------|--------------------------|----------------------------------|
| the journal-less root ext4  | 117 / 276, 113 / 249 ms  | 21.0, 21.3                       |
| a journaled ext4 loop image |  59 / 160,  72 / 172 ms  | 18.1, 18.1                       |
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bench.stack.process import StackError, run

VolumePolicy = Literal["auto", "image", "plain"]
POLICIES: tuple[VolumePolicy, ...] = ("auto", "image", "plain")
IMAGE_SIZE = "16G"  # sparse: it takes only what is written
# Inode tables and journal are written by mkfs, not by a kernel thread during a benchmark.
MKFS = ("mkfs.ext4", "-q", "-F", "-m", "0", "-E", "lazy_itable_init=0,lazy_journal_init=0")
EXT_FAMILY = frozenset({"ext2", "ext3", "ext4"})
MOUNTINFO = Path("/proc/self/mountinfo")
JBD2 = Path("/proc/fs/jbd2")


@dataclass(frozen=True)
class Mount:
    """One line of /proc/self/mountinfo, the fields we use."""

    point: Path
    device: str  # major:minor
    fstype: str
    source: str


@dataclass(frozen=True)
class Filesystem:
    """The filesystem a path lives on, and whether it keeps a journal (None: not known)."""

    fstype: str
    source: str
    point: Path
    journaled: bool | None

    def describe(self) -> str:
        journal = {True: "journal", False: "no journal", None: "journal unknown"}[self.journaled]
        loop = ", loop image" if self.source.startswith("/dev/loop") else ""
        return f"{self.fstype} ({journal}{loop}) at {self.point}"


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def parse_mountinfo(text: str) -> list[Mount]:
    """The mounts of a /proc/<pid>/mountinfo text (proc(5))."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 2:
            continue
        mounts.append(Mount(Path(_unescape(fields[4])), fields[2], tail[0], _unescape(tail[1])))
    return mounts


def mount_of(path: Path, mounts: list[Mount]) -> Mount:
    """The mount holding `path`: the last-mounted one with the longest matching mount point."""
    target = path.resolve()
    best: Mount | None = None
    for mount in mounts:
        inside = target == mount.point or mount.point in target.parents
        if inside and (best is None or len(mount.point.parts) >= len(best.point.parts)):
            best = mount
    if best is None:
        raise StackError(f"no mount holds {target} in {MOUNTINFO}")
    return best


def journaled(mount: Mount, jbd2_names: set[str]) -> bool | None:
    """ext3/4 journals show up as /proc/fs/jbd2/<block device>-8; other filesystems: None,
    except tmpfs and ext2, which never journal (xfs and btrfs always log, but say nothing here).
    """
    if mount.fstype in {"tmpfs", "ext2"}:
        return False
    if mount.fstype not in EXT_FAMILY:
        return None
    block = Path("/sys/dev/block") / mount.device
    name = block.resolve().name if block.exists() else Path(mount.source).name
    return f"{name}-8" in jbd2_names


def data_filesystems(dirs: dict[str, Path]) -> dict[str, str]:
    """`Filesystem.describe()` of each service's data directory, for a run's environment."""
    return {name: filesystem_of(path).describe() for name, path in dirs.items()}


def filesystem_of(path: Path) -> Filesystem:
    """The filesystem `path` (or its nearest existing parent) is on."""
    while not path.exists():
        path = path.parent
    mount = mount_of(path, parse_mountinfo(MOUNTINFO.read_text()))
    names = {p.name for p in JBD2.iterdir()} if JBD2.is_dir() else set()
    return Filesystem(mount.fstype, mount.source, mount.point, journaled(mount, names))


def policy_from_env() -> VolumePolicy:
    """`CQRS_ES_VOLUME`, checked."""
    value = os.environ.get("CQRS_ES_VOLUME", "auto")
    for policy in POLICIES:
        if value == policy:
            return policy
    raise StackError(f"CQRS_ES_VOLUME={value!r}: expected one of {', '.join(POLICIES)}")


def needs_image(fs: Filesystem, policy: VolumePolicy, *, is_root: bool) -> bool:
    """Whether `ensure_journaled` should put the data on an image (raises when it cannot)."""
    if policy == "plain" or fs.source.startswith("/dev/loop"):
        return False
    if policy == "image":
        if not is_root:
            raise StackError("CQRS_ES_VOLUME=image needs root (mkfs.ext4 and mount -o loop)")
        return True
    return is_root and fs.fstype in EXT_FAMILY and fs.journaled is False


def ensure_journaled(data: Path, policy: VolumePolicy, size: str = IMAGE_SIZE) -> str | None:
    """Put `data` on a journaled ext4 image when `policy` asks for it; a warning if one is due.

    Call only while the service using `data` is stopped: existing files are moved into the
    image. The image (`<data>.ext4`) stays mounted after `down` and is remounted by `up`. In
    `auto`, an image that cannot be made (no loop device, no mkfs.ext4) is a warning.
    """
    data.mkdir(parents=True, exist_ok=True)
    fs = filesystem_of(data)
    is_root = os.geteuid() == 0
    if not needs_image(fs, policy, is_root=is_root):
        if policy == "auto" and fs.fstype in EXT_FAMILY and fs.journaled is False:
            return (
                f"{data} is on {fs.describe()}: Elasticsearch's refreshes cost several times "
                "more there, so lag figures run high; run `cqrs-bench up` as root to put the "
                "data on a journaled image, or set CQRS_ES_VOLUME=plain to silence this."
            )
        return None
    try:
        _mount_image(data, size)
    except StackError as exc:
        if policy == "image":
            raise
        return f"{data} stays on {fs.describe()}: no journaled image ({exc})"
    return None


def _mount_image(data: Path, size: str) -> None:
    """Format `<data>.ext4` if new, move what `data` holds into it, and mount it on `data`."""
    image = data.with_name(data.name + ".ext4")
    fresh = not image.exists()
    if fresh:
        partial = image.with_name(image.name + ".new")
        run(["truncate", "-s", size, str(partial)], what="creating the Elasticsearch image")
        run([*MKFS, str(partial)], what="formatting the Elasticsearch image")
        partial.rename(image)
    if any(data.iterdir()):
        if not fresh:
            raise StackError(
                f"both {data} and the image {image} hold Elasticsearch data: remove the one "
                "to drop, or set CQRS_ES_VOLUME=plain to keep the directory"
            )
        _move_into(image, data)
    run(["mount", "-o", "loop,noatime", str(image), str(data)], what="mounting the image")
    lost = data / "lost+found"
    if lost.is_dir() and not any(lost.iterdir()):
        lost.rmdir()  # Elasticsearch's user could not read it; e2fsck makes it again if needed


def _move_into(image: Path, data: Path) -> None:
    """Move what `data` holds onto the image, through a temporary mount point."""
    staging = Path(tempfile.mkdtemp(prefix=".mount-", dir=data.parent))
    run(["mount", "-o", "loop", str(image), str(staging)], what="mounting the image")
    try:
        for entry in data.iterdir():
            shutil.move(str(entry), str(staging / entry.name))
    finally:
        run(["umount", str(staging)], what="unmounting the image's staging mount")
        staging.rmdir()
