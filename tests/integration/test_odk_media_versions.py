"""An old version's manifest and media files are the files its choices were read from: its
own copy in forms/versions/ when there is one, else the current form's in forms/."""

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

MANIFEST_NS = "{http://openrosa.org/xforms/xformsManifest}"
FORM = (
    "| survey |\n"
    "| | type | name | label |\n"
    "| | select_one_from_file streets.csv | street | Street |\n"
    "| | select_one_from_file lanes.csv | lane | Lane |\n"
    "| settings |\n"
    "| | form_id | version |\n"
    "| | streets | {version} |\n"
)
CURRENT_STREETS = "name,label\nphan_chu_trinh,Phan Chu Trinh\n"
OLD_STREETS = "name,label\nphan_chu_trinh,Phan Chu Trinh\nhung_vuong,Hùng Vương\n"
LANES = "name,label\nkiet_12,Kiệt 12\n"


@pytest.fixture
def versions_client(
    database_url: str, tmp_path: Path, clean_surveys: None, admin_token: str
) -> Iterator[TestClient]:
    """streets 3 in forms/; streets 2 in forms/versions/ with its own (longer) streets.csv,
    and no copy of lanes.csv (it reads the one in forms/)."""
    forms_dir = tmp_path / "forms"
    (forms_dir / "versions").mkdir(parents=True)
    (forms_dir / "streets.md").write_text(FORM.format(version="3"), encoding="utf-8")
    (forms_dir / "streets.csv").write_text(CURRENT_STREETS, encoding="utf-8")
    (forms_dir / "lanes.csv").write_text(LANES, encoding="utf-8")
    (forms_dir / "versions" / "streets-2.md").write_text(FORM.format(version="2"), "utf-8")
    (forms_dir / "versions" / "streets.csv").write_text(OLD_STREETS, encoding="utf-8")
    settings = Settings(database_url=database_url, forms_dir=forms_dir, media_dir=tmp_path / "m")
    with TestClient(create_app(settings), headers=bearer(admin_token)) as test_client:
        yield test_client


def manifest(client: TestClient, query: str = "") -> dict[str, tuple[str, str]]:
    """Each file of a manifest: (its md5, where to get it)."""
    response = client.get(f"/odk/forms/streets/manifest{query}")
    assert response.status_code == 200, response.text
    found = {}
    for row in ET.fromstring(response.content).findall(f"{MANIFEST_NS}mediaFile"):
        name = row.findtext(f"{MANIFEST_NS}filename") or ""
        digest = (row.findtext(f"{MANIFEST_NS}hash") or "").removeprefix("md5:")
        url = (row.findtext(f"{MANIFEST_NS}downloadUrl") or "").removeprefix("http://testserver")
        found[name] = (digest, url)
    return found


def downloaded(client: TestClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return response.content.decode("utf-8")


def md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def test_an_old_version_is_served_its_own_copy_of_a_choice_file(
    versions_client: TestClient,
) -> None:
    old = manifest(versions_client, "?version=2")
    assert set(old) == {"streets.csv", "lanes.csv"}
    assert old["streets.csv"][0] == md5(OLD_STREETS)
    assert downloaded(versions_client, old["streets.csv"][1]) == OLD_STREETS
    # No copy in versions/: the current form's file, as its choices were read.
    assert old["lanes.csv"][0] == md5(LANES)
    assert downloaded(versions_client, old["lanes.csv"][1]) == LANES
    assert downloaded(versions_client, "/odk/forms/streets/media/streets.csv?version=2") == (
        OLD_STREETS
    )
    # The current version keeps the file in forms/, asked with or without its version.
    for query in ("", "?version=3"):
        current = manifest(versions_client, query)
        assert current["streets.csv"][0] == md5(CURRENT_STREETS)
        assert downloaded(versions_client, current["streets.csv"][1]) == CURRENT_STREETS
    assert downloaded(versions_client, "/odk/forms/streets/media/streets.csv") == CURRENT_STREETS
    # Each manifest's md5 is that of the bytes its link serves.
    for query in ("", "?version=2", "?version=3"):
        for digest, url in manifest(versions_client, query).values():
            assert md5(downloaded(versions_client, url)) == digest
