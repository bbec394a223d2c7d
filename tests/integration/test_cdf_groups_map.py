"""The savings groups as a layer of the ward and city maps: per settlement the groups,
members, savings, loans outstanding and PAR30 of the groups a reader may see (the city's
CDF readers all, a ward's leader their ward's, a volunteer none), summing to the CDF report;
hostile group names arrive as data, never as markup or template."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.geo import cdf_groups
from app.i18n import translate
from app.services.sample_cdf import load_sample_cdf
from app.settings import Settings
from tests.auth import bearer, make_token, make_user
from tests.cdf_support import drop_books
from tests.hostile import HTML_SCRIPT, TEMPLATE_CODE
from tests.integration.test_cdf_projects_maps import pdf_text
from tests.integration.test_maps_hostile import check_page, flat

CITY = "tam-ky"
HOSTILE = ("{{ 7*7 }}", "</script><script>alert(1)</script>", HTML_SCRIPT, TEMPLATE_CODE)


@pytest.fixture(scope="module")
def books(sync_engine: Engine) -> Iterator[dict[str, Any]]:
    """The sample city's CDF books, and hostile-named groups in the first ward's first
    settlement (with a member each, so that they count)."""
    drop_books(sync_engine, CITY)
    with sync_engine.begin() as connection:
        city_id = connection.execute(
            text("SELECT id FROM cities WHERE slug = :slug"), {"slug": CITY}
        ).scalar_one()
        load_sample_cdf(connection, city_id, seed=2026, today=date.today())
        ward_id, settlement_id, settlement = connection.execute(
            text(
                "SELECT w.id, s.id, s.name FROM wards w JOIN settlements s ON s.ward_id = w.id "
                "WHERE w.city_id = :city ORDER BY w.code, s.code LIMIT 1"
            ),
            {"city": city_id},
        ).one()
        for number, name in enumerate(HOSTILE, start=1):
            group_id = connection.execute(
                text(
                    "INSERT INTO cdf_groups (fund_id, settlement_id, name, founded_on, "
                    "meeting_frequency, share_value) SELECT f.id, :settlement, :name, "
                    "'2025-01-01', 'monthly', 20000 FROM cdf_funds f WHERE f.city_id = :city "
                    "RETURNING id"
                ),
                {"settlement": settlement_id, "name": name, "city": city_id},
            ).scalar_one()
            connection.execute(
                text(
                    "INSERT INTO cdf_members (group_id, code, name, joined_on) "
                    "VALUES (:group, :code, 'Lê Văn A', '2025-01-01')"
                ),
                {"group": group_id, "code": f"H{number}"},
            )
        # A group registered without a settlement (allowed): on no circle, yet in the report.
        unplaced = connection.execute(
            text(
                "INSERT INTO cdf_groups (fund_id, name, founded_on, meeting_frequency, "
                "share_value) SELECT f.id, 'Nhóm chưa gắn xóm', '2025-01-01', 'monthly', 20000 "
                "FROM cdf_funds f WHERE f.city_id = :city RETURNING id"
            ),
            {"city": city_id},
        ).scalar_one()
        for code in ("U1", "U2"):
            connection.execute(
                text(
                    "INSERT INTO cdf_members (group_id, code, name, joined_on) "
                    "VALUES (:group, :code, 'Lê Văn B', '2025-01-01')"
                ),
                {"group": unplaced, "code": code},
            )
        wards = dict(
            connection.execute(
                text(
                    "SELECT g.id, s.ward_id FROM cdf_groups g "
                    "JOIN settlements s ON s.id = g.settlement_id "
                    "JOIN cdf_funds f ON f.id = g.fund_id WHERE f.city_id = :city"
                ),
                {"city": city_id},
            ).all()
        )
        ward_code = connection.execute(
            text("SELECT code FROM wards WHERE id = :id"), {"id": ward_id}
        ).scalar_one()
    yield {
        "city_id": city_id,
        "ward_id": ward_id,
        "ward_code": ward_code,
        "settlement_id": settlement_id,
        "settlement": settlement,
        "group_wards": wards,
    }
    drop_books(sync_engine, CITY)


def groups_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [f["properties"] for f in (data["groups"] or {"features": []})["features"]]


@pytest.mark.parametrize("language", ["vi", "en"])
def test_city_map_groups_sum_to_the_cdf_report(
    client: TestClient, books: dict[str, Any], language: str
) -> None:
    page = client.get(f"/maps/cities/{CITY}?lang={language}")
    data = check_page(page, translate("map_page.city_title", language, city="Tam Kỳ"))
    shown = groups_of(data)
    report = client.get(f"/api/v1/cdf/{CITY}/report").json()
    # The circles and the groups without a settlement (said in the legend) sum to the report:
    # the unplaced group was in the report's figures but on no circle, and nothing said so.
    unplaced = data["groups"]["unplaced"]
    assert (unplaced["groups"], unplaced["members"]) == (1, 2)
    assert data["legend"]["groups"]["note"].endswith(unplaced["text"])
    assert (
        translate("cdf_groups.unplaced", language, groups=1, members=2, savings="0")
        == unplaced["text"]
    )
    placed = sum(g["groups"] for g in shown)
    assert placed + 1 == report["groups"] == len(books["group_wards"]) + 1
    assert sum(g["members"] for g in shown) + 2 == report["members"]
    everything = [*shown, unplaced]
    assert sum(g["savings_balance"] for g in everything) == report["savings_balance"]
    outstanding = sum(g["loans_outstanding_amount"] for g in everything)
    assert outstanding == report["loans_outstanding"] > 0
    at_risk = sum(g["at_risk_30"] for g in everything)
    assert round(at_risk / outstanding, 4) == report["par30"] > 0
    assert len({g["settlement_id"] for g in shown}) == len(shown)
    # Each settlement's texts, colour and size follow its figures.
    separator = "." if language == "vi" else ","
    for group in shown:
        assert group["savings"] == f"{group['savings_balance']:,}".replace(",", separator)
        assert group["radius"] == cdf_groups.radius(group["members"])
        par = cdf_groups.par_class(group["at_risk_30"], group["loans_outstanding_amount"])
        assert group["colour"] == cdf_groups.PAR_COLOUR[par]
        if group["loans_outstanding_amount"]:  # PAR30 in percent, half up from the exact ratio
            exact = Decimal(100 * group["at_risk_30"]) / group["loans_outstanding_amount"]
            figure = f"{exact.quantize(Decimal('0.1'), ROUND_HALF_UP)} %"
            assert group["par30_text"] == figure.replace(".", "," if language == "vi" else ".")
    assert {g["par_class"] for g in shown} >= {"none", "high"}
    # The hostile names are the groups' names, as typed.
    mine = next(g for g in shown if g["settlement_id"] == books["settlement_id"])
    for name in HOSTILE:
        assert name in mine["group_names"]
    assert "49" not in mine["group_names"]
    assert data["layers"]["groups"] == translate("cdf_groups.layer", language)
    legend = data["legend"]["groups"]
    assert legend["title"] == translate("cdf_groups.legend", language)
    assert [label for _, label in legend["items"]] == [
        translate(f"cdf_groups.par.{code}", language) for code, _ in cdf_groups.PAR_CLASSES
    ]
    assert [key for key, _ in data["groupPopupFields"]][:2] == ["settlement", "group_names"]
    assert dict(data["groupPopupFields"])["par30_text"] == translate(
        "cdf_groups.par30_text", language
    )


def test_ward_map_shows_the_ward_groups(client: TestClient, books: dict[str, Any]) -> None:
    ward_id = books["ward_id"]
    page = client.get(f"/maps/wards/{ward_id}")
    assert page.status_code == 200
    data = check_page(page, ward_title(client, ward_id))
    shown = groups_of(data)
    expected = sum(1 for ward in books["group_wards"].values() if ward == ward_id)
    assert sum(g["groups"] for g in shown) == expected >= len(HOSTILE)


def ward_title(client: TestClient, ward_id: int) -> str:
    wards = client.get(f"/api/v1/cities/{CITY}/wards").json()
    name = next(w["name"] for w in wards if w["id"] == ward_id)
    return translate("map_page.ward_title", "vi", ward=name, city="Tam Kỳ")


def as_person(settings: Settings, engine: Engine, name: str, grants: list[Any]) -> TestClient:
    from app.main import create_app

    token = make_token(engine, make_user(engine, name, grants))
    return TestClient(create_app(settings), headers=bearer(token))


def test_who_sees_the_groups(
    settings: Settings, sync_engine: Engine, books: dict[str, Any], client: TestClient
) -> None:
    ward_id, ward_code = books["ward_id"], books["ward_code"]
    city_title = translate("map_page.city_title", "vi", city="Tam Kỳ")
    everyone = sum(
        g["groups"] for g in groups_of(check_page(client.get(f"/maps/cities/{CITY}"), city_title))
    )
    in_ward = sum(1 for ward in books["group_wards"].values() if ward == ward_id)
    assert everyone > in_ward > 0
    # The city's planner reads the city's CDF figures: every group.
    with as_person(
        settings, sync_engine, "groups-map-planner", [("planner", ("city", CITY))]
    ) as planner:
        data = check_page(planner.get(f"/maps/cities/{CITY}"), city_title)
        assert sum(g["groups"] for g in groups_of(data)) == everyone
    # A ward's leader: the groups of their ward only, on the ward's map.
    with as_person(
        settings, sync_engine, "groups-map-leader", [("ward_leader", ("ward", ward_code))]
    ) as leader:
        data = check_page(leader.get(f"/maps/wards/{ward_id}"), ward_title(leader, ward_id))
        assert sum(g["groups"] for g in groups_of(data)) == in_ward
        assert data["legend"]["groups"] is not None
    # Where the city publishes its map, a volunteer and the public see it, and no CDF
    # figures: no layer, no legend entry.
    with sync_engine.begin() as connection:
        connection.execute(
            text("UPDATE cities SET public_aggregates = true WHERE id = :id"),
            {"id": books["city_id"]},
        )
    try:
        with (
            as_person(
                settings, sync_engine, "groups-map-volunteer", [("volunteer", ("ward", ward_code))]
            ) as volunteer,
            as_person(settings, sync_engine, "groups-map-nobody", []) as nobody,
        ):
            for reader in (volunteer, nobody):
                data = check_page(reader.get(f"/maps/wards/{ward_id}"), ward_title(client, ward_id))
                assert data["groups"] is None and data["legend"]["groups"] is None
                assert data["layers"]["settlements"]  # the map itself is there
    finally:
        with sync_engine.begin() as connection:
            connection.execute(
                text("UPDATE cities SET public_aggregates = false WHERE id = :id"),
                {"id": books["city_id"]},
            )


def test_printed_ward_map_shows_the_groups(
    client: TestClient, books: dict[str, Any], tmp_path: Path
) -> None:
    ward_id = books["ward_id"]
    response = client.get(f"/maps/wards/{ward_id}.pdf")
    assert response.status_code == 200, response.text
    words = pdf_text(tmp_path, response.content)
    assert flat(translate("print_map.groups_symbol", "vi")) in words
    # The hostile names are not printed (the circle carries no name), nor run.
    assert "uid=" not in words
    english = client.get(f"/maps/wards/{ward_id}.pdf?lang=en&orientation=portrait")
    assert flat(translate("print_map.groups_symbol", "en")) in pdf_text(tmp_path, english.content)
