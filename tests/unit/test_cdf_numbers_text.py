"""The CDF's numbers as each language writes them: amounts in refusals (1.000.000 đồng in
Vietnamese, 1,000,000 đồng in English; the params stay ints), the headers of the report's
CSV in words, and the statement's money and rates."""

from __future__ import annotations

import re

import pytest

from app.errors import Conflict, Problem
from app.geo.cdf_statement_print import money, rate_text
from app.i18n import MESSAGES, MONEY_PLACEHOLDER, translate
from app.services import cdf_reports
from app.services.cdf_report_texts import column_label

PLACEHOLDER = re.compile(r"\{(\w+)\}")
MONEY_CODES = sorted(code for code, texts in MESSAGES.items() if "đồng" in texts["vi"])


def test_the_refusals_with_an_amount_are_all_found() -> None:
    money_codes = {c for c in MONEY_CODES if MONEY_PLACEHOLDER.search(MESSAGES[c]["vi"])}
    assert {
        "cdf_above_product_max",
        "cdf_loan_total_too_large",
        "cdf_savings_precondition",
        "cdf_savings_needed_at_payout",
        "cdf_savings_needed_at_payout_meeting",
        "cdf_savings_needed_at_payout_meeting.take_some",
        "cdf_savings_precondition_at_disbursement",
        "cdf_product_total_too_large",
        "cdf_repayment_exceeds_owed",
        "cdf_reversal_exceeds_savings",
        "cdf_withdrawal_exceeds_savings",
        "cdf_difference_needs_note",
        "cdf_amount_too_large",
        "cdf_disbursement_exceeds_fund_cash",
        "cdf_reversal_exceeds_fund_cash",
        "cdf_shortfall_exceeds_cash",
        "cdf_withdrawal_exceeds_cash",
        "cdf_reversal_exceeds_cash",
        "cdf_remittance_exceeds_cash",
        "project_amount_too_large",
    } <= money_codes


@pytest.mark.parametrize("code", MONEY_CODES)
def test_every_amount_in_a_message_is_grouped_as_the_language_writes_it(code: str) -> None:
    """Every "{x} đồng" of the catalogue, given an int, reads 1.234.567 đồng (vi) and
    1,234,567 đồng (en): refusals said "cần ít nhất 1000000 đồng"."""
    for language, grouped in (("vi", "1.234.567 đồng"), ("en", "1,234,567 đồng")):
        text = MESSAGES[code][language]
        amounts = set(MONEY_PLACEHOLDER.findall(text))
        params = {name: "x" for name in PLACEHOLDER.findall(text)}
        params.update(dict.fromkeys(amounts, 1_234_567))
        message = translate(code, language, **params)
        assert "1234567" not in message, message
        assert message.count(grouped) == len(re.findall(r"\{\w+\} đồng", text)), message


def test_the_savings_refusal_reads_as_the_reviewer_expected() -> None:
    problem = Problem(
        "principal",
        "cdf_savings_precondition",
        {"needed": 1_000_000, "saved": 400_000, "date": "2025-03-01"},
    )
    assert problem.message("vi") == (
        "Nhóm chưa đủ tiết kiệm để vay: cần ít nhất 1.000.000 đồng, ngày 01/03/2025 nhóm có "
        "400.000 đồng."
    )
    assert "needs at least 1,000,000 đồng and has 400,000 đồng on 1 Mar 2025." in problem.message(
        "en"
    )
    assert problem.params == {"needed": 1_000_000, "saved": 400_000, "date": "2025-03-01"}
    conflict = Conflict("cdf_above_product_max", max=15_000_000)
    assert "(15.000.000 đồng)" in conflict.message("vi")
    assert "(15,000,000 đồng)" in conflict.message("en")
    assert conflict.params == {"max": 15_000_000}
    too_large = translate("cdf_amount_too_large", "vi", max=1_000_000_000_000)
    assert too_large == "Số tiền quá lớn (tối đa 1.000.000.000.000 đồng)."


def test_other_numbers_of_a_message_stay_as_they_are_unless_named() -> None:
    # An id, a loan's number, a bool are not amounts: never grouped.
    assert "12345" in translate("cdf_settlement_not_found", "vi", id=12345)
    payout = translate(
        "cdf_savings_needed_at_payout",
        "en",
        loan=12345,
        date="2025-03-06",
        needed=1,
        saved=0,
        after="2025-03-06",
    )
    assert "loan 12345 " in payout
    assert "True" in translate("cdf_settlement_not_found", "en", id=True)
    # A shortfall is negative; a string param (already formatted) is left alone.
    assert "lệch sổ -5.000 đồng" in translate("cdf_difference_needs_note", "vi", difference=-5_000)
    assert "(at most 1 000 đồng)" in translate("cdf_amount_too_large", "en", max="1 000")
    # Figures named in NUMBER_PARAMS: grouped as the language writes them.
    assert translate("cdf_out_of_range", "vi", low=0, high=100_000) == (
        "Phải là số nguyên từ 0 đến 100.000."
    )
    assert translate("cdf_out_of_range", "en", low=0, high=100_000).endswith("0 to 100,000.")


@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_column_of_the_report_csv_has_words(language: str) -> None:
    report = cdf_reports._report(cdf_reports._empty())
    row = {"city": "tam-ky", "city_name": "Tam Kỳ", **report}
    csv = cdf_reports.report_csv([row], language).decode("utf-8-sig")
    header = csv.splitlines()[0]
    names = [name for name, _ in cdf_reports._flat(report)]
    labels = [column_label(name, language) for name in names]
    assert all(label != name for label, name in zip(labels, names, strict=True))
    assert len(set(labels)) == len(labels)
    assert not re.search(r'"[a-z0-9_.]+"', header), header
    assert ("Thành phố" if language == "vi" else "City") in header
    other = column_label("savings_balance", "en" if language == "vi" else "vi")
    assert other not in header


def test_the_statement_writes_money_and_rates_in_its_language() -> None:
    assert money(7_000_000, "vi") == "7.000.000" and money(7_000_000, "en") == "7,000,000"
    assert money(-1_500, "vi") == "-1.500" and money(None, "en") == "0"
    assert (rate_text(120, "vi"), rate_text(120, "en")) == ("1,2", "1.2")
    assert (rate_text(100, "vi"), rate_text(125, "vi"), rate_text(125, "en")) == (
        "1",
        "1,25",
        "1.25",
    )
    assert rate_text(150_000, "en") == "1,500"


def test_the_groups_left_off_the_map_read_right_for_one() -> None:
    # "Not on the map: 1 groups with no settlement (1 members, ...)".
    from app.i18n import translate

    text = translate("cdf_groups.unplaced", "en", groups=1, members=1, savings="5,000")
    assert "1 groups" not in text and "1 members" not in text
    assert "groups 1, members 1, savings 5,000 đồng" in text
    vi = translate("cdf_groups.unplaced", "vi", groups=1, members=1, savings="5.000")
    assert "1 nhóm" in vi and "1 thành viên" in vi
