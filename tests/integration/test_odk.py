"""ODK Collect against the server: form list, form download, submissions (OpenRosa 1.0).

Collect is played by the test: instance XML exactly as Collect writes it (tests/odk.py), the
multipart body it posts, the phone token in the URL that the settings QR code carries.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import shutil
import uuid
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine, text

from app.main import create_app
from app.settings import REPO_ROOT, Settings
from tests.auth import bearer, make_token, make_user
from tests.odk import HOUSEHOLD_VERSION, NAMESPACES, DigestClient, household_xml, multipart

LIST_NS = "{http://openrosa.org/xforms/xformsList}"
RESPONSE_NS = "{http://openrosa.org/http/response}"
MANIFEST_NS = "{http://openrosa.org/xforms/xformsManifest}"


def jpeg(colour: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


@pytest.fixture
def volunteer(sync_engine: Engine) -> dict[str, Any]:
    """A volunteer of ward W03 (An Xuân) with an API token."""
    user_id = make_user(sync_engine, "odk-volunteer", [("volunteer", ("ward", "W03"))])
    return {"id": user_id, "username": "odk-volunteer", "token": make_token(sync_engine, user_id)}


@pytest.fixture
def phone(client: TestClient, volunteer: dict[str, Any]) -> dict[str, Any]:
    """The volunteer's phone set up by the admin: its token and server URL (key mode)."""
    response = client.post("/api/v1/odk/setup", json={"user_id": volunteer["id"]})
    assert response.status_code == 201, response.text
    setup = response.json()
    prefix = setup["server_url"].removeprefix("http://testserver")
    return {**setup, "prefix": prefix, "token": prefix.rsplit("/", 1)[1]}


def post_submission(
    client: TestClient, prefix: str, xml: bytes, files: list[tuple[str, bytes, str]] | None = None
) -> Any:
    body, content_type = multipart(xml, files)
    return client.post(
        f"{prefix}/submission?deviceID=collect:abc123",
        content=body,
        headers={"Content-Type": content_type, "X-OpenRosa-Version": "1.0"},
    )


def message(response: Any) -> tuple[str, str]:
    """The nature and text of an OpenRosaResponse."""
    root = ET.fromstring(response.content)
    assert root.tag == f"{RESPONSE_NS}OpenRosaResponse"
    found = root.find(f"{RESPONSE_NS}message")
    assert found is not None
    return found.get("nature", ""), found.text or ""


def assert_openrosa(response: Any) -> None:
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    assert int(response.headers["X-OpenRosa-Accept-Content-Length"]) > 1_000_000
    assert response.headers["Date"].endswith("GMT")


def test_the_settings_qr_payload_is_what_collect_reads(
    phone: dict[str, Any], volunteer: dict[str, Any]
) -> None:
    settings = json.loads(zlib.decompress(base64.b64decode(phone["settings_payload"])))
    assert settings["general"]["server_url"] == phone["server_url"]
    assert phone["server_url"].startswith("http://testserver/odk/key/")
    assert settings["admin"] == {}
    assert phone["qr_svg"].startswith("<svg")
    assert phone["username"] == volunteer["username"]


def test_form_list_parses_and_each_hash_is_the_md5_of_the_download(
    client: TestClient, phone: dict[str, Any]
) -> None:
    response = client.get(f"{phone['prefix']}/formList?deviceID=collect:abc123")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert_openrosa(response)
    root = ET.fromstring(response.content)
    assert root.tag == f"{LIST_NS}xforms"
    forms = {}
    for xform in root.findall(f"{LIST_NS}xform"):
        row = {child.tag.removeprefix(LIST_NS): child.text for child in xform}
        for required in ("formID", "name", "version", "hash", "downloadUrl"):
            assert row.get(required), (required, row)
        assert "manifestUrl" not in row  # no external files in these forms
        forms[row["formID"]] = row
    assert set(forms) == {"household", "settlement"}
    assert forms["household"]["version"] == HOUSEHOLD_VERSION
    assert forms["household"]["name"] == "Khảo sát hộ gia đình / Household survey"
    for row in forms.values():
        url = row["downloadUrl"]
        assert url.startswith(phone["server_url"] + "/forms/")
        download = client.get(url.removeprefix("http://testserver"))
        assert download.status_code == 200
        assert_openrosa(download)
        assert row["hash"] == "md5:" + hashlib.md5(download.content).hexdigest()
        instance = ET.fromstring(download.content).find(
            ".//{http://www.w3.org/2002/xforms}instance"
        )
        assert instance is not None
        assert instance[0].get("id") == row["formID"]
    one = client.get(f"{phone['prefix']}/formList?formID=settlement")
    assert [x.findtext(f"{LIST_NS}formID") for x in ET.fromstring(one.content)] == ["settlement"]


def test_the_xform_bytes_are_the_same_after_a_restart(settings: Settings) -> None:
    from app.forms.registry import load_registry

    first = load_registry(settings.forms_dir).current("household")
    second = load_registry(settings.forms_dir).current("household")
    assert first.xform.encode() == second.xform.encode()
    assert first.md5 == hashlib.md5(second.xform.encode()).hexdigest()


def test_a_planner_gets_an_empty_form_list(client: TestClient, planner_token: str) -> None:
    response = client.get("/odk/formList", headers=bearer(planner_token))
    assert response.status_code == 200
    assert list(ET.fromstring(response.content)) == []


def test_head_submission_answers_204_with_the_openrosa_headers(
    client: TestClient, phone: dict[str, Any]
) -> None:
    response = client.head(f"{phone['prefix']}/submission?deviceID=collect:abc123")
    assert response.status_code == 204
    assert_openrosa(response)


def test_a_submission_is_the_same_survey_as_the_json_apis(
    client: TestClient, phone: dict[str, Any], volunteer: dict[str, Any], admin_token: str
) -> None:
    survey_id = uuid.uuid4()
    xml = household_xml(f"uuid:{survey_id}", head_name="Trần Văn Bình {{7*7}} </title><script>")
    response = post_submission(client, phone["prefix"], xml)
    assert response.status_code == 201, response.text
    assert_openrosa(response)
    assert message(response)[0] == ""
    record = client.get(f"/api/v1/submissions/{survey_id}").json()
    assert record["form_id"] == "household"
    assert record["form_version"] == HOUSEHOLD_VERSION
    location = record["location"]
    assert (location["lat"], location["lon"]) == (15.571, 108.474)
    assert (location["accuracy_m"], location["altitude_m"]) == (6.5, 12.0)
    assert record["status"] == "received"
    assert record["collector"] == volunteer["username"]
    assert record["ward"]["name"] == "An Xuân"
    assert record["collected_at"].startswith("2026-11-26T02:30:00")
    answers = record["answers"]
    assert answers["head_name"] == "Trần Văn Bình {{7*7}} </title><script>"
    assert answers["household_size"] == 4
    assert answers["lane_width_m"] == 1.8
    assert answers["priority_needs"] == "drainage lane"
    assert "location" not in answers and "g_household" not in answers
    # Attributed to the volunteer: theirs to read; it waits on the review queue.
    mine = client.get("/api/v1/me/surveys", headers=bearer(volunteer["token"])).json()
    assert str(survey_id) in json.dumps(mine)
    own = client.get(f"/api/v1/submissions/{survey_id}", headers=bearer(volunteer["token"]))
    assert own.status_code == 200
    assert own.json()["answers"]["head_name"].startswith("Trần Văn Bình")
    queue = client.get("/api/v1/submissions?status=received").json()
    assert [item["id"] for item in queue["items"]] == [str(survey_id)]
    # The GeoJSON export has it at the point Collect sent (lon, lat in GeoJSON).
    export = client.get("/api/v1/export/households.geojson?city=tam-ky&surveys=all")
    assert export.status_code == 200
    features = [f for f in export.json()["features"] if f["properties"].get("id") == str(survey_id)]
    assert len(features) == 1
    assert features[0]["geometry"]["coordinates"][:2] == [108.474, 15.571]


def test_identical_resend_is_202_and_conflicting_resend_is_409(
    client: TestClient, phone: dict[str, Any], sync_engine: Engine
) -> None:
    instance = f"uuid:{uuid.uuid4()}"
    xml = household_xml(instance)
    assert post_submission(client, phone["prefix"], xml).status_code == 201
    again = post_submission(client, phone["prefix"], xml)
    assert again.status_code == 202
    assert message(again)[0] == ""
    other = post_submission(client, phone["prefix"], household_xml(instance, household_size="5"))
    assert other.status_code == 409
    nature, text_ = message(other)
    assert nature == "error" and instance in text_
    assert_openrosa(other)
    with sync_engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM household_surveys")).scalar_one()
    assert count == 1
    record = client.get(f"/api/v1/submissions/{instance[5:]}").json()
    assert record["answers"]["household_size"] == 4


def test_a_survey_sent_by_json_then_by_collect_is_one_survey(
    client: TestClient, phone: dict[str, Any], volunteer: dict[str, Any], sync_engine: Engine
) -> None:
    from tests.factories import household_survey

    survey_id = str(uuid.uuid4())
    body = household_survey(
        id=survey_id, collected_at="2026-11-26T09:30:00.000+07:00", collector="odk-volunteer"
    )
    body["answers"]["lane_width_m"] = "1.8"
    sent = client.post("/api/v1/submissions", json=body, headers=bearer(volunteer["token"]))
    assert sent.status_code == 201, sent.text
    response = post_submission(client, phone["prefix"], household_xml(f"uuid:{survey_id}"))
    assert response.status_code == 202, response.text
    with sync_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM household_surveys")).scalar() == 1


def test_attachments_split_submission_and_non_ascii_names(
    client: TestClient, phone: dict[str, Any], settings: Settings
) -> None:
    survey_id = uuid.uuid4()
    name = "ảnh nhà Phường Hòa Thuận Đông.jpg"
    xml = household_xml(f"uuid:{survey_id}", photo=name)
    first = post_submission(client, phone["prefix"], xml)  # the XML alone first
    assert first.status_code == 201, first.text
    photo = jpeg()
    second = post_submission(client, phone["prefix"], xml, [(name, photo, "image/jpeg")])
    assert second.status_code == 201, second.text  # the next part: its file is new
    third = post_submission(client, phone["prefix"], xml, [(name, photo, "image/jpeg")])
    assert third.status_code == 202
    record = client.get(f"/api/v1/submissions/{survey_id}").json()
    stored_name = record["answers"]["photo"]
    assert stored_name.startswith("anh-nha-Phuong-Hoa-Thuan-Dong-")
    assert stored_name.endswith(".jpg")
    download = client.get(f"/api/v1/submissions/{survey_id}/attachments/{stored_name}")
    assert download.status_code == 200
    assert download.content == photo
    assert (settings.media_dir / str(survey_id) / stored_name).read_bytes() == photo


def test_a_file_not_kept_leaves_the_survey_sent_and_says_why(
    client: TestClient, phone: dict[str, Any], settings: Settings
) -> None:
    """The survey is stored before its files: a file refused (empty, not a JPEG, other bytes
    under a stored name) made the whole sending a 400 "the survey is not valid", every time
    Collect sent it again, though the survey was stored the first time."""
    survey_id = uuid.uuid4()
    name = "1764747000999.jpg"
    xml = household_xml(f"uuid:{survey_id}", photo=name)
    for language, said in (("vi", "không được nhận"), ("en", "not kept")):
        for data in (b"", b"not a photo at all"):
            body, content_type = multipart(xml, [(name, data, "image/jpeg")])
            response = client.post(
                f"{phone['prefix']}/submission",
                content=body,
                headers={"Content-Type": content_type, "Accept-Language": language},
            )
            assert response.status_code in (201, 202), response.text
            assert_openrosa(response)
            nature, text_ = message(response)
            assert nature == "" and said in text_ and name in text_, text_
    assert client.get(f"/api/v1/submissions/{survey_id}").status_code == 200
    assert not (settings.media_dir / str(survey_id) / name).exists()
    # The photo itself, sent after, is kept; other bytes under its name are not, and said so.
    photo = jpeg("green")
    kept = post_submission(client, phone["prefix"], xml, [(name, photo, "image/jpeg")])
    assert kept.status_code == 201 and name not in message(kept)[1], kept.text
    other = post_submission(client, phone["prefix"], xml, [(name, jpeg("red"), "image/jpeg")])
    assert other.status_code == 202 and name in message(other)[1], other.text
    assert (settings.media_dir / str(survey_id) / name).read_bytes() == photo


def test_a_submission_with_its_photo_at_once(client: TestClient, phone: dict[str, Any]) -> None:
    survey_id = uuid.uuid4()
    xml = household_xml(f"uuid:{survey_id}", photo="1764747000123.jpg")
    response = post_submission(
        client, phone["prefix"], xml, [("1764747000123.jpg", jpeg("blue"), "image/jpeg")]
    )
    assert response.status_code == 201, response.text
    listed = client.get(f"/api/v1/submissions/{survey_id}/attachments/1764747000123.jpg")
    assert listed.status_code == 200


def test_a_camera_photo_up_to_the_survey_limit_is_taken_and_a_larger_one_named(
    client: TestClient, phone: dict[str, Any], settings: Settings
) -> None:
    # Collect sends the camera's photo (3 to 6 MB) unless the form sets max-pixels: it was
    # refused over 2 MB, so the survey could never be sent.
    limit = settings.max_attachment_bytes_per_survey
    survey_id = uuid.uuid4()
    xml = household_xml(f"uuid:{survey_id}", photo="1764747000123.jpg")
    photo = jpeg() + b"\x00" * (5 * 1024 * 1024)
    response = post_submission(
        client, phone["prefix"], xml, [("1764747000123.jpg", photo, "image/jpeg")]
    )
    assert response.status_code == 201, response.text
    stored = client.get(f"/api/v1/submissions/{survey_id}/attachments/1764747000123.jpg")
    assert stored.content == photo
    too_big = jpeg() + b"\x00" * limit
    xml = household_xml(photo="1764747000999.jpg")
    response = post_submission(
        client, phone["prefix"], xml, [("1764747000999.jpg", too_big, "image/jpeg")]
    )
    assert response.status_code == 413
    assert_openrosa(response)
    nature, text = message(response)
    assert nature == "error"
    assert "1764747000999.jpg" in text and f"{limit // 1024 // 1024} MB" in text


def test_an_edit_replaces_the_survey_and_keeps_its_history(
    client: TestClient, phone: dict[str, Any]
) -> None:
    first = f"uuid:{uuid.uuid4()}"
    assert post_submission(client, phone["prefix"], household_xml(first)).status_code == 201
    edit = f"uuid:{uuid.uuid4()}"
    xml = household_xml(edit, deprecated_id=first, household_size="6")
    response = post_submission(client, phone["prefix"], xml)
    assert response.status_code == 201, response.text
    assert post_submission(client, phone["prefix"], xml).status_code == 202
    record = client.get(f"/api/v1/submissions/{first[5:]}").json()
    assert record["answers"]["household_size"] == 6
    history = client.get(f"/api/v1/submissions/{first[5:]}/history").json()
    assert history["version"] == 2
    assert [v["content"]["answers"]["household_size"] for v in history["versions"]] == [4]
    # A second edit names the first edit's instanceID: still the same survey.
    again = household_xml(f"uuid:{uuid.uuid4()}", deprecated_id=edit, household_size="7")
    assert post_submission(client, phone["prefix"], again).status_code == 201
    history = client.get(f"/api/v1/submissions/{first[5:]}/history").json()
    assert history["version"] == 3


def test_refusals_are_clear_openrosa_errors(client: TestClient, phone: dict[str, Any]) -> None:
    prefix = phone["prefix"]
    cases = [
        (household_xml(version="1999"), 404, "1999"),
        (household_xml(form_id="no-such-form"), 404, "no-such-form"),
        (b"<data id='household'><unclosed></data>", 400, "XML"),
        (household_xml(household_size="many"), 400, "household_size"),
        (household_xml(tenure="castle"), 400, "tenure"),
        (household_xml(geopoint="108.474 15.571 0 5"), 400, "location"),
        (household_xml("not-a-uuid"), 400, "instanceID"),
        (b'<data id="household" version="2026112801"><meta/></data>', 400, "instanceID"),
        # Nested 1,200 deep (10 kB): read recursively it was a 500 without OpenRosa headers,
        # and Collect sent it again for ever.
        (
            household_xml().replace(b"<meta>", b"<x>" * 1200 + b"y" + b"</x>" * 1200 + b"<meta>"),
            400,
            "100",
        ),
    ]
    for xml, status, named in cases:
        response = post_submission(client, prefix, xml)
        assert response.status_code == status, (xml[:80], response.text)
        assert_openrosa(response)
        nature, text_ = message(response)
        assert nature == "error" and named in text_, text_
    no_xml = client.post(
        f"{prefix}/submission",
        files={"photo.jpg": ("photo.jpg", jpeg(), "image/jpeg")},
    )
    assert no_xml.status_code == 400
    assert "xml_submission_file" in message(no_xml)[1]
    not_multipart = client.post(
        f"{prefix}/submission", content=household_xml(), headers={"Content-Type": "text/xml"}
    )
    assert not_multipart.status_code == 400
    english = client.post(
        f"{prefix}/submission",
        content=household_xml(),
        headers={"Content-Type": "text/xml", "Accept-Language": "en"},
    )
    assert "multipart/form-data" in message(english)[1]


def test_unreadable_xml_is_said_in_the_requests_language(
    client: TestClient, phone: dict[str, Any]
) -> None:
    # The parser's English reached the Vietnamese message: "(no element found: line 1,
    # column 27)", "(DTD or entity declarations)".
    cut = household_xml()[:200]
    cases = [
        (cut, "vi", "bị cắt ngang (dòng 1, cột 23)"),
        (cut, "en", "cut short (line 1, column 23)"),
        (b"", "vi", "trống hoặc bị cắt ngang (dòng 1, cột 1)"),
        (b"<data id='household'><a></b></data>", "vi", "không khớp với thẻ mở (dòng 1, cột 27)"),
        (
            b"<data id='household'><a></b></data>",
            "en",
            "does not match its opening tag (line 1, column 27)",
        ),
        (b"<data id='household'/><x/>", "en", "after the root element"),
        (
            b"<data id='household'>\n<a>&nbsp;</a></data>",
            "vi",
            "thực thể không có (&…;) (dòng 2, cột 4)",
        ),
        (b"<data id='household' <", "en", "not well-formed"),
        (b'<!DOCTYPE d [<!ENTITY e "x">]><data id="f"/>', "vi", "DTD"),
        (b'<!DOCTYPE d [<!ENTITY e "x">]><data id="f"/>', "en", "DTD"),
    ]
    for xml, language, said in cases:
        body, content_type = multipart(xml)
        response = client.post(
            f"{phone['prefix']}/submission",
            content=body,
            headers={"Content-Type": content_type, "Accept-Language": language},
        )
        assert response.status_code == 400, response.text
        nature, text_ = message(response)
        assert nature == "error" and said in text_, (xml[:40], language, text_)
        lowered = text_.lower()
        for english in ("no element found", "mismatched tag", "junk after", "declarations"):
            assert english not in lowered, text_
        if language == "vi":
            assert text_.startswith("Tệp XML"), text_
        else:
            assert text_.startswith("The survey's XML"), text_


def test_a_malformed_geopoint_is_one_clear_message(
    client: TestClient, phone: dict[str, Any]
) -> None:
    # A geopoint of 5 parts was refused with "Thiếu thông tin bắt buộc" (missing) beside the
    # geopoint's own message, though it had been answered.
    # ASCII decimals only, as the answers are read (float() also took "1_5.571" and other
    # scripts' digits for the survey's location).
    for geopoint in (
        "15.571 108.474 12.0 6.5 3",
        "15.571 abc",
        "15.571",
        "1_5.571 108.474 12.0 6.5",
        "\u0661\u0665.571 108.474",
        "NaN 108.474",
    ):
        body, content_type = multipart(household_xml(geopoint=geopoint))
        for language, said, missing in (
            ("vi", "location: Tọa độ không hợp lệ", "Thiếu thông tin bắt buộc"),
            ("en", "location: Not a valid location", "required"),
        ):
            response = client.post(
                f"{phone['prefix']}/submission",
                content=body,
                headers={"Content-Type": content_type, "Accept-Language": language},
            )
            assert response.status_code == 400, response.text
            text_ = message(response)[1]
            assert said in text_ and missing not in text_, text_
            assert "; " not in text_, text_  # one problem


def test_a_boundary_the_parser_refuses_is_a_400_openrosa_error(
    client: TestClient, phone: dict[str, Any]
) -> None:
    # python-multipart refuses a boundary over 256 bytes when the parser is made: that was a
    # 500 with a JSON body.
    long = "a" * 300
    response = client.post(
        f"{phone['prefix']}/submission",
        content=f"--{long}\r\n".encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={long}"},
    )
    assert response.status_code == 400, response.text
    assert_openrosa(response)
    assert message(response)[0] == "error"


def test_hostile_xml_is_refused_without_expanding_anything(
    client: TestClient, phone: dict[str, Any]
) -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        b'<data id="household" version="2026112801"><g_household><head_name>&lol3;'
        b"</head_name></g_household><meta><instanceID>uuid:" + str(uuid.uuid4()).encode() + b""
        b"</instanceID></meta></data>"
    )
    external = (
        b'<?xml version="1.0"?><!DOCTYPE data [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<data id="household" version="2026112801"><g_household><head_name>&xxe;'
        b"</head_name></g_household></data>"
    )
    for xml in (laughs, external):
        response = post_submission(client, phone["prefix"], xml)
        assert response.status_code == 400
        assert "root:" not in response.text
        assert message(response)[0] == "error"
    nul = household_xml(head_name="a\x00b")
    assert post_submission(client, phone["prefix"], nul).status_code == 400


def test_xml_in_another_encoding_than_utf8_is_refused_in_the_requests_language(
    client: TestClient, phone: dict[str, Any], sync_engine: Engine
) -> None:
    """Collect writes UTF-8. An encoding Python does not know, or one that is no text
    encoding, was a 500; UTF-16 was stored, but its XML (read as UTF-8: NUL characters)
    failed the shared statement that keeps the XML of other phones' surveys too."""
    xml = household_xml()
    assert xml.startswith(b"<?xml version='1.0' ?>")
    declared = xml.replace(b"<?xml version='1.0' ?>", b"<?xml version='1.0' encoding='{}'?>", 1)
    cases = [
        declared.replace(b"{}", name)
        for name in (b"x-nope", b"shift_jis", b"utf-7", b"rot13", b"hex", b"ISO-8859-1", b"utf8")
    ]
    cases.append(declared.replace(b"{}", b"UTF-16").decode().encode("utf-16"))
    cases.append(xml.decode().encode("utf-16-le").join((b"\xff\xfe", b"")))
    for body in cases:
        for language, said in (("vi", "UTF-8"), ("en", "must be in UTF-8")):
            payload, content_type = multipart(body)
            response = client.post(
                f"{phone['prefix']}/submission",
                content=payload,
                headers={"Content-Type": content_type, "Accept-Language": language},
            )
            assert response.status_code == 400, (body[:60], response.text)
            assert_openrosa(response)
            nature, text_ = message(response)
            assert nature == "error" and said in text_, text_
    with sync_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM odk_submissions")).scalar_one() == 0
    # UTF-8 as the XML standard names it, in either case.
    for name in (b"utf-8", b"UTF-8"):
        assert post_submission(
            client, phone["prefix"], declared.replace(b"{}", name)
        ).status_code in (
            201,
            202,
        )


def test_a_message_naming_control_characters_is_still_xml(
    client: TestClient, phone: dict[str, Any]
) -> None:
    """Characters XML cannot hold, echoed from a path or a query into the message, made an
    OpenRosaResponse Collect could not read."""
    for path in (
        "/forms/%00.xml",
        "/forms/a%01b.xml",
        "/forms/%EF%BF%BE.xml",
    ):
        response = client.get(f"{phone['prefix']}{path}")
        assert response.status_code == 404, (path, response.text)
        nature, text_ = message(response)  # parses as XML
        assert nature == "error" and "\ufffd" in text_, (path, text_)


def test_a_body_larger_than_announced_is_413(client: TestClient, phone: dict[str, Any]) -> None:
    head = client.head(f"{phone['prefix']}/submission")
    limit = int(head.headers["X-OpenRosa-Accept-Content-Length"])
    xml = household_xml(photo="big.jpg")
    big = jpeg() + b"\x00" * (limit + 10)
    response = post_submission(client, phone["prefix"], xml, [("big.jpg", big, "image/jpeg")])
    assert response.status_code == 413
    assert_openrosa(response)
    assert message(response)[0] == "error"
    # Past the middleware's own limit (twice what is announced: a video, a broken client),
    # or with a Content-Length that is no number, the 413 is Collect's XML too, not JSON.
    for length in (str(3 * limit), "not-a-number"):
        for language, said in (("vi", "quá lớn"), ("en", "too large")):
            refused = client.post(
                f"{phone['prefix']}/submission",
                content=b"x" * 100,
                headers={
                    "Content-Type": "multipart/form-data; boundary=x",
                    "Content-Length": length,
                    "Accept-Language": language,
                },
            )
            assert refused.status_code == 413, refused.text
            assert refused.headers["X-OpenRosa-Version"] == "1.0"
            assert refused.headers["content-type"].startswith("text/xml")
            nature, text_ = message(refused)
            assert nature == "error" and said in text_, text_
            assert f"{round(limit / 1024 / 1024, 1)} MB" in text_


def test_a_revoked_phone_is_refused(client: TestClient, phone: dict[str, Any]) -> None:
    assert client.get(f"{phone['prefix']}/formList").status_code == 200
    assert client.delete(f"/api/v1/devices/{phone['token_id']}").status_code == 204
    response = client.get(f"{phone['prefix']}/formList")
    assert response.status_code == 401
    assert_openrosa(response)
    assert message(response)[0] == "error"
    wrong = client.get("/odk/key/not-a-token/formList")
    assert wrong.status_code == 401


def test_only_an_admin_of_the_person_sets_up_a_phone(
    client: TestClient, volunteer: dict[str, Any], planner_token: str
) -> None:
    response = client.post(
        "/api/v1/odk/setup", json={"user_id": volunteer["id"]}, headers=bearer(planner_token)
    )
    assert response.status_code == 404
    mine = client.post(
        "/api/v1/odk/setup",
        json={"user_id": volunteer["id"]},
        headers=bearer(volunteer["token"]),
    )
    assert mine.status_code == 404
    bad = client.post("/api/v1/odk/setup", json={"user_id": "x"})
    assert bad.status_code == 422
    for name in ('"a\\u0000b"', '"\\ud800"', '"' + "x" * 81 + '"'):
        hostile = client.post(
            "/api/v1/odk/setup",
            content=f'{{"user_id": {volunteer["id"]}, "device_name": {name}}}',
            headers={"Content-Type": "application/json"},
        )
        assert hostile.status_code == 422, name
    named = client.post(
        "/api/v1/odk/setup",
        json={"user_id": volunteer["id"], "device_name": "{{7*7}} </title><script> Phường Hòa"},
    )
    assert named.status_code == 201
    assert named.headers["Cache-Control"] == "no-store"
    devices = client.get(f"/api/v1/users/{volunteer['id']}/devices").json()
    assert "ODK Collect: {{7*7}} </title><script> Phường Hòa" in [d["name"] for d in devices]


@pytest.fixture
def media_client(
    database_url: str, tmp_path: Path, clean_surveys: None, admin_token: str
) -> Iterator[TestClient]:
    """The app with a form whose choices come from a CSV file (select_one_from_file)."""
    forms_dir = tmp_path / "forms"
    forms_dir.mkdir()
    shutil.copy(REPO_ROOT / "forms" / "household.xlsx", forms_dir / "household.xlsx")
    (forms_dir / "streets.md").write_text(
        "| survey |\n"
        "| | type | name | label |\n"
        "| | select_one_from_file streets.csv | street | Street |\n"
        "| settings |\n"
        "| | form_id | version |\n"
        "| | streets | 3 |\n"
    )
    (forms_dir / "streets.csv").write_text("name,label\nphan_chu_trinh,Phan Chu Trinh\n")
    settings = Settings(database_url=database_url, forms_dir=forms_dir, media_dir=tmp_path / "m")
    with TestClient(create_app(settings), headers=bearer(admin_token)) as test_client:
        yield test_client


def test_a_form_with_a_csv_has_a_manifest(media_client: TestClient) -> None:
    listing = ET.fromstring(media_client.get("/odk/formList?formID=streets").content)
    xform = listing.find(f"{LIST_NS}xform")
    assert xform is not None
    manifest_url = xform.findtext(f"{LIST_NS}manifestUrl")
    # The version listed (its files, whichever server process answers).
    assert manifest_url is not None
    assert manifest_url.endswith("/odk/forms/streets/manifest?version=3")
    manifest = media_client.get(manifest_url.removeprefix("http://testserver"))
    assert manifest.status_code == 200
    root = ET.fromstring(manifest.content)
    assert root.tag == f"{MANIFEST_NS}manifest"
    files = root.findall(f"{MANIFEST_NS}mediaFile")
    assert [f.findtext(f"{MANIFEST_NS}filename") for f in files] == ["streets.csv"]
    url = files[0].findtext(f"{MANIFEST_NS}downloadUrl") or ""
    data = media_client.get(url.removeprefix("http://testserver"))
    assert data.status_code == 200
    assert files[0].findtext(f"{MANIFEST_NS}hash") == "md5:" + hashlib.md5(data.content).hexdigest()
    assert media_client.get("/odk/forms/streets/media/..%2Fhousehold.xlsx").status_code == 404


def test_a_resend_without_start_and_end_is_still_a_resend(
    client: TestClient, phone: dict[str, Any]
) -> None:
    """collected_at then comes from the first arrival; the stored XML decides the resend."""
    xml = household_xml(start="", end="")
    assert post_submission(client, phone["prefix"], xml).status_code == 201
    assert post_submission(client, phone["prefix"], xml).status_code == 202


def test_an_edit_or_correction_in_another_form_is_refused(
    media_client: TestClient, volunteer: dict[str, Any]
) -> None:
    # An ODK edit whose deprecatedID named a household survey, sent from the streets form,
    # turned the household survey into a streets survey.
    setup = media_client.post("/api/v1/odk/setup", json={"user_id": volunteer["id"]}).json()
    prefix = setup["server_url"].removeprefix("http://testserver")
    first = f"uuid:{uuid.uuid4()}"
    assert post_submission(media_client, prefix, household_xml(first)).status_code == 201
    streets = (
        '<data id="streets" version="3"><street>phan_chu_trinh</street>'
        f"<meta><instanceID>uuid:{uuid.uuid4()}</instanceID>"
        f"<deprecatedID>{first}</deprecatedID></meta></data>"
    ).encode()
    response = post_submission(media_client, prefix, streets)
    assert response.status_code == 409, response.text
    assert_openrosa(response)
    nature, text_ = message(response)
    assert nature == "error" and "household" in text_ and "streets" in text_
    # The same rule for a correction through the JSON API.
    body = {
        "id": first[5:],
        "form_id": "streets",
        "form_version": "3",
        "collected_at": "2026-11-26T09:30:00+07:00",
        "collector": volunteer["username"],
        "answers": {"street": "phan_chu_trinh"},
    }
    corrected = media_client.put(
        f"/api/v1/submissions/{first[5:]}", json=body, headers=bearer(volunteer["token"])
    )
    assert corrected.status_code == 409, corrected.text
    assert corrected.json()["code"] == "correction_other_form"
    stored = media_client.get(f"/api/v1/submissions/{first[5:]}").json()
    assert stored["form_id"] == "household"


# Label media: images, audio and video beside the form --------------------------------------

VIETNAMESE_IMAGE = "ảnh mặt tiền nhà.jpg"
LABELS_FORM = (
    "| survey |\n"
    "| | type | name | label::English (en) | label::Tiếng Việt (vi) | media::image::English (en) "
    "| image::Tiếng Việt (vi) | media::audio::English (en) | media::video::English (en) "
    "| media::big-image::English (en) |\n"
    f"| | image | house_front | Front | Mặt tiền | front.jpg | {VIETNAMESE_IMAGE} | hello.mp3 "
    "| ../secret.txt | /etc/passwd |\n"
    "| | select_one roof | roof | Roof | Mái | | | | | |\n"
    "| choices |\n"
    "| | list_name | name | label::English (en) | label::Tiếng Việt (vi) "
    "| media::image::English (en) |\n"
    "| | roof | tin | Tin | Tôn | .hidden.jpg |\n"
    "| | roof | tile | Tile | Ngói | link.jpg |\n"
    "| | roof | thatch | Thatch | Lá | missing.jpg |\n"
    "| | roof | other | Other | Khác | front.jpg |\n"
    "| settings |\n"
    "| | form_id | version |\n"
    "| | labels | 1 |\n"
)


@pytest.fixture
def label_media_client(
    database_url: str, tmp_path: Path, clean_surveys: None, admin_token: str
) -> Iterator[TestClient]:
    """The app with forms whose labels show images, audio and video: pyxform's own example
    (tests/forms) and one with a Vietnamese file name and names that try to leave forms/."""
    forms_dir = tmp_path / "forms"
    forms_dir.mkdir()
    shutil.copy(REPO_ROOT / "tests" / "forms" / "pyxform_image_description.md", forms_dir)
    (forms_dir / "labels.md").write_text(LABELS_FORM, encoding="utf-8")
    (forms_dir / "front.jpg").write_bytes(jpeg("green"))
    (forms_dir / VIETNAMESE_IMAGE).write_bytes(jpeg("yellow"))
    (forms_dir / "hello.mp3").write_bytes(b"ID3\x03\x00\x00\x00" + bytes(range(256)))
    (forms_dir / ".hidden.jpg").write_bytes(jpeg())
    (tmp_path / "secret.txt").write_text("not for phones")
    (tmp_path / "outside.jpg").write_bytes(jpeg())
    (forms_dir / "link.jpg").symlink_to(tmp_path / "outside.jpg")
    settings = Settings(database_url=database_url, forms_dir=forms_dir, media_dir=tmp_path / "m")
    with TestClient(create_app(settings), headers=bearer(admin_token)) as test_client:
        yield test_client


def manifest_files(client: TestClient, form_id: str) -> dict[str, tuple[str, str]]:
    """The form list's manifest of a form: each file name -> (hash, downloadUrl)."""
    listing = ET.fromstring(client.get(f"/odk/formList?formID={form_id}").content)
    xform = listing.find(f"{LIST_NS}xform")
    assert xform is not None
    url = xform.findtext(f"{LIST_NS}manifestUrl")
    version = xform.findtext(f"{LIST_NS}version")  # a form without one: its only version
    named = f"?version={version}" if version else ""
    assert url is not None and url.endswith(f"/odk/forms/{form_id}/manifest{named}"), url
    response = client.get(url.removeprefix("http://testserver"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert_openrosa(response)
    root = ET.fromstring(response.content)
    assert root.tag == f"{MANIFEST_NS}manifest"
    files = {}
    for media in root.findall(f"{MANIFEST_NS}mediaFile"):
        name = media.findtext(f"{MANIFEST_NS}filename") or ""
        assert name not in files  # each file once
        files[name] = (
            media.findtext(f"{MANIFEST_NS}hash") or "",
            media.findtext(f"{MANIFEST_NS}downloadUrl") or "",
        )
    return files


def test_label_media_are_in_the_manifest_once_with_their_md5(
    label_media_client: TestClient, sync_engine: Engine
) -> None:
    client = label_media_client
    example = manifest_files(client, "pyxform_image_description")
    assert list(example) == ["front.jpg"]
    files = manifest_files(client, "labels")
    # The image of both languages, the audio; never a path, a hidden file, a link out of
    # forms/ or a file that is not there.
    assert sorted(files) == sorted(["front.jpg", "hello.mp3", VIETNAMESE_IMAGE])
    for name, (digest, url) in files.items():
        assert url.startswith("http://testserver/odk/forms/labels/media/")
        assert " " not in url and "ả" not in url  # percent-encoded UTF-8
        download = client.get(url.removeprefix("http://testserver"))
        assert download.status_code == 200, name
        assert_openrosa(download)
        assert download.content == (client.app.state.settings.forms_dir / name).read_bytes()
        assert digest == "md5:" + hashlib.md5(download.content).hexdigest()
    vietnamese = client.get(files[VIETNAMESE_IMAGE][1].removeprefix("http://testserver"))
    assert vietnamese.headers["content-type"] == "image/jpeg"
    assert client.get("/odk/forms/labels/media/hello.mp3").headers["content-type"] == "audio/mpeg"
    # With Digest, as Collect asks for them: the path percent-encoded, in the request line
    # and in the answer's `uri` alike (a Vietnamese name was refused for ever).
    user_id = make_user(sync_engine, "odk-media", [("volunteer", ("ward", "W03"))])
    setup = client.post("/api/v1/odk/setup", json={"user_id": user_id, "mode": "digest"}).json()
    for name, (_digest, url) in files.items():
        path = url.removeprefix("http://testserver")
        phone = DigestClient(setup["username"], setup["password"])
        first = client.get(path, headers={"Authorization": ""})
        assert first.status_code == 401
        challenge = next(
            c for c in first.headers.get_list("www-authenticate") if c.startswith("Digest ")
        )
        phone.take_challenge(challenge)
        answered = client.get(path, headers={"Authorization": phone.authorization("GET", path)})
        assert answered.status_code == 200, name
    for trick in (
        "..%2Fsecret.txt",
        "%2E%2E%2Fsecret.txt",
        ".hidden.jpg",
        "link.jpg",
        "missing.jpg",
        "labels.md",
        "%2Fetc%2Fpasswd",
    ):
        response = client.get(f"/odk/forms/labels/media/{trick}")
        assert response.status_code == 404, trick
        assert b"not for phones" not in response.content


# Split submissions: Collect sends a large survey in parts ------------------------------------

PHOTOS_FORM = (
    "| survey |\n"
    "| | type | name | label |\n"
    "| | image | front | Front of the house |\n"
    "| | image | back | Back of the house |\n"
    "| settings |\n"
    "| | form_id | version |\n"
    "| | photos | 2 |\n"
)


@pytest.fixture
def photos_client(
    database_url: str, tmp_path: Path, clean_surveys: None, admin_token: str
) -> Iterator[TestClient]:
    """The app with a form of two photos (a survey Collect may send in two parts)."""
    forms_dir = tmp_path / "forms"
    forms_dir.mkdir()
    (forms_dir / "photos.md").write_text(PHOTOS_FORM, encoding="utf-8")
    settings = Settings(database_url=database_url, forms_dir=forms_dir, media_dir=tmp_path / "m")
    with TestClient(create_app(settings), headers=bearer(admin_token)) as test_client:
        yield test_client


def test_a_split_submission_is_one_survey_with_the_files_of_every_part(
    photos_client: TestClient, volunteer: dict[str, Any], sync_engine: Engine, tmp_path: Path
) -> None:
    client = photos_client
    setup = client.post("/api/v1/odk/setup", json={"user_id": volunteer["id"]}).json()
    prefix = setup["server_url"].removeprefix("http://testserver")
    survey_id = uuid.uuid4()
    front_name, back_name = "1764747000123.jpg", "ảnh sau nhà.jpg"
    xml = (
        f'<?xml version=\'1.0\' ?><data id="photos" version="2" {NAMESPACES}>'
        f"<front>{front_name}</front><back>{back_name}</back>"
        f"<meta><instanceID>uuid:{survey_id}</instanceID></meta></data>"
    ).encode()
    front, back = jpeg("red"), jpeg("blue")

    def send(files: list[tuple[str, bytes, str]], incomplete: bool = False) -> Any:
        body, content_type = multipart(xml, files, incomplete=incomplete)
        response = client.post(
            f"{prefix}/submission?deviceID=collect:abc123",
            content=body,
            headers={"Content-Type": content_type, "X-OpenRosa-Version": "1.0"},
        )
        assert_openrosa(response)
        assert message(response)[0] == ""
        return response

    def stored() -> tuple[int, list[tuple[str, str]], int, int]:
        with sync_engine.connect() as connection:
            surveys = connection.execute(text("SELECT count(*) FROM household_surveys")).scalar()
            files = connection.execute(
                text("SELECT filename, sha256 FROM attachments ORDER BY filename")
            ).all()
            version = connection.execute(
                text("SELECT version FROM household_surveys WHERE id = :id"), {"id": survey_id}
            ).scalar()
            instances = connection.execute(
                text("SELECT count(*) FROM odk_submissions WHERE survey_id = :id"),
                {"id": survey_id},
            ).scalar()
        return int(surveys or 0), [tuple(row) for row in files], int(version or 0), instances or 0

    # The first part: the XML, the first photo and `*isIncomplete*=yes`.
    first = send([(front_name, front, "image/jpeg")], incomplete=True)
    assert first.status_code == 201, first.text
    # The next part: the same XML, the other photo.
    second = send([(back_name, back, "image/jpeg")])
    assert second.status_code == 201, second.text  # new files: stored, not a duplicate
    surveys, files, version, instances = stored()
    assert surveys == 1 and version == 1 and instances == 1
    record = client.get(f"/api/v1/submissions/{survey_id}").json()
    back_stored = record["answers"]["back"]
    assert record["answers"]["front"] == front_name and back_stored.startswith("anh-sau-nha-")
    assert [name for name, _ in files] == sorted([front_name, back_stored])
    for name, data in ((front_name, front), (back_stored, back)):
        download = client.get(f"/api/v1/submissions/{survey_id}/attachments/{name}")
        assert download.status_code == 200 and download.content == data
    # The last part again (its answer was lost on the way): nothing new, nothing changes.
    before = stored()
    third = send([(back_name, back, "image/jpeg")])
    assert third.status_code == 202, third.text
    assert stored() == before
    # So does the first part again.
    assert send([(front_name, front, "image/jpeg")], incomplete=True).status_code == 202
    assert stored() == before
    listed = {f.name for f in (tmp_path / "m" / str(survey_id)).iterdir()}
    assert listed == {front_name, back_stored}


def test_instance_xml_queued_after_the_answer_is_written_before_the_app_stops(
    settings: Settings, clean_surveys: None, volunteer: dict[str, Any], sync_engine: Engine
) -> None:
    # An instance with start/end is written after its answer: a stop right after the answer
    # dropped it, or wrote it into the next test's TRUNCATE (a deadlock at teardown).
    instances = [f"uuid:{uuid.uuid4()}" for _ in range(5)]
    with TestClient(create_app(settings), headers=bearer(volunteer["token"])) as app_client:
        for instance in instances:
            response = post_submission(app_client, "/odk", household_xml(instance))
            assert response.status_code == 201, response.text
    with sync_engine.connect() as connection:
        kept = connection.execute(
            text("SELECT instance_id FROM odk_submissions WHERE instance_id = ANY(:ids)"),
            {"ids": instances},
        ).scalars()
        assert sorted(kept) == sorted(instances)


def test_an_instance_row_the_database_refuses_costs_no_other_row(
    client: TestClient, database_url: str, sync_engine: Engine
) -> None:
    """The XML of submissions answered together leaves in one statement; a row PostgreSQL
    refused (a NUL character) failed the statement, and the XML of other phones' surveys in
    it was lost: their resends, told from conflicts by it, were 409s for ever."""
    from app.db.odk import InstanceWriter
    from tests.factories import household_survey
    from tests.integration.test_statement_pool import run

    surveys = [household_survey() for _ in range(3)]
    for survey in surveys:
        assert client.post("/api/v1/submissions", json=survey).status_code == 201

    def row(survey: dict[str, Any], xml: str) -> dict[str, Any]:
        return {
            "instance_id": f"uuid:{survey['id']}",
            "survey_id": uuid.UUID(survey["id"]),
            "deprecated_id": None,
            "form_id": "household",
            "form_version": "2026112801",
            "xml_sha256": hashlib.sha256(xml.encode()).hexdigest(),
            "xml": xml,
            "user_id": None,
        }

    async def write(pool: Any) -> list[str]:
        writer = InstanceWriter(pool)
        rows = [row(surveys[0], "<a/>"), row(surveys[1], "<b>\x00</b>"), row(surveys[2], "<c/>")]
        waits = [asyncio.ensure_future(writer.write(r)) for r in rows]
        outcomes = await asyncio.gather(*waits, return_exceptions=True)
        return [type(outcome).__name__ for outcome in outcomes]

    outcomes = run(database_url, 2, write)
    assert outcomes[0] == outcomes[2] == "NoneType" and outcomes[1] != "NoneType"
    with sync_engine.connect() as connection:
        kept = (
            connection.execute(
                text("SELECT xml FROM odk_submissions WHERE survey_id = ANY(:ids) ORDER BY xml"),
                {"ids": [uuid.UUID(s["id"]) for s in surveys]},
            )
            .scalars()
            .all()
        )
    assert kept == ["<a/>", "<c/>"]
