"""The form served as current is the file in forms/, whatever the versions' strings say."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import REPO_ROOT, Settings
from tests.auth import bearer
from tests.factories import household_survey
from tests.integration.test_form_versions import write_new_version

LIST = {"x": "http://openrosa.org/xforms/xformsList"}
# Read as before, `2026120101` (digits only) ranked above `v2`: the old form was served.
OLD = "2026120101"
NEW = "v2"


@pytest.fixture
def renamed_client(
    database_url: str, tmp_path: Path, clean_surveys: None, admin_token: str
) -> Iterator[TestClient]:
    forms_dir = tmp_path / "forms"
    (forms_dir / "versions").mkdir(parents=True)
    write_new_version(
        REPO_ROOT / "forms" / "household.xlsx", forms_dir / "versions" / "household-old.xlsx", OLD
    )
    write_new_version(REPO_ROOT / "forms" / "household.xlsx", forms_dir / "household.xlsx", NEW)
    shutil.copy(REPO_ROOT / "forms" / "settlement.xlsx", forms_dir / "settlement.xlsx")
    settings = Settings(database_url=database_url, forms_dir=forms_dir, media_dir=tmp_path / "m")
    with TestClient(create_app(settings), headers=bearer(admin_token)) as client:
        yield client


def test_the_file_in_forms_is_served_to_the_phone_app_and_to_collect(
    renamed_client: TestClient,
) -> None:
    listing = renamed_client.get("/api/v1/forms").json()
    assert listing["problems"] == {}
    versions = {f["form_id"]: f["version"] for f in listing["forms"]}
    assert versions["household"] == NEW
    assert renamed_client.get("/api/v1/forms/household").json()["version"] == NEW
    form_list = ET.fromstring(renamed_client.get("/odk/formList").content)
    served = {
        xform.findtext("x:formID", namespaces=LIST): xform.findtext("x:version", namespaces=LIST)
        for xform in form_list
    }
    assert served["household"] == NEW
    xml = renamed_client.get("/odk/forms/household.xml").text
    assert f'version="{NEW}"' in xml
    old = renamed_client.get("/odk/forms/household.xml", params={"version": OLD}).text
    assert f'version="{OLD}"' in old


def test_surveys_of_both_versions_are_accepted(renamed_client: TestClient) -> None:
    old = household_survey(form_version=OLD)
    new = household_survey(form_version=NEW)
    response = renamed_client.post("/api/v1/submissions/batch", json={"submissions": [old, new]})
    assert response.status_code == 200, response.text
    assert [r["outcome"] for r in response.json()["results"]] == ["created", "created"]
