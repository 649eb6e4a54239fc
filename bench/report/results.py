"""The results.json contract (`cqrs-bench/results/1`): building, writing, validating (the rows
are described once, by bench/report/results.schema.json)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.validators import Draft202012Validator

from bench.report.constants import SCHEMA_ID, SECTIONS, Section
from bench.report.environment import Environment, collect_environment, new_run_id


class ResultsInvalid(ValueError):
    """A results document breaks the contract; the message names the JSON path of each error."""


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of results.json (bench/report/results.schema.json)."""
    text = resources.files("bench.report").joinpath("results.schema.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _path(error: jsonschema.ValidationError) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)


def _check(data: Any, sub_schema: Mapping[str, Any], prefix: str = "") -> None:
    validator = Draft202012Validator(
        {**sub_schema, "$defs": schema()["$defs"]},
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{prefix}{_path(e)[1:] if prefix else _path(e)}: {e.message}" for e in errors]
        raise ResultsInvalid("results do not follow cqrs-bench/results/1:\n  " + "\n  ".join(lines))


def validate(data: Any) -> None:
    """Raise ResultsInvalid unless `data` follows the results schema."""
    _check(data, schema())


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Results:
    """One run's results document, built up section by section and written as results.json."""

    run_id: str
    suite: str
    started_at: str
    config: dict[str, Any]
    environment: Environment | None = None
    finished_at: str | None = None
    sections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def new(cls, suite: str, config: Mapping[str, Any], run_id: str | None = None) -> Results:
        """Start a run now; `run_id` defaults to the UTC timestamp plus the short git revision."""
        return cls(
            run_id=run_id or new_run_id(),
            suite=suite,
            started_at=utc_now(),
            config=dict(config),
        )

    def add(self, section: Section, row: Mapping[str, Any]) -> None:
        """Append a row to a section; a row that breaks the contract is refused at once."""
        if section not in SECTIONS:
            raise ResultsInvalid(f"unknown section {section!r}; known: {', '.join(SECTIONS)}")
        rows = self.sections.setdefault(section, [])
        _check(dict(row), {"$ref": f"#/$defs/{section}"}, prefix=f"$.{section}[{len(rows)}]")
        rows.append(dict(row))

    def rows(self, section: Section) -> list[dict[str, Any]]:
        return self.sections.get(section, [])

    def finish(self) -> None:
        self.finished_at = utc_now()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema": SCHEMA_ID,
            "run_id": self.run_id,
            "suite": self.suite,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "environment": self.environment,
            "config": self.config,
        }
        if self.notes:
            data["notes"] = self.notes
        data.update({name: self.sections[name] for name in SECTIONS if name in self.sections})
        return data

    def write(self, out_dir: Path) -> Path:
        """Validate and write `out_dir/results.json`; an invalid run is an error, never a file."""
        if self.environment is None:
            self.environment = collect_environment()
        if self.finished_at is None:
            self.finish()
        data = self.to_dict()
        validate(data)
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "results.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
        tmp.replace(path)
        return path

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Results:
        validate(data)
        return cls(
            run_id=data["run_id"],
            suite=data["suite"],
            started_at=data["started_at"],
            finished_at=data["finished_at"],
            config=dict(data["config"]),
            environment=data["environment"],
            sections={name: list(data[name]) for name in SECTIONS if name in data},
            notes=list(data.get("notes", [])),
        )


def load(path: Path) -> Results:
    """Read and validate a results.json (or the results.json inside a run directory)."""
    if path.is_dir():
        path = path / "results.json"
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ResultsInvalid(f"{path}: not JSON ({exc})") from None
    try:
        return Results.from_dict(data)
    except ResultsInvalid as exc:
        raise ResultsInvalid(f"{path}: {exc}") from None
