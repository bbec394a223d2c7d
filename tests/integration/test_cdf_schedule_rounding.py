"""A declining-balance loan charges the exact interest of its terms, rounded once to the đồng:
the rounding is carried from one installment to the next instead of dropped on each (VBSP's
6.6 %/year on 999,999 đ over 60 months charged 167,754 đ, the exact total being 167,756.16).
The schedule is stored when the loan is paid out, and the repayments of the whole schedule
close the loan with the books balanced."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.cdf_support import Clients, app_client, drop_cities, make_city, person, uid

CITY = "cdf-rounding-town"


@pytest.fixture(scope="module")
def cdf(
    database_url: str, sync_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    ids = make_city(sync_engine, CITY)
    staff = [("cdf_staff", ("city", CITY))]
    tokens = {
        "maker": person(sync_engine, "cdf-rounding-maker", staff, CITY),
        "checker": person(sync_engine, "cdf-rounding-checker", staff, CITY),
    }
    with app_client(database_url, tmp_path_factory.mktemp("cdf-rounding")) as client:
        clients = Clients(client, tokens)
        maker = clients.as_("maker")
        group = maker.post(
            f"/api/v1/cdf/{CITY}/groups",
            json={
                "name": "Nhóm nhà ở",
                "settlement_id": ids["settlement"],
                "founded_on": "2020-01-15",
                "meeting_frequency": "monthly",
                "share_value": 50_000,
            },
        ).json()["id"]
        member = maker.post(
            f"/api/v1/cdf/groups/{group}/members",
            json={"code": "TV-01", "name": "Võ Thị Nhà", "joined_on": "2020-01-15"},
        ).json()["id"]
        product = maker.post(
            f"/api/v1/cdf/{CITY}/products",
            json={
                "code": "NHA",
                "name": "Vay nhà ở (NHCSXH 6,6 %/năm)",
                "kind": "housing",
                "rate_bp": 660,
                "rate_period": "year",
                "term_installments": 60,
                "frequency": "monthly",
                "method": "declining",
                "min_savings_bp": 0,
            },
        )
        assert product.status_code == 201, product.text
        capital = maker.post(
            f"/api/v1/cdf/{CITY}/capital",
            json={
                "client_id": uid(),
                "source": "seed_grant",
                "amount": 5_000_000,
                "date": "2020-02-01",
            },
        )
        assert capital.status_code == 201, capital.text
        yield {
            "clients": clients,
            "group": group,
            "member": member,
            "product": product.json()["id"],
        }
    drop_cities(sync_engine, CITY)


def test_a_declining_loan_charges_its_exact_interest_rounded_once(
    cdf: dict[str, Any], sync_engine: Engine
) -> None:
    maker, checker = cdf["clients"].as_("maker"), cdf["clients"].as_("checker")
    loan = maker.post(
        f"/api/v1/cdf/{CITY}/loans",
        json={
            "client_id": uid(),
            "group_id": cdf["group"],
            "member_id": cdf["member"],
            "product_id": cdf["product"],
            "principal": 999_999,
            "date": "2020-03-01",
        },
    ).json()["loan"]["id"]
    assert (
        checker.post(
            f"/api/v1/cdf/loans/{loan}/decision",
            json={"decision": "approved", "date": "2020-03-01"},
        ).status_code
        == 200
    )
    paid = maker.post(
        f"/api/v1/cdf/loans/{loan}/disbursement", json={"client_id": uid(), "date": "2020-03-31"}
    )
    assert paid.status_code == 201, paid.text
    installments = maker.get(f"/api/v1/cdf/loans/{loan}").json()["schedule"]["installments"]
    # Worked out by hand: 16,666 đ of principal a month (16,693 the last), interest at
    # 0.55 %/month on the balance before each: 999,999 x 0.0055 + 983,333 x 0.0055 + ...
    rate, balance, exact = Fraction(55, 10_000), 999_999, Fraction(0)
    for row in installments:
        exact += balance * rate
        assert abs(Fraction(row["interest_due"]) - balance * rate) < 1  # within a đồng
        balance -= row["principal_due"]
    assert exact == Fraction(4_193_904, 25)  # 167,756.16 đ
    assert sum(row["interest_due"] for row in installments) == 167_756
    assert sum(row["principal_due"] for row in installments) == 999_999
    # The whole schedule repaid: the loan closes, all its interest in the fund's income.
    repaid = maker.post(
        f"/api/v1/cdf/loans/{loan}/repayments",
        json={"client_id": uid(), "amount": 999_999 + 167_756, "date": "2020-04-15"},
    )
    assert repaid.status_code == 201, repaid.text
    assert maker.get(f"/api/v1/cdf/loans/{loan}").json()["status"] == "closed"
    with sync_engine.connect() as connection:
        income, total = connection.execute(
            text(
                "SELECT coalesce(sum(l.amount) FILTER (WHERE a.kind = 'interest_income'), 0), "
                "sum(l.amount) FROM cdf_lines l JOIN cdf_accounts a ON a.id = l.account_id "
                "WHERE l.loan_id = :loan"
            ),
            {"loan": loan},
        ).one()
    assert (income, total) == (-167_756, 0)
    report = maker.get(f"/api/v1/cdf/{CITY}/report").json()
    assert report["interest_income"] == 167_756
