"""OGC API Features Part 3 queryables: each collection's JSON Schema of the properties its
items may be filtered on, linked from the collection, declared in the conformance, and every
listed property really filters (`?<name>=<value>`); no personal property is listed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.main import create_app
from app.settings import Settings
from tests.auth import bearer
from tests.factories import household_answers, household_survey

QUERYABLES = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables"


@pytest.fixture
def planner(
    settings: Settings,
    planner_token: str,
    admin_token: str,
    sync_engine: Engine,
    clean_surveys: None,
) -> Iterator[TestClient]:
    with TestClient(create_app(settings), headers=bearer(admin_token)) as admin:
        for tenure in ("red_book", "red_book", "papers_only"):
            body = household_survey(answers=household_answers(tenure=tenure))
            assert admin.post("/api/v1/submissions", json=body).status_code == 201
    with sync_engine.begin() as connection:
        connection.execute(text("UPDATE household_surveys SET status = 'approved'"))
    with TestClient(create_app(settings), headers=bearer(planner_token)) as client:
        yield client


def test_queryables_are_a_json_schema_linked_and_declared(planner: TestClient) -> None:
    conformance = planner.get("/ogc/conformance").json()["conformsTo"]
    assert QUERYABLES in conformance
    collection = planner.get("/ogc/collections/households").json()
    link = next(x for x in collection["links"] if x["rel"].endswith("/def/rel/ogc/1.0/queryables"))
    assert link["type"] == "application/schema+json"
    response = planner.get(link["href"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/schema+json")
    schema = response.json()
    assert schema["$id"] == link["href"] and schema["type"] == "object"
    assert schema["$schema"].startswith("https://json-schema.org/")
    properties = schema["properties"]
    assert properties["geometry"]["format"] == "geometry-point"
    assert properties["datetime"]["format"] == "date-time"
    assert properties["tenure"]["type"] == "string"
    assert properties["ward_id"]["type"] == "integer"
    assert not {"head_name", "head_phone", "photo"} & set(properties)  # personal: never
    wards = planner.get("/ogc/collections/wards/queryables").json()["properties"]
    assert wards["geometry"]["format"] == "geometry-multipolygon"
    assert "datetime" not in wards and wards["score"]["type"] == "number"
    page = planner.get("/ogc/collections/households/queryables?f=html")
    assert page.status_code == 200
    assert "Thuộc tính dùng để lọc" in page.text or "Queryables" in page.text
    assert planner.get("/ogc/collections/nothing/queryables").status_code == 404


def test_every_queryable_filters(planner: TestClient) -> None:
    properties = planner.get("/ogc/collections/households/queryables").json()["properties"]
    features = planner.get("/ogc/collections/households/items").json()["features"]
    assert len(features) == 3
    first = features[0]["properties"]
    for name in properties:
        if name in ("geometry", "datetime") or first.get(name) is None:
            continue
        value = first[name]
        response = planner.get("/ogc/collections/households/items", params={name: str(value)})
        assert response.status_code == 200, (name, response.text)
        found = response.json()["features"]
        assert found and all(f["properties"][name] == value for f in found), name
    red = planner.get("/ogc/collections/households/items", params={"tenure": "red_book"})
    assert red.json()["numberMatched"] == 2
