"""Each server process watches forms/ on its own (every few seconds). Collect reads the form
list from one process and downloads from another: the download must be the version listed,
with the listed hash, even from a process that has not looked at forms/ since the file
changed a moment ago; the JSON API's form by version likewise."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.auth import bearer

LIST_NS = "{http://openrosa.org/xforms/xformsList}"
FORM = (
    "| survey |\n"
    "| | type | name | label |\n"
    "| | text | street | {label} |\n"
    "| settings |\n"
    "| | form_id | version |\n"
    "| | streets | {version} |\n"
)


@pytest.fixture
def two_workers(
    database_url: str, tmp_path: Path, clean_surveys: None, admin_token: str
) -> Iterator[tuple[TestClient, TestClient, Path]]:
    """Two server processes' apps on one forms/ (each looks at it every hour here: the
    window in which they differ, made long)."""
    forms_dir = tmp_path / "forms"
    forms_dir.mkdir()
    (forms_dir / "streets.md").write_text(FORM.format(label="Street", version="1"), "utf-8")
    settings = Settings(
        database_url=database_url,
        forms_dir=forms_dir,
        media_dir=tmp_path / "media",
        forms_reload_seconds=3600,
    )
    with (
        TestClient(create_app(settings), headers=bearer(admin_token)) as first,
        TestClient(create_app(settings), headers=bearer(admin_token)) as second,
    ):
        yield first, second, forms_dir


def listed(client: TestClient) -> dict[str, str]:
    response = client.get("/odk/formList")
    assert response.status_code == 200, response.text
    (row,) = ET.fromstring(response.content).findall(f"{LIST_NS}xform")
    return {child.tag.removeprefix(LIST_NS): child.text or "" for child in row}


def test_a_download_is_the_version_listed_whichever_process_answers(
    two_workers: tuple[TestClient, TestClient, Path],
) -> None:
    first, second, forms_dir = two_workers
    assert listed(second)["version"] == "1"  # the second process has read version 1
    (forms_dir / "streets.md").write_text(FORM.format(label="Đường <mới>", version="2"), "utf-8")
    first.app.state.forms.checked_at = float("-inf")  # the first one's look comes now
    row = listed(first)
    assert row["version"] == "2"
    download = second.get(row["downloadUrl"].removeprefix("http://testserver"))
    assert download.status_code == 200, download.text
    # Version 1's bytes under version 2's hash: Collect would keep the old form for ever.
    assert row["hash"] == "md5:" + hashlib.md5(download.content).hexdigest()
    assert "Đường &lt;mới&gt;" in download.text
    # The phone app asks the JSON API for the version it was given: the same.
    form = second.get("/api/v1/forms/streets", params={"version": "2"})
    assert form.status_code == 200, form.text
    assert form.json()["version"] == "2"
    # A version nobody has is still a 404, after one more look.
    assert second.get("/api/v1/forms/streets", params={"version": "9"}).status_code == 404
    assert second.get("/odk/forms/streets.xml", params={"version": "9"}).status_code == 404
