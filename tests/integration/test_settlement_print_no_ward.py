"""A settlement that lies in no ward (its boundary outside every ward of the import) still has
its meeting map: printed for its city's readers (planners, city admins, national admins; names
for the admins only), never for a ward leader (it is in no ward of theirs) nor anyone outside
the city; its rank is in the city, its neighbours the settlements around it. It answered 404
for everyone."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.auth import bearer, make_token, make_user
from tests.cdf_support import drop_cities, make_city
from tests.integration import test_settlement_print
from tests.integration.test_settlement_print import pdf_text

# The sample's busiest W03 settlement, 600 households (hostile head names among them).
busy_settlement = test_settlement_print.busy_settlement

HOSTILE = "{{7*7}}<img src=x onerror=alert(1)> Tổ $5 Ngoài"
OTHER_CITY = "thanh-pho-khac"
# Who asks -> (their grants, status without names, status with names).
ROLES: dict[str, tuple[list[tuple[str, Any]], int, int]] = {
    "national_admin": ([("national_admin", None)], 200, 200),
    "city_admin": ([("city_admin", ("city", "tam-ky"))], 200, 200),
    "planner": ([("planner", ("city", "tam-ky"))], 200, 403),
    "former_leader": ([("ward_leader", ("ward", "W03"))], 404, 404),
    "other_leader": ([("ward_leader", ("ward", "W01"))], 404, 404),
    "volunteer": ([("volunteer", ("city", "tam-ky"))], 404, 404),
    "other_city_planner": ([("planner", ("city", OTHER_CITY))], 404, 404),
}


@pytest.fixture
def outside(sync_engine: Engine, busy_settlement: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The busy settlement as if its boundary lay in no ward: no ward, nor have its surveys;
    a hostile name. Put back afterwards (the surveys go with clean_surveys)."""
    settlement = busy_settlement["id"]
    with sync_engine.begin() as connection:
        ward_id, name = connection.execute(
            text("SELECT ward_id, name FROM settlements WHERE id = :s"), {"s": settlement}
        ).one()
        connection.execute(
            text("UPDATE settlements SET ward_id = NULL, name = :n WHERE id = :s"),
            {"s": settlement, "n": HOSTILE},
        )
        connection.execute(
            text("UPDATE household_surveys SET ward_id = NULL WHERE settlement_id = :s"),
            {"s": settlement},
        )
    try:
        yield {**busy_settlement, "former_ward": ward_id}
    finally:
        with sync_engine.begin() as connection:
            connection.execute(
                text("UPDATE settlements SET ward_id = :w, name = :n WHERE id = :s"),
                {"s": settlement, "w": ward_id, "n": name},
            )


@pytest.fixture(scope="module")
def other_city(sync_engine: Engine) -> Iterator[None]:
    make_city(sync_engine, OTHER_CITY)
    yield
    drop_cities(sync_engine, OTHER_CITY)


@pytest.mark.parametrize("role", list(ROLES))
def test_who_may_print_a_settlement_in_no_ward(
    client: TestClient,
    sync_engine: Engine,
    outside: dict[str, Any],
    other_city: None,
    role: str,
    tmp_path: Path,
) -> None:
    grants, plain_status, names_status = ROLES[role]
    user = make_user(sync_engine, f"no-ward-print-{role.replace('_', '-')}", grants)
    headers = bearer(make_token(sync_engine, user))
    url = f"/maps/settlements/{outside['id']}"
    names = ["".join(h.name.split()) for h in outside["households"] if h.name]
    plain = client.get(f"{url}.pdf", headers=headers)
    assert plain.status_code == plain_status, plain.text
    if plain_status == 404:
        assert plain.json()["code"] == "not_found"  # as a settlement that does not exist
    else:
        flat = "".join(pdf_text(tmp_path, plain.content, "-raw").split())
        assert not any(name in flat for name in names)  # no name without names=true
        png = client.get(f"{url}.png?lang=en", headers=headers)
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    named = client.get(f"{url}.pdf?names=true&lang=en", headers=headers)
    assert named.status_code == names_status, named.text
    if names_status == 403:
        assert "household names" in named.json()["detail"]
    if names_status == 200:
        flat = "".join(pdf_text(tmp_path, named.content, "-raw").split())
        assert all(name in flat for name in names)


def test_a_settlement_in_no_ward_is_ranked_in_its_city(
    client: TestClient, sync_engine: Engine, outside: dict[str, Any], tmp_path: Path
) -> None:
    """The figures are the city indicators API's row of the settlement: its households and
    its rank in the city (there is no ward to rank it in); the subtitle says it is in no
    ward; its hostile name is printed as text; the settlements around it are drawn."""
    row = next(
        r
        for r in client.get("/api/v1/cities/tam-ky/indicators").json()["settlements"]
        if r["id"] == outside["id"]
    )
    assert row["ward_id"] is None and row["households"] == len(outside["households"])
    assert row["rank_in_city"] is not None
    for language, in_no_ward, rank in (
        ("en", "in no ward", "Rank in the city"),
        ("vi", "không thuộc phường/xã nào", "Hạng trong thành phố"),
    ):
        response = client.get(
            f"/maps/settlements/{outside['id']}.pdf?lang={language}&orientation=portrait"
        )
        assert response.status_code == 200, response.text
        page = pdf_text(tmp_path, response.content, "-l", "1", "-layout")
        flat = "".join(page.split())
        assert "".join(HOSTILE.split()) in flat  # literal: no template, no mathtext
        assert "".join(in_no_ward.split()) in flat
        assert "".join(f"{rank}{row['rank_in_city']}".split()) in flat, page
        assert "".join(rank.split()) in flat and "Hạng trong phường" not in page
    # Its neighbours are the settlements around it (there is no ward's to draw): one put at
    # its north-east corner changes the map, one far away does not. (Their names are drawn
    # with a halo, as paths: compared as pixels, not as text.)
    url = f"/maps/settlements/{outside['id']}.png?lang=en"
    alone = client.get(url).content
    try:
        _add_settlement(sync_engine, outside["id"], "ZZ-FAR", "Xóm Xa", 0.2)
        assert client.get(url).content == alone
        _add_settlement(sync_engine, outside["id"], "ZZ-NEAR", "Xóm Bên", 0)
        assert client.get(url).content != alone
    finally:
        with sync_engine.begin() as connection:
            connection.execute(text("DELETE FROM settlements WHERE code IN ('ZZ-NEAR', 'ZZ-FAR')"))


def _add_settlement(engine: Engine, beside: int, code: str, name: str, away: float) -> None:
    """A small settlement of the city in no ward, `away` degrees north-east of the
    north-east corner of the box of settlement `beside`."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO settlements (city_id, code, name, geom) SELECT s.city_id, :code, "
                ":name, ST_Buffer(ST_SetSRID(ST_MakePoint(ST_XMax(s.geom) + :d, "
                "ST_YMax(s.geom) + :d), 4326), 0.0002) FROM settlements s WHERE s.id = :s"
            ),
            {"code": code, "name": name, "d": away, "s": beside},
        )


def test_the_pdf_renders_every_page(
    client: TestClient, outside: dict[str, Any], tmp_path: Path
) -> None:
    response = client.get(f"/maps/settlements/{outside['id']}.pdf?names=true&size=A3")
    assert response.status_code == 200, response.text
    path = tmp_path / "settlement.pdf"
    path.write_bytes(response.content)
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(path), str(tmp_path / "page")], check=True)
    assert len(list(tmp_path.glob("page-*.png"))) >= 2
