"""ODK Collect's edits (`meta/deprecatedID`): the survey keeps its id, the edit's instanceID
becomes another name of it, and that instanceID must be new, at once and at every resend,
however the sendings meet (app/services/odk.py, app/services/review.correct)."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.auth import bearer
from tests.factories import household_survey
from tests.integration.test_odk import message, phone, post_submission, volunteer
from tests.odk import household_xml, multipart

__all__ = ["phone", "volunteer"]  # fixtures


def stored(client: TestClient, instance_id: str) -> dict[str, Any]:
    """A survey's answers and version."""
    record = client.get(f"/api/v1/submissions/{instance_id.removeprefix('uuid:')}").json()
    history = client.get(f"/api/v1/submissions/{record['id']}/history").json()
    return {"household_size": record["answers"]["household_size"], "version": history["version"]}


def instance_rows(sync_engine: Engine, instance_id: str) -> list[tuple[Any, ...]]:
    with sync_engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                text(
                    "SELECT survey_id::text, deprecated_id FROM odk_submissions "
                    "WHERE instance_id = :id"
                ),
                {"id": instance_id},
            )
        ]


def test_an_edit_may_not_take_the_id_of_another_survey(
    client: TestClient, phone: dict[str, Any], volunteer: dict[str, Any], sync_engine: Engine
) -> None:
    # Its first sending answered 201 and replaced A's content under B's instanceID (whose XML
    # row had not been written yet, or never would be: a survey sent through the JSON API),
    # and a resend a moment later answered 409.
    prefix = phone["prefix"]
    a, b = f"uuid:{uuid.uuid4()}", f"uuid:{uuid.uuid4()}"
    assert post_submission(client, prefix, household_xml(a)).status_code == 201
    assert post_submission(client, prefix, household_xml(b, household_size="9")).status_code == 201
    json_survey = household_survey(
        collected_at="2026-11-26T09:30:00.000+07:00", collector=volunteer["username"]
    )
    sent = client.post("/api/v1/submissions", json=json_survey, headers=bearer(volunteer["token"]))
    assert sent.status_code == 201, sent.text
    c = f"uuid:{json_survey['id']}"
    for taken in (b, c, a):  # another survey's, by Collect or the JSON API; the edited one's
        edit = household_xml(taken, deprecated_id=a, household_size="6")
        for _ in range(3):
            response = post_submission(client, prefix, edit)
            assert response.status_code == 409, (taken, response.text)
            nature, text_ = message(response)
            assert nature == "error" and taken in text_
    assert stored(client, a) == {"household_size": 4, "version": 1}
    assert stored(client, b) == {"household_size": 9, "version": 1}
    assert instance_rows(sync_engine, c) == []
    # A new instanceID is an edit, and its resend stays one.
    edit = household_xml(f"uuid:{uuid.uuid4()}", deprecated_id=a, household_size="6")
    assert post_submission(client, prefix, edit).status_code == 201
    assert post_submission(client, prefix, edit).status_code == 202
    assert stored(client, a) == {"household_size": 6, "version": 2}


def test_an_edits_instance_id_never_becomes_a_new_survey(
    client: TestClient, phone: dict[str, Any], sync_engine: Engine
) -> None:
    # Sent again without its deprecatedID (a form cleared of it, another phone, a hand-made
    # XML), the edit's instanceID was stored as a second survey of the household.
    prefix = phone["prefix"]
    first, edit_id = f"uuid:{uuid.uuid4()}", f"uuid:{uuid.uuid4()}"
    assert post_submission(client, prefix, household_xml(first)).status_code == 201
    edit = household_xml(edit_id, deprecated_id=first, household_size="6")
    assert post_submission(client, prefix, edit).status_code == 201
    for size in ("7", "6"):  # other content, and the edit's own content as a new survey
        response = post_submission(client, prefix, household_xml(edit_id, household_size=size))
        assert response.status_code == 409, response.text
        nature, text_ = message(response)
        assert nature == "error" and edit_id in text_
    assert client.get(f"/api/v1/submissions/{edit_id[5:]}").status_code == 404
    assert stored(client, first) == {"household_size": 6, "version": 2}
    assert instance_rows(sync_engine, edit_id) == [(first[5:], first)]
    # The edit itself, sent again, is still the same edit; and an edit of the edit, its
    # deprecatedID spelled in capitals and braces, edits the first survey.
    assert post_submission(client, prefix, edit).status_code == 202
    spelled = "uuid:{" + edit_id[5:].upper() + "}"
    again = household_xml(f"uuid:{uuid.uuid4()}", deprecated_id=spelled, household_size="8")
    assert post_submission(client, prefix, again).status_code == 201
    assert stored(client, first) == {"household_size": 8, "version": 3}
    with sync_engine.connect() as connection:
        surveys = connection.execute(
            text("SELECT count(*) FROM household_surveys WHERE id IN (:a, :b)"),
            {"a": first[5:], "b": edit_id[5:]},
        ).scalar_one()
    assert surveys == 1


def _locked_while(sync_engine: Engine, survey: str, sendings: int, send: Any) -> None:
    """Hold survey's row while `sendings` threads run send(i); let go once each waits on it."""
    with sync_engine.connect() as holder:
        holder.execute(
            text("SELECT 1 FROM household_surveys WHERE id = :id FOR UPDATE"),
            {"id": survey.removeprefix("uuid:")},
        )
        threads = [threading.Thread(target=send, args=(i,)) for i in range(sendings)]
        for thread in threads:
            thread.start()
        with sync_engine.connect() as watcher:
            for _ in range(300):
                waiting = watcher.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock' AND query LIKE '%FOR UPDATE%'"
                    )
                ).scalar_one()
                watcher.rollback()  # pg_stat_activity is read once per transaction
                if waiting >= sendings:
                    break
                time.sleep(0.02)
            else:
                raise AssertionError("the sendings never waited on the survey")
        holder.rollback()
        for thread in threads:
            thread.join(timeout=30)


def test_two_edits_of_a_survey_at_once_are_both_kept(
    client: TestClient, phone: dict[str, Any], sync_engine: Engine
) -> None:
    # A correction's statements ran before its transaction began (SQLAlchemy's asyncpg
    # adapter sends BEGIN with its own first statement): the survey's row was not held, both
    # edits kept version 1 and the second failed on it (a 500).
    first = f"uuid:{uuid.uuid4()}"
    assert post_submission(client, phone["prefix"], household_xml(first)).status_code == 201
    edits = [
        household_xml(f"uuid:{uuid.uuid4()}", deprecated_id=first, household_size=size)
        for size in ("6", "7")
    ]
    statuses: list[int] = []
    _locked_while(
        sync_engine,
        first,
        2,
        lambda i: statuses.append(post_submission(client, phone["prefix"], edits[i]).status_code),
    )
    assert statuses == [201, 201]
    history = client.get(f"/api/v1/submissions/{first[5:]}/history").json()
    assert history["version"] == 3
    kept = [v["content"]["answers"]["household_size"] for v in history["versions"]]
    assert kept[0] == 4 and kept[1] in (6, 7)


def test_concurrent_resends_of_an_edit_correct_once(
    client: TestClient, phone: dict[str, Any], sync_engine: Engine
) -> None:
    first = f"uuid:{uuid.uuid4()}"
    assert post_submission(client, phone["prefix"], household_xml(first)).status_code == 201
    edit_id = f"uuid:{uuid.uuid4()}"
    edit = household_xml(edit_id, deprecated_id=first, household_size="6")
    statuses: list[int] = []
    _locked_while(
        sync_engine,
        first,
        3,
        lambda _i: statuses.append(post_submission(client, phone["prefix"], edit).status_code),
    )
    assert sorted(statuses) == [201, 202, 202]
    assert stored(client, first) == {"household_size": 6, "version": 2}
    assert instance_rows(sync_engine, edit_id) == [(first[5:], first)]
    assert post_submission(client, phone["prefix"], edit).status_code == 202


def test_two_edits_under_one_instance_id_at_once_store_one(
    client: TestClient, phone: dict[str, Any], sync_engine: Engine
) -> None:
    # Both answered 201: the second replaced the first's content, and its XML was never kept
    # (the instanceID's row held the first's).
    first = f"uuid:{uuid.uuid4()}"
    assert post_submission(client, phone["prefix"], household_xml(first)).status_code == 201
    edit_id = f"uuid:{uuid.uuid4()}"
    edits = [
        household_xml(edit_id, deprecated_id=first, household_size=size) for size in ("6", "7")
    ]
    statuses: dict[int, int] = {}

    def send(i: int) -> None:
        statuses[i] = post_submission(client, phone["prefix"], edits[i]).status_code

    _locked_while(sync_engine, first, 2, send)
    assert sorted(statuses.values()) == [201, 409]
    winner = next(i for i, status in statuses.items() if status == 201)
    assert stored(client, first) == {"household_size": 6 + winner, "version": 2}
    with sync_engine.connect() as connection:
        xml = connection.execute(
            text("SELECT xml FROM odk_submissions WHERE instance_id = :id"), {"id": edit_id}
        ).scalar_one()
    assert xml.encode() == edits[winner]


def test_an_edit_of_a_reviewed_survey_names_its_status_in_words(
    client: TestClient, phone: dict[str, Any]
) -> None:
    # It said "(trạng thái: approved)": the status's code inside a Vietnamese sentence.
    said = {
        "approved": ("Đã duyệt", "Approved"),
        "rejected": ("Bị từ chối", "Rejected"),
    }
    for status, (vi, en) in said.items():
        first = f"uuid:{uuid.uuid4()}"
        assert post_submission(client, phone["prefix"], household_xml(first)).status_code == 201
        decision = {"decision": status, "comment": "Sai hộ" if status == "rejected" else None}
        reviewed = client.post(f"/api/v1/submissions/{first[5:]}/review", json=decision)
        assert reviewed.status_code == 200, reviewed.text
        edit = household_xml(f"uuid:{uuid.uuid4()}", deprecated_id=first, household_size="6")
        body, content_type = multipart(edit)
        for language, words in (("vi", f"(trạng thái: {vi})"), ("en", f"(status: {en})")):
            response = client.post(
                f"{phone['prefix']}/submission",
                content=body,
                headers={"Content-Type": content_type, "Accept-Language": language},
            )
            assert response.status_code == 409, response.text
            nature, text_ = message(response)
            assert nature == "error" and words in text_, text_
            assert status not in text_


def _spellings(survey_id: str) -> list[str]:
    """One survey id as a client may write it: canonical, capitals, braces, a URN."""
    return [survey_id, survey_id.upper(), "{" + survey_id.upper() + "}", f"urn:uuid:{survey_id}"]


def _survey_count(sync_engine: Engine, *ids: str) -> int:
    with sync_engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT count(*) FROM household_surveys WHERE id = ANY(CAST(:ids AS uuid[]))"),
                {"ids": list(ids)},
            ).scalar_one()
        )


def _edited_twice(client: TestClient, prefix: str) -> tuple[str, list[str]]:
    """A survey sent by Collect, edited, and its edit edited: its instanceID and the edits'."""
    first = f"uuid:{uuid.uuid4()}"
    edits = [f"uuid:{uuid.uuid4()}", f"uuid:{uuid.uuid4()}"]
    assert post_submission(client, prefix, household_xml(first)).status_code == 201
    previous = first
    for size, edit_id in zip(("6", "7"), edits, strict=True):
        edit = household_xml(edit_id, deprecated_id=previous, household_size=size)
        assert post_submission(client, prefix, edit).status_code == 201
        previous = edit_id
    return first, edits


def _only_the_edited_survey(
    client: TestClient, sync_engine: Engine, first: str, edits: list[str]
) -> None:
    for edit_id in edits:
        assert client.get(f"/api/v1/submissions/{edit_id[5:]}").status_code == 404
    assert _survey_count(sync_engine, first[5:], *(e[5:] for e in edits)) == 1
    assert stored(client, first) == {"household_size": 7, "version": 3}


def test_an_edits_instance_id_is_no_new_survey_through_the_json_api(
    client: TestClient, phone: dict[str, Any], volunteer: dict[str, Any], sync_engine: Engine
) -> None:
    # The edit is stored under the survey it edited and its instanceID kept in
    # odk_submissions only: the JSON API stored a survey under that id as a second survey of
    # the household, however the id was spelled.
    first, edits = _edited_twice(client, phone["prefix"])
    headers = bearer(volunteer["token"])
    for edit_id in edits:
        for spelled in _spellings(edit_id.removeprefix("uuid:")):
            survey = household_survey(id=spelled, collector=volunteer["username"])
            for language, words in (("vi", "đã có khảo sát"), ("en", "already has survey")):
                response = client.post(
                    "/api/v1/submissions",
                    json=survey,
                    headers={**headers, "Accept-Language": language},
                )
                assert response.status_code == 409, (spelled, response.text)
                body = response.json()
                assert body["code"] == "conflict", body
                assert words in body["detail"] and edit_id.removeprefix("uuid:") in body["detail"]
        # Nor is it a survey a correction (PUT) can reach: the JSON API knows no alias.
        alias = edit_id.removeprefix("uuid:")
        survey = household_survey(id="{" + alias.upper() + "}", collector=volunteer["username"])
        response = client.put(f"/api/v1/submissions/{alias}", json=survey, headers=headers)
        assert response.status_code == 404, response.text
    _only_the_edited_survey(client, sync_engine, first, edits)


def test_an_edits_instance_id_is_a_conflict_in_a_batch(
    client: TestClient, phone: dict[str, Any], volunteer: dict[str, Any], sync_engine: Engine
) -> None:
    # Each alias (one placed by the server, one outside every ward, which the database
    # places: both statements) is that item's conflict; the rest of the batch is stored.
    first, edits = _edited_twice(client, phone["prefix"])
    headers = bearer(volunteer["token"])
    fresh = household_survey(collector=volunteer["username"])
    far = {"lat": 48.8566, "lon": 2.3522, "accuracy_m": 5.0}
    items = [
        household_survey(id="{" + edits[0][5:].upper() + "}", collector=volunteer["username"]),
        fresh,
        household_survey(
            id=f"urn:uuid:{edits[1][5:]}", collector=volunteer["username"], location=far
        ),
    ]
    for outcome in ("created", "duplicate"):  # and again, as a phone retries its outbox
        response = client.post(
            "/api/v1/submissions/batch", json={"submissions": items}, headers=headers
        )
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert [r["outcome"] for r in results] == ["conflict", outcome, "conflict"], results
        for result, edit_id in zip(results[::2], edits, strict=True):
            assert result["id"] == edit_id[5:]
            assert [(e["field"], e["code"]) for e in result["errors"]] == [("id", "conflict")]
    assert client.get(f"/api/v1/submissions/{fresh['id']}").status_code == 200
    _only_the_edited_survey(client, sync_engine, first, edits)


def test_a_json_survey_id_is_never_an_edits_instance_id(
    client: TestClient, phone: dict[str, Any], volunteer: dict[str, Any], sync_engine: Engine
) -> None:
    # The reverse: an id the JSON API stored, spelled otherwise in an edit's instanceID, is
    # no other name of the survey the edit would correct.
    prefix = phone["prefix"]
    first = f"uuid:{uuid.uuid4()}"
    assert post_submission(client, prefix, household_xml(first)).status_code == 201
    json_survey = household_survey(collector=volunteer["username"])
    sent = client.post("/api/v1/submissions", json=json_survey, headers=bearer(volunteer["token"]))
    assert sent.status_code == 201, sent.text
    json_id = json_survey["id"]
    for spelled in ("uuid:" + json_id.upper(), "uuid:{" + json_id + "}", f"urn:uuid:{json_id}"):
        edit = household_xml(spelled, deprecated_id=first, household_size="6")
        response = post_submission(client, prefix, edit)
        assert response.status_code == 409, (spelled, response.text)
        nature, text_ = message(response)
        assert nature == "error" and json_id in text_
    assert instance_rows(sync_engine, f"uuid:{json_id}") == []
    assert stored(client, first) == {"household_size": 4, "version": 1}


def test_an_edit_naming_its_survey_in_a_long_form_of_its_uuid_is_taken(
    client: TestClient, phone: dict[str, Any], sync_engine: Engine
) -> None:
    """A deprecatedID Python reads as a UUID (hyphens anywhere, braces, `urn:uuid:`) is the
    survey it names, kept as `uuid:` and the UUID's own text: kept as sent, a long one
    outgrew its column and the edit was a 422 in JSON, not OpenRosa."""
    prefix = phone["prefix"]
    a = uuid.uuid4()
    assert post_submission(client, prefix, household_xml(f"uuid:{a}")).status_code == 201
    for size, named in enumerate(("uuid:" + "-" * 100 + str(a), f"urn:uuid:{{{a}}}"), 7):
        edit_id = f"uuid:{uuid.uuid4()}"
        edit = household_xml(edit_id, deprecated_id=named, household_size=str(size))
        response = post_submission(client, prefix, edit)
        assert response.status_code == 201, response.text
        assert instance_rows(sync_engine, edit_id) == [(str(a), f"uuid:{a}")]
    assert stored(client, f"uuid:{a}")["household_size"] == 8
