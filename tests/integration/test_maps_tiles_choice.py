"""Which way a map page gets its households: one download of every point for a city or ward
under the threshold, vector tiles from it on (approved surveys only: ?surveys=all keeps the
download, the tiles hold approved surveys)."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.main import create_app
from app.settings import Settings
from tests.auth import bearer
from tests.integration import test_ogc

surveys = test_ogc.surveys  # the sample households, most approved (fixture)
DATA = re.compile(r'<script type="application/json" id="cdfmap-data"[^>]*>(.*?)</script>', re.S)


def households(client: TestClient, path: str) -> dict[str, Any]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    found = DATA.search(response.text)
    assert found
    data: dict[str, Any] = json.loads(found.group(1))
    return data["households"]


def test_tiles_from_the_threshold_on(
    settings: Settings, admin_token: str, surveys: int, sync_engine: Engine
) -> None:
    with sync_engine.connect() as connection:
        ward = connection.execute(text("SELECT min(ward_id) FROM household_surveys")).scalar()
    small = settings.model_copy(update={"map_tiles_from_households": 1_000_000})
    with TestClient(create_app(small), headers=bearer(admin_token)) as client:
        city = households(client, "/maps/cities/tam-ky")
        assert city["url"] == "/maps/data/cities/tam-ky/households.json" and city["tiles"] is None
        page = households(client, f"/maps/wards/{ward}")
        assert page["url"].endswith(f"?ward={ward}") and page["tiles"] is None
    large = settings.model_copy(update={"map_tiles_from_households": 10})
    with TestClient(create_app(large), headers=bearer(admin_token)) as client:
        city = households(client, "/maps/cities/tam-ky")
        assert city["url"] == "" and city["tiles"] == "/tiles/households/{z}/{x}/{y}.pbf"
        assert city["ward"] is None
        tenure = next(i for i in city["indicators"] if i["key"] == "tenure")
        assert tenure["question"] == "tenure" and "red_book" in tenure["values"]
        assert len(tenure["values"]) == len(tenure["colours"])
        page = households(client, f"/maps/wards/{ward}")
        assert page["tiles"] and page["ward"] == ward
        # Every survey not rejected: the tiles hold approved ones only, so the download stays.
        every = households(client, "/maps/cities/tam-ky?surveys=all")
        assert every["url"].endswith("households.json?surveys=all") and every["tiles"] is None
