"""The CDF report against figures worked out by hand (docs/cdf.md has the formulas), and the
national report summing cities (ratios from the sums, never an average of ratios).

Three loans at 0 % (so every installment is principal), monthly, 4 installments, as of
2025-06-20, on-time period from 2025-03-01:
- A: 1,200,000 paid out 2025-01-10; due 10 Feb/Mar/Apr/May (300,000 each); paid 10 Feb on
  time, 20 Mar (10 days late); Apr and May unpaid (71 and 41 days late). Outstanding 600,000.
- B: 400,000 paid out 2025-03-01; due 1 Apr/May/Jun/Jul (100,000 each); the first three paid
  on their day. Outstanding 100,000, not late.
- C: 800,000 paid out 2025-04-15; due 15 May/Jun/Jul/Aug (200,000 each); nothing paid
  (36 and 5 days late). Outstanding 800,000.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.cdf_support import Clients, app_client, drop_cities, make_city, person, uid

CITY = "cdf-report-town"
OTHER = "cdf-report-other"


@pytest.fixture(scope="module")
def report_books(
    database_url: str, sync_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Clients]:
    make_city(sync_engine, CITY, "Thành phố Báo Cáo")
    make_city(sync_engine, OTHER, "Thị xã Khác")
    tokens = {
        "maker": person(
            sync_engine,
            "cdf-report-maker",
            [("cdf_staff", ("city", CITY)), ("cdf_staff", ("city", OTHER))],
            CITY,
        ),
        "checker": person(
            sync_engine,
            "cdf-report-checker",
            [("cdf_staff", ("city", CITY)), ("cdf_staff", ("city", OTHER))],
            CITY,
        ),
        "national": person(sync_engine, "cdf-report-national", [("national_admin", None)], CITY),
        "planner": person(sync_engine, "cdf-report-planner", [("planner", ("city", CITY))], CITY),
    }
    with app_client(database_url, tmp_path_factory.mktemp("cdf-report")) as client:
        clients = Clients(client, tokens)
        maker, checker = clients.as_("maker"), clients.as_("checker")

        def ok(response: Any) -> Any:
            assert response.status_code in (200, 201), response.text
            return response.json()

        def books_of(
            city: str,
            loans: list[tuple[int, str, list[tuple[int, str]]]],
            capital: int,
            more_capital: tuple[tuple[str, int, str], ...] = (),
        ) -> None:
            for source, amount, day in (("seed_grant", capital, "2024-12-01"), *more_capital):
                ok(
                    maker.post(
                        f"/api/v1/cdf/{city}/capital",
                        json={"client_id": uid(), "source": source, "amount": amount, "date": day},
                    )
                )
            group = ok(
                maker.post(
                    f"/api/v1/cdf/{city}/groups",
                    json={
                        "name": "Nhóm",
                        "founded_on": "2024-12-01",
                        "meeting_frequency": "monthly",
                        "share_value": 30_000,
                    },
                )
            )["id"]
            product = ok(
                maker.post(
                    f"/api/v1/cdf/{city}/products",
                    json={
                        "code": "Z",
                        "name": "Không lãi",
                        "kind": "revolving",
                        "rate_bp": 0,
                        "rate_period": "month",
                        "term_installments": 4,
                        "frequency": "monthly",
                        "method": "flat",
                    },
                )
            )["id"]
            for index, (principal, paid_out, repayments) in enumerate(loans):
                member = ok(
                    maker.post(
                        f"/api/v1/cdf/groups/{group}/members",
                        json={
                            "code": f"M{index}",
                            "name": f"Thành viên {index}",
                            "joined_on": "2024-12-01",
                        },
                    )
                )["id"]
                ok(
                    maker.post(
                        f"/api/v1/cdf/groups/{group}/transactions",
                        json={
                            "client_id": uid(),
                            "kind": "savings",
                            "amount": 50_000,
                            "member_id": member,
                            "date": "2024-12-15",
                        },
                    )
                )
                loan = ok(
                    maker.post(
                        f"/api/v1/cdf/{city}/loans",
                        json={
                            "client_id": uid(),
                            "group_id": group,
                            "member_id": member,
                            "product_id": product,
                            "principal": principal,
                            "date": "2024-12-20",
                        },
                    )
                )["loan"]["id"]
                ok(
                    checker.post(
                        f"/api/v1/cdf/loans/{loan}/decision",
                        json={"decision": "approved", "date": "2024-12-20"},
                    )
                )
                ok(
                    maker.post(
                        f"/api/v1/cdf/loans/{loan}/disbursement",
                        json={"client_id": uid(), "date": paid_out},
                    )
                )
                for amount, day in repayments:
                    ok(
                        maker.post(
                            f"/api/v1/cdf/loans/{loan}/repayments",
                            json={"client_id": uid(), "amount": amount, "date": day},
                        )
                    )

        books_of(
            CITY,
            [
                (1_200_000, "2025-01-10", [(300_000, "2025-02-10"), (300_000, "2025-03-20")]),
                (
                    400_000,
                    "2025-03-01",
                    [(100_000, "2025-04-01"), (100_000, "2025-05-01"), (100_000, "2025-06-01")],
                ),
                (800_000, "2025-04-15", []),
            ],
            5_000_000,
        )
        # Another city: one loan of 1,000,000 paid out 2025-05-01, not late on 2025-06-20
        # (first due 1 June, paid that day); 500,000 from a donor on 1 April.
        books_of(
            OTHER,
            [(1_000_000, "2025-05-01", [(250_000, "2025-06-01")])],
            2_000_000,
            (("donor", 500_000, "2025-04-01"),),
        )
        yield clients
    drop_cities(sync_engine, CITY, OTHER)


QUERY = "?as_of=2025-06-20&from=2025-03-01"


def test_city_report_by_hand(report_books: Clients, sync_engine: Engine) -> None:
    report = report_books.as_("planner").get(f"/api/v1/cdf/{CITY}/report{QUERY}").json()
    assert report["loans_outstanding"] == 1_500_000
    assert report["active_loans"] == 3
    assert report["portfolio_at_risk"] == {
        "over_1": 1_400_000,
        "over_30": 1_400_000,
        "over_60": 600_000,
        "over_90": 0,
    }
    assert (report["par1"], report["par30"], report["par60"], report["par90"]) == (
        0.9333,
        0.9333,
        0.4,
        0.0,
    )
    assert report["aging"] == {"1_30": 200_000, "31_60": 500_000, "61_90": 300_000, "over_90": 0}
    # Fell due 1 Mar - 20 Jun: A2-A4 (900,000), B1-B3 (300,000), C1-C2 (400,000); on time: B1-B3.
    assert (report["due_in_period"], report["paid_on_time_in_period"]) == (1_600_000, 300_000)
    assert report["on_time_repayment_rate"] == 0.1875
    # Fell due by 20 Jun: 1,900,000; collected on it: A1, A2 (late), B1-B3 = 900,000.
    assert (report["due_to_date"], report["collected_to_date"]) == (1_900_000, 900_000)
    assert report["collection_rate"] == 0.4737
    assert report["times_revolved"] == 0.48  # 2,400,000 lent on 5,000,000 of capital
    assert report["savings_balance"] == 150_000
    assert (report["groups"], report["members"]) == (1, 3)
    assert report["capital_by_source"]["seed_grant"] == 5_000_000
    with sync_engine.connect() as connection:
        receivable = connection.execute(
            text(
                "SELECT sum(l.amount) FROM cdf_lines l JOIN cdf_accounts a ON a.id = l.account_id "
                "JOIN cdf_funds f ON f.id = a.fund_id JOIN cities c ON c.id = f.city_id "
                "WHERE c.slug = :city AND a.kind = 'loans_receivable'"
            ),
            {"city": CITY},
        ).scalar_one()
    assert receivable == report["loans_outstanding"]


def test_the_same_books_on_an_earlier_day(report_books: Clients) -> None:
    # On 1 April: A2 was paid (late) on 20 March, nothing is late; C is not paid out yet.
    report = (
        report_books.as_("planner")
        .get(f"/api/v1/cdf/{CITY}/report?as_of=2025-04-01&from=2025-03-01")
        .json()
    )
    assert report["loans_outstanding"] == 600_000 + 300_000  # B1 paid that very day
    assert report["par30"] == 0.0 and report["par1"] == 0.0
    assert report["aging"] == {"1_30": 0, "31_60": 0, "61_90": 0, "over_90": 0}


def test_national_report_sums_cities(report_books: Clients) -> None:
    national = report_books.as_("national").get(f"/api/v1/cdf/national/report{QUERY}").json()
    cities = {c["city"]: c for c in national["cities"]}
    assert {CITY, OTHER} <= set(cities)
    other = cities[OTHER]
    assert other["loans_outstanding"] == 750_000 and other["par30"] == 0.0
    ours = [cities[CITY], other]
    total = national["total"]
    mine = sum(c["loans_outstanding"] for c in ours)
    assert total["loans_outstanding"] >= mine
    # Only these two cities have books in this module's view of PAR: the total is a ratio of
    # sums when they are the only ones with loans outstanding.
    if total["loans_outstanding"] == mine:
        assert total["par30"] == round(1_400_000 / 2_250_000, 4)
    # A planner of one city sees that city only.
    planner = report_books.as_("planner").get(f"/api/v1/cdf/national/report{QUERY}").json()
    assert [c["city"] for c in planner["cities"]] == [CITY]
    assert report_books.as_("planner").get(f"/api/v1/cdf/{OTHER}/report").status_code == 404


def test_fund_growth_by_hand(report_books: Clients) -> None:
    """Period 1 Mar - 20 Jun 2025: opening balances at the end of 28 Feb, closing on 20 Jun.
    This city: capital 5,000,000 and savings 150,000 both days (growth 0); loans outstanding
    900,000 (A after its first 300,000) then 1,500,000: +600,000 ÷ 900,000. The other city:
    capital 2,000,000 then 2,500,000 (the donor's 500,000): +25 %, the donor's from nothing
    (no ratio); nothing lent before the period (no ratio)."""
    ours = report_books.as_("planner").get(f"/api/v1/cdf/{CITY}/report{QUERY}").json()
    growth = ours["fund_growth"]
    assert growth["capital"] == {"opening": 5_000_000, "closing": 5_000_000, "growth": 0.0}
    assert growth["fund_equity"] == growth["capital"]  # no interest at 0 %
    assert growth["savings"] == {"opening": 150_000, "closing": 150_000, "growth": 0.0}
    assert growth["loans_outstanding"] == {
        "opening": 900_000,
        "closing": 1_500_000,
        "growth": 0.6667,
    }
    other = report_books.as_("maker").get(f"/api/v1/cdf/{OTHER}/report{QUERY}").json()
    growth = other["fund_growth"]
    assert growth["capital"] == {"opening": 2_000_000, "closing": 2_500_000, "growth": 0.25}
    assert growth["capital_by_source"]["seed_grant"]["growth"] == 0.0
    assert growth["capital_by_source"]["donor"] == {
        "opening": 0,
        "closing": 500_000,
        "growth": None,
    }
    assert growth["loans_outstanding"] == {"opening": 0, "closing": 750_000, "growth": None}
    # The year before (default period): everything came in after the opening day.
    year = report_books.as_("planner").get(f"/api/v1/cdf/{CITY}/report?as_of=2025-06-20").json()
    assert year["period_start"] == "2024-06-20"
    assert year["fund_growth"]["capital"] == {"opening": 0, "closing": 5_000_000, "growth": None}
    # The national total works the ratio out from its own sums.
    national = report_books.as_("national").get(f"/api/v1/cdf/national/report{QUERY}").json()
    total = national["total"]["fund_growth"]["capital"]
    assert total["opening"] >= 7_000_000 and total["closing"] >= 7_500_000
    assert total["growth"] == round((total["closing"] - total["opening"]) / total["opening"], 4)
    row = _csv_rows(report_books, "planner", f"/api/v1/cdf/{CITY}/report.csv{QUERY}&lang=en")[0]
    assert row["Loans outstanding (revolving fund) — Growth"] == "0.6667"
    assert row["Capital received — Opening (đồng)"] == "5000000"


def _csv_rows(report_books: Clients, who: str, url: str) -> list[dict[str, str]]:
    response = report_books.as_(who).get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header = lines[0]
    assert len(set(header)) == len(header), header  # one header per column
    return [dict(zip(header, line, strict=True)) for line in lines[1:]]


def test_report_csv_is_excel_ready(report_books: Clients) -> None:
    rows = _csv_rows(report_books, "planner", f"/api/v1/cdf/{CITY}/report.csv{QUERY}&lang=en")
    row = rows[0]
    assert next(iter(row)) == "City"
    assert row["PAR30 (over 30 days late)"] == "0.9333"
    assert row["Loans outstanding (đồng)"] == "1500000"
    aging = report_books.as_("planner").get(f"/api/v1/cdf/{CITY}/report{QUERY}").json()["aging"]
    assert row["Overdue principal 31–60 days (đồng)"] == str(aging["31_60"])


# Every header of the report's CSV in words, never a key of the JSON (savings_balance, par30,
# portfolio_at_risk.over_1, aging.1_30, capital_by_source.seed_grant, fund_growth...).
RAW_KEY = re.compile(r"^[a-z0-9_.]+$")


@pytest.mark.parametrize(
    ("language", "headers"),
    [
        (
            "vi",
            {
                "Thành phố",
                "Số dư tiết kiệm (đồng)",
                "PAR30 (quá hạn trên 30 ngày)",
                "Dư nợ có rủi ro PAR1 (đồng)",
                "Nợ gốc quá hạn 1–30 ngày (đồng)",
                "Vốn: Vốn hạt giống (đồng)",
                "Tỷ lệ trả nợ đúng hạn",
                "Tiết kiệm của thành viên — Đầu kỳ (đồng)",
                "Vốn: Nhà tài trợ — Tăng trưởng",
            },
        ),
        (
            "en",
            {
                "City",
                "Savings balance (đồng)",
                "PAR30 (over 30 days late)",
                "Principal at risk PAR1 (đồng)",
                "Overdue principal 1–30 days (đồng)",
                "Capital: Seed grant (đồng)",
                "On-time repayment rate",
                "Members' savings — Opening (đồng)",
                "Capital: Donors — Growth",
            },
        ),
    ],
)
@pytest.mark.parametrize("report", ["city", "national"])
def test_every_csv_header_is_in_the_language(
    report_books: Clients, language: str, headers: set[str], report: str
) -> None:
    who, url = ("planner", f"/api/v1/cdf/{CITY}/report.csv")
    if report == "national":
        who, url = ("national", "/api/v1/cdf/national/report.csv")
    rows = _csv_rows(report_books, who, f"{url}{QUERY}&lang={language}")
    header = list(rows[0])
    raw = [name for name in header if RAW_KEY.match(name)]
    assert raw == [], raw
    assert headers <= set(header), headers - set(header)
    # The figures are the JSON report's, under their words.
    figures = report_books.as_(who).get(f"{url.removesuffix('.csv')}{QUERY}").json()
    row = rows[0]
    if report == "national":
        figures = next(c for c in figures["cities"] if c["city"] == CITY)
        row = next(r for r in rows if next(iter(r.values())) == "Thành phố Báo Cáo")
    key = "PAR30 (quá hạn trên 30 ngày)" if language == "vi" else "PAR30 (over 30 days late)"
    assert float(row[key]) == figures["par30"] == 0.9333


@pytest.mark.parametrize(("language", "total"), [("vi", "Tổng"), ("en", "Total")])
def test_csv_rows_name_the_city_and_the_total_in_the_language(
    report_books: Clients, language: str, total: str
) -> None:
    """The city's CSV named its city by its slug, and the national one's last row was
    "Tổng / Total" in either language."""
    city = _csv_rows(
        report_books, "planner", f"/api/v1/cdf/{CITY}/report.csv{QUERY}&lang={language}"
    )
    assert next(iter(city[0].values())) == "Thành phố Báo Cáo"
    national = _csv_rows(
        report_books, "national", f"/api/v1/cdf/national/report.csv{QUERY}&lang={language}"
    )
    assert next(iter(national[-1].values())) == total


def test_report_parameters_are_checked(report_books: Clients) -> None:
    planner = report_books.as_("planner")
    assert planner.get(f"/api/v1/cdf/{CITY}/report?as_of=2025-13-45").status_code == 422
    assert planner.get(f"/api/v1/cdf/{CITY}/report?as_of=yesterday").status_code == 422
    assert planner.get(f"/api/v1/cdf/{CITY}/report?as_of=0001-01-01").status_code == 422
    assert planner.get(f"/api/v1/cdf/{CITY}/report.csv?from=9999-12-31").status_code == 422
