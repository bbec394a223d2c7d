"""A loan the books can carry: everything it will ever owe (principal and all its interest)
is at most the largest amount the books take (10^12 đồng), so that each installment, its
interest, the total repaid and the repayment that settles it all fit that cap.

The products take rates up to 1,000 %/month over up to 520 installments: 10^12 đồng at the
highest rate, monthly and flat, scheduled 5.2 x 10^15 đồng of interest, installments of
10^13 đồng that no single repayment (capped at 10^12) could pay, and 5,201 repayments to
close the loan. Such an application is now a 422 naming the principal, in Vietnamese and
English; the largest loan accepted is scheduled, repaid, reversed and reported exactly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from app.i18n import number_text
from app.services.cdf_input import MAX_MONEY
from tests.cdf_support import Clients, app_client, drop_cities, make_city, person, uid

CITY = "cdf-limits-town"
HIGHEST_RATE, LONGEST_TERM = 100_000, 520  # 1,000 %/month; what a product may hold


@pytest.fixture(scope="module")
def cdf(
    database_url: str, sync_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    ids = make_city(sync_engine, CITY)
    staff = [("cdf_staff", ("city", CITY))]
    tokens = {
        "maker": person(sync_engine, "cdf-limits-maker", staff, CITY),
        "checker": person(sync_engine, "cdf-limits-checker", staff, CITY),
    }
    with app_client(database_url, tmp_path_factory.mktemp("cdf-limits")) as client:
        clients = Clients(client, tokens)
        maker = clients.as_("maker")
        group = maker.post(
            f"/api/v1/cdf/{CITY}/groups",
            json={
                "name": "Nhóm vay lớn",
                "settlement_id": ids["settlement"],
                "founded_on": "2020-01-15",
                "meeting_frequency": "monthly",
                "share_value": 50_000,
            },
        ).json()["id"]
        products = {}
        for method in ("flat", "declining"):
            for frequency in ("weekly", "monthly"):
                code = f"{method[0]}{frequency[0]}".upper()
                made = maker.post(
                    f"/api/v1/cdf/{CITY}/products",
                    json={
                        "code": code,
                        "name": f"Lãi cao nhất {code}",
                        "kind": "income",
                        "rate_bp": HIGHEST_RATE,
                        "rate_period": "month",
                        "term_installments": LONGEST_TERM,
                        "frequency": frequency,
                        "method": method,
                    },
                )
                assert made.status_code == 201, made.text
                products[(method, frequency)] = made.json()["id"]
        # 1 %/month flat over 100 months: the interest equals the principal.
        made = maker.post(
            f"/api/v1/cdf/{CITY}/products",
            json={
                "code": "DOUBLE",
                "name": "Gấp đôi",
                "kind": "housing",
                "rate_bp": 100,
                "rate_period": "month",
                "term_installments": 100,
                "frequency": "monthly",
                "method": "flat",
            },
        )
        assert made.status_code == 201, made.text
        products["double"] = made.json()["id"]
        for _ in range(2):
            capital = maker.post(
                f"/api/v1/cdf/{CITY}/capital",
                json={
                    "client_id": uid(),
                    "source": "seed_grant",
                    "amount": MAX_MONEY,
                    "date": "2020-02-01",
                },
            )
            assert capital.status_code == 201, capital.text
        yield {"clients": clients, "group": group, "products": products}
    drop_cities(sync_engine, CITY)


def _apply(cdf: dict[str, Any], product: Any, principal: int, language: str = "vi") -> Any:
    return (
        cdf["clients"]
        .as_("maker")
        .post(
            f"/api/v1/cdf/{CITY}/loans?lang={language}",
            json={
                "client_id": uid(),
                "group_id": cdf["group"],
                "product_id": cdf["products"][product],
                "principal": principal,
                "date": "2020-03-01",
            },
        )
    )


def _approve_and_pay_out(cdf: dict[str, Any], loan: int, language: str = "vi") -> Any:
    approved = (
        cdf["clients"]
        .as_("checker")
        .post(
            f"/api/v1/cdf/loans/{loan}/decision",
            json={"decision": "approved", "date": "2020-03-01"},
        )
    )
    assert approved.status_code == 200, approved.text
    return (
        cdf["clients"]
        .as_("maker")
        .post(
            f"/api/v1/cdf/loans/{loan}/disbursement?lang={language}",
            json={"client_id": uid(), "date": "2020-03-02"},
        )
    )


def _refused_for_its_total(answer: Any, language: str) -> None:
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert (error["field"], error["code"]) == ("principal", "cdf_loan_total_too_large")
    assert f"{number_text(MAX_MONEY, language)} đồng" in error["message"], error["message"]
    assert ("vượt" if language == "vi" else "more than") in error["message"]


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize(
    "product",
    [("flat", "weekly"), ("flat", "monthly"), ("declining", "weekly"), ("declining", "monthly")],
)
def test_the_largest_principal_at_the_highest_rate_and_longest_term_is_refused(
    cdf: dict[str, Any], sync_engine: Engine, product: tuple[str, str], language: str
) -> None:
    answer = _apply(cdf, product, MAX_MONEY, language)
    _refused_for_its_total(answer, language)
    with sync_engine.connect() as connection:
        stored = connection.execute(
            text("SELECT count(*) FROM cdf_loans WHERE product_id = :product AND principal = :p"),
            {"product": cdf["products"][product], "p": MAX_MONEY},
        ).scalar_one()
    assert stored == 0


def test_a_total_of_exactly_the_cap_is_taken_and_one_dong_more_is_not(
    cdf: dict[str, Any],
) -> None:
    # Principal + interest = 2 x principal: 5 x 10^11 owes 10^12 in all; one đồng more, 10^12 + 2.
    _refused_for_its_total(_apply(cdf, "double", MAX_MONEY // 2 + 1), "vi")
    answer = _apply(cdf, "double", MAX_MONEY // 2)
    assert answer.status_code == 201, answer.text
    paid = _approve_and_pay_out(cdf, answer.json()["loan"]["id"])
    assert paid.status_code == 201, paid.text
    schedule = (
        cdf["clients"].as_("maker").get(f"/api/v1/cdf/loans/{answer.json()['loan']['id']}")
    ).json()["schedule"]
    assert schedule["principal_outstanding"] + schedule["interest_outstanding"] == MAX_MONEY


def test_the_largest_loan_at_the_highest_rate_is_repaid_reversed_and_reported_exactly(
    cdf: dict[str, Any], sync_engine: Engine
) -> None:
    maker = cdf["clients"].as_("maker")
    # 1,000 %/month flat over 520 months: 5,201 times the principal in all.
    largest = MAX_MONEY // 5_201
    _refused_for_its_total(_apply(cdf, ("flat", "monthly"), largest + 1), "vi")
    applied = _apply(cdf, ("flat", "monthly"), largest)
    assert applied.status_code == 201, applied.text
    loan = applied.json()["loan"]["id"]
    assert _approve_and_pay_out(cdf, loan).status_code == 201
    installments = maker.get(f"/api/v1/cdf/loans/{loan}").json()["schedule"]["installments"]
    assert len(installments) == LONGEST_TERM
    assert sum(row["principal_due"] for row in installments) == largest
    interest = sum(row["interest_due"] for row in installments)
    assert interest == largest * 10 * LONGEST_TERM  # exact: no rounding at a whole rate
    assert largest + interest <= MAX_MONEY
    before = maker.get(f"/api/v1/cdf/{CITY}/report").json()

    # The whole schedule settled by one repayment (the largest one the books take).
    repaid = maker.post(
        f"/api/v1/cdf/loans/{loan}/repayments",
        json={"client_id": uid(), "amount": largest + interest, "date": "2020-03-15"},
    )
    assert repaid.status_code == 201, repaid.text
    assert maker.get(f"/api/v1/cdf/loans/{loan}").json()["status"] == "closed"
    after = maker.get(f"/api/v1/cdf/{CITY}/report").json()
    assert after["interest_income"] - before["interest_income"] == interest
    assert before["loans_outstanding"] - after["loans_outstanding"] == largest
    fallen_due = sum(
        row["principal_due"] + row["interest_due"]
        for row in installments
        if row["due_on"] <= after["as_of"]
    )
    assert after["collected_to_date"] - before["collected_to_date"] == fallen_due

    # Reversed: owed again in full, the income taken back out, to the đồng.
    reversed_ = maker.post(
        f"/api/v1/cdf/entries/{repaid.json()['entry_id']}/reversal",
        json={"client_id": uid(), "memo": "Ghi nhầm khoản vay", "date": "2020-03-15"},
    )
    assert reversed_.status_code == 201, reversed_.text
    again = maker.get(f"/api/v1/cdf/loans/{loan}").json()
    assert again["status"] == "disbursed"
    owed = again["schedule"]["principal_outstanding"] + again["schedule"]["interest_outstanding"]
    assert owed == largest + interest
    undone = maker.get(f"/api/v1/cdf/{CITY}/report").json()
    for name in ("interest_income", "loans_outstanding", "collected_to_date"):
        assert undone[name] == before[name], name
    with sync_engine.connect() as connection:
        balance = connection.execute(
            text(
                "SELECT sum(l.amount) FROM cdf_lines l JOIN cdf_entries e ON e.id = l.entry_id "
                "JOIN cdf_funds f ON f.id = e.fund_id JOIN cities c ON c.id = f.city_id "
                "WHERE c.slug = :city"
            ),
            {"city": CITY},
        ).scalar_one()
    assert balance == 0


def test_an_application_stored_before_the_check_is_not_paid_out(
    cdf: dict[str, Any], sync_engine: Engine
) -> None:
    # Applied for within the cap, then stored larger (as an application taken before the
    # check was): paying it out would make the schedule past the cap.
    applied = _apply(cdf, ("declining", "weekly"), 1_000)
    assert applied.status_code == 201, applied.text
    loan = applied.json()["loan"]["id"]
    with sync_engine.begin() as connection:
        connection.execute(
            text("UPDATE cdf_loans SET principal = :p WHERE id = :loan"),
            {"p": MAX_MONEY, "loan": loan},
        )
    for language in ("en", "vi"):
        _refused_for_its_total(_approve_and_pay_out(cdf, loan, language), language)
    with sync_engine.connect() as connection:
        made = connection.execute(
            text("SELECT count(*) FROM cdf_installments WHERE loan_id = :loan"), {"loan": loan}
        ).scalar_one()
        entries = connection.execute(
            text("SELECT count(*) FROM cdf_entries WHERE loan_id = :loan"), {"loan": loan}
        ).scalar_one()
    assert (made, entries) == (0, 0)
