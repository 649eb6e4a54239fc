"""No Python module of the system or the harness grows past 400 lines (issue 15)."""

from __future__ import annotations

from pathlib import Path

MAX_LINES = 400
ROOT = Path(__file__).resolve().parents[2]


def oversized(root: Path, limit: int = MAX_LINES) -> dict[str, int]:
    """Modules under `root`'s system/ and bench/ longer than `limit` lines, by path."""
    found = {}
    for package in ("system", "bench"):
        for module in sorted((root / package).rglob("*.py")):
            lines = len(module.read_text().splitlines())
            if lines > limit:
                found[str(module.relative_to(root))] = lines
    return found


def test_no_module_is_over_400_lines() -> None:
    assert oversized(ROOT) == {}


def test_a_long_module_would_be_caught(tmp_path: Path) -> None:
    (tmp_path / "system").mkdir()
    (tmp_path / "bench").mkdir()
    (tmp_path / "system" / "long.py").write_text("x = 1\n" * (MAX_LINES + 1))
    (tmp_path / "bench" / "short.py").write_text("x = 1\n" * MAX_LINES)
    assert oversized(tmp_path) == {"system/long.py": MAX_LINES + 1}
