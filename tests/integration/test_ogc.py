"""OGC API - Features under /ogc: the documents, paging, filters, errors, roles and HTML."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.forms.registry import FormRegistry
from app.geo import sample_city
from app.main import create_app
from app.services.auth import hash_password
from app.services.samples import insert_submissions
from app.settings import Settings
from tests.auth import bearer, make_token, make_user, ward_id
from tests.factories import approve, household_answers, household_survey

OGC = "/ogc"
SAMPLE = list(sample_city.generate_households(sample_city.generate_city(), 400))
PERSONAL = ("head_name", "head_phone", "photo")
HOSTILE = "{{7*7}}</title><script>alert(1)</script> Phường Hòa Thuận Đông =cmd|' /C calc'!A0"


@pytest.fixture
def surveys(sync_engine: Engine, forms: FormRegistry, clean_surveys: None) -> int:
    """The sample households, most approved: 20 wait for review and 10 were rejected."""
    with sync_engine.begin() as connection:
        insert_submissions(connection, forms, SAMPLE)
        connection.execute(text("UPDATE household_surveys SET status = 'approved'"))
        ids = [
            row[0]
            for row in connection.execute(text("SELECT id FROM household_surveys ORDER BY id"))
        ]
        connection.execute(
            text("UPDATE household_surveys SET status = 'received' WHERE id = ANY(:ids)"),
            {"ids": ids[:20]},
        )
        connection.execute(
            text("UPDATE household_surveys SET status = 'rejected' WHERE id = ANY(:ids)"),
            {"ids": ids[20:30]},
        )
    return len(SAMPLE) - 30


def approved_count(engine: Engine, where: str = "TRUE", **params: Any) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM household_surveys h "
                    "LEFT JOIN wards w ON w.id = h.ward_id "
                    f"WHERE h.form_id = 'household' AND h.status = 'approved' AND {where}"
                ),
                params,
            ).scalar_one()
        )


@pytest.fixture
def as_planner(settings: Settings, planner_token: str, clean_surveys: None) -> Iterator[TestClient]:
    with TestClient(create_app(settings), headers=bearer(planner_token)) as client:
        yield client


def walk(client: TestClient, url: str) -> tuple[list[dict[str, Any]], int, int]:
    """Every page of an items request by its next links: features, numberMatched, pages."""
    features: list[dict[str, Any]] = []
    matched = -1
    pages = 0
    next_url: str | None = url
    while next_url:
        response = client.get(next_url)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/geo+json")
        body = response.json()
        assert body["numberReturned"] == len(body["features"])
        matched = body["numberMatched"]
        features += body["features"]
        pages += 1
        next_url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        assert pages < 100
    return features, matched, pages


def test_landing_conformance_and_collections(client: TestClient) -> None:
    landing = client.get(OGC)
    assert landing.status_code == 200
    rels = {link["rel"]: link["href"] for link in landing.json()["links"]}
    assert rels["conformance"] == "http://testserver/ogc/conformance"
    assert rels["data"] == "http://testserver/ogc/collections"
    assert rels["service-desc"].startswith("http://testserver/")
    classes = client.get(f"{OGC}/conformance").json()["conformsTo"]
    assert set(classes) == {
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    }
    listed = client.get(f"{OGC}/collections").json()["collections"]
    ids = [c["id"] for c in listed]
    assert ids[:3] == ["wards", "settlements", "households"] and "settlement" in ids
    wards = listed[0]
    west, south, east, north = wards["extent"]["spatial"]["bbox"][0]
    assert 108 < west < east < 109 and 15 < south < north < 16
    assert any(
        link["rel"] == "items" and link["type"] == "application/geo+json" for link in wards["links"]
    )
    one = client.get(f"{OGC}/collections/households").json()
    assert one["id"] == "households" and one["itemType"] == "feature"
    assert one["crs"] == ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]
    assert client.get(f"{OGC}/collections/nothing-here").status_code == 404


def test_paging_walks_the_whole_layer_once(
    client: TestClient, sync_engine: Engine, surveys: int
) -> None:
    features, matched, pages = walk(client, f"{OGC}/collections/households/items?limit=37")
    ids = [f["id"] for f in features]
    assert len(ids) == len(set(ids)) == matched == surveys == approved_count(sync_engine)
    assert pages == -(-surveys // 37)
    assert ids == sorted(ids)  # the stable order: by id
    first = features[0]
    assert first["type"] == "Feature" and first["geometry"]["type"] == "Point"
    assert first["properties"]["id"] == first["id"]
    # prev goes back a page
    second = client.get(f"{OGC}/collections/households/items?limit=37&offset=37").json()
    prev = next(link["href"] for link in second["links"] if link["rel"] == "prev")
    assert "offset=0" in prev and client.get(prev).json()["features"][0]["id"] == ids[0]
    # past the end: an empty page, still counted
    empty = client.get(f"{OGC}/collections/households/items?offset=100000").json()
    assert empty["numberReturned"] == 0 and empty["numberMatched"] == surveys


def test_filters_bbox_and_datetime(client: TestClient, sync_engine: Engine, surveys: int) -> None:
    items = f"{OGC}/collections/households/items"
    with sync_engine.connect() as connection:
        ward_name = connection.execute(
            text(
                "SELECT w.name FROM household_surveys h JOIN wards w ON w.id = h.ward_id "
                "WHERE h.status = 'approved' GROUP BY w.name ORDER BY count(*) DESC LIMIT 1"
            )
        ).scalar_one()
        times = connection.execute(
            text(
                "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY collected_at), "
                "min(collected_at) FROM household_surveys WHERE status = 'approved'"
            )
        ).one()
    body = client.get(items, params={"ward": ward_name, "tenure": "renting", "limit": 1000}).json()
    expected = approved_count(
        sync_engine, "w.name = :w AND h.answers->>'tenure' = 'renting'", w=ward_name
    )
    assert body["numberMatched"] == expected > 0
    assert all(
        f["properties"]["ward"] == ward_name and f["properties"]["tenure"] == "renting"
        for f in body["features"]
    )
    number = client.get(items, params={"household_size": "4", "limit": 1000}).json()
    assert (
        number["numberMatched"]
        == approved_count(sync_engine, "h.answers->>'household_size' = '4'")
        > 0
    )
    bbox = "108.45,15.55,108.48,15.58"
    inside = client.get(items, params={"bbox": bbox, "limit": 1000}).json()
    assert (
        inside["numberMatched"]
        == approved_count(
            sync_engine, "h.geom && ST_MakeEnvelope(108.45, 15.55, 108.48, 15.58, 4326)"
        )
        > 0
    )
    for f in inside["features"]:
        lon, lat = f["geometry"]["coordinates"]
        assert 108.45 <= lon <= 108.48 and 15.55 <= lat <= 15.58
    middle = times[0].isoformat()
    after = client.get(items, params={"datetime": f"{middle}/.."}).json()["numberMatched"]
    before = client.get(items, params={"datetime": f"../{middle}"}).json()["numberMatched"]
    assert after == approved_count(sync_engine, "h.collected_at >= :t", t=times[0])
    # both ends inclusive: the middle survey is in both halves
    assert after + before == surveys + approved_count(
        sync_engine, "h.collected_at = :t", t=times[0]
    )
    instant = client.get(items, params={"datetime": middle}).json()
    assert instant["numberMatched"] >= 1
    day = times[1].date().isoformat()
    whole_day = client.get(items, params={"datetime": day}).json()["numberMatched"]
    assert whole_day == approved_count(
        sync_engine, "(h.collected_at AT TIME ZONE 'UTC')::date = CAST(:d AS date)", d=day
    )
    assert client.get(items, params={"datetime": "../.."}).json()["numberMatched"] == surveys


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=abc",
        "limit=-5",
        "offset=-1",
        "offset=1e3",
        "bbox=1,2,3",
        "bbox=a,b,c,d",
        "bbox=108,16,109,15",
        "bbox=200,15,201,16",
        "bbox=nan,15,108,16",
        "datetime=yesterday",
        "datetime=2026-11-30/2026-11-01",
        "datetime=2026-11-26T09:30:00",
        "datetime=2026-13-45",
        # No moment after them, or one in year 0 in UTC (each was a 500).
        "datetime=9999-12-31",
        "datetime=9999-12-31T23:59:59Z",
        "datetime=../9999-12-31",
        "datetime=0001-01-01T00:00:00%2B01:00",
        # No RFC 3339 time: read as one second, they filtered what the client never asked
        # (an hour, a minute) (found by review).
        "datetime=2026-11-26T02Z",
        "datetime=2026-11-26T0230Z",
        "datetime=2026-11-26T02:30Z",
        "datetime=2026-11-26T02:30:00.Z",
        "no_such_property=1",
        "%7B%7B7*7%7D%7D=1",
        "tenure=%00",
        "tenure=a&tenure=b",
        "f=xml",
        "crs=EPSG:3857",
        "bbox-crs=http://www.opengis.net/def/crs/EPSG/0/3857",
    ],
)
def test_bad_parameters_are_400(client: TestClient, query: str) -> None:
    response = client.get(f"{OGC}/collections/households/items?{query}")
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "validation_failed" and body["errors"][0]["message"]


@pytest.mark.parametrize(
    "value",
    [
        "' OR 1=1 --",
        "{{7*7}}",
        "</title><script>alert(1)</script>",
        "=cmd|' /C calc'!A0",
        "%ED%A0%80",
    ],
)
def test_hostile_filter_values_are_only_values(
    client: TestClient, surveys: int, value: str
) -> None:
    response = client.get(f"{OGC}/collections/households/items?tenure={value}")
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        assert response.json()["numberMatched"] == 0


def test_datetime_on_a_layer_without_time_and_limit_clamped(
    client: TestClient, surveys: int
) -> None:
    response = client.get(
        f"{OGC}/collections/wards/items?datetime=2026-11-26", headers={"Accept-Language": "en"}
    )
    assert response.status_code == 400 and "no time" in response.json()["errors"][0]["message"]
    big = client.get(f"{OGC}/collections/households/items?limit=99999999")
    assert big.status_code == 200 and big.json()["numberReturned"] == surveys
    # However many digits: the largest page, as below (13 digits and 5,000 were a 400).
    for limit in ("1000000000000", "9" * 5000):
        larger = client.get(f"{OGC}/collections/households/items?limit={limit}")
        assert larger.status_code == 200 and larger.json()["numberReturned"] == surveys
    assert client.get(f"{OGC}/collections/households/items?offset={'9' * 5000}").status_code == 400
    # A time to the second or to a fraction of one, with nine digits (RFC 3339 sets no limit).
    for moment in ("2026-11-26T02:30:00Z", "2026-11-26T02:30:00.123456789%2B07:00"):
        at = client.get(f"{OGC}/collections/households/items?datetime={moment}")
        assert at.status_code == 200, at.text
    english = client.get(f"{OGC}/collections/households/items?limit=0&lang=en").json()
    vietnamese = client.get(f"{OGC}/collections/households/items?limit=0").json()
    assert "whole number" in english["errors"][0]["message"]
    assert "số nguyên" in vietnamese["errors"][0]["message"]


def test_one_feature_and_missing_ones(client: TestClient, surveys: int) -> None:
    page = client.get(f"{OGC}/collections/households/items?limit=1").json()
    feature_id = page["features"][0]["id"]
    one = client.get(f"{OGC}/collections/households/items/{feature_id}")
    assert one.status_code == 200 and one.headers["content-type"].startswith("application/geo+json")
    assert one.json()["id"] == feature_id
    assert any(link["rel"] == "collection" for link in one.json()["links"])
    for missing in (str(uuid.uuid4()), "not-a-uuid", "%00", "9" * 40):
        assert client.get(f"{OGC}/collections/households/items/{missing}").status_code == 404
    ward = client.get(f"{OGC}/collections/wards/items?limit=1").json()["features"][0]
    assert client.get(f"{OGC}/collections/wards/items/{ward['id']}").json()["properties"]["name"]
    for missing in ("999999", "0", "-1", "abc", "99999999999999"):
        assert client.get(f"{OGC}/collections/wards/items/{missing}").status_code == 404
    # Another spelling of an id is no second URL of its feature.
    ward_id = str(ward["id"])
    full_width = "".join(chr(ord(digit) + 0xFEE0) for digit in ward_id)
    for alias in (full_width, f"+{ward_id}", f"0{ward_id}", f"%20{ward_id}", f"{ward_id}%0A"):
        assert client.get(f"{OGC}/collections/wards/items/{alias}").status_code == 404, alias
    for alias in (feature_id.upper(), "{" + feature_id + "}", "urn:uuid:" + feature_id):
        assert client.get(f"{OGC}/collections/households/items/{alias}").status_code == 404, alias


def test_settlements_carry_scores_and_ranks(client: TestClient, surveys: int) -> None:
    body = client.get(f"{OGC}/collections/settlements/items?limit=1000").json()
    report = client.get("/api/v1/cities/tam-ky/indicators").json()
    expected = {s["id"]: s for s in report["settlements"]}
    assert body["numberMatched"] == len(expected) > 0
    scored = 0
    for feature in body["features"]:
        props = feature["properties"]
        want = expected[props["id"]]
        assert props["households"] == want["households"]
        assert props["score"] == want["score"] and props["rank_in_city"] == want["rank_in_city"]
        assert props["rank_in_ward"] == want["rank_in_ward"]
        assert props["share_insecure_tenure"] == want["shares"]["insecure_tenure"]
        scored += props["score"] is not None
        assert feature["geometry"]["type"] == "Polygon"
    assert scored > 0
    ward = client.get(f"{OGC}/collections/wards/items").json()["features"][0]["properties"]
    assert "score" in ward and "rank_in_city" in ward


def test_roles_scope_and_personal_fields(
    settings: Settings, sync_engine: Engine, surveys: int, as_planner: TestClient
) -> None:
    features, matched, _ = walk(as_planner, f"{OGC}/collections/households/items?limit=500")
    assert matched == surveys == len(features)
    for feature in features:
        assert not set(PERSONAL) & set(feature["properties"])
    text_body = as_planner.get(f"{OGC}/collections/households/items?limit=500").text
    for survey in SAMPLE[:50]:
        assert survey["answers"]["head_name"] not in text_body
    # a personal field is not even a filter
    assert as_planner.get(f"{OGC}/collections/households/items?head_name=x").status_code == 400
    # a ward leader reads their ward only
    ward = ward_id(sync_engine, "W01")
    leader = make_token(
        sync_engine, make_user(sync_engine, "ogc-leader", [("ward_leader", ("ward", "W01"))])
    )
    with TestClient(create_app(settings), headers=bearer(leader)) as client:
        body = client.get(f"{OGC}/collections/households/items?limit=1000").json()
        assert body["numberMatched"] == approved_count(sync_engine, "h.ward_id = :w", w=ward) > 0
        assert {f["properties"]["ward_id"] for f in body["features"]} == {ward}
        wards = client.get(f"{OGC}/collections/wards/items").json()
        assert [f["id"] for f in wards["features"]] == [ward]
        # ...with the personal answers, which a ward leader may see in their ward
        assert all("head_name" in f["properties"] for f in body["features"])
        names = {f["properties"]["head_name"] for f in body["features"]}
        assert names & {s["answers"]["head_name"] for s in SAMPLE}
    # a planner of another city sees nothing of this one
    other = make_token(
        sync_engine, make_user(sync_engine, "ogc-volunteer", [("volunteer", ("ward", "W01"))])
    )
    with TestClient(create_app(settings), headers=bearer(other)) as client:
        assert client.get(f"{OGC}/collections/households/items").json()["numberMatched"] == 0
        assert client.get(f"{OGC}/collections/settlements/items").json()["numberMatched"] == 0


def test_sign_in_basic_bearer_and_anonymous(
    settings: Settings, sync_engine: Engine, surveys: int
) -> None:
    make_user(
        sync_engine, "ogc-basic", [("planner", ("city", "tam-ky"))], hash_password("mật khẩu 1")
    )
    good = base64.b64encode("ogc-basic:mật khẩu 1".encode()).decode()
    bad = base64.b64encode(b"ogc-basic:wrong").decode()
    with TestClient(create_app(settings)) as client:
        anonymous = client.get(f"{OGC}/collections")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith('Basic realm="cdfmap"')
        assert "Bearer" in anonymous.headers["www-authenticate"]
        assert client.get("/tiles/households.json").status_code == 401
        wrong = client.get(f"{OGC}/collections", headers={"Authorization": f"Basic {bad}"})
        assert wrong.status_code == 401 and "Basic" in wrong.headers["www-authenticate"]
        for junk in ("Basic %%%", "Basic " + base64.b64encode(b"no-colon").decode(), "Bearer nope"):
            assert client.get(OGC, headers={"Authorization": junk}).status_code == 401
        ok = client.get(
            f"{OGC}/collections/households/items?limit=1",
            headers={"Authorization": f"Basic {good}"},
        )
        assert ok.status_code == 200 and ok.json()["numberMatched"] == surveys
    # Wrong passwords are throttled like the sign-in form: then even the right one waits.
    user = f"ogc-throttle-{uuid.uuid4().hex[:6]}"
    make_user(sync_engine, user, [("planner", ("city", "tam-ky"))], hash_password("right one"))
    with TestClient(create_app(settings)) as client:
        for _ in range(settings.max_sign_in_failures_per_account):
            response = client.get(OGC, auth=(user, "wrong one"))
            assert response.status_code == 401
        refused = client.get(OGC, auth=(user, "right one"))
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    # Behind a proxy (uvicorn --proxy-headers): links keep the client's scheme and host.
    with TestClient(create_app(settings), base_url="https://maps.example.org") as client:
        body = client.get(OGC, headers={"Authorization": f"Basic {good}"}).json()
        assert all(link["href"].startswith("https://maps.example.org/") for link in body["links"])


@pytest.fixture
def no_failures(sync_engine: Engine) -> None:
    """No failed sign-ins on record: the address of earlier tests' wrong passwords (all
    `testclient`) may be throttled by now."""
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM sign_in_failures"))


def _grant_of(sync_engine: Engine, user_id: int) -> int:
    with sync_engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT id FROM role_grants WHERE user_id = :id"), {"id": user_id}
            ).scalar_one()
        )


def test_basic_sign_in_is_refused_at_once_after_a_revoke_in_this_process(
    settings: Settings, sync_engine: Engine, admin_token: str, surveys: int, no_failures: None
) -> None:
    """Checked pairs are remembered for 10 s, but not past a change made by this process:
    the reviewer's disabled planner still read /ogc with Basic (200)."""
    assert settings.token_cache_seconds >= 10  # the cache this is about is on
    people = {
        name: make_user(
            sync_engine, name, [("planner", ("city", "tam-ky"))], hash_password("mật khẩu 1")
        )
        for name in ("ogc-disabled", "ogc-new-password", "ogc-role-taken")
    }
    admin = bearer(admin_token)
    items = f"{OGC}/collections/households/items?limit=1"
    with TestClient(create_app(settings)) as client:
        for name in people:
            read = client.get(items, auth=(name, "mật khẩu 1"))
            assert read.status_code == 200 and read.json()["numberMatched"] == surveys, name

        disabled = people["ogc-disabled"]
        patch = {"is_active": False}
        assert client.patch(f"/api/v1/users/{disabled}", json=patch, headers=admin).is_success
        refused = client.get(f"{OGC}/collections", auth=("ogc-disabled", "mật khẩu 1"))
        assert refused.status_code == 401 and "Basic" in refused.headers["www-authenticate"]
        tiles = client.get("/tiles/households.json", auth=("ogc-disabled", "mật khẩu 1"))
        assert tiles.status_code == 401

        renewed = people["ogc-new-password"]
        patch = {"password": "mật khẩu 2"}
        assert client.patch(f"/api/v1/users/{renewed}", json=patch, headers=admin).is_success
        assert client.get(items, auth=("ogc-new-password", "mật khẩu 1")).status_code == 401
        assert client.get(items, auth=("ogc-new-password", "mật khẩu 2")).status_code == 200

        reduced = people["ogc-role-taken"]
        grant = _grant_of(sync_engine, reduced)
        taken = client.delete(f"/api/v1/users/{reduced}/roles/{grant}", headers=admin)
        assert taken.status_code == 204
        after = client.get(items, auth=("ogc-role-taken", "mật khẩu 1"))
        assert after.status_code == 200 and after.json()["numberMatched"] == 0


def test_a_basic_check_under_way_during_a_revoke_is_not_remembered(
    settings: Settings, sync_engine: Engine, admin_token: str, no_failures: None
) -> None:
    """A check that read the person before they were disabled answers its own request, but
    must not be remembered: it held a cache entry 10 s past the revoke. The check is held
    after its read, where it clears the account's earlier failure (a lock on that failure's
    row: the check notes its own attempt before it reads, and reads pass), while the admin
    disables the person."""
    user_id = make_user(
        sync_engine, "ogc-racing", [("planner", ("city", "tam-ky"))], hash_password("pw-1234567")
    )
    with TestClient(create_app(settings)) as client:
        assert client.get(OGC, auth=("ogc-racing", "wrong one")).status_code == 401
        with sync_engine.connect() as blocker:
            blocker.execute(
                text("SELECT id FROM sign_in_failures WHERE username = 'ogc-racing' FOR UPDATE")
            )
            with ThreadPoolExecutor(max_workers=1) as pool:
                under_way = pool.submit(client.get, OGC, auth=("ogc-racing", "pw-1234567"))
                deadline = time.monotonic() + 10
                while not _waiting_to_clear_failures(sync_engine):
                    assert time.monotonic() < deadline and not under_way.done()
                    time.sleep(0.02)
                patch = {"is_active": False}
                disabled = client.patch(
                    f"/api/v1/users/{user_id}", json=patch, headers=bearer(admin_token)
                )
                assert disabled.status_code == 200
                blocker.rollback()
                assert under_way.result(timeout=10).status_code == 200  # read before: answered
        assert client.get(OGC, auth=("ogc-racing", "pw-1234567")).status_code == 401


def test_a_request_after_a_revoke_does_not_share_a_check_under_way(
    settings: Settings, sync_engine: Engine, admin_token: str, no_failures: None
) -> None:
    """Requests with the same username and password at once share one check; one that comes
    after a new password was set in this process must not take the answer of a check that
    read the old one (held as above, where it clears the account's failures)."""
    user_id = make_user(
        sync_engine, "ogc-sharing", [("planner", ("city", "tam-ky"))], hash_password("pw-1234567")
    )
    old = ("ogc-sharing", "pw-1234567")
    with TestClient(create_app(settings)) as client:
        assert client.get(OGC, auth=("ogc-sharing", "wrong one")).status_code == 401
        with sync_engine.connect() as blocker, ThreadPoolExecutor(max_workers=2) as pool:
            try:
                blocker.execute(
                    text(
                        "SELECT id FROM sign_in_failures WHERE username = 'ogc-sharing' FOR UPDATE"
                    )
                )
                under_way = pool.submit(client.get, OGC, auth=old)
                deadline = time.monotonic() + 10
                while not _waiting_to_clear_failures(sync_engine):
                    assert time.monotonic() < deadline and not under_way.done()
                    time.sleep(0.02)
                patch = {"password": "pw-7654321"}
                changed = client.patch(
                    f"/api/v1/users/{user_id}", json=patch, headers=bearer(admin_token)
                )
                assert changed.status_code == 200
                after = pool.submit(client.get, OGC, auth=old)
                assert after.result(timeout=10).status_code == 401
            finally:
                blocker.rollback()
            assert under_way.result(timeout=10).status_code == 200  # read before: answered


def _waiting_to_clear_failures(sync_engine: Engine) -> bool:
    with sync_engine.connect() as connection:
        return bool(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query ILIKE 'DELETE FROM sign_in_failures%'"
                )
            ).scalar()
        )


def test_html_view_escapes_data(client: TestClient, sync_engine: Engine, surveys: int) -> None:
    with sync_engine.begin() as connection:
        settlement_id, old_name = connection.execute(
            text("SELECT id, name FROM settlements ORDER BY id LIMIT 1")
        ).one()
        connection.execute(
            text("UPDATE settlements SET name = :n WHERE id = :id"),
            {"n": HOSTILE, "id": settlement_id},
        )
    try:
        pages = [
            client.get(f"{OGC}?f=html"),
            client.get(f"{OGC}/conformance?f=html"),
            client.get(f"{OGC}/collections", headers={"Accept": "text/html,application/xhtml+xml"}),
            client.get(f"{OGC}/collections/settlements?f=html&lang=en"),
            client.get(f"{OGC}/collections/settlements/items?f=html&limit=1000"),
            client.get(f"{OGC}/collections/settlements/items/{settlement_id}?f=html"),
            client.get(f"{OGC}/collections/households/items?f=html&limit=5"),
        ]
        for page in pages:
            assert page.status_code == 200, page.text
            assert page.headers["content-type"].startswith("text/html")
            assert "<script>alert" not in page.text
        assert "{{7*7}}&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in pages[4].text
        assert "Phường Hòa Thuận Đông" in pages[5].text
        assert "Các lớp dữ liệu" in pages[2].text and "Settlements" in pages[3].text
        assert "Trang sau" in pages[6].text  # a next link on the first page
        # a survey's free text answer is data in the HTML table too
        body = household_survey(answers=household_answers(needs_notes=HOSTILE))
        assert client.post("/api/v1/submissions", json=body).status_code == 201
        approve(sync_engine, body["id"])
        table = client.get(
            f"{OGC}/collections/households/items", params={"f": "html", "needs_notes": HOSTILE}
        )
        assert table.status_code == 200 and "<script>alert" not in table.text
        assert "Phường Hòa Thuận Đông" in table.text and body["id"] in table.text
        json_feature = client.get(f"{OGC}/collections/settlements/items/{settlement_id}").json()
        assert json_feature["properties"]["name"] == HOSTILE
    finally:
        with sync_engine.begin() as connection:
            connection.execute(
                text("UPDATE settlements SET name = :n WHERE id = :id"),
                {"n": old_name, "id": settlement_id},
            )


def test_another_forms_collection_and_its_personal_fields(
    client: TestClient, as_planner: TestClient, sync_engine: Engine
) -> None:
    """A settlement profile (the `settlement` form) is its own collection, never a
    household; its leader's name and phone reach the admin, never the planner."""
    corners = [(15.571, 108.474), (15.5715, 108.474), (15.5715, 108.4745), (15.571, 108.474)]
    body = household_survey(
        form_id="settlement",
        form_version="2026112801",
        answers={
            "settlement_name": "Tổ 5 Hòa Thuận Đông",
            "leader_name": "Trần Văn Bí Mật",
            "leader_phone": "0911222333",
            "households_count": 120,
            "land_type": "public",
            "boundary": ";".join(f"{lat} {lon} 0 5" for lat, lon in corners),
        },
    )
    assert client.post("/api/v1/submissions", json=body).status_code == 201, body
    approve(sync_engine, body["id"])
    url = f"{OGC}/collections/settlement/items/{body['id']}"
    admin = client.get(url).json()["properties"]
    assert admin["settlement_name"] == "Tổ 5 Hòa Thuận Đông"
    assert admin["leader_name"] == "Trần Văn Bí Mật"
    planner = as_planner.get(url)
    assert planner.status_code == 200
    properties = planner.json()["properties"]
    assert properties["settlement_name"] == "Tổ 5 Hòa Thuận Đông"
    assert "leader_name" not in properties and "leader_phone" not in properties
    assert "Bí Mật" not in planner.text and "0911222333" not in planner.text
    # never a household
    households = as_planner.get(f"{OGC}/collections/households/items/{body['id']}")
    assert households.status_code == 404
