"""`bench.micro.append_cost`'s arithmetic and flags (the measurement itself needs the stack:
tests/integration/test_append_cost.py)."""

from __future__ import annotations

import pytest

from bench.micro.append_cost import VARIANTS, main, quartiles, ratios


def test_ratios_pair_each_round_with_its_raw_round() -> None:
    assert ratios([1.0, 2.0, 4.0], [2.0, 2.0, 5.0]) == [0.5, 1.0, 0.8]


def test_quartiles_are_inclusive_and_ordered() -> None:
    assert quartiles([0.5, 1.0, 0.8, 0.6]) == pytest.approx((0.575, 0.7, 0.85))


def test_the_variants_run_from_the_ceiling_down_to_the_store() -> None:
    assert VARIANTS[0] == "raw" and VARIANTS[-1] == "store"


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--rounds", "1"], "--rounds"),
        (["--connections", "0"], "--connections"),
        (["--appends", "0"], "--appends"),
    ],
)
def test_a_bad_flag_is_refused_by_name(
    argv: list[str], flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert flag in capsys.readouterr().err
