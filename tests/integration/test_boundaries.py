"""Importing boundaries again places the stored households by the new lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, text

from app.db.submissions import INSERT_MANY
from app.forms.registry import FormRegistry
from app.services.boundaries import ImportSummary, import_city
from app.services.intake import prepare_submission
from app.services.submissions import submission_row
from tests.factories import household_survey

HOUSE = (108.405, 15.205)  # lon, lat: inside the first ward below, outside the moved one


def square(west: float, south: float, size: float) -> dict[str, Any]:
    ring = [
        [west, south],
        [west + size, south],
        [west + size, south + size],
        [west, south + size],
        [west, south],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def write_layer(path: Path, features: list[tuple[dict[str, Any], dict[str, Any]]]) -> Path:
    collection = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": props, "geometry": geometry}
            for props, geometry in features
        ],
    }
    path.write_text(json.dumps(collection), encoding="utf-8")
    return path


def import_town(connection: Connection, tmp_path: Path, ward_west: float) -> ImportSummary:
    """A one-ward, one-settlement town; the ward square starts at `ward_west`."""
    wards = write_layer(
        tmp_path / f"wards-{ward_west}.geojson",
        [({"code": "W1", "name": "Phường Một"}, square(ward_west, 15.2, 0.01))],
    )
    settlements = write_layer(
        tmp_path / "settlements.geojson",
        [({"code": "S1", "name": "Tổ Một", "ward_code": "W1"}, square(108.404, 15.204, 0.002))],
    )
    return import_city(
        connection,
        slug="thi-tran-thu",
        name="Thị trấn Thử",
        province=None,
        wards_path=wards,
        settlements_path=settlements,
    )


def placement(connection: Connection, survey_id: str) -> tuple[Any, Any, list[str]]:
    row = connection.execute(
        text(
            "SELECT w.code, s.code, h.flags FROM household_surveys h "
            "LEFT JOIN wards w ON w.id = h.ward_id "
            "LEFT JOIN settlements s ON s.id = h.settlement_id WHERE h.id = :id"
        ),
        {"id": survey_id},
    ).one()
    return row[0], row[1], list(row[2])


def test_reimported_boundaries_move_the_stored_households(
    sync_engine: Engine, forms: FormRegistry, tmp_path: Path
) -> None:
    body = household_survey(
        city="thi-tran-thu",
        location={"lat": HOUSE[1], "lon": HOUSE[0], "accuracy_m": 5.0},
    )
    prepared, problems = prepare_submission(body, forms, datetime.now(UTC))
    assert prepared is not None, problems
    with sync_engine.connect() as connection:  # rolled back at the end: nothing stays behind
        first = import_town(connection, tmp_path, ward_west=108.4)
        connection.execute(
            INSERT_MANY, {"items": orjson.dumps([submission_row(prepared)]).decode()}
        )
        assert placement(connection, body["id"]) == ("W1", "S1", [])
        assert first.households_replaced == 0

        # The ward line is corrected: the house is no longer in it (the settlement stays).
        moved = import_town(connection, tmp_path, ward_west=108.5)
        assert moved.households_replaced == 1
        assert placement(connection, body["id"]) == (None, "S1", ["outside_wards"])

        # Importing the same files again changes nothing.
        assert import_town(connection, tmp_path, ward_west=108.5).households_replaced == 0

        back = import_town(connection, tmp_path, ward_west=108.4)
        assert back.households_replaced == 1
        assert placement(connection, body["id"]) == ("W1", "S1", [])
        connection.rollback()


def test_a_settlement_in_no_ward_is_named_in_a_warning(sync_engine: Engine, tmp_path: Path) -> None:
    """Its surveys count in the city and its meeting map prints for the city's readers
    (tests/integration/test_settlement_print_no_ward.py), but it is on no ward's map: the
    import said nothing of it."""
    wards = write_layer(
        tmp_path / "wards.geojson",
        [({"code": "W1", "name": "Phường Một"}, square(108.4, 15.2, 0.01))],
    )
    settlements = write_layer(
        tmp_path / "settlements.geojson",
        [
            ({"code": "S1", "name": "Tổ Một"}, square(108.404, 15.204, 0.002)),
            ({"code": "S9", "name": "Tổ Ngoài"}, square(108.45, 15.204, 0.002)),
        ],
    )
    with sync_engine.connect() as connection:  # rolled back at the end
        summary = import_city(
            connection,
            slug="thi-tran-thu",
            name="Thị trấn Thử",
            province=None,
            wards_path=wards,
            settlements_path=settlements,
        )
    (warning,) = [w for w in summary.warnings if w.code == "boundary_settlements_outside_wards"]
    assert warning.params["codes"] == "S9" and warning.params["count"] == 1
    assert "không nằm trong phường/xã nào" in warning.message("vi")
