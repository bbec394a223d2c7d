"""Hostile and careless input on the survey intake: each bad survey is its own 4xx outcome,
nothing good is lost or doubled, and no request answers 500."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests import hostile
from tests.factories import household_answers, household_survey

URL = "/api/v1/submissions"
BATCH = f"{URL}/batch"


def stored(engine: Engine, ids: list[str]) -> dict[str, int]:
    """How many rows each id has."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT id::text, count(*) FROM household_surveys WHERE id = ANY(:ids) GROUP BY 1"
            ),
            {"ids": [uuid.UUID(i) for i in ids]},
        )
        return {row[0]: row[1] for row in rows}


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def post_raw(client: TestClient, url: str, body: bytes) -> Any:
    return client.post(url, content=body, headers={"content-type": "application/json"})


def test_a_deeply_nested_answer_is_one_invalid_item_after_a_full_chunk(
    client: TestClient, sync_engine: Engine
) -> None:
    """300 levels used to give 500 'recursion limit' after the first 100 were stored."""
    good = [household_survey() for _ in range(150)]
    bad = household_survey(answers=household_answers(instanceName=nested(300)))
    bad_in_answer = household_survey(answers=household_answers(priority_needs=nested(300)))
    items = [*good[:120], bad, bad_in_answer, *good[120:]]
    response = client.post(BATCH, json={"submissions": items})
    assert response.status_code == 200, response.text
    outcomes = {r["index"]: r for r in response.json()["results"]}
    assert outcomes[120]["outcome"] == "invalid"
    assert outcomes[120]["errors"][0]["code"] == "too_deep"
    assert outcomes[120]["errors"][0]["field"].startswith("answers.instanceName")
    assert outcomes[121]["outcome"] == "invalid"
    assert response.json()["summary"] == {
        "created": 150,
        "duplicate": 0,
        "conflict": 0,
        "invalid": 2,
    }
    assert stored(sync_engine, [g["id"] for g in good]) == {g["id"]: 1 for g in good}
    single = client.post(URL, json=bad)
    assert single.status_code == 422 and single.json()["errors"][0]["code"] == "too_deep"


@pytest.mark.parametrize(
    ("where", "value", "code"),
    [
        ("answer", hostile.NUL, "nul_character"),
        ("answer", hostile.LONE_SURROGATE, "invalid_unicode"),
        ("meta", hostile.NUL, "nul_character"),
        ("meta", hostile.LONE_SURROGATE, "invalid_unicode"),
        ("key", hostile.NUL, "nul_character"),
        ("key", hostile.LONE_SURROGATE, "invalid_unicode"),
        ("collector", hostile.LONE_SURROGATE, "invalid_unicode"),
        ("city", hostile.NUL, "nul_character"),
    ],
)
def test_unstorable_text_fails_only_its_own_survey(
    client: TestClient, sync_engine: Engine, where: str, value: str, code: str
) -> None:
    bad = household_survey()
    if where == "answer":
        bad["answers"]["priority_needs"] = value
    elif where == "meta":
        bad["answers"]["instanceName"] = value
    elif where == "key":
        bad["answers"][value] = "x"
    else:
        bad[where] = value
    good = [household_survey(), household_survey()]
    # Written by the standard library: orjson will not write a lone surrogate, and neither
    # would a phone, but a hostile client can.
    import json

    body = json.dumps({"submissions": [good[0], bad, good[1]]}).encode()
    response = post_raw(client, BATCH, body)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["created", "invalid", "created"]
    assert results[1]["errors"][0]["code"] == code
    assert results[1]["id"] == bad["id"]
    assert stored(sync_engine, [g["id"] for g in good]) == {g["id"]: 1 for g in good}
    single = post_raw(client, URL, json.dumps(bad).encode())
    assert single.status_code == 422 and single.json()["errors"][0]["code"] == code


@pytest.mark.parametrize(
    ("key", "value", "code"),
    [
        ("instanceName", "x" * 1_900_000, "text_too_long"),
        ("instanceName", "x" * 300, "text_too_long"),
        ("instanceID", "uuid:" + "a" * 100, "text_too_long"),
        ("deprecatedID", {"a": 1}, "not_text"),
        ("start", "yesterday", "invalid_datetime"),
        ("end", 12, "not_text"),
        ("today", "2026-13-01", "invalid_date"),
        ("deviceid", ["a"], "not_text"),
        ("username", "u" * 256, "text_too_long"),
        ("audit", True, "not_text"),
    ],
)
def test_odk_meta_answers_are_checked_like_answers(
    client: TestClient, sync_engine: Engine, key: str, value: Any, code: str
) -> None:
    body = household_survey(answers=household_answers(**{key: value}))
    response = client.post(URL, json=body)
    assert response.status_code in (413, 422), response.text
    if response.status_code == 422:
        assert response.json()["errors"][0] == {
            "field": f"answers.{key}",
            "code": code,
            "message": response.json()["errors"][0]["message"],
        }
    else:
        assert response.json()["code"] == code
    assert stored(sync_engine, [body["id"]]) == {}


def test_valid_odk_meta_answers_are_kept(client: TestClient) -> None:
    meta = {
        "instanceID": f"uuid:{uuid.uuid4()}",
        "instanceName": "Hộ bà Hoa",
        "start": "2026-11-26T09:00:00+07:00",
        "end": "2026-11-26T09:25:00+07:00",
        "today": "2026-11-26",
        "deviceid": "collect:abc",
    }
    body = household_survey(answers=household_answers(**meta))
    assert client.post(URL, json=body).status_code == 201
    again = client.post(URL, json=body)
    assert again.status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"status": "\x00"},
        {"status": "approved'--"},
        {"from": "9999-12-31T23:59:59-14:00"},
        {"to": "0001-01-01T00:00:00+14:00"},
        {"from": "0001-01-01T00:00:00"},
        {"city": "\x00"},
        {"ward": "1e99"},
    ],
)
def test_odd_list_filters_are_422_not_500(client: TestClient, params: dict[str, str]) -> None:
    response = client.get(URL, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_failed"


def test_get_on_the_batch_path_is_405(client: TestClient) -> None:
    assert client.get(BATCH).status_code == 405
    assert client.post(f"{URL}/{uuid.uuid4()}").status_code == 405


def test_a_point_far_from_every_city_is_in_no_city(client: TestClient, sync_engine: Engine) -> None:
    paris = household_survey(location={"lat": 48.8566, "lon": 2.3522, "accuracy_m": 5})
    outskirts = household_survey(location={"lat": 15.50, "lon": 108.40, "accuracy_m": 5})
    named_far = household_survey(city="tam-ky", location={"lat": 21.03, "lon": 105.85})
    for body in (paris, outskirts, named_far):
        assert client.post(URL, json=body).status_code == 201
    record = client.get(f"{URL}/{paris['id']}").json()
    assert record["city"] is None
    assert {"outside_wards", "outside_cities"} <= set(record["flags"])
    assert client.get(f"{URL}/{named_far['id']}").json()["city"] is None
    near = client.get(f"{URL}/{outskirts['id']}").json()
    assert near["city"] == "tam-ky" and near["flags"] == ["outside_wards"]
    listed = client.get(URL, params={"city": "tam-ky"}).json()
    assert [item["id"] for item in listed["items"]] == [outskirts["id"]]
    export = client.get(
        "/api/v1/export/households.geojson", params={"city": "tam-ky", "surveys": "all"}
    )
    ids = [f["properties"]["id"] for f in orjson.loads(export.content)["features"]]
    assert ids == [outskirts["id"]]


def test_an_unknown_city_is_422(client: TestClient, sync_engine: Engine) -> None:
    body = household_survey(city="atlantis")
    response = client.post(URL, json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "unknown_city"
    good = household_survey(city="tam-ky")
    batch = client.post(BATCH, json={"submissions": [body, good]}).json()
    assert [r["outcome"] for r in batch["results"]] == ["invalid", "created"]
    assert stored(sync_engine, [body["id"], good["id"]]) == {good["id"]: 1}


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def test_a_fast_phone_clock_is_accepted_and_flagged(client: TestClient) -> None:
    """A clock 2 h fast used to block every survey for good ("collected in the future")."""
    fast = datetime.now(UTC) + timedelta(hours=2)
    body = household_survey(collected_at=_iso(fast - timedelta(minutes=5)), sent_at=_iso(fast))
    first = client.post(URL, json=body)
    assert first.status_code == 201, first.text
    assert "clock_skew" in first.json()["flags"]
    assert first.json()["collected_at"].startswith(_iso(fast - timedelta(minutes=5))[:16])
    # Sent again later, by a phone whose clock moved on: still the same survey.
    resend = dict(body, sent_at=_iso(fast + timedelta(minutes=30)))
    assert client.post(URL, json=resend).status_code == 200
    # Without sent_at, a time in the future is the sign.
    future = household_survey(collected_at=_iso(fast))
    assert "clock_skew" in client.post(URL, json=future).json()["flags"]


def test_a_slow_phone_clock_is_flagged(client: TestClient) -> None:
    slow = datetime.now(UTC) - timedelta(hours=2)
    body = household_survey(collected_at=_iso(slow - timedelta(minutes=5)), sent_at=_iso(slow))
    record = client.post(URL, json=body).json()
    assert "clock_skew" in record["flags"]
    right = household_survey(sent_at=_iso(datetime.now(UTC)))
    assert client.post(URL, json=right).json()["flags"] == []


@pytest.mark.parametrize("sent_at", ["soon", 5, "9999-12-31T23:59:59-14:00"])
def test_a_bad_sent_at_is_422(client: TestClient, sent_at: Any) -> None:
    response = client.post(URL, json=household_survey(sent_at=sent_at))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "sent_at"


def test_a_phone_clock_far_off_still_delivers_its_survey(client: TestClient) -> None:
    """A cheap phone whose clock battery ran out wakes up in 1980: its survey was refused as
    "too old" (or, years ahead, "in the future"), and every resend with it, since the phone
    keeps the time of the first finish: it could never be delivered. It is stored, flagged,
    at the time the clock's error (sent_at against ours) gives back, else at its arrival."""

    def stored_at(response: Any) -> datetime:
        assert response.status_code in (200, 201), response.text
        assert "clock_skew" in response.json()["flags"]
        return datetime.fromisoformat(response.json()["collected_at"])

    finished = datetime(1980, 1, 6, 8, 0, tzinfo=UTC)
    body = household_survey(
        collected_at=_iso(finished), sent_at=_iso(finished + timedelta(hours=2))
    )
    first = client.post(URL, json=body)
    assert first.status_code == 201
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    assert abs(stored_at(first) - two_hours_ago) < timedelta(minutes=2)
    # Sent again later, the clock still off: the same survey (not a conflict), nothing new.
    again = client.post(URL, json={**body, "sent_at": _iso(finished + timedelta(hours=3))})
    assert again.status_code == 200 and stored_at(again) == stored_at(first)
    # Years ahead, or the clock put right after the finish: at its arrival.
    for collected_at, sent_at in (
        ("2099-01-01T08:00:00+07:00", None),
        ("1980-01-06T08:00:00+07:00", _iso(datetime.now(UTC))),
    ):
        arriving = datetime.now(UTC)
        survey = household_survey(collected_at=collected_at, sent_at=sent_at)
        if sent_at is None:
            del survey["sent_at"]
        response = client.post(URL, json=survey)
        assert response.status_code == 201, response.text
        assert abs(stored_at(response) - arriving) < timedelta(minutes=2)


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_only_json_is_read_as_json(
    client: TestClient, sync_engine: Engine, content_type: str | None
) -> None:
    """A page on another site can send these with a no-cors fetch, without asking."""
    body = household_survey()
    headers = {"content-type": content_type} if content_type else {}
    for url, payload in ((URL, body), (BATCH, {"submissions": [body]})):
        response = client.post(url, content=orjson.dumps(payload), headers=headers)
        assert response.status_code == 415, response.text
        assert response.json()["code"] == "json_required"
    assert stored(sync_engine, [body["id"]]) == {}
    ok = client.post(
        URL,
        content=orjson.dumps(body),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert ok.status_code == 201


def test_405_names_every_method_of_the_path(client: TestClient) -> None:
    response = client.request("OPTIONS", URL)
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) >= {"GET", "POST"}
    assert client.delete(BATCH).headers["allow"] == "POST"


@pytest.mark.parametrize("body", [b"[null, null]", b"[]", b'{"submissions": {}}', b"null"])
def test_a_batch_is_an_object_with_a_list(client: TestClient, body: bytes) -> None:
    response = post_raw(client, BATCH, body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "submissions"


@pytest.mark.parametrize("value", ["0.5", "1700000000", "tomorrow", "2026-02-30"])
def test_list_times_are_iso_8601_only(client: TestClient, value: str) -> None:
    response = client.get(URL, params={"to": value, "lang": "en"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "to"


def test_wrong_types_are_named_in_the_users_language(client: TestClient) -> None:
    response = client.post(BATCH, json={"submissions": [5]}, headers={"accept-language": "vi"})
    message = response.json()["results"][0]["errors"][0]["message"]
    assert "đối tượng JSON" in message and "a JSON object" not in message
    english = client.post(BATCH, json={"submissions": [5]}, headers={"accept-language": "en"})
    assert "a JSON object" in english.json()["results"][0]["errors"][0]["message"]


HUGE_INTEGER = "1" + "0" * 400  # valid JSON, past any double


@pytest.mark.parametrize(
    ("field", "literal", "code"),
    [
        ("answers.lane_width_m", "1e400", "not_number"),  # a decimal: Infinity on the phone
        ("answers.lane_width_m", "-" + HUGE_INTEGER, "number_too_large"),
        ("answers.household_size", HUGE_INTEGER, "number_too_large"),  # an integer
        ("answers.head_name", HUGE_INTEGER, "not_text"),  # a text, Infinity on the phone
        ("location.lat", "1e400", "not_number"),
        ("location.accuracy_m", HUGE_INTEGER, "number_too_large"),
    ],
)
def test_a_number_past_any_double_fails_only_its_own_survey(
    client: TestClient, sync_engine: Engine, field: str, literal: str, code: str
) -> None:
    """orjson refuses a whole document for one number it cannot hold as a double: a batch of
    500 surveys was one 422 invalid_json, nothing stored, for ever on the phone."""
    good = [household_survey() for _ in range(4)]
    bad = household_survey()
    section, key = field.split(".")
    bad[section][key] = "__HUGE__"
    body = orjson.dumps({"submissions": [good[0], good[1], bad, good[2], good[3]]})
    body = body.replace(b'"__HUGE__"', literal.encode())
    for attempt in ("created", "duplicate"):
        response = post_raw(client, BATCH, body)
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert [r["outcome"] for r in results] == [attempt, attempt, "invalid", attempt, attempt]
        assert [(e["field"], e["code"]) for e in results[2]["errors"]] == [(field, code)]
    assert stored(sync_engine, [g["id"] for g in good]) == {g["id"]: 1 for g in good}
    assert stored(sync_engine, [bad["id"]]) == {}
    single = post_raw(client, URL, orjson.dumps(bad).replace(b'"__HUGE__"', literal.encode()))
    assert single.status_code == 422, single.text
    assert [(e["field"], e["code"]) for e in single.json()["errors"]] == [(field, code)]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400 x"])
def test_what_is_no_json_is_still_refused_beside_a_huge_number(
    client: TestClient, literal: str
) -> None:
    """The standard library's parser, read when orjson finds a number past any double, takes
    NaN and Infinity, which JSON has not."""
    body = orjson.dumps({"submissions": [household_survey()]})
    body = body.replace(b"}]", b', "x": 1e400, "y": ' + literal.encode() + b"}]")
    response = post_raw(client, BATCH, body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["code"] == "invalid_json"


@pytest.mark.parametrize(
    ("first", "again", "kept"),
    [
        ("1", "1.0", "1"),
        ("10000000000000000", "1e16", "10000000000000000"),
        ("0.000001", "1e-6", "0.000001"),
    ],
)
def test_a_text_sent_as_a_number_is_the_phones_text_of_it(
    client: TestClient, sync_engine: Engine, first: str, again: str, kept: str
) -> None:
    """Stored as Python wrote it (1.0 as "1.0", 1e16 as "1e+16"), the same survey sent again
    by a writer of JSON that writes the number otherwise was a 409 conflict."""
    survey = household_survey()
    survey["answers"]["head_name"] = "__NUMBER__"
    body = orjson.dumps(survey)
    created = post_raw(client, URL, body.replace(b'"__NUMBER__"', first.encode()))
    assert created.status_code == 201, created.text
    resent = post_raw(client, URL, body.replace(b'"__NUMBER__"', again.encode()))
    assert resent.status_code == 200, resent.text  # a duplicate, not 409
    assert client.get(f"{URL}/{survey['id']}").json()["answers"]["head_name"] == kept
