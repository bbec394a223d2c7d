"""The fund never pays out money it does not have: a loan larger than the fund's cash (on its
day or any day after), or capital and remittances taken back after they were lent, are
refused in Vietnamese and English; two staff paying out at once cannot both spend the same
cash (real concurrent transactions). The report's fund cash always equals the journal's."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.db.engine import make_engine
from app.errors import InvalidInput
from app.services import cdf_loans, cdf_postings
from app.services.access import Grant, Principal
from app.settings import Settings
from tests.aio import run
from tests.auth import make_user
from tests.cdf_support import Clients, app_client, drop_cities, make_city, person, treasurer, uid

NUMBERS = itertools.count(1)


@pytest.fixture(scope="module")
def client(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with app_client(database_url, tmp_path_factory.mktemp("cdf-fund-cash")) as client:
        yield client


@pytest.fixture
def fund(client: TestClient, database_url: str, sync_engine: Engine) -> Iterator[dict[str, Any]]:
    """A city of its own per test (its fund starts with no cash): two groups of one member
    each, their treasurers, a product with no savings precondition, a maker and a checker."""
    slug = f"cdf-fund-cash-{next(NUMBERS)}"
    ids = make_city(sync_engine, slug)
    staff = [("cdf_staff", ("city", slug))]
    tokens = {
        "maker": person(sync_engine, f"{slug}-maker", staff, slug),
        "checker": person(sync_engine, f"{slug}-checker", staff, slug),
    }
    clients = Clients(client, tokens)
    maker = clients.as_("maker")
    groups, members = [], []
    for number in (1, 2):
        group = maker.post(
            f"/api/v1/cdf/{slug}/groups",
            json={
                "name": f"Nhóm {number}",
                "settlement_id": ids["settlement"],
                "founded_on": "2024-01-15",
                "meeting_frequency": "monthly",
                "share_value": 50_000,
            },
        )
        assert group.status_code == 201, group.text
        groups.append(group.json()["id"])
        tokens[f"treasurer{number}"] = treasurer(
            sync_engine, f"{slug}-treasurer{number}", ids["city"], groups[-1]
        )
        member = maker.post(
            f"/api/v1/cdf/groups/{groups[-1]}/members",
            json={"code": "TV-01", "name": f"Phạm Thị {number}", "joined_on": "2024-01-15"},
        )
        assert member.status_code == 201, member.text
        members.append(member.json()["id"])
    product = maker.post(
        f"/api/v1/cdf/{slug}/products",
        json={
            "code": "SX",
            "name": "Vay sản xuất",
            "kind": "income",
            "rate_bp": 100,
            "rate_period": "month",
            "term_installments": 6,
            "frequency": "monthly",
            "method": "flat",
            "min_savings_bp": 0,
        },
    )
    assert product.status_code == 201, product.text
    user_id = make_user(sync_engine, f"{slug}-async", staff, city=slug)
    principal = Principal(user_id, f"{slug}-async", "x", (Grant("cdf_staff", ids["city"]),))  # type: ignore[arg-type]
    yield {
        "slug": slug,
        "clients": clients,
        "groups": groups,
        "members": members,
        "product": product.json()["id"],
        "user": principal,
        "settings": Settings(database_url=database_url),
        "engine": sync_engine,
    }
    drop_cities(sync_engine, slug)


def _capital(fund: dict[str, Any], amount: int, day: str = "2024-02-01") -> int:
    answer = (
        fund["clients"]
        .as_("maker")
        .post(
            f"/api/v1/cdf/{fund['slug']}/capital",
            json={"client_id": uid(), "source": "donor", "amount": amount, "date": day},
        )
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["entry_id"])


def _approved_loan(fund: dict[str, Any], principal: int, group: int = 0) -> int:
    maker, checker = fund["clients"].as_("maker"), fund["clients"].as_("checker")
    applied = maker.post(
        f"/api/v1/cdf/{fund['slug']}/loans",
        json={
            "client_id": uid(),
            "group_id": fund["groups"][group],
            "member_id": fund["members"][group],
            "product_id": fund["product"],
            "principal": principal,
            "date": "2024-03-01",
        },
    )
    assert applied.status_code == 201, applied.text
    loan = applied.json()["loan"]["id"]
    decided = checker.post(
        f"/api/v1/cdf/loans/{loan}/decision", json={"decision": "approved", "date": "2024-03-01"}
    )
    assert decided.status_code == 200, decided.text
    return int(loan)


def _disburse(fund: dict[str, Any], loan: int, day: str = "2024-03-05", lang: str = "vi") -> Any:
    return (
        fund["clients"]
        .as_("maker")
        .post(
            f"/api/v1/cdf/loans/{loan}/disbursement?lang={lang}",
            json={"client_id": uid(), "date": day},
        )
    )


def _reverse(fund: dict[str, Any], entry: int, lang: str = "vi") -> Any:
    return (
        fund["clients"]
        .as_("maker")
        .post(
            f"/api/v1/cdf/entries/{entry}/reversal?lang={lang}",
            json={"client_id": uid(), "memo": "ghi nhầm"},
        )
    )


def _fund_cash(fund: dict[str, Any]) -> int:
    """The report's fund cash, checked against the journal's (and the journal balancing)."""
    report = fund["clients"].as_("maker").get(f"/api/v1/cdf/{fund['slug']}/report")
    assert report.status_code == 200, report.text
    with fund["engine"].connect() as connection:
        journal = connection.execute(
            text(
                "SELECT coalesce(sum(l.amount) FILTER (WHERE a.kind = 'fund_cash'), 0), "
                "coalesce(sum(l.amount), 0), "
                "coalesce(sum(l.amount) FILTER (WHERE a.kind = 'loans_receivable'), 0) "
                "FROM cdf_lines l JOIN cdf_accounts a ON a.id = l.account_id "
                "JOIN cdf_funds f ON f.id = a.fund_id JOIN cities c ON c.id = f.city_id "
                "WHERE c.slug = :slug"
            ),
            {"slug": fund["slug"]},
        ).one()
    fund_cash, everything, receivable = (int(value) for value in journal)
    assert everything == 0  # the books balance
    assert report.json()["fund_cash"] == fund_cash
    assert report.json()["loans_outstanding"] == receivable
    return fund_cash


def _error(answer: Any) -> tuple[str, str]:
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    return error["field"], error["code"]


def test_a_loan_larger_than_the_funds_cash_is_not_paid_out(fund: dict[str, Any]) -> None:
    _capital(fund, 1_000_000)
    loan = _approved_loan(fund, 5_000_000)
    refused = _disburse(fund, loan)
    assert _error(refused) == ("principal", "cdf_disbursement_exceeds_fund_cash")
    assert "chỉ còn 1.000.000 đồng" in refused.json()["errors"][0]["message"]
    assert (
        "does not have the cash" in _disburse(fund, loan, lang="en").json()["errors"][0]["message"]
    )
    still = fund["clients"].as_("maker").get(f"/api/v1/cdf/loans/{loan}").json()
    assert (still["status"], still["schedule"]) == ("approved", None)
    assert _fund_cash(fund) == 1_000_000
    # Exactly what the fund holds can go out: its cash is then 0, never below.
    exact = _approved_loan(fund, 1_000_000)
    assert _disburse(fund, exact).status_code == 201
    assert _fund_cash(fund) == 0
    # More capital comes in: the first loan can be paid out now.
    _capital(fund, 5_000_000, "2024-03-02")
    assert _disburse(fund, loan).status_code == 201
    assert _fund_cash(fund) == 0


def test_a_loan_dated_before_the_capital_came_is_not_paid_out(fund: dict[str, Any]) -> None:
    _capital(fund, 1_000_000, "2024-03-10")
    loan = _approved_loan(fund, 1_000_000)
    assert _error(_disburse(fund, loan, "2024-03-05")) == (
        "principal",
        "cdf_disbursement_exceeds_fund_cash",
    )
    assert _disburse(fund, loan, "2024-03-10").status_code == 201
    assert _fund_cash(fund) == 0


def test_capital_cannot_be_taken_back_once_it_was_lent(fund: dict[str, Any]) -> None:
    capital = _capital(fund, 2_000_000)
    assert _disburse(fund, _approved_loan(fund, 2_000_000)).status_code == 201
    refused = _reverse(fund, capital, lang="en")
    assert _error(refused) == ("entry", "cdf_reversal_exceeds_fund_cash")
    assert "lent out" in refused.json()["errors"][0]["message"]
    assert _fund_cash(fund) == 0
    # Once the fund holds that cash again, the mistake can be corrected.
    _capital(fund, 2_000_000, "2024-03-06")
    assert _reverse(fund, capital).status_code == 201
    assert _fund_cash(fund) == 0


def test_a_remittance_cannot_be_taken_back_once_it_was_lent(fund: dict[str, Any]) -> None:
    group, member = fund["groups"][0], fund["members"][0]
    treasurer = fund["clients"].as_("treasurer1")
    for kind, amount in (("savings", 1_500_000), ("remittance", 1_000_000)):
        answer = treasurer.post(
            f"/api/v1/cdf/groups/{group}/transactions",
            json={
                "client_id": uid(),
                "kind": kind,
                "amount": amount,
                "member_id": member,
                "date": "2024-02-20",
            },
        )
        assert answer.status_code == 201, answer.text
    remittance = answer.json()["entry_id"]
    assert _fund_cash(fund) == 1_000_000
    assert _disburse(fund, _approved_loan(fund, 800_000, group=1)).status_code == 201
    assert _error(_reverse(fund, remittance)) == ("entry", "cdf_reversal_exceeds_fund_cash")
    assert _fund_cash(fund) == 200_000


async def _at_once(settings: Settings, calls: list[Any]) -> list[Any]:
    engine = make_engine(settings.async_database_url, pool_size=8, max_overflow=8)
    try:
        return await asyncio.gather(*(call(engine) for call in calls), return_exceptions=True)
    finally:
        await engine.dispose()


def test_staff_paying_out_at_once_never_spend_the_same_cash(fund: dict[str, Any]) -> None:
    """Four loans of two groups, paid out at the same moment on separate connections, with
    cash for one; then a loan paid out while the capital behind it is reversed."""
    user = fund["user"]
    _capital(fund, 1_000_000)
    loans = [_approved_loan(fund, 1_000_000, group=i % 2) for i in range(4)]
    calls = [
        (
            lambda engine, loan=loan: cdf_loans.disburse(
                engine, user, loan, {"client_id": uid(), "date": "2024-03-05"}
            )
        )
        for loan in loans
    ]
    results = run(_at_once(fund["settings"], calls))
    created = [r for r in results if isinstance(r, dict) and r["outcome"] == "created"]
    refused = [r for r in results if isinstance(r, InvalidInput)]
    assert len(created) == 1 and len(refused) == 3, results
    assert {r.problems[0].code for r in refused} == {"cdf_disbursement_exceeds_fund_cash"}
    assert _fund_cash(fund) == 0

    capital = _capital(fund, 1_000_000, "2024-03-06")
    loan = _approved_loan(fund, 1_000_000, group=1)
    calls = [
        lambda engine: cdf_loans.disburse(
            engine, user, loan, {"client_id": uid(), "date": "2024-03-06"}
        ),
        lambda engine: cdf_postings.reverse(
            engine, user, capital, {"client_id": uid(), "memo": "nhầm nguồn"}
        ),
    ]
    results = run(_at_once(fund["settings"], calls))
    created = [r for r in results if isinstance(r, dict) and r["outcome"] == "created"]
    refused = [r for r in results if isinstance(r, InvalidInput)]
    assert len(created) == 1 and len(refused) == 1, results
    assert _fund_cash(fund) == 0
