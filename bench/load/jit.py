"""Time each JVM of the stack spent compiling, read from HotSpot's hsperfdata files.

Every HotSpot JVM started without `-XX:-UsePerfData` maps its counters to
`/tmp/hsperfdata_<user>/<pid>` (what `jstat` reads). `java.ci.totalTime` is how long its
compilations took, in ticks of `sun.os.hrt.frequency`: each compilation's elapsed (wall) time,
summed over the compiler threads, so on a busy machine it counts their waits for a CPU too and
is an upper bound of their CPU (the load reference has Elasticsearch's above its whole process's
CPU). The load runner reads it beside the CPU snapshots: a JVM whose compilations take a good
part of a run is still warming up, and its CPU and the latencies it serves are not its steady
state. Reading a file costs no JVM work:
the counters live in shared memory that the file maps.

The file's layout (HotSpot's `perfMemory.hpp`, `perfData.hpp`): a header of magic 0xcafec0c0,
a byte order byte (0 big, 1 little endian), version, an accessible flag, the used size, the
overflow, a modification time stamp, the offset of the first entry and the number of entries;
then each entry: its length, the offset of its NUL-terminated name, a vector length, a type
byte (`J` for a long), flags, units, variability, and the offset of its data, all offsets from
the entry's start.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

PERF_MAGIC = 0xCAFEC0C0
HSPERF_ROOT = Path("/tmp")
WARMING_SHARE = 0.10
"""A JVM whose compilations took more than this share of a run's window was still warming up.

Measured (`bench/load/jit_warmup.py`): the lag of `orders` at 50 req/s stopped falling once
Elasticsearch compiled for about a tenth of the load's time; the tail of cold methods takes many
minutes more to reach a twentieth, the previous threshold."""
_COUNTERS = ("java.ci.totalTime", "sun.os.hrt.frequency")


def parse_longs(data: bytes, names: Iterable[str] = _COUNTERS) -> dict[str, int]:
    """The named scalar long counters of an hsperfdata image (those it lacks are left out)."""
    wanted = set(names)
    if len(data) < 32 or struct.unpack_from(">I", data, 0)[0] != PERF_MAGIC:
        raise ValueError("not an hsperfdata file")
    order = "<" if data[4] == 1 else ">"
    entry_offset, entries = struct.unpack_from(f"{order}ii", data, 24)
    out: dict[str, int] = {}
    at = entry_offset
    for _ in range(entries):
        if at + 20 > len(data):
            break
        length, name_at, vector, kind = struct.unpack_from(f"{order}iiib", data, at)
        data_at = struct.unpack_from(f"{order}i", data, at + 16)[0]
        if length <= 0:
            break
        end = data.find(b"\0", at + name_at)
        name = data[at + name_at : end].decode("ascii", "replace")
        if name in wanted and vector == 0 and kind == ord("J"):
            out[name] = struct.unpack_from(f"{order}q", data, at + data_at)[0]
        at += length
    return out


def compile_seconds(data: bytes) -> float | None:
    """Seconds the JVM's compiler threads spent compiling (None: the image lacks a counter)."""
    longs = parse_longs(data)
    if set(longs) != set(_COUNTERS) or longs["sun.os.hrt.frequency"] <= 0:
        return None
    return longs["java.ci.totalTime"] / longs["sun.os.hrt.frequency"]


def perfdata_files(pids: Iterable[int], root: Path = HSPERF_ROOT) -> dict[int, Path]:
    """PID → its hsperfdata file, for the PIDs that are JVMs publishing one."""
    wanted = {str(pid) for pid in pids}
    found: dict[int, Path] = {}
    for user_dir in root.glob("hsperfdata_*"):
        try:
            for entry in user_dir.iterdir():
                if entry.name in wanted:
                    found[int(entry.name)] = entry
        except OSError:
            continue
    return found


def jit_seconds(members: Mapping[str, Sequence[int]], root: Path = HSPERF_ROOT) -> dict[str, float]:
    """Process group → compile seconds summed over the JVMs of its tree (groups without one are
    left out)."""
    files = perfdata_files((pid for pids in members.values() for pid in pids), root)
    out: dict[str, float] = {}
    for name, pids in members.items():
        for pid in pids:
            if pid not in files:
                continue
            try:
                seconds = compile_seconds(files[pid].read_bytes())
            except (OSError, ValueError, struct.error):
                continue
            if seconds is not None:
                out[name] = out.get(name, 0.0) + seconds
    return out


def warming_notes(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """A note for each resources row whose JVM's compilations took over `WARMING_SHARE` of the
    window."""
    notes = []
    for row in rows:
        seconds, window = row.get("jit_seconds"), row.get("window_s")
        if seconds is None or not window or seconds / window <= WARMING_SHARE:
            continue
        notes.append(
            f"{row['process']}'s JVM compilations took {seconds:.1f} s of the {window:.0f} s "
            f"window ({seconds / window:.2f} of it, wall time summed over its compiler threads): "
            "it was still warming up, and its CPU and latency here are not its steady state"
            " (--jit-warmup 5m warms it first)"
        )
    return notes
