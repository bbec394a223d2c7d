"""The CDF report pages (/cdf/{city}, /cdf/national): signed in with the pages' session cookie,
the right roles see the JSON report's figures (each figure's raw value on its row, charts as
inline SVG, no script, nothing from elsewhere), vi and en; a visitor is sent to sign in,
other roles get a 403 page; a hostile city name is text."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.i18n import number_text
from tests.auth import bearer, make_token, make_user
from tests.cdf_support import app_client, drop_cities, make_city, person

CITY = "cdf-page-town"
OTHER = "cdf-page-other"
HOSTILE_CITY = "</title><script>alert(1)</script>{{7*7}} Phường Hòa Thuận Đông"
SESSION_COOKIE = "cdfmap_session"


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def site(
    database_url: str, sync_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    ids = make_city(sync_engine, CITY, HOSTILE_CITY)
    make_city(sync_engine, OTHER, "Thành phố Khác")
    maker = person(sync_engine, "cp-maker", [("cdf_staff", ("city", CITY))], CITY)
    checker = person(sync_engine, "cp-checker", [("cdf_staff", ("city", CITY))], CITY)
    sessions = {}
    for name, grants in {
        "staff": [("cdf_staff", ("city", CITY))],
        "planner": [("planner", ("city", CITY))],
        "volunteer": [("volunteer", ("ward", "W1"))],
        "stranger": [("cdf_staff", ("city", OTHER))],
        "national": [("national_admin", None)],
    }.items():
        user = make_user(
            sync_engine, f"cp-{name}", grants, city=OTHER if name == "stranger" else CITY
        )
        sessions[name] = make_token(sync_engine, user, kind="session", lifetime=timedelta(hours=2))
    with app_client(database_url, tmp_path_factory.mktemp("cdf-pages")) as client:

        def post(token: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
            return _ok(client.post(url, json=body, headers=bearer(token)))

        group = post(
            maker,
            f"/api/v1/cdf/{CITY}/groups",
            {
                "name": "Nhóm Hòa Thuận",
                "settlement_id": ids["settlement"],
                "founded_on": "2024-01-15",
                "meeting_frequency": "monthly",
                "share_value": 30_000,
            },
        )
        member = post(
            maker,
            f"/api/v1/cdf/groups/{group['id']}/members",
            {"code": "TV-01", "name": "Lê Văn Tám", "joined_on": "2024-01-15"},
        )
        product = post(
            maker,
            f"/api/v1/cdf/{CITY}/products",
            {
                "code": "TN",
                "name": "Vay tạo thu nhập",
                "kind": "income",
                "rate_bp": 100,
                "rate_period": "month",
                "term_installments": 6,
                "frequency": "monthly",
                "method": "flat",
            },
        )
        for source, amount in (("seed_grant", 40_000_000), ("city_budget", 10_000_000)):
            post(
                maker,
                f"/api/v1/cdf/{CITY}/capital",
                {
                    "client_id": str(uuid.uuid4()),
                    "source": source,
                    "amount": amount,
                    "date": "2024-01-02",
                },
            )
        post(
            maker,
            f"/api/v1/cdf/groups/{group['id']}/transactions",
            {
                "client_id": str(uuid.uuid4()),
                "kind": "savings",
                "amount": 600_000,
                "member_id": member["id"],
                "date": (date.today() - timedelta(days=120)).isoformat(),
            },
        )
        lent = (date.today() - timedelta(days=100)).isoformat()
        loan = post(
            maker,
            f"/api/v1/cdf/{CITY}/loans",
            {
                "client_id": str(uuid.uuid4()),
                "group_id": group["id"],
                "member_id": member["id"],
                "product_id": product["id"],
                "principal": 6_000_000,
                "date": lent,
            },
        )
        loan = loan.get("loan", loan)
        post(
            checker,
            f"/api/v1/cdf/loans/{loan['id']}/decision",
            {"decision": "approved", "date": lent},
        )
        post(
            maker,
            f"/api/v1/cdf/loans/{loan['id']}/disbursement",
            {"client_id": str(uuid.uuid4()), "date": lent},
        )
        post(
            maker,
            f"/api/v1/cdf/loans/{loan['id']}/repayments",
            {
                "client_id": str(uuid.uuid4()),
                "amount": 1_060_000,
                "date": (date.today() - timedelta(days=70)).isoformat(),
            },
        )
        yield {"client": client, "sessions": sessions, "maker": maker}
    drop_cities(sync_engine, CITY, OTHER)


def _page(site: dict[str, Any], who: str | None, url: str) -> Any:
    client: TestClient = site["client"]
    client.cookies.clear()
    if who:
        client.cookies.set(SESSION_COOKIE, site["sessions"][who])
    try:
        return client.get(url, follow_redirects=False)
    finally:
        client.cookies.clear()


def _figures(page: str) -> dict[str, str]:
    return {
        key: html.unescape(value)
        for key, value in re.findall(r'<tr data-key="([a-z0-9_]+)">.*?data-value="([^"]*)"', page)
    }


def _same(raw: str, value: Any) -> bool:
    if value is None:
        return raw == ""
    return float(raw) == float(value)


@pytest.mark.parametrize("who", ["staff", "planner", "national"])
def test_the_city_page_shows_the_reports_figures(site: dict[str, Any], who: str) -> None:
    response = _page(site, who, f"/cdf/{CITY}")
    assert response.status_code == 200, response.text
    page = response.text
    client: TestClient = site["client"]
    report = _ok(client.get(f"/api/v1/cdf/{CITY}/report", headers=bearer(site["maker"])))
    figures = _figures(page)
    for key in (
        "savings_balance",
        "members",
        "groups",
        "loans_outstanding",
        "par30",
        "on_time_repayment_rate",
        "collection_rate",
        "times_revolved",
    ):
        assert _same(figures[key], report[key]), (key, figures[key], report[key])
    assert report["par30"] and report["par30"] > 0  # a late loan: the charts show something
    assert "Báo cáo Quỹ CDF" in page and "Tỷ lệ trả nợ đúng hạn" in page
    savings = f"{report['savings_balance']:,}".replace(",", ".")
    assert f"{savings} đ" in page
    for chart in ("par", "rates", "aging", "capital", "growth"):
        assert f'id="chart-{chart}"' in page
    assert page.count("<svg") == 5 and "<rect" in page
    # Fund growth: the JSON report's opening, closing and growth of each balance.
    assert "Tăng trưởng quỹ trong kỳ" in page and 'id="cdf-growth"' in page
    growth = dict(re.findall(r'<tr data-key="growth\.([a-z_.]+)">.*?data-value="([^"]*)"', page))
    for key in ("capital", "fund_equity", "savings", "loans_outstanding"):
        assert _same(growth[key], report["fund_growth"][key]["growth"]), key
        closing = f"{report['fund_growth'][key]['closing']:,}".replace(",", ".")
        assert f"{closing} đ" in page
    # The hostile city name is text: escaped in the title and heading, never markup.
    assert HOSTILE_CITY not in page
    assert (
        "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;{{7*7}} Phường Hòa Thuận Đông" in page
    )
    assert "<script>" not in page
    assert "49" not in re.findall(r"<title>(.*?)</title>", page, re.S)[0]
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page
    # Each group with a link to its statement, which the page's cookie opens.
    assert 'id="cdf-groups"' in page and "Nhóm Hòa Thuận" in page
    (link,) = re.findall(r'href="(/api/v1/cdf/groups/\d+/statement.pdf\?lang=[a-z]+)"', page)
    client.cookies.set(SESSION_COOKIE, site["sessions"][who])
    try:
        pdf = client.get(html.unescape(link))
    finally:
        client.cookies.clear()
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_the_page_in_english(site: dict[str, Any]) -> None:
    page = _page(site, "staff", f"/cdf/{CITY}?lang=en").text
    assert "CDF report" in page and "On-time repayment rate" in page
    assert "Portfolio at risk (PAR)" in page
    assert "Fund growth in the period" in page and "Fund equity (capital + interest earned)" in page


def test_who_may_not_see_the_city_report(site: dict[str, Any]) -> None:
    visitor = _page(site, None, f"/cdf/{CITY}")
    assert visitor.status_code == 303
    assert visitor.headers["location"].startswith("/login?next=/cdf/")
    for who in ("volunteer", "stranger"):
        response = _page(site, who, f"/cdf/{CITY}")
        assert response.status_code == 403, who
        assert "Không có quyền xem" in response.text
        assert "data-key" not in response.text
    assert _page(site, "staff", "/cdf/no-such-city").status_code == 403


def test_the_national_page(site: dict[str, Any]) -> None:
    response = _page(site, "national", "/cdf/national?lang=en")
    assert response.status_code == 200, response.text
    page = response.text
    client: TestClient = site["client"]
    # The national admin's session token serves as a bearer token for the JSON report.
    token = site["sessions"]["national"]
    report = _ok(client.get("/api/v1/cdf/national/report", headers=bearer(token)))
    figures = _figures(page)
    for key in ("savings_balance", "members", "groups", "loans_outstanding", "par30"):
        assert _same(figures[key], report["total"][key]), key
    assert f'data-city="{CITY}"' in page
    assert 'id="chart-cities"' in page
    assert "National CDF report" in page
    for who in ("staff", "planner"):
        assert _page(site, who, "/cdf/national").status_code == 403
    assert _page(site, None, "/cdf/national").status_code == 303


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "0002-01-01", "9000-01-01"])
def test_a_day_outside_the_books_is_a_422_on_the_pages_as_in_the_api(
    site: dict[str, Any], day: str
) -> None:
    # Pages read their day by the API's rule (1990-2100): 9999-12-31 was a 500 ("cannot
    # subtract infinite dates"), 0001-01-01 too ("year 0 is out of range").
    pages = (("staff", f"/cdf/{CITY}?as_of={day}"), ("national", f"/cdf/national?as_of={day}"))
    for who, url in pages:
        response = _page(site, who, url)
        assert response.status_code == 422, (url, response.status_code)
        assert response.json()["errors"][0]["code"] == "cdf_invalid_date"
    assert _page(site, "staff", f"/cdf/{CITY}?as_of=2026-06-30").status_code == 200


# Numbers of 1 000 and more as each language groups them; a decimal as each writes it.
GROUPED = {
    "vi": re.compile(r"\b\d{1,3}(?:\.\d{3})+\b"),
    "en": re.compile(r"\b\d{1,3}(?:,\d{3})+\b"),
}
DECIMAL = {
    "vi": re.compile(r"\b\d+,\d{1,2} (?:%|lần)"),
    "en": re.compile(r"\b\d+\.\d{1,2} (?:%|times)"),
}


def _words(page: str) -> str:
    """What a reader sees of a page: its text without tags and attributes."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page.split("<body", 1)[1]))


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("kind", ["city", "national"])
def test_every_number_on_the_page_is_written_in_its_language(
    site: dict[str, Any], language: str, kind: str
) -> None:
    """English pages wrote 1.060.867.000 đ beside 15.9 %: amounts, counts, percentages and
    times revolved all follow the page's language (1,060,867,000 and 15.9 in English)."""
    who, url = ("staff", f"/cdf/{CITY}") if kind == "city" else ("national", "/cdf/national")
    response = _page(site, who, f"{url}?lang={language}")
    assert response.status_code == 200, response.text
    words = _words(response.text)
    other = "en" if language == "vi" else "vi"
    assert GROUPED[language].search(words) and DECIMAL[language].search(words), words
    assert not GROUPED[other].findall(words), GROUPED[other].findall(words)
    assert not DECIMAL[other].findall(words), DECIMAL[other].findall(words)
    client: TestClient = site["client"]
    token = site["maker"] if kind == "city" else site["sessions"]["national"]
    report = _ok(client.get(f"/api/v1/cdf/{CITY}/report", headers=bearer(token)))
    savings = number_text(report["savings_balance"], language)
    capital = number_text(report["capital_total"], language)
    assert f"{savings} đ" in words or kind == "national"
    assert f"{capital} đ" in words or kind == "national"
    assert savings in words  # the city's savings: a figure, its table row or its bar


ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("kind", ["city", "national"])
def test_every_date_on_the_page_is_written_in_its_language(
    site: dict[str, Any], language: str, kind: str
) -> None:
    """The day of the figures, the on-time period's start and the growth period read
    30/06/2026 in Vietnamese and 30 Jun 2026 in English: the pages showed 2026-06-30."""
    who, url = ("staff", f"/cdf/{CITY}") if kind == "city" else ("national", "/cdf/national")
    response = _page(site, who, f"{url}?as_of=2026-06-30&lang={language}")
    assert response.status_code == 200, response.text
    words = _words(response.text)
    assert not ISO_DAY.findall(words), ISO_DAY.findall(words)
    as_of = re.search(r'id="cdf-as-of">([^<]*)<', response.text)
    assert as_of is not None
    day = "30/06/2026" if language == "vi" else "30 Jun 2026"
    start = r"\d{2}/\d{2}/\d{4}" if language == "vi" else r"\d{1,2} [A-Z][a-z]{2} \d{4}"
    assert re.fullmatch(rf"\D+{day}\D+{start}", as_of.group(1)), as_of.group(1)
    growth = re.search(r'id="growth-title">.*?<p class="muted">([^<]*)</p>', response.text, re.S)
    assert growth is not None and day in growth.group(1), growth
    assert len(re.findall(start, growth.group(1))) == 2, growth.group(1)


def test_a_share_on_the_page_rounds_half_up(site: dict[str, Any]) -> None:
    """Capital grown by exactly 6,25 % (and the city budget's by 31,25 %) reads +6,3 % and
    +31,3 % (+6.3 %, +31.3 % in English), in the table and its chart, half up as on every page
    and print (app.i18n.percent_text); Python's formatting said +6,2 % and +31,2 %.
    Runs last: the capital it adds stays in the module's books."""
    client: TestClient = site["client"]
    _ok(
        client.post(
            f"/api/v1/cdf/{CITY}/capital",
            json={
                "client_id": str(uuid.uuid4()),
                "source": "city_budget",
                "amount": 3_125_000,  # 50 000 000 received before the period, 10 000 000 of it
                "date": (date.today() - timedelta(days=10)).isoformat(),  # from the budget
            },
            headers=bearer(site["maker"]),
        )
    )
    report = _ok(client.get(f"/api/v1/cdf/{CITY}/report", headers=bearer(site["maker"])))
    growth = report["fund_growth"]
    assert growth["capital"]["growth"] == 0.0625
    assert growth["capital_by_source"]["city_budget"]["growth"] == 0.3125
    for language, capital, budget in (("vi", "+6,3 %", "+31,3 %"), ("en", "+6.3 %", "+31.3 %")):
        page = _page(site, "staff", f"/cdf/{CITY}?lang={language}").text
        rows = dict(re.findall(r'<tr data-key="growth\.([a-z_.]+)">(.*?)</tr>', page, re.S))
        assert rows["capital"].endswith(f'data-value="0.0625">{capital}</td>'), language
        assert rows["capital.city_budget"].endswith(f">{budget}</td>"), language
        chart = page.split('id="chart-growth"')[1].split("</svg>")[0]
        assert f">{capital}</text>" in chart, language
        assert capital.replace("3", "2") not in page and budget.replace("3 ", "2 ") not in page
