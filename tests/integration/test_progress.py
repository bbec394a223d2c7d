"""Survey progress against a real PostGIS: the figures per settlement, ward and volunteer,
who sees which part (401 / 403 / 404 / own ward only), dates, CSV and the page."""

from __future__ import annotations

import csv
import html
import io
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.main import create_app
from app.settings import Settings
from tests import hostile
from tests.auth import bearer, make_token, make_user

CITY = "progress-city"
HOSTILE = "</title><script>alert(1)</script>{{7*7}}"
FORMULA = "=cmd|' /C calc'!A0"
SESSION_COOKIE = "cdfmap_session"
DAY_1 = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)  # 08:30 in Vietnam
DAY_2 = datetime(2026, 11, 21, 16, 30, tzinfo=UTC)  # 23:30 in Vietnam: still the 21st
SQUARE = "POLYGON((108 15, 108.01 15, 108.01 15.01, 108 15.01, 108 15))"


@pytest.fixture
def place(sync_engine: Engine, clean_surveys: None) -> Iterator[dict[str, Any]]:
    """A city of two wards and four settlements (estimates 10, unknown, 0 and 4; hostile
    names), people in every role, and surveys of every status; removed afterwards."""
    with sync_engine.begin() as connection:
        city_id = connection.execute(
            text("INSERT INTO cities (slug, name) VALUES (:s, :n) RETURNING id"),
            {"s": CITY, "n": "Thành phố " + HOSTILE},
        ).scalar_one()
        wards = {}
        for code, name in (("P1", "Phường Hòa Thuận Đông"), ("P2", hostile.HTML_ATTRIBUTE)):
            wards[code] = connection.execute(
                text(
                    "INSERT INTO wards (city_id, code, name, geom) VALUES "
                    "(:c, :code, :name, ST_Multi(ST_GeomFromText(:g, 4326))) RETURNING id"
                ),
                {"c": city_id, "code": code, "name": name, "g": SQUARE},
            ).scalar_one()
        settlements = {}
        for code, ward, name, estimate in (
            ("A", "P1", "Khu A", 10),
            ("B", "P1", "Khu B", None),
            ("C", "P2", '=HYPERLINK("http://x.invalid","a")', 0),
            ("D", "P2", HOSTILE, 4),
        ):
            settlements[code] = connection.execute(
                text(
                    "INSERT INTO settlements (city_id, ward_id, code, name, households_estimate, "
                    "geom) VALUES (:c, :w, :code, :name, :e, ST_GeomFromText(:g, 4326)) "
                    "RETURNING id"
                ),
                {
                    "c": city_id,
                    "w": wards[ward],
                    "code": code,
                    "name": name,
                    "e": estimate,
                    "g": SQUARE,
                },
            ).scalar_one()
    people = {
        "admin": [("city_admin", ("city", CITY))],
        "planner": [("planner", ("city", CITY))],
        "leader": [("ward_leader", ("ward", "P1"))],
        "volunteer": [("volunteer", ("ward", "P1"))],
        "volunteer2": [("volunteer", ("ward", "P2"))],
        "outsider": [("city_admin", ("city", "tam-ky"))],
    }
    ids = {
        name: make_user(sync_engine, f"progress-{name}", grants, city=CITY)
        for name, grants in people.items()
    }
    with sync_engine.begin() as connection:
        connection.execute(
            text("UPDATE users SET display_name = :n WHERE id = :id"),
            {"n": FORMULA, "id": ids["volunteer2"]},
        )
        connection.execute(
            text("UPDATE users SET display_name = 'Trần Văn Tình' WHERE id = :id"),
            {"id": ids["volunteer"]},
        )
    surveys = [
        # settlement, ward, status, form, collector, when
        ("A", "P1", "approved", "household", "volunteer", DAY_1),
        ("A", "P1", "received", "household", "volunteer", DAY_1),
        ("A", "P1", "needs_correction", "household", "volunteer", DAY_2),
        ("A", "P1", "rejected", "household", "volunteer", DAY_2),
        ("A", "P1", "approved", "settlement_profile", "volunteer", DAY_2),
        ("B", "P1", "approved", "household", "leader", DAY_1),
        ("B", "P1", "approved", "household", "leader", DAY_1),
        ("C", "P2", "approved", "household", "volunteer2", DAY_2),
        (None, "P2", "approved", "household", "volunteer2", DAY_2),
        (None, None, "received", "household", None, DAY_2),
    ]
    with sync_engine.begin() as connection:
        for settlement, ward, status, form, collector, when in surveys:
            connection.execute(
                text(
                    "INSERT INTO household_surveys (id, city_id, ward_id, settlement_id, "
                    "form_id, form_version, collector, collected_at, status, answers, "
                    "content_hash, collector_user_id) VALUES (:id, :c, :w, :s, :form, '1', "
                    ":collector, :at, :status, '{}'::jsonb, 'x', :user)"
                ),
                {
                    "id": uuid.uuid4(),
                    "c": city_id,
                    "w": wards.get(ward or ""),
                    "s": settlements.get(settlement or ""),
                    "form": form,
                    "collector": "tnv-sheet" if collector is None else "phone",
                    "at": when,
                    "status": status,
                    "user": ids[collector] if collector else None,
                },
            )
    tokens = {name: make_token(sync_engine, user_id) for name, user_id in ids.items()}
    sessions = {
        name: make_token(sync_engine, user_id, kind="session") for name, user_id in ids.items()
    }
    yield {
        "city_id": city_id,
        "wards": wards,
        "settlements": settlements,
        "users": ids,
        "tokens": tokens,
        "sessions": sessions,
    }
    with sync_engine.begin() as connection:
        connection.execute(text("TRUNCATE household_surveys CASCADE"))
        connection.execute(
            text("DELETE FROM users WHERE id = ANY(:ids)"), {"ids": list(ids.values())}
        )
        connection.execute(text("DELETE FROM cities WHERE id = :id"), {"id": city_id})


@pytest.fixture
def app_client(settings: Settings) -> Iterator[TestClient]:
    """The app with nobody signed in: each request brings its own token or cookie."""
    with TestClient(create_app(settings)) as client:
        yield client


def _get(client: TestClient, place: dict[str, Any], who: str, url: str, **params: Any) -> Any:
    return client.get(url, params=params, headers=bearer(place["tokens"][who]))


def _by_code(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["code"]: row for row in rows}


def test_figures_per_settlement_ward_and_city(
    app_client: TestClient, place: dict[str, Any]
) -> None:
    answer = _get(app_client, place, "admin", f"/api/v1/progress/{CITY}")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    settlements = _by_code(report["settlements"])
    a = settlements["A"]
    # Households: the household form only, rejected ones not counted; surveys: every form.
    assert a["households"] == 3 and a["estimate"] == 10 and a["share_surveyed"] == 0.3
    assert (a["surveys"], a["waiting"], a["approved"], a["needs_correction"], a["rejected"]) == (
        5,
        1,
        2,
        1,
        1,
    )
    assert settlements["B"]["households"] == 2 and settlements["B"]["share_surveyed"] is None
    assert settlements["B"]["estimate"] is None  # unknown, not 0
    assert settlements["C"]["estimate"] == 0 and settlements["C"]["share_surveyed"] is None
    assert settlements["D"]["households"] == 0 and settlements["D"]["share_surveyed"] == 0.0
    assert settlements["D"]["name"] == HOSTILE
    wards = _by_code(report["wards"])
    assert wards["P1"]["households"] == 5 and wards["P1"]["estimate"] == 10
    assert wards["P1"]["settlements_without_estimate"] == 1
    assert wards["P1"]["share_surveyed"] is None  # an estimate is missing: unknown
    assert wards["P2"]["households"] == 2 and wards["P2"]["share_surveyed"] == 0.5
    assert report["outside_settlements"]["households"] == 2  # one of them in no ward either
    assert report["outside_wards"]["households"] == 1
    total = report["total"]
    assert total["households"] == 8 and total["surveys"] == 10 and total["estimate"] == 14
    assert total["settlements"] == 4 and total["share_surveyed"] is None
    assert report["wards_shown"] is None


def test_figures_move_as_soon_as_a_survey_is_reviewed(
    app_client: TestClient, place: dict[str, Any], sync_engine: Engine
) -> None:
    url = f"/api/v1/progress/{CITY}"
    before = _by_code(_get(app_client, place, "admin", url).json()["settlements"])["D"]
    with sync_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO household_surveys (id, city_id, ward_id, settlement_id, form_id, "
                "form_version, collected_at, answers, content_hash) "
                "VALUES (:id, :c, :w, :s, 'household', '1', now(), '{}', 'y')"
            ),
            {
                "id": uuid.uuid4(),
                "c": place["city_id"],
                "w": place["wards"]["P2"],
                "s": place["settlements"]["D"],
            },
        )
    after = _by_code(_get(app_client, place, "admin", url).json()["settlements"])["D"]
    assert (before["households"], after["households"]) == (0, 1)
    assert after["share_surveyed"] == 0.25 and after["waiting"] == 1


def test_per_volunteer_per_day_in_vietnam_time(
    app_client: TestClient, place: dict[str, Any]
) -> None:
    url = f"/api/v1/progress/{CITY}/volunteers"
    answer = _get(app_client, place, "admin", url, **{"from": "2026-11-20", "to": "2026-11-22"})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert [day["day"] for day in report["days"]] == ["2026-11-20", "2026-11-21", "2026-11-22"]
    assert [day["surveys"] for day in report["days"]] == [4, 6, 0]
    rows = {(item["day"], item["name"]): item for item in report["items"]}
    mine = rows[("2026-11-20", "Trần Văn Tình")]
    assert mine["surveys"] == 2 and mine["households"] == 2 and mine["approved"] == 1
    assert mine["username"] == "progress-volunteer"
    assert rows[("2026-11-21", "Trần Văn Tình")]["rejected"] == 1
    assert rows[("2026-11-21", "tnv-sheet")]["user_id"] is None  # loaded from a file
    assert rows[("2026-11-21", FORMULA)]["surveys"] == 2
    assert set(report["items"][0]) == {
        "day",
        "user_id",
        "name",
        "username",
        "households",
        "surveys",
        "waiting",
        "approved",
        "needs_correction",
        "rejected",
    }  # no phone, no e-mail
    quiet = _get(app_client, place, "admin", url, **{"from": "2026-11-22", "to": "2026-11-22"})
    assert quiet.json()["items"] == [] and quiet.json()["days"][0]["surveys"] == 0


def test_who_sees_which_part(app_client: TestClient, place: dict[str, Any]) -> None:
    url = f"/api/v1/progress/{CITY}"
    assert app_client.get(url).status_code == 401
    assert app_client.get(f"{url}/volunteers").status_code == 401
    for who in ("admin", "planner"):
        assert _get(app_client, place, who, url).status_code == 200
    # A ward leader: their ward, and nothing of the other.
    led = _get(app_client, place, "leader", url).json()
    assert [w["code"] for w in led["wards"]] == ["P1"]
    assert sorted(s["code"] for s in led["settlements"]) == ["A", "B"]
    assert led["total"]["households"] == 5 and led["outside_wards"] is None
    assert led["wards_shown"] == [place["wards"]["P1"]]
    p1, p2 = place["wards"]["P1"], place["wards"]["P2"]
    assert _get(app_client, place, "leader", url, ward=p1).status_code == 200
    assert _get(app_client, place, "leader", url, ward=p2).status_code == 404
    days = {"from": "2026-11-20", "to": "2026-11-21"}
    led_days = _get(app_client, place, "leader", f"{url}/volunteers", **days).json()
    assert {item["name"] for item in led_days["items"]} == {"Trần Văn Tình", "progress-leader"}
    # A volunteer: no place figures, and per day only their own surveys.
    refused = _get(app_client, place, "volunteer", url)
    assert refused.status_code == 403 and refused.json()["code"] == "progress_forbidden"
    own = _get(app_client, place, "volunteer", f"{url}/volunteers", **days).json()
    assert own["own_only"] is True
    assert {item["name"] for item in own["items"]} == {"Trần Văn Tình"}
    assert sum(day["surveys"] for day in own["days"]) == 5
    # Someone with no role in this city: it does not exist for them.
    assert _get(app_client, place, "outsider", url).status_code == 404
    assert _get(app_client, place, "outsider", f"{url}/volunteers").status_code == 404
    # A ward of another city, asked by the city's admin.
    other = _get(app_client, place, "admin", "/api/v1/progress/tam-ky")
    assert other.status_code == 404
    assert _get(app_client, place, "admin", url, ward=2_000_000).status_code == 404
    assert _get(app_client, place, "admin", "/api/v1/progress/NOT_A_SLUG").status_code == 422


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-13-01"},
        {"from": "yesterday"},
        {"to": "2026-1-1"},
        {"to": "20261101"},
        {"from": "2026-11-01\x00"},
        {"from": "Phường Hòa Thuận Đông"},
        {"from": "{{7*7}}"},
        {"from": FORMULA},
        {"from": "2026-11-10", "to": "2026-11-09"},
        {"from": "2025-01-01", "to": "2026-01-02"},
        {"from": "0001-01-01", "to": "9999-12-31"},
        {"ward": "x"},
        {"format": "xlsx"},
    ],
)
def test_bad_dates_and_ranges_are_422(
    app_client: TestClient, place: dict[str, Any], params: dict[str, str]
) -> None:
    answer = _get(app_client, place, "admin", f"/api/v1/progress/{CITY}/volunteers", **params)
    assert answer.status_code == 422, answer.text


def test_a_year_of_days_is_allowed_and_lone_surrogates_are_422(
    app_client: TestClient, place: dict[str, Any]
) -> None:
    url = f"/api/v1/progress/{CITY}/volunteers"
    year = _get(app_client, place, "admin", url, **{"from": "2026-01-01", "to": "2026-12-31"})
    assert year.status_code == 200 and len(year.json()["days"]) == 365
    leap = _get(app_client, place, "admin", url, **{"from": "2024-01-01", "to": "2024-12-31"})
    assert leap.status_code == 200 and len(leap.json()["days"]) == 366
    broken = app_client.get(f"{url}?from=%ED%A0%80", headers=bearer(place["tokens"]["admin"]))
    assert broken.status_code == 422
    vietnamese = _get(app_client, place, "admin", url, **{"from": "x"})
    assert "Ngày không hợp lệ" in vietnamese.text


def test_csv_cells_never_run_as_formulas(app_client: TestClient, place: dict[str, Any]) -> None:
    url = f"/api/v1/progress/{CITY}"
    places = _get(app_client, place, "admin", url, format="csv", lang="en")
    assert places.status_code == 200 and places.headers["content-type"].startswith("text/csv")
    assert places.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(places.content.decode()[1:])))
    assert rows[0][:3] == ["Level", "Code", "Name"]
    names = [row[2] for row in rows[1:]]
    assert "'" + '=HYPERLINK("http://x.invalid","a")' in names and HOSTILE in names
    for row in rows:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row), row
    days = _get(
        app_client,
        place,
        "admin",
        f"{url}/volunteers",
        format="csv",
        **{"from": "2026-11-20", "to": "2026-11-21"},
    )
    assert days.status_code == 200
    day_rows = list(csv.reader(io.StringIO(days.content.decode()[1:])))
    assert day_rows[0][0] == "Ngày"  # Vietnamese by default
    assert "'" + FORMULA in [row[1] for row in day_rows[1:]]
    for row in day_rows:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row), row


def _page(client: TestClient, session: str | None, url: str) -> Any:
    client.cookies.clear()
    if session:
        client.cookies.set(SESSION_COOKIE, session)
    return client.get(url, follow_redirects=False)


def test_the_page_escapes_every_name_and_draws_its_charts(
    app_client: TestClient, place: dict[str, Any]
) -> None:
    url = f"/progress/{CITY}?from=2026-11-20&to=2026-11-21"
    response = _page(app_client, place["sessions"]["admin"], url)
    assert response.status_code == 200, response.text
    body = response.text
    assert "<script>alert" not in body and "<img src=x" not in body and ">49<" not in body
    assert "{{7*7}}" in body  # the name as the text it is, not run as a template
    unescaped = html.unescape(body)
    assert HOSTILE in unescaped and hostile.HTML_ATTRIBUTE in unescaped
    assert "Phường Hòa Thuận Đông" in unescaped
    assert "<title>Tiến độ khảo sát: Thành phố &lt;/title&gt;" in body
    assert body.count('<svg class="chart"') == 2
    assert "url(#unknown-hatch)" in body  # settlement B: no estimate, a hatched bar
    assert "chưa rõ" in body and "<script" not in body.split("<main>")[1].split("</main>")[0]
    assert 'id="total-households">8<' in body
    p1 = place["wards"]["P1"]
    assert f'href="/progress/{CITY}?ward={p1}&amp;lang=vi&amp;from=2026-11-20' in body
    one_ward = _page(app_client, place["sessions"]["admin"], f"/progress/{CITY}?ward={p1}")
    assert one_ward.status_code == 200 and "Xem mọi phường/xã" in one_ward.text
    assert "{{7*7}}" not in one_ward.text.split('id="settlements"')[1].split("</table>")[0]
    english = _page(app_client, place["sessions"]["admin"], url + "&lang=en")
    assert "Survey progress" in english.text and "unknown" in english.text


def test_the_page_answers_each_role(app_client: TestClient, place: dict[str, Any]) -> None:
    url = f"/progress/{CITY}"
    anonymous = _page(app_client, None, url + "?ward=1")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login?next=/progress/")
    volunteer = _page(app_client, place["sessions"]["volunteer"], url)
    assert volunteer.status_code == 403 and "tình nguyện viên" in volunteer.text
    leader = _page(app_client, place["sessions"]["leader"], url)
    assert leader.status_code == 200
    assert "Khu A" in leader.text and "Khu B" in leader.text
    table = leader.text.split('id="settlements"')[1].split("</table>")[0]
    assert "Khu A" in table and "{{7*7}}" not in table  # settlement D is in the other ward
    p2 = place["wards"]["P2"]
    assert _page(app_client, place["sessions"]["leader"], f"{url}?ward={p2}").status_code == 404
    assert _page(app_client, place["sessions"]["outsider"], url).status_code == 404
    bad = _page(app_client, place["sessions"]["admin"], f"{url}?from=2026-02-30")
    assert bad.status_code == 422 and "Ngày không hợp lệ" in bad.text
    assert _page(app_client, place["sessions"]["planner"], url).status_code == 200


def test_the_page_rounds_shares_half_up_as_the_maps_do(
    app_client: TestClient, place: dict[str, Any], sync_engine: Engine
) -> None:
    """1 of 8 households is 13 %, 5 of 8 is 63 % on the page (table and chart), as on the
    maps and prints (app.i18n.whole_percent); Python's round() said 12 % and 62 %."""
    with sync_engine.begin() as connection:
        connection.execute(
            text("UPDATE settlements SET households_estimate = 8 WHERE id = ANY(:ids)"),
            {"ids": [place["settlements"]["A"], place["settlements"]["D"]]},
        )
        for settlement, ward, count in (("A", "P1", 2), ("D", "P2", 1)):
            for _ in range(count):
                connection.execute(
                    text(
                        "INSERT INTO household_surveys (id, city_id, ward_id, settlement_id, "
                        "form_id, form_version, collected_at, answers, content_hash) "
                        "VALUES (:id, :c, :w, :s, 'household', '1', now(), '{}', 'z')"
                    ),
                    {
                        "id": uuid.uuid4(),
                        "c": place["city_id"],
                        "w": place["wards"][ward],
                        "s": place["settlements"][settlement],
                    },
                )
    report = _get(app_client, place, "admin", f"/api/v1/progress/{CITY}").json()
    settlements = _by_code(report["settlements"])
    assert (settlements["A"]["households"], settlements["A"]["estimate"]) == (5, 8)
    assert (settlements["D"]["households"], settlements["D"]["estimate"]) == (1, 8)
    for language in ("vi", "en"):
        body = _page(app_client, place["sessions"]["admin"], f"/progress/{CITY}?lang={language}")
        assert body.status_code == 200, body.text
        table = body.text.split('id="settlements"')[1].split("</table>")[0]
        rows = {
            name: row for row in table.split("<tr>") for name in ("Khu A", "7*7") if name in row
        }
        assert '<td class="num">63 %</td>' in rows["Khu A"], language
        assert '<td class="num">13 %</td>' in rows["7*7"], language
        chart = body.text.split('id="settlement-chart-title"')[1].split("</svg>")[0]
        assert "5 / 8 · 63 %" in chart and "1 / 8 · 13 %" in chart, language
        assert "62 %" not in body.text and "12 %" not in body.text, language


def test_the_csv_rounds_shares_half_up_as_the_page_does(
    app_client: TestClient, place: dict[str, Any], sync_engine: Engine
) -> None:
    """1 of 16 households is 6.3 in the CSV (app.i18n.percent_text, the national CSV's
    rounding); Python's formatting said 6.2, the binary 6.25 rounded half to even."""
    with sync_engine.begin() as connection:
        connection.execute(
            text("UPDATE settlements SET households_estimate = 16 WHERE id = :id"),
            {"id": place["settlements"]["D"]},
        )
        connection.execute(
            text(
                "INSERT INTO household_surveys (id, city_id, ward_id, settlement_id, "
                "form_id, form_version, collected_at, answers, content_hash) "
                "VALUES (:id, :c, :w, :s, 'household', '1', now(), '{}', 'z')"
            ),
            {
                "id": uuid.uuid4(),
                "c": place["city_id"],
                "w": place["wards"]["P2"],
                "s": place["settlements"]["D"],
            },
        )
    url = f"/api/v1/progress/{CITY}"
    report = _get(app_client, place, "admin", url).json()
    assert _by_code(report["settlements"])["D"]["share_surveyed"] == 0.0625
    for language in ("vi", "en"):
        answer = _get(app_client, place, "admin", url, format="csv", lang=language)
        rows = list(csv.reader(io.StringIO(answer.content.decode()[1:])))
        column = rows[0].index("Tỷ lệ đã khảo sát" if language == "vi" else "Share surveyed")
        row = next(row for row in rows if row[1] == "D")
        assert row[column] == "6.3", (language, row)  # a dot in both: machine-readable


def test_the_day_charts_axis_writes_days_as_each_language_does(
    app_client: TestClient, place: dict[str, Any]
) -> None:
    url = f"/progress/{CITY}?from=2026-11-20&to=2026-11-21"
    axis = re.compile(r'<text x="[^"]*" y="[^"]*" class="value">([^<]*)</text>')
    vietnamese = axis.findall(_page(app_client, place["sessions"]["admin"], url).text)
    assert "20/11" in vietnamese and "11-20" not in vietnamese  # day before month
    english = axis.findall(_page(app_client, place["sessions"]["admin"], url + "&lang=en").text)
    assert "20 Nov" in english


def test_the_pages_dates_follow_its_language(app_client: TestClient, place: dict[str, Any]) -> None:
    """The range, the day chart's tooltips and the volunteers' days: 20/11/2026 in Vietnamese,
    20 Nov 2026 in English; the ISO form only where a machine reads it (inputs, links)."""
    url = f"/progress/{CITY}?from=2026-11-20&to=2026-11-21"
    session = place["sessions"]["admin"]
    for language, first, last in (
        ("vi", "20/11/2026", "21/11/2026"),
        ("en", "20 Nov 2026", "21 Nov 2026"),
    ):
        body = _page(app_client, session, f"{url}&lang={language}").text
        day_range = re.search(r'<span class="muted"[^>]*>([^<]* – [^<]*)</span></h2>', body)
        assert day_range and day_range.group(1) == f"{first} – {last}", language
        tooltips = re.findall(r"<g>\s*<title>([^<:]*):", body)
        assert tooltips == [first, last], (language, tooltips)
        table = body.split('id="volunteers"')[1].split("</table>")[0]
        days = re.findall(r"<tr><td>([^<]*)</td>", table)
        assert days and set(days) == {first, last}, (language, days)
        assert 'type="date" name="from" value="2026-11-20"' in body  # the input stays ISO
        shown = re.sub(r'(value|href)="[^"]*"', "", body)
        assert "2026-11-2" not in shown, language


def test_the_pages_figures_are_grouped_as_each_language_writes_them(
    app_client: TestClient, place: dict[str, Any], sync_engine: Engine
) -> None:
    """The page wrote every figure with a dot for thousands, English too (1.208 households
    where English writes 1,208); now as app.i18n.number_text writes them: 1.208 / 1,208."""
    with sync_engine.begin() as connection:
        connection.execute(
            text("UPDATE settlements SET households_estimate = 12345 WHERE id = :id"),
            {"id": place["settlements"]["A"]},
        )
        connection.execute(
            text(
                "INSERT INTO household_surveys (id, city_id, ward_id, settlement_id, form_id, "
                "form_version, collected_at, answers, content_hash) SELECT gen_random_uuid(), "
                ":c, :w, :s, 'household', '1', :at, '{}', 'z' FROM generate_series(1, 1200)"
            ),
            {
                "c": place["city_id"],
                "w": place["wards"]["P1"],
                "s": place["settlements"]["A"],
                "at": DAY_2,
            },
        )
    url = f"/progress/{CITY}?from=2026-11-20&to=2026-11-21"
    second_day = {"vi": "21/11/2026", "en": "21 Nov 2026"}
    for language, households, estimate, surveys in (
        ("vi", "1.208", "12.345", "1.203"),
        ("en", "1,208", "12,345", "1,203"),
    ):
        body = _page(app_client, place["sessions"]["admin"], f"{url}&lang={language}").text
        assert f'id="total-households">{households}<' in body, language
        table = body.split('id="settlements"')[1].split("</table>")[0]
        row = next(row for row in table.split("<tr>") if "Khu A" in row)
        # Khu A: 1,203 households of an estimate of 12,345; 1,204 surveys (one a profile).
        cells = re.findall(r'<td class="num">([^<]*)', row)
        assert cells[:2] == [surveys, estimate], (language, cells)
        chart = body.split('id="settlement-chart-title"')[1].split("</svg>")[0]
        assert f"{surveys} / {estimate} · 10 %" in chart, language
        days = body.split('id="day-chart-title"')[1].split("</svg>")[0]
        # 21 Nov: 1,200 surveys and 6 of the fixture's, on the tooltip and the axis's top.
        day = "1.206" if language == "vi" else "1,206"
        assert f"<title>{second_day[language]}: {day}</title>" in days, language
        assert f'class="value">{day}</text>' in days, language
        other = "1,2" if language == "vi" else "1.2"
        shown = re.sub(r'(value|href|viewBox|transform|x|y|width|height)="[^"]*"', "", body)
        assert other + "0" not in shown, language
