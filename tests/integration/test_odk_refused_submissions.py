"""Collect submissions the server must refuse whole, with an OpenRosa error and nothing
stored: two parts of one name, an instance whose root element is not its form's, an empty
version on the root of a form that has a version. A valid survey is still stored once, and
its resend still answers 202."""

from __future__ import annotations

import io
import shutil
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine, text

from app.main import create_app
from app.settings import REPO_ROOT, Settings
from tests.auth import bearer, make_user
from tests.odk import HOUSEHOLD_VERSION, NAMESPACES, household_xml, multipart

RESPONSE_NS = "{http://openrosa.org/http/response}"


def jpeg(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def message(response: Any) -> tuple[str, str]:
    """The nature and text of an OpenRosaResponse (and its OpenRosa headers are there)."""
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    assert response.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{RESPONSE_NS}OpenRosaResponse"
    found = root.find(f"{RESPONSE_NS}message")
    assert found is not None
    return found.get("nature", ""), found.text or ""


def body_of(parts: list[tuple[str, str, bytes, str]]) -> tuple[bytes, str]:
    """A multipart body of (field name, file name, bytes, type) parts, in this order."""
    boundary = "----odkcollect" + uuid.uuid4().hex
    chunks = [
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
        ).encode()
        + data
        + b"\r\n"
        for name, filename, data, content_type in parts
    ]
    return b"".join(chunks) + f"--{boundary}--\r\n".encode(), (
        f"multipart/form-data; boundary={boundary}"
    )


def post(
    client: TestClient, prefix: str, body: bytes, content_type: str, language: str = "vi"
) -> Any:
    return client.post(
        f"{prefix}/submission?deviceID=collect:abc123",
        content=body,
        headers={
            "Content-Type": content_type,
            "X-OpenRosa-Version": "1.0",
            "Accept-Language": language,
        },
    )


def stored(sync_engine: Engine) -> tuple[int, int, int]:
    """Surveys, their files and the instance XML kept."""
    with sync_engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0)
            for table in ("household_surveys", "attachments", "odk_submissions")
        )


@pytest.fixture
def prefix(client: TestClient, sync_engine: Engine) -> str:
    """The server URL path of a volunteer's phone (key mode)."""
    user_id = make_user(sync_engine, "odk-refused", [("volunteer", ("ward", "W03"))])
    setup = client.post("/api/v1/odk/setup", json={"user_id": user_id})
    assert setup.status_code == 201, setup.text
    return str(setup.json()["server_url"]).removeprefix("http://testserver")


def test_two_parts_of_one_name_are_refused_and_nothing_is_stored(
    client: TestClient, prefix: str, sync_engine: Engine
) -> None:
    instance = f"uuid:{uuid.uuid4()}"
    xml = household_xml(instance, photo="nha.jpg")
    other = household_xml(instance, photo="nha.jpg", household_size="9")
    red, blue = jpeg("red"), jpeg("blue")
    cases = [
        # Two XML parts: which one is the survey?
        [
            ("xml_submission_file", "submission.xml", xml, "text/xml"),
            ("xml_submission_file", "submission.xml", other, "text/xml"),
            ("nha.jpg", "nha.jpg", red, "image/jpeg"),
        ],
        # The same XML twice is no clearer.
        [
            ("xml_submission_file", "submission.xml", xml, "text/xml"),
            ("xml_submission_file", "submission.xml", xml, "text/xml"),
        ],
        # Two files under the photo's name: which one is the photo?
        [
            ("xml_submission_file", "submission.xml", xml, "text/xml"),
            ("nha.jpg", "nha.jpg", red, "image/jpeg"),
            ("nha.jpg", "nha.jpg", blue, "image/jpeg"),
        ],
        # The same file name under two field names.
        [
            ("xml_submission_file", "submission.xml", xml, "text/xml"),
            ("photo", "nha.jpg", red, "image/jpeg"),
            ("nha.jpg", "nha.jpg", blue, "image/jpeg"),
        ],
    ]
    for parts in cases:
        for language, named in (("vi", "nha.jpg"), ("en", "nha.jpg")):
            body, content_type = body_of(parts)
            response = post(client, prefix, body, content_type, language)
            assert response.status_code == 400, response.text
            nature, said = message(response)
            assert nature == "error"
            duplicate = "xml_submission_file" if parts[1][0] == parts[0][0] else named
            assert duplicate in said, said
            assert ("twice" in said) == (language == "en"), said
            assert stored(sync_engine) == (0, 0, 0)
    # The survey sent as Collect sends it is stored once, with its photo; a resend is a 202.
    body, content_type = multipart(xml, [("nha.jpg", red, "image/jpeg")])
    assert post(client, prefix, body, content_type).status_code == 201
    assert post(client, prefix, body, content_type).status_code == 202
    assert stored(sync_engine)[:2] == (1, 1)
    # Two photos under its name afterwards: refused, and the stored survey and photo stay.
    body, content_type = body_of(cases[2])
    assert post(client, prefix, body, content_type).status_code == 400
    assert stored(sync_engine)[:2] == (1, 1)
    download = client.get(f"/api/v1/submissions/{instance[5:]}/attachments/nha.jpg")
    assert download.status_code == 200 and download.content == red


@pytest.fixture
def root_client(
    database_url: str, tmp_path: Path, clean_surveys: None, admin_token: str
) -> Iterator[TestClient]:
    """The app with the household form and a form whose root element is `my_root` (the
    settings sheet's `name`)."""
    forms_dir = tmp_path / "forms"
    forms_dir.mkdir()
    shutil.copy(REPO_ROOT / "forms" / "household.xlsx", forms_dir / "household.xlsx")
    shutil.copy(REPO_ROOT / "tests" / "forms" / "root_name.md", forms_dir / "root_name.md")
    settings = Settings(database_url=database_url, forms_dir=forms_dir, media_dir=tmp_path / "m")
    with TestClient(create_app(settings), headers=bearer(admin_token)) as test_client:
        yield test_client


def root_name_xml(root: str, instance: str) -> bytes:
    return (
        f'<{root} id="root_name" version="3" {NAMESPACES}><a>5</a><b>3</b><g><c/></g>'
        f"<loc>15.571 108.474 12.0 6.5</loc><meta><instanceID>{instance}</instanceID></meta>"
        f"</{root}>"
    ).encode()


def test_an_instance_whose_root_is_not_its_forms_is_refused(
    root_client: TestClient, sync_engine: Engine
) -> None:
    client = root_client
    user_id = make_user(sync_engine, "odk-refused-root", [("volunteer", ("ward", "W03"))])
    setup = client.post("/api/v1/odk/setup", json={"user_id": user_id}).json()
    prefix = str(setup["server_url"]).removeprefix("http://testserver")
    instance = f"uuid:{uuid.uuid4()}"
    household = household_xml(instance)
    cases = [
        # The household form's root is <data>: <household id="household"> is another form.
        (
            household.replace(b"<data ", b"<household ").replace(b"</data>", b"</household>"),
            "household",
            "data",
        ),
        # A namespace prefix changes nothing: the name is still not the form's.
        (
            household.replace(b"<data ", b'<x:survey xmlns:x="urn:x" ').replace(
                b"</data>", b"</x:survey>"
            ),
            "survey",
            "data",
        ),
        # The form whose root is <my_root>, sent under pyxform's default <data>.
        (root_name_xml("data", instance), "data", "my_root"),
    ]
    for xml, sent, expected in cases:
        for language in ("vi", "en"):
            body, content_type = multipart(xml)
            response = post(client, prefix, body, content_type, language)
            assert response.status_code == 400, response.text
            nature, said = message(response)
            assert nature == "error"
            assert f"<{sent}>" in said and f"<{expected}>" in said, said
            assert ("root element" in said) == (language == "en"), said
        assert stored(sync_engine) == (0, 0, 0)
    # The right roots are stored, and answered 202 when sent again.
    right = root_name_xml("my_root", f"uuid:{uuid.uuid4()}")
    for xml in (household, right):
        body, content_type = multipart(xml)
        first = post(client, prefix, body, content_type)
        assert first.status_code == 201, first.text
        assert post(client, prefix, body, content_type).status_code == 202
    # The form's root in the XForms namespace (as the XForm's instance declares it): its name.
    namespaced = root_name_xml("my_root", f"uuid:{uuid.uuid4()}").replace(
        b"<my_root ", b'<my_root xmlns="http://www.w3.org/2002/xforms" ', 1
    )
    body, content_type = multipart(namespaced)
    assert post(client, prefix, body, content_type).status_code == 201
    assert stored(sync_engine)[0] == 3


def test_an_empty_version_is_no_version_of_a_versioned_form(
    client: TestClient, prefix: str, sync_engine: Engine
) -> None:
    for version in ("", "  "):
        xml = household_xml(version=version)
        for language, said_version in (("vi", "phiên bản"), ("en", "version")):
            body, content_type = multipart(xml)
            response = post(client, prefix, body, content_type, language)
            assert response.status_code == 404, response.text
            nature, said = message(response)
            assert nature == "error" and said_version in said and HOUSEHOLD_VERSION in said, said
        assert stored(sync_engine) == (0, 0, 0)
    # Without a version attribute at all: the current version, as before.
    unversioned = household_xml().replace(f' version="{HOUSEHOLD_VERSION}"'.encode(), b"")
    assert b"version=" not in unversioned.split(b">", 2)[1]
    body, content_type = multipart(unversioned)
    assert post(client, prefix, body, content_type).status_code == 201
    assert post(client, prefix, body, content_type).status_code == 202
    # The current version named: stored, then a 202.
    body, content_type = multipart(household_xml())
    assert post(client, prefix, body, content_type).status_code == 201
    assert post(client, prefix, body, content_type).status_code == 202
    assert stored(sync_engine)[0] == 2
