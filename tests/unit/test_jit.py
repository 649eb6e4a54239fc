"""JIT compile seconds from hsperfdata images, and the resources rows and notes built on them."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from bench.load.jit import (
    WARMING_SHARE,
    compile_seconds,
    jit_seconds,
    parse_longs,
    warming_notes,
)
from bench.load.resources import resource_rows, tree_members
from bench.report.series import Snapshot, append_snapshot, read_snapshots


def image(longs: dict[str, int], little: bool = True, extra: tuple[str, ...] = ()) -> bytes:
    """An hsperfdata image written from HotSpot's layout (perfMemory.hpp), not from the reader:
    a 32-byte prologue, then entries padded to 8 bytes; `extra` adds string entries ('B'
    vectors) the reader must skip."""
    order = "<" if little else ">"
    entries = b""
    items: list[tuple[str, bytes, int, int]] = [
        (name, struct.pack(f"{order}q", value), 0, ord("J")) for name, value in longs.items()
    ]
    items += [(name, b"text\0\0\0\0", 8, ord("B")) for name in extra]
    for name, data, vector, kind in items:
        raw_name = name.encode() + b"\0"
        name_at = 20
        data_at = name_at + len(raw_name) + (-(name_at + len(raw_name)) % 8)
        length = data_at + len(data)
        head = struct.pack(f"{order}iiibbbbi", length, name_at, vector, kind, 0, 0, 0, data_at)
        padding = b"\0" * (data_at - name_at - len(raw_name))
        entries += head + raw_name + padding + data
    prologue = struct.pack(">I", 0xCAFEC0C0) + bytes([1 if little else 0, 2, 0, 1])
    prologue += struct.pack(f"{order}iiqii", 32 + len(entries), 0, 0, 32, len(items))
    return prologue + entries


COUNTERS = {"java.ci.totalTime": 3_000_000_000, "sun.os.hrt.frequency": 1_000_000_000}


@pytest.mark.parametrize("little", [True, False])
def test_compile_seconds_are_the_total_time_over_the_tick_frequency(little: bool) -> None:
    data = image({"sun.rt.other": 7, **COUNTERS}, little, extra=("java.property.x",))
    assert parse_longs(data) == COUNTERS
    assert compile_seconds(data) == 3.0


def test_an_image_without_the_counters_or_the_magic_gives_nothing() -> None:
    assert compile_seconds(image({"java.ci.totalTime": 5})) is None
    with pytest.raises(ValueError, match="hsperfdata"):
        parse_longs(b"\0" * 64)


def test_a_group_sums_the_jvms_of_its_tree_and_skips_other_processes(tmp_path: Path) -> None:
    (tmp_path / "hsperfdata_es").mkdir()
    (tmp_path / "hsperfdata_root").mkdir()
    (tmp_path / "hsperfdata_es" / "11").write_bytes(image(COUNTERS))
    half = {**COUNTERS, "java.ci.totalTime": 500_000_000}
    (tmp_path / "hsperfdata_es" / "12").write_bytes(image(half))
    (tmp_path / "hsperfdata_root" / "21").write_bytes(b"garbage")
    (tmp_path / "hsperfdata_root" / "99").write_bytes(image(COUNTERS))  # not in any tree
    table = {10: (1, 0.0), 11: (10, 0.0), 12: (11, 0.0), 20: (1, 0.0), 21: (20, 0.0)}
    members = tree_members({"elasticsearch": 10, "kafka": 20}, table)
    assert sorted(members["elasticsearch"]) == [10, 11, 12]
    assert jit_seconds(members, tmp_path) == {"elasticsearch": 3.5}


def test_rows_carry_the_window_compile_time_unless_the_jvm_restarted(tmp_path: Path) -> None:
    snaps = [
        Snapshot(100.0, {"kafka": 1.0, "es": 1.0}, {"kafka": 5.0, "es": 5.0}, {"kafka": 40.0}),
        Snapshot(160.0, {"kafka": 7.0, "es": 2.0}, {"kafka": 5.0, "es": 5.0}, {"kafka": 43.0}),
    ]
    (kafka,) = (r for r in resource_rows(snaps, 10, 10) if r["process"] == "kafka")
    assert kafka["jit_seconds"] == 3.0
    assert "jit_seconds" not in next(
        r for r in resource_rows(snaps, 10, 10) if r["process"] == "es"
    )
    restarted = [
        snaps[0],
        Snapshot(160.0, snaps[1].cpu, {"kafka": 150.0, "es": 5.0}, {"kafka": 2.0}),
    ]
    assert all("jit_seconds" not in r for r in resource_rows(restarted, 10, 10))
    path = tmp_path / "resources.jsonl"
    for snap in snaps:
        append_snapshot(path, snap)
    assert read_snapshots(path) == snaps


def test_a_jvm_compiling_over_the_threshold_is_named_in_a_note() -> None:
    window = 60.0
    rows = [
        {
            "process": "elasticsearch",
            "window_s": window,
            "jit_seconds": 2.0 * WARMING_SHARE * window,
        },
        {"process": "kafka", "window_s": window, "jit_seconds": 0.5 * WARMING_SHARE * window},
        {"process": "api", "window_s": window},
    ]
    (note,) = warming_notes(rows)
    assert note.startswith("elasticsearch's JVM compilations took 12.0 s of the 60 s window (0.20")
    assert note.endswith("(--jit-warmup 5m warms it first)")
