"""Recordings and documents sent like photos, each only for a question of its kind, and a
point placed by hand stored as such (location.manual -> household_surveys.location_manual)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine, text

from app.main import create_app
from app.settings import Settings
from tests.auth import bearer
from tests.factories import TAM_KY_POINT
from tests.widget_forms import build_form

WEBM = b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 4  # an EBML header, then anything
OGG = b"OggS" + b"\x00\x02" + bytes(200)
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), "green").save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture
def forms_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "forms"
    build_form("widgets_phone", directory)
    return directory


@pytest.fixture
def widget_client(
    database_url: str, tmp_path: Path, forms_dir: Path, clean_surveys: None, admin_token: str
) -> Iterator[TestClient]:
    settings = Settings(
        database_url=database_url, media_dir=tmp_path / "media", forms_dir=forms_dir
    )
    with TestClient(create_app(settings), headers=bearer(admin_token)) as client:
        yield client


def widgets_survey(**answers: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "form_id": "widgets_phone",
        "form_version": "2026120201",
        "collected_at": "2026-12-02T09:30:00+07:00",
        "collector": "tnv-07",
        "location": dict(TAM_KY_POINT),
        "answers": {
            "water": "well",
            "needs": "drain road light",
            "rooms": 3,
            "share": 0.3,
            "consent": "OK",
            "visited": "2026-12-02T09:15:00.000+07:00",
            "wake": "05:30:00.000+07:00",
            "meter": "VN-123456",
            "voice": "voice-abc.webm",
            "paper": "paper-abc.pdf",
            **answers,
        },
    }
    return body


def upload(client: TestClient, survey: dict[str, Any], name: str, data: bytes, kind: str) -> Any:
    return client.post(
        f"/api/v1/submissions/{survey['id']}/attachments/{name}",
        content=data,
        headers={"content-type": kind},
    )


@pytest.fixture
def stored(widget_client: TestClient) -> dict[str, Any]:
    body = widgets_survey()
    response = widget_client.post("/api/v1/submissions", json=body)
    assert response.status_code == 201, response.text
    return body


def test_every_widget_answer_is_accepted_as_the_contract_says(
    widget_client: TestClient, stored: dict[str, Any]
) -> None:
    record = widget_client.get(f"/api/v1/submissions/{stored['id']}").json()
    assert record["answers"]["needs"] == "drain road light"
    assert record["answers"]["consent"] == "OK"
    assert record["location"]["manual"] is False


def test_recording_and_document_are_stored_once(
    widget_client: TestClient, stored: dict[str, Any], tmp_path: Path, sync_engine: Engine
) -> None:
    first = upload(widget_client, stored, "voice-abc.webm", WEBM, "audio/webm")
    assert first.status_code == 201, first.text
    assert first.json()["content_type"] == "audio/webm"
    again = upload(widget_client, stored, "voice-abc.webm", WEBM, "audio/webm")
    assert again.status_code == 200
    document = upload(widget_client, stored, "paper-abc.pdf", PDF, "application/pdf")
    assert document.status_code == 201, document.text
    assert (tmp_path / "media" / stored["id"] / "voice-abc.webm").read_bytes() == WEBM
    with sync_engine.connect() as connection:
        count = connection.execute(
            text("SELECT count(*) FROM attachments WHERE submission_id = :id"),
            {"id": stored["id"]},
        ).scalar_one()
    assert count == 2
    # A document is downloaded, never shown in the page.
    read = widget_client.get(f"/api/v1/submissions/{stored['id']}/attachments/paper-abc.pdf")
    assert read.status_code == 200
    assert read.headers["content-disposition"].startswith("attachment;")
    assert read.content == PDF


def test_a_file_of_another_kind_than_its_question_is_415(
    widget_client: TestClient, stored: dict[str, Any]
) -> None:
    # A PDF sent as the recording, a recording as the document: the question decides.
    wrong = upload(widget_client, stored, "voice-abc.webm", PDF, "application/pdf")
    assert wrong.status_code == 415, wrong.text
    assert wrong.json()["code"] == "unsupported_media_type"
    assert "audio/webm" in wrong.json()["detail"]
    assert upload(widget_client, stored, "paper-abc.pdf", OGG, "audio/ogg").status_code == 415


def test_bytes_that_are_not_the_announced_type_are_422(
    widget_client: TestClient, stored: dict[str, Any]
) -> None:
    response = upload(widget_client, stored, "voice-abc.webm", jpeg_bytes(), "audio/webm")
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["code"] == "content_mismatch"
    assert (
        upload(widget_client, stored, "paper-abc.pdf", b"<html>", "application/pdf").status_code
        == 422
    )


def test_an_extension_of_another_kind_is_422(widget_client: TestClient) -> None:
    body = widgets_survey(voice="voice-abc.pdf", paper="paper-abc.exe")
    assert widget_client.post("/api/v1/submissions", json=body).status_code == 201
    response = upload(widget_client, body, "voice-abc.pdf", OGG, "audio/ogg")
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["code"] == "extension_mismatch"
    assert upload(widget_client, body, "paper-abc.exe", PDF, "application/pdf").status_code == 422


def test_a_recording_larger_than_its_kind_allows_is_413(
    widget_client: TestClient, stored: dict[str, Any], tmp_path: Path
) -> None:
    big = WEBM + bytes(8 * 1024 * 1024)
    response = upload(widget_client, stored, "voice-abc.webm", big, "audio/webm")
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "attachment_too_large"
    assert not (tmp_path / "media" / stored["id"]).exists()
    # A document over its own 5 MB, though under a recording's 8 MB.
    large_pdf = PDF + bytes(6 * 1024 * 1024)
    assert (
        upload(widget_client, stored, "paper-abc.pdf", large_pdf, "application/pdf").status_code
        == 413
    )


def test_unknown_media_type_is_415(widget_client: TestClient, stored: dict[str, Any]) -> None:
    for kind in ("application/x-msdownload", "video/mp4", ""):
        assert upload(widget_client, stored, "voice-abc.webm", WEBM, kind).status_code == 415


def test_a_point_placed_by_hand_is_stored_as_such(
    widget_client: TestClient, sync_engine: Engine
) -> None:
    body = widgets_survey()
    body["location"] = {"lat": 15.5713, "lon": 108.4742, "accuracy_m": 45.0, "manual": True}
    response = widget_client.post("/api/v1/submissions", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["location"]["manual"] is True
    # The same content again is a duplicate; the flag is part of the content.
    again = widget_client.post("/api/v1/submissions/batch", json={"submissions": [body]})
    assert again.json()["results"][0]["outcome"] == "duplicate"
    changed = {**body, "location": {**body["location"], "manual": False}}
    conflict = widget_client.post("/api/v1/submissions/batch", json={"submissions": [changed]})
    assert conflict.json()["results"][0]["outcome"] == "conflict"
    # The batch path stores it too.
    batch_body = widgets_survey()
    batch_body["location"] = {"lat": 15.5714, "lon": 108.4743, "manual": True}
    batch = widget_client.post("/api/v1/submissions/batch", json={"submissions": [batch_body]})
    assert batch.json()["results"][0]["outcome"] == "created", batch.text
    with sync_engine.connect() as connection:
        stored = dict(
            connection.execute(
                text("SELECT id::text, location_manual FROM household_surveys")
            ).all()
        )
    assert stored == {body["id"]: True, batch_body["id"]: True}
    # The reviewer's list says so (the review page writes "point placed by hand").
    listed = widget_client.get("/api/v1/submissions", params={"limit": 10}).json()["items"]
    assert {item["id"]: item["location"]["manual"] for item in listed} == stored


def test_manual_must_be_true_or_false(widget_client: TestClient) -> None:
    body = widgets_survey()
    body["location"] = {**TAM_KY_POINT, "manual": "yes"}
    response = widget_client.post("/api/v1/submissions", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "location.manual"


def test_a_gps_point_is_not_manual(widget_client: TestClient, sync_engine: Engine) -> None:
    body = widgets_survey()
    assert widget_client.post("/api/v1/submissions", json=body).status_code == 201
    with sync_engine.connect() as connection:
        manual = connection.execute(
            text("SELECT location_manual FROM household_surveys WHERE id = :id"),
            {"id": body["id"]},
        ).scalar_one()
    assert manual is False


def test_a_recording_inside_a_repeat_is_taken_like_the_others(widget_client: TestClient) -> None:
    body = widgets_survey(voices=[{"extra_voice": "extra_voice-1.ogg"}, {}])
    response = widget_client.post("/api/v1/submissions", json=body)
    assert response.status_code == 201, response.text
    assert upload(widget_client, body, "extra_voice-1.ogg", OGG, "audio/ogg").status_code == 201
    # The repeat's question decides its kind too: a PDF is not a recording.
    wrong = upload(widget_client, body, "extra_voice-1.ogg", PDF, "application/pdf")
    assert wrong.status_code in (409, 415)  # stored already: other bytes are a conflict
    other = widgets_survey(voices=[{"extra_voice": "extra_voice-2.ogg"}])
    assert widget_client.post("/api/v1/submissions", json=other).status_code == 201
    assert (
        upload(widget_client, other, "extra_voice-2.ogg", PDF, "application/pdf").status_code == 415
    )


def test_files_each_under_the_survey_limit_are_refused_once_together_over_it(
    database_url: str, tmp_path: Path, forms_dir: Path, clean_surveys: None, admin_token: str
) -> None:
    """The survey's total is checked apart from each file's own limit (a photo may be as
    large as the whole survey's allowance since 74848da: this case had no test left)."""
    limit = len(WEBM) + len(PDF) - 1  # each fits, both do not
    settings = Settings(
        database_url=database_url,
        media_dir=tmp_path / "media",
        forms_dir=forms_dir,
        max_attachment_bytes_per_survey=limit,
    )
    with TestClient(create_app(settings), headers=bearer(admin_token)) as client:
        body = widgets_survey()
        assert client.post("/api/v1/submissions", json=body).status_code == 201
        assert upload(client, body, "voice-abc.webm", WEBM, "audio/webm").status_code == 201
        second = client.post(
            f"/api/v1/submissions/{body['id']}/attachments/paper-abc.pdf",
            content=PDF,
            headers={"content-type": "application/pdf", "accept-language": "vi"},
        )
    assert second.status_code == 422, second.text
    error = second.json()["errors"][0]
    assert error["code"] == "attachments_too_large"
    assert "ghi âm" in error["message"]  # recordings and files count too, not photos only
    assert not (tmp_path / "media" / body["id"] / "paper-abc.pdf").exists()


def test_a_second_point_placed_by_hand_is_stored_as_such(
    widget_client: TestClient, sync_engine: Engine
) -> None:
    """Another geopoint than the location, placed by hand: sent without an accuracy and named
    in `manual_points`, which is kept (and part of the content) for the reviewer to see."""
    body = widgets_survey(water_point="15.5714042 108.4743154")
    body["manual_points"] = ["water_point"]
    response = widget_client.post("/api/v1/submissions", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["manual_points"] == ["water_point"]
    again = widget_client.post("/api/v1/submissions/batch", json={"submissions": [body]})
    assert again.json()["results"][0]["outcome"] == "duplicate"
    unmarked = {key: value for key, value in body.items() if key != "manual_points"}
    conflict = widget_client.post("/api/v1/submissions/batch", json={"submissions": [unmarked]})
    assert conflict.json()["results"][0]["outcome"] == "conflict"
    # The batch path stores it too; a survey without any keeps none (NULL).
    batch_body = widgets_survey(water_point="15.5715 108.4744")
    batch_body["manual_points"] = ["water_point", "water_point"]
    gps_body = widgets_survey(water_point="15.5712 108.4741 0 6")
    batch = widget_client.post(
        "/api/v1/submissions/batch", json={"submissions": [batch_body, gps_body]}
    )
    assert [r["outcome"] for r in batch.json()["results"]] == ["created", "created"], batch.text
    with sync_engine.connect() as connection:
        stored = dict(
            connection.execute(text("SELECT id::text, manual_points FROM household_surveys")).all()
        )
    assert stored == {
        body["id"]: ["water_point"],
        batch_body["id"]: ["water_point"],
        gps_body["id"]: None,
    }
    listed = widget_client.get("/api/v1/submissions", params={"limit": 10}).json()["items"]
    assert {item["id"]: item["manual_points"] for item in listed} == {
        key: value or [] for key, value in stored.items()
    }


@pytest.mark.parametrize(
    ("manual_points", "code"),
    [
        ("water_point", "wrong_type"),
        ([1], "wrong_type"),
        (["location"], "manual_point_unknown"),  # its mark is location.manual
        (["rooms"], "manual_point_unknown"),  # no point
        (["nowhere"], "manual_point_unknown"),
        (["voices[1]/water_point"], "manual_point_unknown"),
    ],
)
def test_manual_points_name_answered_geopoints_only(
    widget_client: TestClient, manual_points: Any, code: str
) -> None:
    body = widgets_survey(water_point="15.5714 108.4743")
    body["manual_points"] = manual_points
    response = widget_client.post("/api/v1/submissions", json=body)
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert (error["field"], error["code"]) == ("manual_points", code)
    unanswered = widgets_survey()
    unanswered["manual_points"] = ["water_point"]
    response = widget_client.post("/api/v1/submissions", json=unanswered)
    assert response.json()["errors"][0]["code"] == "manual_point_unknown"
