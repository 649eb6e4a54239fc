"""Write a run's readable report (report.md, report.html, plots) beside its results.json."""

from __future__ import annotations

from pathlib import Path

from bench.report import html, markdown, plots
from bench.report.panels import read_manifest
from bench.report.results import Results, load


def write_report(run: Results | Path, out_dir: Path | None = None) -> list[Path]:
    """Render `run` (or the results.json at a path) into `out_dir` (default: the run's folder)."""
    if isinstance(run, Path):
        out_dir = out_dir or (run if run.is_dir() else run.parent)
        run = load(run)
    if out_dir is None:
        raise ValueError("out_dir is required when rendering a Results object")
    data = run.to_dict()
    images = plots.render_all(data, out_dir)
    panels = read_manifest(out_dir)
    md = out_dir / "report.md"
    md.write_text(markdown.render(data, images, panels))
    page = out_dir / "report.html"
    page.write_text(html.render(data, images, panels))
    drawn = [out_dir / p["file"] for p in panels if p.get("file")]
    return [md, page, *(out_dir / name for name in images), *drawn]
