"""Each city's own weights of the priority score: set by its admins (PATCH /api/v1/cities/{slug}),
used by that city's indicators, exports and OGC layers only; checked against hostile input;
on record; and gone back to the common weights of forms/priorities.yaml on request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text

from app.main import create_app
from app.services.indicators import INDICATOR_KEYS, priority_score, read_weights
from app.settings import REPO_ROOT, Settings, with_driver
from tests.auth import bearer, make_token, make_user
from tests.network_support import network_database

COMMON = read_weights(REPO_ROOT / "forms" / "priorities.yaml")
# Far from the common weights: water alone counts (tenure a little), so scores move.
OWN = {"no_piped_water": 5, "insecure_tenure": 0.5}
OWN_FULL = {key: float(OWN.get(key, 0)) for key in INDICATOR_KEYS}


@pytest.fixture(scope="module")
def network() -> Iterator[tuple[str, Engine]]:
    with network_database() as url:
        engine = create_engine(with_driver(url, "postgresql+psycopg"))
        yield url, engine
        engine.dispose()


@pytest.fixture(scope="module")
def people(network: tuple[str, Engine]) -> dict[str, dict[str, str]]:
    _, engine = network
    grants: dict[str, list[Any]] = {
        "national": [("national_admin", None)],
        "admin": [("city_admin", ("city", "tam-ky"))],
        "other_admin": [("city_admin", ("city", "long-xuyen"))],
        "planner": [("planner", ("city", "tam-ky"))],
        "volunteer": [("volunteer", ("city", "tam-ky"))],
    }
    return {
        who: bearer(make_token(engine, make_user(engine, f"weights-{who}", roles)))
        for who, roles in grants.items()
    }


@pytest.fixture
def client(network: tuple[str, Engine], tmp_path: Path) -> Iterator[TestClient]:
    url, engine = network
    with engine.begin() as connection:
        connection.execute(text("UPDATE cities SET priority_weights = NULL"))
    with TestClient(create_app(Settings(database_url=url, media_dir=tmp_path))) as test_client:
        yield test_client


def _indicators(client: TestClient, slug: str, headers: dict[str, str]) -> dict[str, Any]:
    answer = client.get(f"/api/v1/cities/{slug}/indicators", headers=headers)
    assert answer.status_code == 200, answer.text
    report: dict[str, Any] = answer.json()
    return report


def _scored_by(report: dict[str, Any], weights: dict[str, float], at_least: int = 20) -> None:
    """Every settlement's score is the formula over its shares with these weights."""
    scored = [s for s in report["settlements"] if s["score"] is not None]
    assert len(scored) >= at_least
    for settlement in scored:
        expected = priority_score(settlement["shares"], weights)
        assert expected is not None
        assert settlement["score"] == pytest.approx(expected, abs=0.06), settlement["code"]
    assert {d["key"]: d["weight"] for d in report["indicators"]} == weights


def _set(
    client: TestClient, slug: str, weights: Any, headers: dict[str, str], **params: str
) -> Any:
    return client.patch(
        f"/api/v1/cities/{slug}",
        json={"priority_weights": weights},
        headers=headers,
        params=params,
    )


def test_a_city_admin_sets_its_weights_and_only_that_city_follows(
    client: TestClient, people: dict[str, dict[str, str]], network: tuple[str, Engine]
) -> None:
    before = _indicators(client, "tam-ky", people["planner"])
    assert before["weights"] == "common"
    _scored_by(before, COMMON)
    national_before = client.get("/api/v1/national/indicators", headers=people["national"])

    answer = _set(client, "tam-ky", OWN, people["admin"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["priority_weights"] == OWN_FULL

    after = _indicators(client, "tam-ky", people["planner"])
    assert after["weights"] == "city"
    _scored_by(after, OWN_FULL)
    moved = [
        (a["score"], b["score"])
        for a, b in zip(after["settlements"], before["settlements"], strict=True)
        if a["score"] != b["score"]
    ]
    assert moved, "the new weights changed no score"
    # Another city keeps the common weights.
    other = _indicators(client, "long-xuyen", people["national"])
    assert other["weights"] == "common"
    _scored_by(other, COMMON)
    # A ward's report uses its city's weights.
    ward_id = after["wards"][0]["id"]
    ward = client.get(f"/api/v1/wards/{ward_id}/indicators", headers=people["planner"]).json()
    assert ward["weights"] == "city"
    _scored_by(ward, OWN_FULL, at_least=1)

    # The planner's export: the same scores as the indicators.
    exported = client.get(
        "/api/v1/export/settlements.geojson", params={"city": "tam-ky"}, headers=people["planner"]
    )
    assert exported.status_code == 200, exported.text
    scores = {s["code"]: s["score"] for s in after["settlements"]}
    features = exported.json()["features"]
    assert {f["properties"]["code"]: f["properties"]["score"] for f in features} == scores

    # OGC API Features across cities: each city by its own weights.
    layer = client.get(
        "/ogc/collections/settlements/items", params={"limit": 1000}, headers=people["national"]
    )
    assert layer.status_code == 200, layer.text
    by_city: dict[str, dict[str, float | None]] = {}
    for feature in layer.json()["features"]:
        props = feature["properties"]
        by_city.setdefault(props["city"], {})[props["code"]] = props["score"]
    assert by_city["tam-ky"] == scores
    assert by_city["long-xuyen"] == {s["code"]: s["score"] for s in other["settlements"]}

    # The national view compares cities by the common weights: unchanged.
    national_after = client.get("/api/v1/national/indicators", headers=people["national"])
    assert national_after.json()["cities"] == national_before.json()["cities"]

    # On record: who, the old value (none of its own) and the new.
    with network[1].connect() as connection:
        entry = connection.execute(
            text(
                "SELECT actor, old, new FROM audit_log WHERE action = 'city.weights' "
                "ORDER BY id DESC LIMIT 1"
            )
        ).one()
        entry_count = connection.execute(
            text("SELECT count(*) FROM audit_log WHERE action = 'city.weights'")
        ).scalar_one()
    assert entry.actor == "weights-admin"
    assert entry.old == {"priority_weights": None}
    assert entry.new == {"priority_weights": OWN_FULL}
    # The same weights sent again (a resend, a second tab): no change, nothing on record.
    assert _set(client, "tam-ky", OWN, people["admin"]).status_code == 200
    with network[1].connect() as connection:
        entries = connection.execute(
            text("SELECT count(*) FROM audit_log WHERE action = 'city.weights'")
        ).scalar_one()
        last = connection.execute(
            text("SELECT new FROM audit_log WHERE action = 'city.weights' ORDER BY id DESC LIMIT 1")
        ).scalar_one()
    assert last == {"priority_weights": OWN_FULL} and entries == entry_count

    # Back to the common weights.
    answer = _set(client, "tam-ky", None, people["admin"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["priority_weights"] is None
    again = _indicators(client, "tam-ky", people["planner"])
    assert again["weights"] == "common"
    assert again["settlements"] == before["settlements"]


BAD_WEIGHTS: list[tuple[str, str, str]] = [
    ('{"insecure_tenure": -1}', "priority_weights.insecure_tenure", "weight_not_a_number"),
    ('{"insecure_tenure": 1e400}', "priority_weights.insecure_tenure", "weight_not_a_number"),
    ('{"insecure_tenure": 1' + "0" * 400 + "}", "priority_weights.insecure_tenure", ""),
    ('{"insecure_tenure": 1001}', "priority_weights.insecure_tenure", "weight_not_a_number"),
    ('{"insecure_tenure": true}', "priority_weights.insecure_tenure", "weight_not_a_number"),
    ('{"insecure_tenure": "3"}', "priority_weights.insecure_tenure", "weight_not_a_number"),
    ('{"insecure_tenure": null}', "priority_weights.insecure_tenure", "weight_not_a_number"),
    ('{"insecure_tenure": {"$gt": 0}}', "priority_weights.insecure_tenure", "weight_not_a_number"),
    ('{"insecure_tenure": 0}', "priority_weights", "weights_all_zero"),
    ("{}", "priority_weights", "weights_all_zero"),
    ('{"swimming_pool": 1, "insecure_tenure": 1}', "priority_weights", "weight_unknown_indicator"),
    (
        '{"<img src=x onerror=alert(1)>{{7*7}}' + "x" * 5000 + '": 1}',
        "priority_weights",
        "weight_unknown_indicator",
    ),
    ('{"insecure_tenure\\u0000": 1}', "priority_weights", "nul_character"),
    ("[1, 2]", "priority_weights", ""),
    ('"heavy"', "priority_weights", ""),
]


@pytest.mark.parametrize(("weights", "field", "code"), BAD_WEIGHTS)
def test_hostile_weights_are_refused_in_the_users_language_and_nothing_changes(
    client: TestClient, people: dict[str, dict[str, str]], weights: str, field: str, code: str
) -> None:
    assert _set(client, "tam-ky", OWN, people["admin"]).status_code == 200
    for language in ("vi", "en"):
        answer = client.patch(
            "/api/v1/cities/tam-ky",
            content='{"priority_weights": ' + weights + "}",
            headers={**people["admin"], "Content-Type": "application/json"},
            params={"lang": language},
        )
        assert answer.status_code == 422, answer.text
        problems = answer.json()["errors"]
        assert any(p["field"] == field and (not code or p["code"] == code) for p in problems)
        for problem in problems:
            assert problem["message"] and len(problem["message"]) < 600
        if code == "weight_not_a_number":
            expected = "phải là một số" if language == "vi" else "must be a number"
            assert any(expected in p["message"] for p in problems)
    report = _indicators(client, "tam-ky", people["planner"])
    assert report["weights"] == "city"
    assert {d["key"]: d["weight"] for d in report["indicators"]} == OWN_FULL


def test_an_empty_change_is_refused(client: TestClient, people: dict[str, dict[str, str]]) -> None:
    answer = client.patch("/api/v1/cities/tam-ky", json={}, headers=people["admin"])
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["code"] == "nothing_to_change"


@pytest.mark.parametrize(
    ("who", "slug", "status"),
    [
        ("national", "long-xuyen", 200),
        ("admin", "tam-ky", 200),
        ("other_admin", "tam-ky", 404),  # another city's admin: not even that it exists
        ("planner", "tam-ky", 403),
        ("volunteer", "tam-ky", 403),
        ("anonymous", "tam-ky", 401),
    ],
)
def test_only_the_citys_admins_set_its_weights(
    client: TestClient,
    people: dict[str, dict[str, str]],
    network: tuple[str, Engine],
    who: str,
    slug: str,
    status: int,
) -> None:
    headers = people.get(who, {})
    answer = _set(client, slug, OWN, headers)
    assert answer.status_code == status, answer.text
    with network[1].connect() as connection:
        stored = connection.execute(
            text("SELECT priority_weights FROM cities WHERE slug = :slug"), {"slug": slug}
        ).scalar()
    assert stored == (OWN_FULL if status == 200 else None)


def test_weights_stored_by_an_older_version_fall_back_to_the_common_ones(
    client: TestClient, people: dict[str, dict[str, str]], network: tuple[str, Engine]
) -> None:
    """An indicator a later version dropped is left out; weights that no longer hold (all
    zero once it is) give the common ones instead of an error on every map."""
    with network[1].begin() as connection:
        connection.execute(
            text("UPDATE cities SET priority_weights = CAST(:w AS jsonb) WHERE slug = 'tam-ky'"),
            {"w": json.dumps({"retired_indicator": 4})},
        )
    report = _indicators(client, "tam-ky", people["planner"])
    assert report["weights"] == "common"
    _scored_by(report, COMMON)
