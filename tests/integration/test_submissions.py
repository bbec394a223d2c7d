"""Ingest API against a real PostGIS: idempotency, conflicts, validation, placement, batch."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.db.submissions import INSERT_MANY
from app.forms.registry import FormRegistry
from app.main import create_app
from app.services.intake import PreparedSubmission, prepare_submission
from app.services.submissions import STATEMENT_ROWS, statement_sizes, submission_row
from app.settings import Settings
from tests.auth import bearer
from tests.factories import household_answers, household_survey

URL = "/api/v1/submissions"


def stored_count(engine: Engine, submission_id: str | None = None) -> int:
    with engine.connect() as connection:
        if submission_id is None:
            return int(
                connection.execute(text("SELECT count(*) FROM household_surveys")).scalar_one()
            )
        return int(
            connection.execute(
                text("SELECT count(*) FROM household_surveys WHERE id = :id"), {"id": submission_id}
            ).scalar_one()
        )


def errors_by_field(response: httpx.Response) -> dict[str, dict[str, Any]]:
    return {error["field"]: error for error in response.json()["errors"]}


def test_create_then_resend_is_idempotent(client: TestClient, sync_engine: Engine) -> None:
    body = household_survey()
    first = client.post(URL, json=body)
    assert first.status_code == 201, first.text
    record = first.json()
    assert record["id"] == body["id"]
    assert record["ward"]["name"] == "An Xuân"
    assert record["city"] == "tam-ky"
    assert record["status"] == "received"
    assert record["location"] == {
        "lat": 15.571,
        "lon": 108.474,
        "accuracy_m": 6.5,
        "altitude_m": 12.0,
        "manual": False,
    }

    again = client.post(URL, json=body)
    assert again.status_code == 200
    assert again.json() == record
    assert stored_count(sync_engine) == 1


def test_resend_with_equivalent_encoding_is_a_duplicate(client: TestClient) -> None:
    body = household_survey()
    assert client.post(URL, json=body).status_code == 201
    # Same content, sent as strings and with another time-zone spelling of the same instant.
    resend = {**body, "collected_at": "2026-11-26T02:30:00Z"}
    resend["answers"] = {
        **body["answers"],
        "household_size": "4",
        "priority_needs": ["drainage", "lane"],
    }
    assert client.post(URL, json=resend).status_code == 200


def test_same_id_different_content_is_a_conflict(client: TestClient, sync_engine: Engine) -> None:
    body = household_survey()
    assert client.post(URL, json=body).status_code == 201
    edited = {**body, "answers": household_answers(water_source="piped")}
    response = client.post(URL, json=edited, headers={"Accept-Language": "en"})
    assert response.status_code == 409
    assert "already has survey" in response.json()["detail"]
    with sync_engine.connect() as connection:
        water = connection.execute(
            text("SELECT answers->>'water_source' FROM household_surveys WHERE id = :id"),
            {"id": body["id"]},
        ).scalar_one()
    assert water == "shared_tap"  # the stored survey is untouched


def test_concurrent_duplicates_store_one_row(
    live_server: str, sync_engine: Engine, clean_surveys: None, admin_token: str
) -> None:
    body = household_survey()
    statuses: list[int] = []
    barrier = threading.Barrier(12)

    def send() -> None:
        with httpx.Client(base_url=live_server, timeout=30, headers=bearer(admin_token)) as http:
            barrier.wait()
            statuses.append(http.post(URL, json=body).status_code)

    threads = [threading.Thread(target=send) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 11 + [201]
    assert stored_count(sync_engine, body["id"]) == 1


def _wait_for_lock_waiter(engine: Engine) -> None:
    """Until a request of the app waits on a row lock held by a test transaction."""
    with engine.connect() as watcher:
        for _ in range(300):
            waiting = watcher.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event = 'transactionid'"
                )
            ).scalar_one()
            if waiting:
                return
            # pg_stat_activity is read once per transaction (stats_fetch_consistency):
            # end it, or every later look sees the first.
            watcher.rollback()
            time.sleep(0.02)
    raise AssertionError("no request waited for the test's transaction")


def _insert_row(connection: Any, prepared: PreparedSubmission) -> None:
    connection.execute(INSERT_MANY, {"items": orjson.dumps([submission_row(prepared)]).decode()})


def test_resend_racing_an_uncommitted_first_send_reads_the_committed_row(
    live_server: str,
    sync_engine: Engine,
    forms: FormRegistry,
    clean_surveys: None,
    admin_token: str,
) -> None:
    """The first send is still in its transaction when the resend arrives: the resend waits on
    the primary key, sees nothing in its own snapshot, and must read the committed row."""
    body = household_survey()
    prepared, problems = prepare_submission(body, forms, datetime.now(UTC))
    assert prepared is not None, problems
    answers: list[httpx.Response] = []
    with sync_engine.connect() as first_send:
        _insert_row(first_send, prepared)
        thread = threading.Thread(
            target=lambda: answers.append(
                httpx.post(live_server + URL, json=body, timeout=30, headers=bearer(admin_token))
            )
        )
        thread.start()
        _wait_for_lock_waiter(sync_engine)
        first_send.commit()
    thread.join()
    assert answers[0].status_code == 200, answers[0].text
    assert answers[0].json()["id"] == body["id"]
    assert stored_count(sync_engine, body["id"]) == 1


def test_overlapping_batches_lock_ids_in_one_order(
    live_server: str,
    sync_engine: Engine,
    forms: FormRegistry,
    clean_surveys: None,
    admin_token: str,
) -> None:
    """Another writer holds the smaller id and is about to write the larger one; a batch sent
    larger-first must not have taken the larger one already (that was a deadlock: a 500)."""
    bodies = sorted((household_survey() for _ in range(2)), key=lambda b: uuid.UUID(b["id"]))
    rows = [prepare_submission(body, forms, datetime.now(UTC))[0] for body in bodies]
    assert rows[0] is not None and rows[1] is not None
    answers: list[httpx.Response] = []
    with sync_engine.connect() as other_writer:
        other_writer.execute(text("SET lock_timeout = '10s'"))
        _insert_row(other_writer, rows[0])
        thread = threading.Thread(
            target=lambda: answers.append(
                httpx.post(
                    f"{live_server}{URL}/batch",
                    json={"submissions": [bodies[1], bodies[0]]},
                    timeout=30,
                    headers=bearer(admin_token),
                )
            )
        )
        thread.start()
        _wait_for_lock_waiter(sync_engine)
        _insert_row(other_writer, rows[1])  # blocks for ever if the batch holds it: deadlock
        other_writer.commit()
    thread.join()
    assert answers[0].status_code == 200, answers[0].text
    assert answers[0].json()["summary"] == {
        "created": 0,
        "duplicate": 2,
        "conflict": 0,
        "invalid": 0,
    }
    assert stored_count(sync_engine) == 2


def test_concurrent_batches_with_overlapping_ids(
    live_server: str, sync_engine: Engine, clean_surveys: None, admin_token: str
) -> None:
    surveys = [household_survey() for _ in range(40)]
    outcomes: list[dict[str, int]] = []

    def send(items: list[dict[str, Any]]) -> None:
        with httpx.Client(base_url=live_server, timeout=30, headers=bearer(admin_token)) as http:
            outcomes.append(
                http.post(f"{URL}/batch", json={"submissions": items}).json()["summary"]
            )

    threads = [threading.Thread(target=send, args=(surveys[i::2] + surveys,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 2  # neither batch failed
    assert sum(o["created"] for o in outcomes) == 40
    assert sum(o["conflict"] + o["invalid"] for o in outcomes) == 0
    assert stored_count(sync_engine) == 40


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"location": {"lat": 95.0, "lon": 108.47}}, "location.lat", "lat_range"),
        ({"location": {"lat": 15.57, "lon": 190.0}}, "location.lon", "lon_range"),
        ({"location": {"lat": 108.47, "lon": 15.57}}, "location", "lat_lon_swapped"),
        ({"location": {"lat": 0, "lon": 0}}, "location", "null_island"),
        (
            {"location": {"lat": 15.57, "lon": 108.47, "accuracy_m": -3}},
            "location.accuracy_m",
            "accuracy_negative",
        ),
        ({"location": {"lat": "15.57", "lon": 108.47}}, "location.lat", "wrong_type"),
        ({"location": None}, "location", "missing"),
        ({"collected_at": "yesterday"}, "collected_at", "invalid_datetime"),
        ({"form_id": "no_such_form"}, "form_id", "unknown_form"),
        ({"form_id": None}, "form_id", "missing"),
        ({"form_id": ""}, "form_id", "wrong_type"),
        ({"form_version": "1999"}, "form_version", "unknown_form_version"),
        ({"id": "not-a-uuid"}, "id", "invalid_uuid"),
        ({"answers": household_answers(tenure=None)}, "answers.tenure", "required"),
        ({"answers": household_answers(tenure="castle")}, "answers.tenure", "invalid_choice"),
        (
            {"answers": household_answers(priority_needs="water spaceship")},
            "answers.priority_needs",
            "invalid_choice",
        ),
        (
            {"answers": household_answers(household_size="four")},
            "answers.household_size",
            "not_integer",
        ),
        ({"answers": household_answers(household_size=45)}, "answers.household_size", "constraint"),
        ({"answers": household_answers(lane_width_m="wide")}, "answers.lane_width_m", "not_number"),
        ({"answers": household_answers(head_phone="12345")}, "answers.head_phone", "constraint"),
        (
            {"answers": household_answers(savings_group="no", cdf_loan="yes")},
            "answers.cdf_loan",
            "not_relevant",
        ),
        (
            {"answers": household_answers(favourite_colour="blue")},
            "answers.favourite_colour",
            "unknown_question",
        ),
        ({"answers": "tenure=red_book"}, "answers", "wrong_type"),
        ({"extra": 1}, "extra", "unknown_field"),
    ],
)
def test_invalid_input_names_the_field(
    client: TestClient, sync_engine: Engine, change: dict[str, Any], field: str, code: str
) -> None:
    response = client.post(URL, json=household_survey(**change))
    assert response.status_code == 422, response.text
    errors = errors_by_field(response)
    assert field in errors, errors
    assert errors[field]["code"] == code
    assert errors[field]["message"]
    assert stored_count(sync_engine) == 0


def test_a_null_form_id_is_named_missing_also_in_a_batch(
    client: TestClient, sync_engine: Engine
) -> None:
    """`"form_id": null` was a 422 with `"errors": []` (a batch item: invalid, no error)."""
    response = client.post(URL, json=household_survey(form_id=None))
    assert response.status_code == 422, response.text
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("form_id", "missing")]
    batch = client.post(
        f"{URL}/batch",
        json={"submissions": [household_survey(form_id=None), household_survey()]},
    )
    assert batch.status_code == 200, batch.text
    first, second = batch.json()["results"]
    assert first["outcome"] == "invalid" and second["outcome"] == "created"
    assert [(e["field"], e["code"]) for e in first["errors"]] == [("form_id", "missing")]
    assert stored_count(sync_engine) == 1


def test_errors_are_in_vietnamese_by_default_and_english_on_request(client: TestClient) -> None:
    body = household_survey(answers=household_answers(tenure=None, household_size=45))
    vi = errors_by_field(client.post(URL, json=body))
    assert vi["answers.tenure"]["message"] == "Bắt buộc trả lời câu này."
    assert vi["answers.household_size"]["message"] == "Số người phải từ 1 đến 30."
    en = errors_by_field(client.post(URL, json=body, headers={"Accept-Language": "en-US,en;q=0.9"}))
    assert en["answers.tenure"]["message"] == "This question is required."
    assert (
        errors_by_field(client.post(f"{URL}?lang=en", json=body))["answers.household_size"][
            "message"
        ]
        == "Must be between 1 and 30."
    )


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        b"",
        b"[]",
        b"null",
        b"42",
        b'"text"',
        b'{"id": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        json.dumps(
            {"id": str(uuid.uuid4()), "answers": {"head_name": {"nested": [1, 2]}}}
        ).encode(),
        b"\xff\xfe\x00garbage",
    ],
)
def test_malformed_bodies_get_4xx_never_500(client: TestClient, payload: bytes) -> None:
    response = client.post(URL, content=payload, headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["detail"]


def test_huge_body_is_refused_with_413(client: TestClient) -> None:
    body = household_survey(answers=household_answers(needs_notes="x" * 3_000_000))
    response = client.post(URL, json=body)
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"


def test_point_is_placed_in_ward_and_settlement(client: TestClient, sync_engine: Engine) -> None:
    with sync_engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT s.id, s.name, w.id AS ward_id, w.name AS ward_name, "
                "ST_Y(ST_PointOnSurface(s.geom)) AS lat, ST_X(ST_PointOnSurface(s.geom)) AS lon "
                "FROM settlements s JOIN wards w ON w.id = s.ward_id ORDER BY s.code LIMIT 1"
            )
        ).one()
    body = household_survey(location={"lat": row.lat, "lon": row.lon, "accuracy_m": 4.0})
    record = client.post(URL, json=body).json()
    assert record["settlement"] == {"id": row.id, "name": row.name}
    assert record["ward"] == {"id": row.ward_id, "name": row.ward_name}
    assert record["flags"] == []


def test_point_outside_every_ward_is_stored_and_flagged(
    client: TestClient, sync_engine: Engine
) -> None:
    body = household_survey(location={"lat": 15.66, "lon": 108.56, "accuracy_m": 9.0})
    response = client.post(URL, json=body)
    assert response.status_code == 201
    record = response.json()
    assert record["ward"] is None and record["settlement"] is None
    assert "outside_wards" in record["flags"]
    assert record["city"] == "tam-ky"  # the nearest city
    assert stored_count(sync_engine, body["id"]) == 1


def test_low_gps_accuracy_is_flagged(client: TestClient) -> None:
    body = household_survey(location={"lat": 15.571, "lon": 108.474, "accuracy_m": 45.0})
    assert "low_gps_accuracy" in client.post(URL, json=body).json()["flags"]


def test_batch_answers_each_item_and_keeps_the_good_ones(
    client: TestClient, sync_engine: Engine
) -> None:
    stored_before = household_survey()
    assert client.post(URL, json=stored_before).status_code == 201
    good = [household_survey() for _ in range(3)]
    conflicting = {**stored_before, "answers": household_answers(sanitation="own_toilet")}
    invalid = household_survey(answers=household_answers(tenure="castle"))
    items = [good[0], invalid, stored_before, good[1], conflicting, good[2], good[0], "junk"]
    response = client.post(f"{URL}/batch", json={"submissions": items})
    assert response.status_code == 200, response.text
    payload = response.json()
    outcomes = [r["outcome"] for r in payload["results"]]
    assert outcomes == [
        "created",
        "invalid",
        "duplicate",
        "created",
        "conflict",
        "created",
        "duplicate",
        "invalid",
    ]
    assert payload["summary"] == {"created": 3, "duplicate": 2, "conflict": 1, "invalid": 2}
    assert payload["results"][1]["errors"][0]["field"] == "answers.tenure"
    assert set(payload["results"][0]) == {"index", "id", "outcome", "errors"}  # no records back
    stored = client.get(f"{URL}/{good[0]['id']}").json()  # one survey's record, when wanted
    assert stored["ward"]["name"] == "An Xuân"
    assert stored_count(sync_engine) == 4
    # The phone retries the whole batch after a lost response: nothing new is stored.
    retry = client.post(f"{URL}/batch", json={"submissions": items}).json()
    assert retry["summary"] == {"created": 0, "duplicate": 5, "conflict": 1, "invalid": 2}
    assert stored_count(sync_engine) == 4


def test_batch_outcomes_hold_across_its_statements(client: TestClient, sync_engine: Engine) -> None:
    """A batch leaves in several statements (statement_sizes): a duplicate or a conflict
    whose first copy went in another statement is still recognised."""
    # 304 new surveys: two statements of 152. good[0] goes in the first; good[1] (the 153rd
    # new survey) and good[2] (the 304th) in the second; the copies come back as a duplicate
    # and a conflict.
    assert statement_sizes(304) == [152, 152]
    stored_before = household_survey()
    assert client.post(URL, json=stored_before).status_code == 201
    good = [household_survey() for _ in range(3)]
    conflicting_in_batch = {**good[1], "answers": household_answers(sanitation="own_toilet")}
    fillers = [[household_survey() for _ in range(150)] for _ in range(2)]
    items = [
        good[0],
        "junk",
        stored_before,
        *fillers[0],
        good[1],
        *fillers[1],
        conflicting_in_batch,
        good[2],
        good[0],
    ]
    payload = client.post(f"{URL}/batch", json={"submissions": items}).json()
    outcomes = [r["outcome"] for r in payload["results"]]
    assert outcomes[:3] == ["created", "invalid", "duplicate"]
    assert outcomes[-3:] == ["conflict", "created", "duplicate"]
    assert outcomes[3:-3].count("created") == 301  # the fillers and good[1]
    assert payload["summary"] == {"created": 303, "duplicate": 2, "conflict": 1, "invalid": 1}
    assert stored_count(sync_engine) == 304


def test_statement_sizes() -> None:
    """As few statements as hold STATEMENT_ROWS each, of sizes within one of each other."""
    assert statement_sizes(0) == []
    assert statement_sizes(1) == [1]
    assert statement_sizes(STATEMENT_ROWS) == [STATEMENT_ROWS]
    assert statement_sizes(STATEMENT_ROWS + 1) == [126, 125]
    assert statement_sizes(500) == [250, 250]
    assert statement_sizes(751) == [188, 188, 188, 187]
    for count in range(1, 2000, 7):
        sizes = statement_sizes(count)
        assert sum(sizes) == count and max(sizes) <= STATEMENT_ROWS
        assert max(sizes) - min(sizes) <= 1 and len(sizes) == -(-count // STATEMENT_ROWS)


def test_a_batch_leaves_in_statements_of_the_planned_sizes(
    client: TestClient, sync_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every survey is checked before the first statement leaves; the new ones then leave
    in the statements of statement_sizes, together (the real statements, only counted)."""
    from app.api import submissions as submissions_api
    from app.services import intake, placement

    events: list[str] = []
    real_store = placement.store
    real_check = intake.prepare_submission

    async def counted(pool: Any, rows: Any) -> dict[str, str]:
        events.append(f"store {len(rows)}")
        return await real_store(pool, rows)

    def checked(*args: Any, **kwargs: Any) -> Any:
        events.append("check")
        return real_check(*args, **kwargs)

    monkeypatch.setattr(placement, "store", counted)
    monkeypatch.setattr(submissions_api, "prepare_submission", checked)
    count = STATEMENT_ROWS + 57
    items = [household_survey() for _ in range(count)]
    payload = client.post(f"{URL}/batch", json={"submissions": items}).json()
    assert payload["summary"]["created"] == count
    assert events == ["check"] * count + [f"store {size}" for size in statement_sizes(count)]
    assert statement_sizes(count) == [154, 153]
    assert stored_count(sync_engine) == count


def test_batch_limits(client: TestClient) -> None:
    too_many = {"submissions": [household_survey() for _ in range(501)]}
    refused = client.post(f"{URL}/batch", json=too_many)
    assert refused.status_code == 422
    assert refused.json()["code"] == "batch_too_large"
    assert refused.json()["errors"][0]["field"] == "submissions"
    assert client.post(f"{URL}/batch", json={"submissions": "x"}).status_code == 422
    assert client.post(f"{URL}/batch", json={"submissions": []}).json()["summary"]["created"] == 0


def test_read_and_list_with_filters_and_paging(client: TestClient, planner_token: str) -> None:
    bodies = [
        household_survey(collected_at=f"2026-11-{day:02d}T09:00:00+07:00")
        for day in (10, 11, 12, 13, 14)
    ]
    for body in bodies:
        assert client.post(URL, json=body).status_code == 201
    one = client.get(f"{URL}/{bodies[0]['id']}", headers=bearer(planner_token)).json()
    assert one["answers"]["tenure"] == "papers_only"
    assert "head_name" not in one["answers"] and "head_phone" not in one["answers"]

    page = client.get(URL, params={"city": "tam-ky", "limit": 2}).json()
    assert page["total"] == 5 and len(page["items"]) == 2
    assert page["items"][0]["id"] == bodies[-1]["id"]  # newest first
    rest = client.get(URL, params={"city": "tam-ky", "limit": 2, "offset": 4}).json()
    assert [item["id"] for item in rest["items"]] == [bodies[0]["id"]]
    ward_id = one["ward"]["id"]
    assert client.get(URL, params={"ward": ward_id}).json()["total"] == 5
    assert client.get(URL, params={"ward": ward_id + 999}).json()["total"] == 0
    dated = client.get(
        URL, params={"from": "2026-11-11T00:00:00+07:00", "to": "2026-11-13T00:00:00+07:00"}
    )
    assert dated.json()["total"] == 2
    assert client.get(URL, params={"status": "received"}).json()["total"] == 5
    assert client.get(URL, params={"city": "atlantis"}).status_code == 404
    assert client.get(URL, params={"limit": 0}).status_code == 422
    assert client.get(URL, params={"from": "last week"}).status_code == 422
    assert client.get(f"{URL}/{uuid.uuid4()}").status_code == 404
    assert client.get(f"{URL}/not-a-uuid").status_code == 404  # no survey has that id


def test_places_and_health(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    cities = client.get("/api/v1/cities").json()
    assert [c["slug"] for c in cities] == ["tam-ky"]
    assert cities[0]["name"] == "Tam Kỳ" and cities[0]["wards"] == 10
    wards = client.get("/api/v1/cities/tam-ky/wards").json()
    assert len(wards) == 10 and {"An Mỹ", "Tân Thạnh"} <= {w["name"] for w in wards}
    settlements = client.get(f"/api/v1/wards/{wards[0]['id']}/settlements").json()
    assert 3 <= len(settlements) <= 5 and all(s["ward_id"] == wards[0]["id"] for s in settlements)
    assert client.get("/api/v1/cities/atlantis/wards").status_code == 404
    assert client.get("/api/v1/wards/999999/settlements").status_code == 404
    assert client.get("/api/v1/wards/abc/settlements").status_code == 422


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/wards/2305843009213693953/settlements",
        "/api/v1/wards/-5/settlements",
        f"{URL}?ward=-3047843410",
        f"{URL}?settlement=99999999999999",
        f"{URL}?offset=99999999999999999999",
        "/api/v1/export/households.geojson?city=tam-ky&ward=117858015818870",
    ],
)
def test_out_of_range_ids_are_4xx(client: TestClient, path: str) -> None:
    # Found by schemathesis: PostgreSQL integers are 32-bit, Python's are not.
    response = client.get(path)
    assert response.status_code == 422, response.text


def test_a_nul_character_is_refused_without_failing_the_batch(
    client: TestClient, sync_engine: Engine
) -> None:
    bad = household_survey(answers=household_answers(needs_notes="hẻm\u0000ngập"))
    good = household_survey()
    response = client.post(f"{URL}/batch", json={"submissions": [bad, good]})
    assert [r["outcome"] for r in response.json()["results"]] == ["invalid", "created"]
    assert response.json()["results"][0]["errors"][0]["code"] == "nul_character"
    assert client.post(URL, json={**bad, "id": str(uuid.uuid4())}).status_code == 422
    assert client.post(URL, json=household_survey(collector="a\u0000b")).status_code == 422
    assert stored_count(sync_engine) == 1
    # Query strings too (found by schemathesis).
    assert client.get(URL, params={"city": "tam\u0000ky"}).status_code in (404, 422)


def test_openapi_documents_the_request_bodies(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    assert {"SubmissionIn", "BatchIn", "LocationIn"} <= set(components)
    body = schema["paths"]["/api/v1/submissions"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("/SubmissionIn")


def test_every_reference_in_the_schema_resolves(client: TestClient) -> None:
    """Each `$ref` of openapi.json points at something in it: a nested model of a request
    body kept its `$defs` inline (#/$defs/SurveySeen, resolved against the document's root
    where there is none), and schemathesis skipped that part of the body."""
    schema = client.get("/openapi.json").json()

    def references(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from references(value)
        elif isinstance(node, list):
            for value in node:
                yield from references(value)

    def resolves(reference: str) -> bool:
        node: Any = schema
        for part in reference.removeprefix("#/").split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    found = list(references(schema))
    assert "#/components/schemas/SurveySeen" in found
    # The server answers 422 to another key of a survey seen: the schema says so.
    assert schema["components"]["schemas"]["SurveySeen"]["additionalProperties"] is False
    assert [ref for ref in found if not ref.startswith("#/") or not resolves(ref)] == []


def test_a_list_filtered_by_an_unknown_city_is_a_documented_404(client: TestClient) -> None:
    answer = client.get(URL, params={"city": "khong-co-thanh-pho-nay"})
    assert answer.status_code == 404 and answer.json()["code"] == "unknown_city"
    schema = client.get("/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] != "header"}
            places = names & {"city", "slug"} or any(
                p["in"] == "path" for p in operation.get("parameters", [])
            )
            if places:
                assert "404" in operation["responses"], (method, path)


def test_database_out_of_reach_is_503_and_the_phone_keeps_its_survey(
    tmp_path: Path, admin_token: str
) -> None:
    with socket.socket() as sock:  # a port where nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(
        database_url=f"postgresql://postgres@127.0.0.1:{port}/nowhere", media_dir=tmp_path
    )
    with TestClient(create_app(settings), headers=bearer(admin_token)) as down:
        sent = down.post(URL, json=household_survey())
        assert sent.status_code == 503, sent.text
        assert sent.headers["retry-after"] == "10"
        assert sent.json()["code"] == "database_unavailable"
        assert "điện thoại" in sent.json()["detail"]  # Vietnamese by default
        batch = down.post(f"{URL}/batch", json={"submissions": [household_survey()]})
        assert batch.status_code == 503
        assert down.get("/api/v1/cities").status_code == 503
        assert down.get("/healthz").status_code == 503


def test_a_batch_is_freed_once_answered(client: TestClient) -> None:
    """The batch's checked surveys are freed after its answer is written (their last
    references go on the event loop's next turn), not kept."""
    import gc

    def prepared_alive() -> int:
        return sum(type(item) is PreparedSubmission for item in gc.get_objects())

    items = [household_survey() for _ in range(40)]
    assert client.post(f"{URL}/batch", json={"submissions": items}).json()["summary"] == {
        "created": 40,
        "duplicate": 0,
        "conflict": 0,
        "invalid": 0,
    }
    deadline = time.monotonic() + 5
    while prepared_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert prepared_alive() == 0
