"""A savings group's statement as a PDF (GET /api/v1/cdf/groups/{id}/statement.pdf), read back
with pdftotext: Vietnamese text intact, English with ?lang=en, the figures those of the JSON
statement, members' names only for those who may see them, hostile names as plain text, and
the statement's access rules."""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from app.geo.cdf_statement_print import money
from app.i18n import date_text
from tests.cdf_support import Clients, app_client, drop_cities, make_city, person, treasurer

CITY = "cdf-statement-town"
OTHER = "cdf-statement-other"
NAMES = [
    "Nguyễn Thị Hòa Thuận Đông",
    "{{7*7}} $\\alpha$ </title><script>x</script>",
    "=cmd|' /C calc'!A0",
]


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def books(
    database_url: str, sync_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    ids = make_city(sync_engine, CITY, "Thành phố Sao Kê")
    make_city(sync_engine, OTHER, "Thành phố Khác")
    tokens = {
        "maker": person(sync_engine, "st-maker", [("cdf_staff", ("city", CITY))], CITY),
        "checker": person(sync_engine, "st-checker", [("cdf_staff", ("city", CITY))], CITY),
        "planner": person(sync_engine, "st-planner", [("planner", ("city", CITY))], CITY),
        "stranger": person(sync_engine, "st-stranger", [("cdf_staff", ("city", OTHER))], OTHER),
    }
    with app_client(database_url, tmp_path_factory.mktemp("cdf-statement")) as client:
        clients = Clients(client, tokens)
        staff, checker = clients.as_("maker"), clients.as_("checker")
        group = _ok(
            staff.post(
                f"/api/v1/cdf/{CITY}/groups",
                json={
                    "name": "Nhóm tiết kiệm Phường Hòa Thuận Đông",
                    "settlement_id": ids["settlement"],
                    "founded_on": "2024-01-15",
                    "meeting_frequency": "monthly",
                    "share_value": 50_000,
                },
            )
        )
        tokens["treasurer"] = treasurer(sync_engine, "st-treasurer", ids["city"], group["id"])
        members = [
            _ok(
                staff.post(
                    f"/api/v1/cdf/groups/{group['id']}/members",
                    json={"code": f"TV-{n + 1:02}", "name": name, "joined_on": "2024-01-15"},
                )
            )["id"]
            for n, name in enumerate(NAMES)
        ]
        product = _ok(
            staff.post(
                f"/api/v1/cdf/{CITY}/products",
                json={
                    "code": "NHA",
                    "name": "Vay sửa nhà",
                    "kind": "housing",
                    "rate_bp": 120,
                    "rate_period": "month",
                    "term_installments": 6,
                    "frequency": "monthly",
                    "method": "declining",
                },
            )
        )
        _ok(
            staff.post(
                f"/api/v1/cdf/{CITY}/capital",
                json={
                    "client_id": str(uuid.uuid4()),
                    "source": "seed_grant",
                    "amount": 20_000_000,
                    "date": "2024-01-02",
                },
            )
        )
        for member, amount in zip(members, (350_000, 120_000, 75_000), strict=True):
            _ok(
                staff.post(
                    f"/api/v1/cdf/groups/{group['id']}/transactions",
                    json={
                        "client_id": str(uuid.uuid4()),
                        "kind": "savings",
                        "amount": amount,
                        "member_id": member,
                        "date": (date.today() - timedelta(days=100)).isoformat(),
                    },
                )
            )
        lent = (date.today() - timedelta(days=80)).isoformat()
        loan = _ok(
            staff.post(
                f"/api/v1/cdf/{CITY}/loans",
                json={
                    "client_id": str(uuid.uuid4()),
                    "group_id": group["id"],
                    "member_id": members[0],
                    "product_id": product["id"],
                    "principal": 3_000_000,
                    "date": lent,
                },
            )
        )
        loan = loan.get("loan", loan)
        _ok(
            checker.post(
                f"/api/v1/cdf/loans/{loan['id']}/decision",
                json={"decision": "approved", "date": lent},
            )
        )
        _ok(
            staff.post(
                f"/api/v1/cdf/loans/{loan['id']}/disbursement",
                json={"client_id": str(uuid.uuid4()), "date": lent},
            )
        )
        _ok(
            staff.post(
                f"/api/v1/cdf/loans/{loan['id']}/repayments",
                json={
                    "client_id": str(uuid.uuid4()),
                    "amount": 300_000,
                    "date": (date.today() - timedelta(days=40)).isoformat(),
                },
            )
        )
        yield {"clients": clients, "group": group["id"], "members": members, "loan": loan["id"]}
    drop_cities(sync_engine, CITY, OTHER)


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "statement.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        check=True,
        text=True,
    )
    return result.stdout


def _pdf(books: dict[str, Any], who: str, query: str = "") -> Any:
    return (
        books["clients"].as_(who).get(f"/api/v1/cdf/groups/{books['group']}/statement.pdf{query}")
    )


def test_the_pdf_holds_the_statements_figures_in_vietnamese(
    books: dict[str, Any], tmp_path: Path
) -> None:
    response = _pdf(books, "treasurer")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    page = _text(response.content, tmp_path)
    statement = _ok(books["clients"].as_("treasurer").get(f"/api/v1/cdf/groups/{books['group']}"))
    assert "Sao kê nhóm tiết kiệm" in page
    assert "Nhóm tiết kiệm Phường Hòa Thuận Đông" in page
    assert "Xóm Hòa Thuận Đông" in page and "Phường Một" in page
    for key, caption in (
        ("cash", "Tiền mặt của nhóm"),
        ("savings", "Tiết kiệm của thành viên"),
        ("loans_outstanding", "Dư nợ gốc"),
    ):
        line = next(row for row in page.splitlines() if row.strip().startswith(caption))
        assert line.split()[-1] == money(statement["balances"][key], "vi"), line
    for member in statement["members"]:
        row = next(r for r in page.splitlines() if r.strip().startswith(member["code"]))
        assert row.split()[-3:] == [
            money(member["savings"], "vi"),
            str(len(member["loans"])),
            money(member["loan_outstanding"], "vi"),
        ], row
    # Names drawn as they are: no markup, no mathtext, no formula.
    assert "Nguyễn Thị Hòa Thuận Đông" in page
    assert "{{7*7}} $\\alpha$ </title><script>x</script>" in page
    assert "=cmd|' /C calc'!A0" in page
    (loan,) = statement["loans"]
    schedule = loan["schedule"]
    assert schedule["overdue_amount"] > 0  # the sample loan is late
    for row in schedule["installments"]:
        line = next(
            r
            for r in page.splitlines()
            if r.split()[:2] == [str(row["seq"]), date_text(row["due_on"], "vi")]
        )
        cells = line.split()
        assert cells[2:6] == [
            money(row["principal_due"], "vi"),
            money(row["interest_due"], "vi"),
            money(row["principal_paid"] + row["interest_paid"], "vi"),
            money(row["remaining"], "vi"),
        ], line
        assert ("Quá hạn" in line) == row["overdue"], line
    assert f"quá hạn {money(schedule['overdue_amount'], 'vi')} đ" in page


def test_english_and_the_planner_sees_no_names(books: dict[str, Any], tmp_path: Path) -> None:
    english = _text(_pdf(books, "maker", "?lang=en").content, tmp_path)
    assert "Savings group statement" in english and "Overdue" in english
    assert "Nguyễn Thị Hòa Thuận Đông" in english  # staff see names
    planner = _pdf(books, "planner")
    assert planner.status_code == 200
    page = _text(planner.content, tmp_path)
    assert "TV-01" in page and "Sao kê" in page
    for name in NAMES:
        assert name not in page
    assert "Nguyễn" not in page and "calc" not in page


@pytest.mark.parametrize(
    ("language", "rate", "principal"),
    [
        ("vi", "lãi 1,2 %/tháng", "gốc 3.000.000 đ"),
        ("en", "rate 1.2 %/month", "principal 3,000,000 đ"),
    ],
)
def test_the_pdf_writes_numbers_and_the_city_in_its_language(
    books: dict[str, Any], tmp_path: Path, language: str, rate: str, principal: str
) -> None:
    """The English statement wrote "rate 1,2 %/month" and 7.000.000; the header named the
    city by its slug (cdf-statement-town) instead of its name."""
    response = _pdf(books, "maker", f"?lang={language}")
    assert response.status_code == 200, response.text
    page = _text(response.content, tmp_path)
    assert rate in page and principal in page
    statement = _ok(books["clients"].as_("maker").get(f"/api/v1/cdf/groups/{books['group']}"))
    savings = "Tiết kiệm của thành viên" if language == "vi" else "Members' savings"
    line = next(row for row in page.splitlines() if row.strip().startswith(savings))
    assert line.split()[-1] == money(statement["balances"]["savings"], language), line
    assert money(545_000, language) in page  # 350,000 + 120,000 + 75,000 saved
    (loan,) = statement["loans"]
    overdue = money(loan["schedule"]["overdue_amount"], language)
    assert f"{overdue} đ" in page
    place = next(row for row in page.splitlines() if "Phường Một" in row)
    assert place.rstrip().endswith("· Thành phố Sao Kê"), place
    assert CITY not in page
    assert statement["group"]["city"] == CITY  # the JSON keeps the slug for code
    assert statement["group"]["city_name"] == "Thành phố Sao Kê"


def test_who_may_not_read_the_group_gets_no_pdf(books: dict[str, Any]) -> None:
    assert _pdf(books, "stranger").status_code == 404
    client = books["clients"].client
    anonymous = client.get(f"/api/v1/cdf/groups/{books['group']}/statement.pdf")
    assert anonymous.status_code == 401
    missing = books["clients"].as_("maker").get("/api/v1/cdf/groups/999999999/statement.pdf")
    assert missing.status_code == 404
    bad_day = _pdf(books, "maker", "?as_of=2026-13-45")
    assert bad_day.status_code == 422
    assert bad_day.json()["errors"][0]["field"] == "as_of"


def test_a_long_statement_runs_over_pages_and_hostile_text_prints(tmp_path: Path) -> None:
    """Drawn straight from a statement: 40 members and a 60-month loan fill several pages,
    every installment on one of them; NUL, a lone surrogate and mathtext print as text."""
    from app.geo.cdf_statement_print import render_statement_pdf

    installments = [
        {
            "seq": n,
            "due_on": f"{2024 + (n - 1) // 12}-{(n - 1) % 12 + 1:02}-15",
            "principal_due": 250_000,
            "interest_due": 12_345,
            "principal_paid": 250_000 if n < 10 else 0,
            "interest_paid": 12_345 if n < 10 else 0,
            "overdue": 10 <= n < 14,
            "remaining": 0 if n < 10 else 262_345,
        }
        for n in range(1, 61)
    ]
    members = [
        {
            "id": n,
            "code": f"TV-{n:02}",
            "name": f"Thành viên {n}",
            "savings": n * 10_000,
            "loans": [],
            "loan_outstanding": 0,
        }
        for n in range(1, 41)
    ]
    members[0]["name"] = "Nul\x00l $x^2$ \ud800 Đông"
    statement = {
        "group": {"name": "Nhóm dài", "settlement": "Xóm", "ward": "Phường", "city": "c"},
        "as_of": "2026-12-03",
        "balances": {"cash": 1},
        "members": members,
        "loans": [
            {
                "id": 7,
                "member_id": 1,
                "member_code": "TV-01",
                "principal": 15_000_000,
                "rate_bp": 150,
                "rate_period": "month",
                "method": "declining",
                "status": "disbursed",
                "schedule": {
                    "installments": installments,
                    "principal_outstanding": 12_750_000,
                    "interest_outstanding": 629_595,
                    "overdue_amount": 1_049_380,
                    "days_overdue": 500,
                },
            },
        ],
    }
    page = _text(render_statement_pdf(statement, "vi"), tmp_path)
    pages = page.count("\f")
    assert pages >= 3
    assert f"Trang {pages}/{pages}" in page
    for row in installments:
        assert any(
            line.split()[:2] == [str(row["seq"]), date_text(row["due_on"], "vi")]
            for line in page.splitlines()
        )
    assert sum("Quá hạn" in line for line in page.splitlines()) == 4 + 1  # rows + heading
    assert "Nul l $x^2$ ? Đông" in page  # NUL a space, the lone surrogate a question mark
    assert "lãi 1,5 %/tháng" in page and "dư nợ giảm dần" in page


ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


@pytest.mark.parametrize(
    ("language", "as_of", "printed", "due"),
    [
        ("vi", "Số liệu đến ngày 07/12/2026", "In ngày 08/12/2026", ["1", "15/01/2027"]),
        ("en", "Figures as of 7 Dec 2026", "Printed 8 Dec 2026", ["1", "15", "Jan", "2027"]),
    ],
)
def test_the_pdf_writes_days_as_its_language_does(
    books: dict[str, Any],
    tmp_path: Path,
    language: str,
    as_of: str,
    printed: str,
    due: list[str],
) -> None:
    """The statement printed 2026-12-07 (the figures' day, the printing day, each due day of
    a schedule): 07/12/2026 in Vietnamese, 7 Dec 2026 in English."""
    from app.geo.cdf_statement_print import render_statement_pdf

    statement = {
        "group": {"name": "Nhóm", "settlement": "Xóm", "ward": "Phường", "city": "c"},
        "as_of": "2026-12-07",
        "balances": {"cash": 1},
        "members": [],
        "loans": [
            {
                "id": 1,
                "member_id": None,
                "principal": 1_000_000,
                "rate_bp": 100,
                "status": "disbursed",
                "schedule": {
                    "installments": [
                        {
                            "seq": 1,
                            "due_on": "2027-01-15",
                            "principal_due": 1_000_000,
                            "interest_due": 10_000,
                            "principal_paid": 0,
                            "interest_paid": 0,
                            "remaining": 1_010_000,
                        }
                    ],
                },
            }
        ],
    }
    page = _text(render_statement_pdf(statement, language, date(2026, 12, 8)), tmp_path)
    assert as_of in page and printed in page, page
    assert any(line.split()[: len(due)] == due for line in page.splitlines()), page
    assert not ISO_DAY.findall(page), ISO_DAY.findall(page)
    # The statement of the books, as the page's link serves it: no ISO day either.
    served = _text(_pdf(books, "maker", f"?lang={language}").content, tmp_path)
    assert not ISO_DAY.findall(served), ISO_DAY.findall(served)
