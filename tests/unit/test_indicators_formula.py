"""The priority score formula and the weights file, without a database."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.db.indicators import DeficiencyRule, indicators_sql
from app.services.indicators import INDICATOR_KEYS, priority_score, read_weights
from app.settings import REPO_ROOT


def test_score_is_the_weighted_mean_of_shares_times_100() -> None:
    weights = {"a": 3.0, "b": 1.0, "c": 0.0}
    assert priority_score({"a": 0.5, "b": 1.0, "c": 1.0}, weights) == pytest.approx(62.5)
    assert priority_score({"a": 0.0, "b": 0.0, "c": 1.0}, weights) == 0.0
    assert priority_score({"a": 1.0, "b": 1.0, "c": 0.0}, weights) == 100.0


def test_an_unanswered_indicator_drops_out_instead_of_counting_as_zero() -> None:
    weights = {"a": 3.0, "b": 1.0}
    assert priority_score({"a": None, "b": 0.4}, weights) == pytest.approx(40.0)
    assert priority_score({"a": None, "b": None}, weights) is None


def test_the_shipped_weights_cover_every_indicator() -> None:
    weights = read_weights(REPO_ROOT / "forms" / "priorities.yaml")
    assert set(weights) == set(INDICATOR_KEYS)
    assert weights["insecure_tenure"] > 0 and sum(weights.values()) > 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("weights:\n  insecure_tenure: -1\n", "must be a number >= 0"),
        ("weights:\n  insecure_tenure: lots\n", "must be a number >= 0"),
        ("weights:\n  swimming_pool: 1\n", "unknown indicators"),
        ("weights:\n  insecure_tenure: 0\n", "At least one weight"),
        ("weights:\n  insecure_tenure: .nan\n", "must be a number >= 0 and <= 1000"),
        ("weights:\n  insecure_tenure: .inf\n", "must be a number >= 0 and <= 1000"),
        ("weights:\n  insecure_tenure: true\n", "must be a number >= 0"),
        ("- 1\n- 2\n", "expected a 'weights:' mapping"),
    ],
)
def test_bad_weights_files_are_explained(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "priorities.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_weights(path)


def test_missing_indicators_weigh_zero(tmp_path: Path) -> None:
    path = tmp_path / "priorities.yaml"
    path.write_text("weights:\n  no_piped_water: 2.5\n", encoding="utf-8")
    weights = read_weights(path)
    assert weights["no_piped_water"] == 2.5 and weights["insecure_tenure"] == 0.0


def test_sql_refuses_unsafe_names() -> None:
    with pytest.raises(ValueError):
        indicators_sql([DeficiencyRule("x; DROP TABLE cities", "tenure", ("renting",))])
    sql = indicators_sql([DeficiencyRule("t", "tenure", ("it's",))])
    assert "'it''s'" in sql and "GROUPING SETS" in sql and "FILTER" in sql


def test_print_indicators_agree_everywhere() -> None:
    import typing

    from app.api.maps import Indicator
    from app.cli import PRINT_INDICATORS as CLI_INDICATORS
    from app.services.maps import PRINT_INDICATORS

    assert typing.get_args(Indicator) == PRINT_INDICATORS == CLI_INDICATORS


def test_the_csv_writes_shares_half_up_in_percent() -> None:
    """A share of 0.0625 is 6.3 in the CSV (app.i18n.percent_text, as every share with a
    decimal is shown); Python's formatting said 6.2. No share, an empty cell."""
    import csv
    import io

    from app.services.indicators import report_csv

    shares = dict.fromkeys(INDICATOR_KEYS, 0.0625)
    shares[INDICATOR_KEYS[-1]] = None
    row = {"code": "A", "name": "Xóm Ả", "households": 16, "score": 6.25, "shares": shares}
    report = {"area": {"kind": "ward"}, "totals": row, "settlements": []}
    for language in ("vi", "en"):
        rows = list(csv.reader(io.StringIO(report_csv(report, language).decode("utf-8-sig"))))
        cells = rows[1][-len(INDICATOR_KEYS) :]
        assert cells == ["6.3"] * (len(INDICATOR_KEYS) - 1) + [""], language
