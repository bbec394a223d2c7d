"""A boundary re-import that moves surveys puts each move on the survey's own record.

"Every change to a survey (review, correction, boundary change that moves it) is kept in an
audit log: who, when, what, the old value." A re-import moved surveys to another ward or
settlement with one `city.boundaries` entry (`old: null`, a count) from the admin page and
none at all from the command line: `GET /api/v1/submissions/{id}/history` of a moved survey
showed nothing. Each moved survey now has a `survey.place` entry (old and new ward and
settlement, the admin or `cli`), written by the statement that moves it; one that stays has
none.

The town lies in Quảng Bình, clear of the sample city and of the other tests' towns.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.main import create_app
from app.settings import REPO_ROOT, Settings
from tests.auth import bearer, make_token, make_user
from tests.factories import household_answers, household_survey

SLUG = "zz-thi-tran-lich-su"
LAT, WEST = 17.45, 106.70
HEAD_NAME, HEAD_PHONE = "Lê Thị Riêng Tư", "0977000111"


def box(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def collection(features: list[tuple[dict[str, Any], dict[str, Any]]]) -> bytes:
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": p, "geometry": g} for p, g in features],
        },
        ensure_ascii=False,
    ).encode()


def town(h1_east: float, hs1_east: float) -> tuple[bytes, bytes]:
    """Two wards split at `h1_east`; settlement HS1 in H1 up to `hs1_east`, HS2 in H2."""
    wards = collection(
        [
            ({"code": "H1", "name": "Phường Một"}, box(WEST, LAT, h1_east, LAT + 0.01)),
            ({"code": "H2", "name": "Phường Hai"}, box(h1_east, LAT, WEST + 0.02, LAT + 0.01)),
        ]
    )
    settlements = collection(
        [
            (
                {"code": "HS1", "name": "Tổ Một", "ward_code": "H1"},
                box(WEST + 0.001, LAT + 0.001, hs1_east, LAT + 0.006),
            ),
            (
                {"code": "HS2", "name": "Tổ Hai", "ward_code": "H2"},
                box(WEST + 0.012, LAT + 0.001, WEST + 0.018, LAT + 0.006),
            ),
        ]
    )
    return wards, settlements


FIRST = town(h1_east=WEST + 0.010, hs1_east=WEST + 0.006)
# H1 ends further west and HS1 shrinks: one survey changes ward, one leaves its settlement.
SECOND = town(h1_east=WEST + 0.008, hs1_east=WEST + 0.004)
POINTS = {
    "stays": (WEST + 0.002, LAT + 0.002),  # H1 and HS1 before and after
    "ward": (WEST + 0.009, LAT + 0.008),  # H1 -> H2, in no settlement
    "settlement": (WEST + 0.005, LAT + 0.003),  # HS1 -> none, in H1
}


def remove_town(engine: Engine) -> None:
    with engine.begin() as connection:
        city = connection.execute(
            text("SELECT id FROM cities WHERE slug = :s"), {"s": SLUG}
        ).scalar()
        if city is not None:
            connection.execute(
                text("DELETE FROM household_surveys WHERE city_id = :c"), {"c": city}
            )
            connection.execute(text("DELETE FROM role_grants WHERE city_id = :c"), {"c": city})
            connection.execute(text("DELETE FROM cities WHERE id = :c"), {"c": city})


@pytest.fixture
def web(
    settings: Settings, clean_surveys: None, sync_engine: Engine, admin_token: str
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The app with the town imported and one survey at each point; the surveys' ids."""
    remove_town(sync_engine)
    with TestClient(create_app(settings)) as client:
        national = bearer(admin_token)
        assert upload(client, national, FIRST, name="Thị trấn Lịch Sử").status_code == 201
        ids = {}
        for key, (lon, lat) in POINTS.items():
            body = household_survey(
                location={"lat": lat, "lon": lon, "accuracy_m": 5.0},
                answers=household_answers(head_name=HEAD_NAME, head_phone=HEAD_PHONE),
            )
            response = client.post("/api/v1/submissions", json=body, headers=national)
            assert response.status_code == 201, response.text
            ids[key] = body["id"]
        yield client, ids
    remove_town(sync_engine)


def upload(
    client: TestClient, headers: dict[str, str], files: tuple[bytes, bytes], **data: str
) -> Any:
    wards, settlements = files
    return client.post(
        f"/api/v1/cities/{SLUG}/boundaries",
        files={
            "wards": ("wards.geojson", wards, "application/geo+json"),
            "settlements": ("settlements.geojson", settlements, "application/geo+json"),
        },
        data=data,
        headers=headers,
    )


def places(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT t.code, t.id FROM wards t JOIN cities c ON c.id = t.city_id "
                "WHERE c.slug = :s UNION ALL SELECT t.code, t.id FROM settlements t "
                "JOIN cities c ON c.id = t.city_id WHERE c.slug = :s"
            ),
            {"s": SLUG},
        ).all()
    return {code: id_ for code, id_ in rows}


def expected_moves(ids: dict[str, int]) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    h1 = {"ward_id": ids["H1"], "ward": "Phường Một"}
    h2 = {"ward_id": ids["H2"], "ward": "Phường Hai"}
    hs1 = {"settlement_id": ids["HS1"], "settlement": "Tổ Một"}
    nowhere = {"settlement_id": None, "settlement": None}
    return {
        "ward": ({**h1, **nowhere}, {**h2, **nowhere}),
        "settlement": ({**h1, **hs1}, {**h1, **nowhere}),
    }


def moves(client: TestClient, survey_id: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/submissions/{survey_id}/history", headers=headers)
    assert response.status_code == 200, response.text
    return [c for c in response.json()["changes"] if c["action"] == "survey.place"]


def test_a_reimport_on_the_admin_page_puts_each_move_on_the_surveys_history(
    web: tuple[TestClient, dict[str, str]], sync_engine: Engine
) -> None:
    client, surveys = web
    admin = make_user(sync_engine, "zz-lich-su-admin", [("city_admin", ("city", SLUG))], city=SLUG)
    planner = make_user(sync_engine, "zz-lich-su-planner", [("planner", ("city", SLUG))], city=SLUG)
    leader = make_user(sync_engine, "zz-lich-su-h2", [("ward_leader", ("ward", "H2"))], city=SLUG)
    moved = upload(client, bearer(make_token(sync_engine, admin)), SECOND)
    assert moved.status_code == 200, moved.text
    assert moved.json()["households_placed_again"] == 2
    expected = expected_moves(places(sync_engine))
    for reader in (admin, planner):
        headers = bearer(make_token(sync_engine, reader))
        assert moves(client, surveys["stays"], headers) == []
        for key, (old, new) in expected.items():
            (entry,) = moves(client, surveys[key], headers)
            assert (entry["old"], entry["new"], entry["actor"]) == (old, new, "zz-lich-su-admin")
            assert entry["at"]
            # Places only: nothing personal, whoever reads it.
            assert HEAD_NAME not in json.dumps(entry) and HEAD_PHONE not in json.dumps(entry)
    # The leader of the ward it moved into reads it, and its move.
    (entry,) = moves(client, surveys["ward"], bearer(make_token(sync_engine, leader)))
    assert entry["new"]["ward"] == "Phường Hai"
    # Moved back: a second entry each, the other way round.
    back = upload(client, bearer(make_token(sync_engine, admin)), FIRST)
    assert back.json()["households_placed_again"] == 2
    headers = bearer(make_token(sync_engine, admin))
    for key, (old, new) in expected.items():
        _there, back_again = moves(client, surveys[key], headers)
        assert (back_again["old"], back_again["new"]) == (new, old)
    with sync_engine.connect() as connection:
        city_entries = connection.execute(
            text(
                "SELECT actor, new->>'households_placed_again' FROM audit_log "
                "WHERE entity = 'city' AND entity_id = (SELECT id::text FROM cities "
                "WHERE slug = :s) ORDER BY id"
            ),
            {"s": SLUG},
        ).all()
    assert [tuple(row) for row in city_entries][-2:] == [
        ("zz-lich-su-admin", "2"),
        ("zz-lich-su-admin", "2"),
    ]


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "import-boundaries", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_reimport_from_the_command_line_puts_each_move_on_record_as_cli(
    web: tuple[TestClient, dict[str, str]],
    sync_engine: Engine,
    database_url: str,
    tmp_path: Path,
    admin_token: str,
) -> None:
    client, surveys = web
    wards, settlements = tmp_path / "wards.geojson", tmp_path / "settlements.geojson"
    wards.write_bytes(SECOND[0])
    settlements.write_bytes(SECOND[1])
    done = cli(
        database_url,
        "--city",
        SLUG,
        "--name",
        "Thị trấn Lịch Sử",
        "--wards",
        str(wards),
        "--settlements",
        str(settlements),
    )
    assert done.returncode == 0, done.stderr
    assert "2 stored households placed again" in done.stdout
    headers = bearer(admin_token)
    assert moves(client, surveys["stays"], headers) == []
    for key, (old, new) in expected_moves(places(sync_engine)).items():
        (entry,) = moves(client, surveys[key], headers)
        assert (entry["old"], entry["new"], entry["actor"]) == (old, new, "cli")
    with sync_engine.connect() as connection:
        entry = connection.execute(
            text(
                "SELECT actor_id, actor, action, new->>'households_placed_again' FROM audit_log "
                "WHERE entity = 'city' AND entity_id = (SELECT id::text FROM cities "
                "WHERE slug = :s) ORDER BY id DESC LIMIT 1"
            ),
            {"s": SLUG},
        ).one()
    assert tuple(entry) == (None, "cli", "city.boundaries", "2")
