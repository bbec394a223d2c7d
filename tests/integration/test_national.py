"""The national view of the CDF network: three cities side by side as JSON, CSV, a page and an
A4 PDF; figures checked against the database, access by role, hostile city names."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text

from app.geo import sample_network
from app.main import create_app
from app.services import national
from app.services.cdf_projects_sample import SAMPLE_PROJECTS, load_sample_projects
from app.settings import Settings, with_driver
from tests.auth import bearer, make_token, make_user
from tests.network_support import network_database

HOSTILE = "</script><script>alert(1)</script>{{ 7*7 }} $x$ \\frac{1}{0}"
FORMULA = '=HYPERLINK("http://evil.example","Long Xuyên")'
CITIES = {"tam-ky", "long-xuyen", "viet-tri"}


@pytest.fixture(scope="module")
def network() -> Iterator[tuple[str, Engine]]:
    with network_database() as url:
        engine = create_engine(with_driver(url, "postgresql+psycopg"))
        yield url, engine
        engine.dispose()


@pytest.fixture(scope="module")
def people(network: tuple[str, Engine]) -> dict[str, dict[str, str]]:
    _, engine = network
    grants = {
        "admin": [("national_admin", None)],
        "planner": [("planner", ("city", "tam-ky"))],
        "volunteer": [("volunteer", ("city", "viet-tri"))],
    }
    return {
        who: bearer(make_token(engine, make_user(engine, f"national-{who}", roles)))
        for who, roles in grants.items()
    }


@pytest.fixture
def client(network: tuple[str, Engine], tmp_path: Path) -> Iterator[TestClient]:
    url, _ = network
    with TestClient(create_app(Settings(database_url=url, media_dir=tmp_path))) as test_client:
        yield test_client


def _expected(engine: Engine) -> dict[str, dict[str, int]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                """
SELECT c.slug,
  (SELECT count(*) FROM household_surveys h WHERE h.city_id = c.id AND h.status = 'approved'
     AND h.form_id = 'household') AS households,
  (SELECT count(*) FROM household_surveys h WHERE h.city_id = c.id AND h.status = 'approved'
     AND h.form_id = 'household' AND h.settlement_id IS NOT NULL) AS in_settlements,
  (SELECT count(*) FROM settlements s WHERE s.city_id = c.id) AS settlements,
  (SELECT sum(households_estimate) FROM settlements s WHERE s.city_id = c.id) AS estimate
FROM cities c"""
            )
        ).all()
    return {r.slug: dict(r._mapping) for r in rows}


def test_the_admin_sees_every_city_with_figures_from_the_database(
    client: TestClient, people: dict[str, dict[str, str]], network: tuple[str, Engine]
) -> None:
    answer = client.get("/api/v1/national/indicators", headers=people["admin"])
    assert answer.status_code == 200
    report = answer.json()
    by_city = {row["city"]: row for row in report["cities"]}
    assert set(by_city) == CITIES
    expected = _expected(network[1])
    for slug, row in by_city.items():
        want = expected[slug]
        assert row["households"] == want["households"] > 0
        assert row["settlements"] == want["settlements"] == 40
        assert row["households_estimate"] == want["estimate"]
        assert row["share_surveyed"] == round(want["in_settlements"] / want["estimate"], 4)
        assert 0 <= row["average_settlement_priority"] <= 100
    assert report["totals"]["households"] == sum(w["households"] for w in expected.values())
    # The books: beside the CDF's own national report, figure for figure.
    books = client.get("/api/v1/cdf/national/report", headers=people["admin"]).json()
    for fund in books["cities"]:
        row = by_city[fund["city"]]
        assert row["cdf"]["savings_balance"] == fund["savings_balance"] > 0
        assert row["cdf"]["loans_outstanding"] == fund["loans_outstanding"]
        assert row["cdf"]["par30"] == fund["par30"]
    assert by_city["tam-ky"]["cdf"] is None  # this database has no books for Tam Kỳ
    assert report["totals"]["cdf"]["savings_balance"] == sum(
        fund["savings_balance"] for fund in books["cities"]
    )
    # The member cities lie where they are said to.
    for member in sample_network.MEMBER_CITIES:
        assert abs(by_city[member.slug]["lon"] - member.lon) < 0.05
        assert abs(by_city[member.slug]["lat"] - member.lat) < 0.05


# Upgrading projects of the network in every state: Tam Kỳ the sample's five (3 done, 2
# building), Long Xuyên the same five moved on differently, Việt Trì none.
LONG_XUYEN_STATUSES = {"DA-2025-01": "approved", "DA-2026-02": "proposed"}


@pytest.fixture
def projects(network: tuple[str, Engine]) -> Iterator[None]:
    with network[1].begin() as connection:
        for slug in ("tam-ky", "long-xuyen"):
            city = connection.execute(
                text("SELECT id FROM cities WHERE slug = :slug"), {"slug": slug}
            ).scalar_one()
            assert load_sample_projects(connection, city) == len(SAMPLE_PROJECTS)
        for code, status in LONG_XUYEN_STATUSES.items():
            connection.execute(
                text(
                    "UPDATE cdf_projects SET status = :status WHERE code = :code AND city_id = "
                    "(SELECT id FROM cities WHERE slug = 'long-xuyen')"
                ),
                {"code": code, "status": status},
            )
    yield
    with network[1].begin() as connection:
        connection.execute(text("DELETE FROM cdf_projects"))


def test_projects_done_are_each_citys_finished_projects_in_the_database(
    client: TestClient,
    people: dict[str, dict[str, str]],
    network: tuple[str, Engine],
    projects: None,
) -> None:
    with network[1].connect() as connection:
        # Counted through the projects' settlements (the city a project lies in), by state.
        rows = connection.execute(
            text(
                "SELECT c.slug, p.status, count(p.id) AS projects FROM cities c "
                "JOIN settlements s ON s.city_id = c.id "
                "JOIN cdf_projects p ON p.settlement_id = s.id GROUP BY c.slug, p.status"
            )
        ).all()
    states = {slug: {} for slug in CITIES}
    for row in rows:
        states[row.slug][row.status] = row.projects
    # The figure is worth checking: some city has projects in at least three states, done
    # among them, and the cities' counts of done projects differ.
    assert max(len(by_status) for by_status in states.values()) >= 3
    assert len({by_status.get("done", 0) for by_status in states.values()}) == len(CITIES)

    answer = client.get("/api/v1/national/indicators", headers=people["admin"])
    assert answer.status_code == 200
    report = answer.json()
    by_city = {row["city"]: row for row in report["cities"]}
    for slug, by_status in states.items():
        assert by_city[slug]["projects_done"] == by_status.get("done", 0), slug
        assert by_city[slug]["projects"] == sum(by_status.values()), slug
    assert report["totals"]["projects_done"] == sum(
        by_status.get("done", 0) for by_status in states.values()
    )
    # The CSV's column says the same, in both languages.
    for language in ("vi", "en"):
        table = client.get(
            "/api/v1/national/indicators.csv", params={"lang": language}, headers=people["admin"]
        )
        lines = list(csv.reader(io.StringIO(table.content.decode("utf-8-sig"))))
        column = lines[0].index(national.LABELS["projects_done"][language])
        slugs = lines[0].index(national.LABELS["city"][language])
        for line in lines[1:-1]:
            assert int(line[column]) == states[line[slugs]].get("done", 0), (language, line)


def test_each_role_sees_its_own_cities_and_everyone_the_public_ones(
    client: TestClient, people: dict[str, dict[str, str]], network: tuple[str, Engine]
) -> None:
    def cities(headers: dict[str, str]) -> dict[str, object]:
        rows = client.get("/api/v1/national/indicators", headers=headers).json()["cities"]
        return {row["city"]: row["cdf"] for row in rows}

    assert set(cities(people["planner"])) == {"tam-ky"}
    assert cities(people["volunteer"]) == {}  # a volunteer reads no city-wide figures
    assert cities({}) == {}
    with network[1].begin() as connection:
        connection.execute(text("UPDATE cities SET public_aggregates = slug = 'long-xuyen'"))
    try:
        assert cities({}) == {"long-xuyen": None}  # aggregates, never the books
        assert cities(people["planner"]) == {"tam-ky": None, "long-xuyen": None}
    finally:
        with network[1].begin() as connection:
            connection.execute(text("UPDATE cities SET public_aggregates = false"))


@pytest.fixture
def hostile_name(network: tuple[str, Engine]) -> Iterator[None]:
    with network[1].begin() as connection:
        connection.execute(
            text("UPDATE cities SET name = :name WHERE slug = 'viet-tri'"), {"name": HOSTILE}
        )
        connection.execute(
            text("UPDATE cities SET name = :name WHERE slug = 'long-xuyen'"), {"name": FORMULA}
        )
    yield
    with network[1].begin() as connection:
        connection.execute(text("UPDATE cities SET name = 'Việt Trì' WHERE slug = 'viet-tri'"))
        connection.execute(text("UPDATE cities SET name = 'Long Xuyên' WHERE slug = 'long-xuyen'"))


def test_csv_in_both_languages_never_starts_a_formula(
    client: TestClient, people: dict[str, dict[str, str]], hostile_name: None
) -> None:
    for language, heading, total in (
        ("vi", "Hộ đã khảo sát", "Cả mạng lưới"),
        ("en", "Households surveyed", "Whole network"),
    ):
        answer = client.get(
            "/api/v1/national/indicators.csv", params={"lang": language}, headers=people["admin"]
        )
        assert answer.status_code == 200 and answer.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
        assert heading in rows[0] and rows[-1][1] == total
        assert len(rows) == 1 + 3 + 1
        names = {row[1] for row in rows[1:-1]}
        assert names == {"Tam Kỳ", HOSTILE, "'" + FORMULA}  # a formula stays text
        for row in rows:
            for cell in row:
                assert not cell.startswith(("=", "+", "@")) or cell.startswith("'")


def test_the_page_escapes_names_and_embeds_no_script(
    client: TestClient, people: dict[str, dict[str, str]], hostile_name: None
) -> None:
    for language, title in (("vi", "Mạng lưới các thành phố CDF"), ("en", "The CDF network")):
        page = client.get("/maps/national", params={"lang": language}, headers=people["admin"])
        assert page.status_code == 200
        assert title in page.text
        assert "<script>alert(1)" not in page.text
        assert page.text.count("</script>") == page.text.count("<script")
        assert "&lt;/script&gt;&lt;script&gt;alert(1)" in page.text  # the table's cell
        assert "{{ 7*7 }}" in page.text.replace("&#34;", '"')  # never a template
    nobody = client.get("/maps/national")
    assert nobody.status_code == 200 and 'id="national-none"' in nobody.text


def test_the_a4_summary_names_every_city_in_both_languages(
    client: TestClient, people: dict[str, dict[str, str]], hostile_name: None, tmp_path: Path
) -> None:
    for language, total in (("vi", "Cả mạng lưới"), ("en", "Whole network")):
        answer = client.get(
            "/maps/national.pdf", params={"lang": language}, headers=people["admin"]
        )
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/pdf"
        pdf = tmp_path / f"national-{language}.pdf"
        pdf.write_bytes(answer.content)
        words = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "Tam Kỳ" in words and total in words
        assert "</script>" in words and "HYPERLINK" in words  # hostile names as plain text
        pages = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
        assert re.search(r"Pages:\s+1\n", pages) and "(A4)" in pages


def test_fifty_cities_continue_the_table_on_more_pages(tmp_path: Path) -> None:
    from app.geo import national_print

    row = {
        "city": "c",
        "name": "Thành phố rất dài tên Nguyễn Thị Minh Khai Phường Mười Hai",
        "province": "P",
        "lon": 105.0,
        "lat": 10.0,
        "households": 20_000,
        "settlements": 40,
        "share_surveyed": 0.5,
        "average_settlement_priority": 50.0,
        "projects_done": 2,
        "data_date": "2026-12-01",
        "cdf": {"savings_balance": 1, "loans_outstanding": 2, "par30": 0.1},
    }
    cities = [dict(row, city=f"c{i}", lat=8 + i * 0.3) for i in range(50)]
    totals = {"cities": 50, "households": 1_000_000, "settlements": 2000, "share_surveyed": 0.5,
              "average_settlement_priority": 50.0, "projects_done": 100, "cdf": None}  # fmt: skip
    pdf = tmp_path / "fifty.pdf"
    pdf.write_bytes(national_print.render({"cities": cities, "totals": totals}, "vi"))
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert re.search(r"Pages:\s+2\n", info)
    words = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert words.count("Thành phố rất dài") == 50 and "Cả mạng lưới" in words


def test_decimals_are_written_as_the_language_writes_them(
    client: TestClient, people: dict[str, dict[str, str]], tmp_path: Path
) -> None:
    """The Vietnamese page and PDF wrote savings "958,3" beside an average priority "42.7"
    and a PAR30 "17.0 %": a decimal takes a comma in Vietnamese, a point in English."""
    from app.geo import national_print

    row = {
        "city": "c", "name": "Tam Kỳ", "province": "Quảng Nam", "lon": 108.5, "lat": 15.5,
        "households": 12_345, "settlements": 40, "share_surveyed": 0.427,
        "average_settlement_priority": 42.7, "projects_done": 2, "data_date": "2026-12-01",
        "cdf": {"savings_balance": 958_300_000, "loans_outstanding": 1_250_000, "par30": 0.17},
    }  # fmt: skip
    totals = {**row, "cities": 1}
    for language, shown, not_shown in (
        ("vi", ["42,7", "17,0 %", "958,3", "12.345"], ["42.7", "17.0 %", "958.3"]),
        ("en", ["42.7", "17.0 %", "958.3", "12,345"], ["42,7", "17,0 %", "958,3"]),
    ):
        pdf = tmp_path / f"national-{language}.pdf"
        pdf.write_bytes(national_print.render({"cities": [row], "totals": totals}, language))
        words = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True)
        for figure in shown:
            assert figure in words.stdout, (language, figure)
        for figure in not_shown:
            assert figure not in words.stdout, (language, figure)
    # The page, from the network's own figures: no decimal point in Vietnamese, no decimal
    # comma in English, in the table and in the map's popups.
    for language, wrong in (("vi", r"\d\.\d(?!\d\d)"), ("en", r"\d,\d(?!\d\d)")):
        page = client.get("/maps/national", params={"lang": language}, headers=people["admin"])
        cells = re.findall(r'<td class="num"[^>]*>([^<]*)</td>', page.text)
        decimals = [cell for cell in cells if re.search(r"\d[.,]\d(?!\d\d)", cell)]
        assert decimals, language  # some percentages and scores to look at
        assert not [cell for cell in cells if re.search(wrong, cell)], language
        popups = re.search(r'id="national-data">(.*?)</script>', page.text, re.S)
        assert popups is not None
        lines = [line for line in re.findall(r'"lines": ?\[(.*?)\]', popups.group(1))]
        assert lines and not [line for line in lines if re.search(wrong, line)], language


@pytest.fixture
def one_in_sixteen(network: tuple[str, Engine]) -> Iterator[int]:
    """Việt Trì's estimate made 16 times its households surveyed in settlements: a share
    surveyed of 0.0625 exactly (6,25 %), which one decimal rounds half up to 6,3."""
    with network[1].begin() as connection:
        city = connection.execute(text("SELECT id FROM cities WHERE slug = 'viet-tri'")).scalar()
        surveyed = connection.execute(
            text(
                "SELECT count(*) FROM household_surveys WHERE city_id = :city "
                "AND status = 'approved' AND form_id = 'household' AND settlement_id IS NOT NULL"
            ),
            {"city": city},
        ).scalar_one()
        assert surveyed > 0
        saved = connection.execute(
            text("SELECT id, households_estimate FROM settlements WHERE city_id = :city"),
            {"city": city},
        ).all()
        connection.execute(
            text("UPDATE settlements SET households_estimate = NULL WHERE city_id = :city"),
            {"city": city},
        )
        connection.execute(
            text("UPDATE settlements SET households_estimate = :estimate WHERE id = :id"),
            {"estimate": 16 * surveyed, "id": saved[0].id},
        )
    yield 16 * surveyed
    with network[1].begin() as connection:
        for row in saved:
            connection.execute(
                text("UPDATE settlements SET households_estimate = :estimate WHERE id = :id"),
                {"estimate": row.households_estimate, "id": row.id},
            )


def test_a_share_reads_the_same_half_up_on_the_page_csv_and_print(
    client: TestClient,
    people: dict[str, dict[str, str]],
    one_in_sixteen: int,
    tmp_path: Path,
) -> None:
    """A share surveyed of 0.0625 is 6,3 % (6.3 % in English) in the page's table, the map's
    popups, the CSV (6.3) and the A4 summary; Python's formatting said 6,2 on screen and in
    the CSV while the summary printed 6 %."""
    report = client.get("/api/v1/national/indicators", headers=people["admin"]).json()
    row = next(row for row in report["cities"] if row["city"] == "viet-tri")
    assert (row["households_estimate"], row["share_surveyed"]) == (one_in_sixteen, 0.0625)
    for language, figure in (("vi", "6,3"), ("en", "6.3")):
        page = client.get("/maps/national", params={"lang": language}, headers=people["admin"])
        assert page.status_code == 200
        table_row = next(tr for tr in page.text.split("<tr") if "Việt Trì" in tr)
        assert f'<td class="num" data-value="0.0625">{figure} %</td>' in table_row, language
        popups = re.search(r'id="national-data">(.*?)</script>', page.text, re.S)
        assert popups is not None
        label = national.LABELS["share_surveyed"][language]
        city = next(c for c in json.loads(popups.group(1))["cities"] if c["name"] == "Việt Trì")
        assert f"{label}: {figure}" in city["lines"], (language, city["lines"])
        answer = client.get(
            "/api/v1/national/indicators.csv", params={"lang": language}, headers=people["admin"]
        )
        rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
        column = rows[0].index(label)
        assert next(r for r in rows if r[0] == "viet-tri")[column] == "6.3", language
        pdf = tmp_path / f"national-{language}.pdf"
        pdf.write_bytes(
            client.get(
                "/maps/national.pdf", params={"lang": language}, headers=people["admin"]
            ).content
        )
        words = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        line = next(line for line in words.splitlines() if line.strip().startswith("Việt Trì"))
        assert re.search(rf"\s{re.escape(figure)} %\s", line + " "), (language, line)


@pytest.mark.parametrize(("language", "day"), [("vi", "01/12/2026"), ("en", "1 Dec 2026")])
def test_the_data_day_is_written_as_the_language_writes_it(
    tmp_path: Path, language: str, day: str
) -> None:
    """The national page's subtitle and the printed summary said "data as of 2026-12-01":
    01/12/2026 in Vietnamese, 1 Dec 2026 in English."""
    from app.geo import national_print
    from app.services.national import page_view

    row = {
        "city": "c", "name": "Tam Kỳ", "province": "Quảng Nam", "lon": 108.5, "lat": 15.5,
        "households": 12_345, "settlements": 40, "share_surveyed": 0.427,
        "average_settlement_priority": 42.7, "projects_done": 2, "data_date": "2026-12-01",
        "cdf": None,
    }  # fmt: skip
    older = dict(row, city="d", name="Hội An", data_date="2026-11-03")
    report = {"cities": [row, older], "totals": {**row, "cities": 2}}
    subtitle = page_view(report, language, None)["subtitle"]
    assert day in subtitle and "2026-" not in subtitle, subtitle
    pdf = tmp_path / f"national-{language}.pdf"
    pdf.write_bytes(national_print.render(report, language))
    raw = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True)
    words = " ".join(raw.stdout.split())
    assert day in words and not re.search(r"\d{4}-\d{2}-\d{2}", words), words
