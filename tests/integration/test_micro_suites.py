"""The micro suites run end to end at tiny size, so they cannot rot, and honour the contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.micro.figures import by_kind
from bench.micro.suite import load_suite
from bench.report.results import load, validate

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("micro")
    subprocess.run(
        [
            str(Path(sys.executable).parent / "cqrs-bench"),
            "micro",
            "--suite",
            "tiny",
            "--out",
            str(out),
            "--no-push",
        ],
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    return out


def test_the_tiny_suite_writes_results_that_follow_the_schema(tiny_run: Path) -> None:
    data = json.loads((tiny_run / "results.json").read_text())
    validate(data)
    for section in ("ceilings", "replay", "append", "conflicts", "projection", "relay", "peers"):
        assert data[section], f"section {section} is empty"
    paths = {r["path"] for r in data["projection"]}
    assert paths == {"cached", "uncached_mget", "from_kafka", "rebuild"}
    assert "of Kafka consume" in (tiny_run / "report.md").read_text()
    assert {"report.md", "report.html", "replay_cost.png", "pytest-benchmark.json"} <= {
        p.name for p in tiny_run.iterdir()
    }


def test_every_figure_is_positive_and_every_ratio_is_value_over_ceiling(tiny_run: Path) -> None:
    data = load(tiny_run).to_dict()
    for section in ("replay", "append", "projection", "relay"):
        for row in data[section]:
            assert row["events_per_s"] > 0
            if row.get("name", "").endswith("rebuild"):
                assert row["ceiling"] is None
                continue
            assert row["ceiling"] is not None and row["ceiling"] > 0
            assert row["ratio"] == pytest.approx(row["events_per_s"] / row["ceiling"])
    for row in data["peers"]:  # ratio: median over alternating round pairs (sections/peers.py)
        assert row["ours_low"] <= row["ours"] <= row["ours_high"]
        assert row["theirs_low"] <= row["theirs"] <= row["theirs_high"]
        assert row["low"] <= row["ratio"] <= row["high"]
    for row in data["conflicts"]:
        assert row["conflicts"] <= row["attempts"]
        assert row["conflict_rate"] == pytest.approx(row["conflicts"] / row["attempts"])
        if row["writers"] == 1:
            assert row["conflicts"] == 0


def test_append_rounds_are_metered_for_cpu_when_postgresql_runs_here(tiny_run: Path) -> None:
    for row in load(tiny_run).to_dict()["append"]:
        ours, raw = row["cpu_seconds_per_event"], row["ceiling_cpu_seconds_per_event"]
        # an append or an INSERT costs PostgreSQL and the client at least 1 µs and at most 10 ms
        assert 1e-6 / row["batch"] < raw < 0.01 and 1e-6 / row["batch"] < ours < 0.01, row
        assert row["cpu_ratio"] == pytest.approx(raw / ours)


def test_the_projector_reading_kafka_is_rated_against_a_raw_consume_of_its_topic(
    tiny_run: Path,
) -> None:
    data = load(tiny_run).to_dict()
    consume = next(c for c in data["ceilings"] if c["name"] == "kafka_consume_account_balance")
    row = next(r for r in data["projection"] if r["path"] == "from_kafka")
    assert row["kafka_ceiling"] == pytest.approx(consume["value"])
    assert 0 < row["kafka_ratio"] < 1.5
    assert row["kafka_ratio"] == pytest.approx(row["events_per_s"] / row["kafka_ceiling"])
    assert row["kafka_ratio_low"] <= row["kafka_ratio"] <= row["kafka_ratio_high"]
    assert all("kafka_ratio" not in r for r in data["projection"] if r["path"] != "from_kafka")


def test_snapshot_rows_leave_tails_of_one_and_k_minus_one_counted_by_the_store(
    tiny_run: Path,
) -> None:
    replay = load(tiny_run).to_dict()["replay"]
    for k in load_suite("tiny").replay.snapshot_every:
        assert {1, k - 1} <= {r["tail_events"] for r in replay if r["snapshot_every"] == k}
    benchmarks = json.loads((tiny_run / "pytest-benchmark.json").read_text())["benchmarks"]
    for b in by_kind(benchmarks, "replay"):
        info = b["extra_info"]
        row = next(
            r
            for r in replay
            if (r["events"], r["snapshot_every"]) == (info["events"], info["snapshot_every"])
        )
        assert row["tail_events"] == info["tail_events"]
        # the snapshot the store read plus the events it returned after it: the whole stream
        assert info["snapshot_version"] + info["tail_events"] == info["events"]
        if info["snapshot_every"] is None:
            assert info["snapshot_version"] == 0
        else:
            assert 0 < info["tail_events"] < info["snapshot_every"]


def test_every_target_has_a_verdict_from_an_interval_holding_its_value(tiny_run: Path) -> None:
    data = load(tiny_run).to_dict()
    names = {t["name"].split(" (")[0] for t in data["targets"]}
    assert {"replay", "snapshots", "append", "message-db append", "eventsourcing append"} <= names
    for target in data["targets"]:
        assert target["low"] <= target["value"] <= target["high"], target
        assert target["verdict"] in ("MET", "MISSED", "INCONCLUSIVE")
        straddles = target["low"] < target["threshold"] < target["high"]
        if straddles and target["op"] in (">=", "<="):
            assert target["verdict"] == "INCONCLUSIVE", target
    report = (tiny_run / "report.md").read_text()
    assert "## Targets (verdicts from 95% intervals)" in report
    for target in data["targets"]:
        assert f"| {target['verdict']} | {target['name']} |" in report


def test_every_benchmark_is_grouped_by_its_results_section(tiny_run: Path) -> None:
    benchmarks = json.loads((tiny_run / "pytest-benchmark.json").read_text())["benchmarks"]
    sections = {p.stem for p in (ROOT / "bench" / "micro" / "sections").glob("*.py")}
    assert benchmarks
    for b in benchmarks:
        assert b["group"] is not None, b["fullname"]
        assert b["group"] in sections, (b["fullname"], b["group"])
        assert b["fullname"].split("::")[0].endswith(f"test_{b['group']}.py")


SERIALIZATION = [sys.executable, "-m", "pytest", "bench/micro/test_serialization.py", "-q"]
"""The one micro module that needs no services, at tiny size."""


def _serialization(*options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SERIALIZATION, "--suite", "tiny", "-p", "no:cacheprovider", *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize(
    "option", ["--benchmark-min-rounds=9", "--benchmark-max-time=5", "--benchmark-warmup=on"]
)
def test_options_the_suite_owns_are_refused_by_name(option: str) -> None:
    done = _serialization(option)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert option.split("=")[0] in done.stderr and "bench/suites/NAME.toml" in done.stderr


def test_pytest_benchmark_storage_autosave_and_compare_work(tmp_path: Path) -> None:
    storage = f"--benchmark-storage=file://{tmp_path}"
    nothing_yet = _serialization("--benchmark-compare", storage)  # a warning, not an error
    assert nothing_yet.returncode == 0, nothing_yet.stdout + nothing_yet.stderr
    assert "Can't compare" in nothing_yet.stdout + nothing_yet.stderr
    saved = _serialization("--benchmark-autosave", storage)
    assert saved.returncode == 0, saved.stdout + saved.stderr
    runs = list(tmp_path.rglob("0001_*.json"))
    assert len(runs) == 1, runs
    groups = {b["group"] for b in json.loads(runs[0].read_text())["benchmarks"]}
    assert groups == {"serialization"}
    compared = _serialization("--benchmark-compare", storage, "--benchmark-group-by=group")
    assert compared.returncode == 0, compared.stdout + compared.stderr
    assert "'serialization'" in compared.stdout, compared.stdout
    assert "0001" in compared.stdout and "NOW" in compared.stdout, compared.stdout
