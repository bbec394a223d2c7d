"""One catalogue of messages and labels, complete in Vietnamese and English."""

from __future__ import annotations

import re

import pytest

from app.i18n import LANGUAGES, MESSAGES, pick_language, translate

PLACEHOLDER = re.compile(r"\{(\w+)\}")


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_message_has_both_languages_with_the_same_placeholders(code: str) -> None:
    texts = MESSAGES[code]
    assert set(texts) == set(LANGUAGES), code
    assert all(texts[language].strip() for language in LANGUAGES), code
    vi, en = (set(PLACEHOLDER.findall(texts[language])) for language in ("vi", "en"))
    assert vi == en, code


def test_vietnamese_is_the_default_and_diacritics_survive() -> None:
    assert pick_language(None) == "vi"
    assert pick_language("en-US,en;q=0.9") == "en"
    assert pick_language("fr") == "vi"
    assert translate("print_map.rank", "vi") == "Hạng"
    assert translate("web_map.wards", "en") == "Ward boundaries"
    assert translate("map_page.ward_title", "vi", ward="An Xuân", city="Tam Kỳ") == (
        "Bản đồ nâng cấp khu dân cư: An Xuân, Tam Kỳ"
    )


def test_number_text_writes_each_languages_separators() -> None:
    from app.i18n import number_text

    assert number_text(1234567.25, "vi", 1) == "1.234.567,2"
    assert number_text(1234567.25, "en", 1) == "1,234,567.2"
    assert number_text(42.66, "vi", 1) == "42,7" and number_text(12345, "vi") == "12.345"


@pytest.mark.parametrize(
    ("share", "percent"),
    [
        (1 / 8, 13),  # 12.5: half up, as a ward meeting rounds (half-to-even said 12)
        (5 / 8, 63),
        (3 / 8, 38),
        (0.145, 15),  # the API's four decimals: 100 * 0.145 is 14.4999... in binary
        (0.1449, 14),
        (0.0, 0),
        (0.004, 0),
        (0.005, 1),
        (1.0, 100),
        (2 / 3, 67),
    ],
)
def test_whole_percent_rounds_half_up(share: float, percent: int) -> None:
    from app.i18n import whole_percent

    assert whole_percent(share) == percent


@pytest.mark.parametrize(
    ("share", "vi", "en", "csv"),
    [
        (0.0625, "6,3", "6.3", "6.3"),  # format() said 6.2: half to even on 6.25
        (0.125, "12,5", "12.5", "12.5"),
        (0.145, "14,5", "14.5", "14.5"),  # 100 * 0.145 is 14.4999... in binary
        (0.00145, "0,1", "0.1", "0.1"),  # 0.145 %: half up from the decimal form
        (0.9995, "100,0", "100.0", "100.0"),  # 99.95 up to 100.0, not 99.9
        (1.0, "100,0", "100.0", "100.0"),
        (0, "0,0", "0.0", "0.0"),
        (-0.0625, "-6,3", "-6.3", "-6.3"),  # a shrinking balance: half away from zero
        (12.5, "1.250,0", "1,250.0", "1250.0"),  # a growth of 1250 %: CSVs never group
    ],
)
def test_percent_text_rounds_half_up_in_the_language(
    share: float, vi: str, en: str, csv: str
) -> None:
    from app.i18n import percent_text

    assert percent_text(share, 1, "vi") == vi
    assert percent_text(share, 1, "en") == en
    assert percent_text(share, 1) == csv


def test_percent_text_other_places_and_no_share() -> None:
    from app.i18n import percent_text, whole_percent

    assert percent_text(0.0625, 2, "vi") == "6,25"
    assert percent_text(0.00125, 2) == "0.13"  # 0.125 %: Python's format said 0.12
    assert percent_text(0.125, 0, "en") == "13" == str(whole_percent(0.125))
    assert percent_text(0.9995, 0) == "100"
    assert percent_text(None, 1, "vi") == "—"  # the pages' dash
    assert percent_text(None, 1) == "—"
    assert percent_text(None, 1, no_data="") == ""  # an empty CSV cell


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("en;q=0.1, vi;q=0.9", "vi"),  # weights, not order, choose
        ("vi;q=0, en", "en"),  # q=0: Vietnamese refused
        ("vi;q=0", "vi"),  # nothing acceptable: the default
        ("en-US,en;q=0.9", "en"),
        ("vi-VN,vi;q=0.9,en-US;q=0.8,en;q=0.7", "vi"),
        ("fr-FR, fr;q=0.9, en-GB;q=0.5", "en"),  # a range of a subtag names its language
        ("EN", "en"),
        ("en, vi", "en"),  # equal weights: the first written
        ("vi;q=0.8, en-GB;q=0.8", "vi"),
        ("*", "vi"),
        ("*;q=0.5, vi;q=0", "en"),
        ("en;q=0.2, *;q=0.5", "vi"),  # * gives Vietnamese more than English has
        ("en ; q=0.8 , vi;q=0.7", "en"),  # spaces around the weight
        ("en;q=0.001", "en"),
        ("en;level=1", "en"),  # an unknown parameter is ignored
        (None, "vi"),
        ("", "vi"),
        (" , ,", "vi"),
        ("garbage!!", "vi"),
        ("fr", "vi"),
        ("en;q=abc", "vi"),  # a malformed weight: that range is ignored
        ("en;q=abc, vi;q=0.1", "vi"),
        ("en;q=1.5", "vi"),
        ("en;q=-1", "vi"),
        ("en;q=", "vi"),
        ("en-", "vi"),
        ("\x00en", "vi"),
        ("vi;q=0.5, en;q=0.50001", "vi"),  # more than three decimals is not a weight
    ],
)
def test_accept_language_is_read_as_rfc_9110_says(header: str | None, language: str) -> None:
    assert pick_language(header) == language


def test_a_huge_accept_language_is_read_quickly() -> None:
    import time

    started = time.perf_counter()
    for header, language in [
        ("x" * 1_000_000, "vi"),
        ("," * 1_000_000 + "en", "vi"),  # only the first ranges are read
        ("en;" * 300_000, "en"),
        ("en-" * 300_000, "vi"),
        ("en;q=0" + "0" * 1_000_000, "vi"),
        ("en," + "fr;q=0.5," * 100_000, "en"),
    ]:
        assert pick_language(header) == language
    assert time.perf_counter() - started < 1.0


def test_a_day_with_its_year_as_each_language_writes_it() -> None:
    """07/12/2026 in Vietnamese (day, month, year), 7 Dec 2026 in English; a date or its ISO
    form; never the ISO form itself."""
    from datetime import date

    from app.i18n import date_text

    assert date_text("2026-12-07", "vi") == "07/12/2026"
    assert date_text(date(2026, 12, 7), "en") == "7 Dec 2026"
    assert date_text(date(2027, 1, 15), "vi") == "15/01/2027"
    assert date_text("2027-01-15", "en") == "15 Jan 2027"
    with pytest.raises(ValueError):
        date_text("07/12/2026", "vi")


DAY_CODES = sorted(
    code
    for code, texts in MESSAGES.items()
    if re.search(r"\{(date|today|as_of|start|end)\}", texts["vi"]) and code != "out_of_range"
)


@pytest.mark.parametrize("code", DAY_CODES)
def test_every_day_in_a_message_is_written_as_the_language_writes_it(code: str) -> None:
    """A refusal said "ngày 2025-03-01 nhóm có …", "hôm nay là 2026-12-07": a day param (a
    date, or its exact ISO form) reads 01/03/2025 in Vietnamese, 1 Mar 2025 in English."""
    from datetime import date

    for language, written in (("vi", "01/03/2025"), ("en", "1 Mar 2025")):
        text = MESSAGES[code][language]
        params = {name: "x" for name in PLACEHOLDER.findall(text)}
        for name in ("date", "today", "as_of", "start", "end"):
            if name in params:
                params[name] = "2025-03-01" if name != "end" else date(2025, 3, 1)
        message = translate(code, language, **params)
        assert "2025-03-01" not in message and "2025" in message, message
        days = len(re.findall(r"\{(date|today|as_of|start|end)\}", text))
        assert message.count(written) == days, message


def test_only_days_become_dates_and_the_params_stay_iso() -> None:
    from datetime import date, datetime

    from app.errors import Conflict, Problem

    params = {"start": "2023-03-01", "end": date(2023, 3, 31)}
    conflict = Conflict("cdf_period_overlaps", **params)
    assert (
        conflict.message("en")
        == "This period overlaps the closed period from 1 Mar 2023 to 31 Mar 2023."
    )
    assert conflict.message("vi").endswith("từ 01/03/2023 đến 31/03/2023.")
    assert conflict.params == params  # the JSON's params, for machines, unchanged
    problem = Problem("date", "cdf_day_not_come", {"today": "2026-12-07"})
    assert "(hôm nay là 07/12/2026)" in problem.message("vi")
    assert "(today is 7 Dec 2026)" in problem.message("en")
    assert problem.params == {"today": "2026-12-07"}
    # Not a day: a version, a day with a time, an impossible day, a number, a quoted echo.
    for value in ("2026120101", "2026-12-07T10:00", "2026-02-30", "2026-12-07\n", "２０２６-12-07"):
        assert f"today is {value})" in translate("cdf_day_not_come", "en", today=value)
    moment = datetime(2026, 12, 7, 10, 0)
    assert str(moment) in translate("cdf_day_not_come", "en", today=moment)
    assert "'2026-12-07'" in translate("cdf_member_code_taken", "en", value="2026-12-07")
    assert "'2026-12-07'" in translate("invalid_choice", "vi", value="2026-12-07", allowed="a")
    assert translate("form_regex.escape", "en", written="2026-12-07") == "the escape '2026-12-07'"
