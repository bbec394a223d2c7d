"""KML exports: hostile text stays well-formed XML text, and the copy in two halves of the
rows' order (app/db/exports.copy_ordered, when PostgreSQL has statistics to split on and a
second export slot is free) gives byte for byte the document of the one statement."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.main import create_app
from app.settings import Settings
from tests.auth import bearer
from tests.factories import household_answers, household_survey

KML = "{http://www.opengis.net/kml/2.2}"
URL = "/api/v1/export/households.kml?city=tam-ky&surveys=all"
SURVEYS = 40
# Stored as they are (written into the answers by SQL: intake may refuse some of them).
HOSTILE_XML = [
    "]]><![CDATA[ x ]]> ]]>",
    "<script>alert(1)</script> & &amp; &#0; &#x1; <!-- --> <?xml?>",
    "control \x01\x02\x08\x0b\x0c\x0e\x1f\x7f end",
    "line 1\nline 2\r\nline 3\rend",
    "non-characters \ufffe\uffff end",
    "\t tab \u0085 NEL \u2028 LS \u2029 PS \u202e RLO",
    "🏠 \U0010fffd \ue000 \"quotes\" 'apostrophes' </SimpleData></Placemark>",
]
# What XML 1.0 cannot hold at all is left out; the rest reads back as it was stored.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@pytest.fixture
def surveys(
    settings: Settings, clean_surveys: None, admin_token: str, sync_engine: Engine
) -> Iterator[list[str]]:
    """Households collected an hour apart, in an order unlike their ids', the first ones
    with hostile notes; then PostgreSQL's statistics of them (ANALYZE), which give the
    export its split point."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    ids = []
    with TestClient(create_app(settings), headers=bearer(admin_token)) as admin:
        for index in range(SURVEYS):
            collected = start + timedelta(hours=(index * 7) % SURVEYS)
            body = household_survey(
                collected_at=collected.isoformat(),
                location={"lat": 15.5712 + index * 1e-4, "lon": 108.4741, "accuracy_m": 5.0},
                answers=household_answers(needs_notes=f"note {index}"),
            )
            response = admin.post("/api/v1/submissions", json=body)
            assert response.status_code == 201, response.text
            ids.append(body["id"])
    with sync_engine.begin() as connection:
        for survey_id, note in zip(ids, HOSTILE_XML, strict=False):
            connection.execute(
                text(
                    "UPDATE household_surveys SET answers = jsonb_set(answers, "
                    "'{needs_notes}', to_jsonb(CAST(:note AS text))) WHERE id = :id"
                ),
                {"note": note, "id": survey_id},
            )
    with sync_engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("ANALYZE household_surveys")
        )
    yield ids


def _export(settings: Settings, token: str) -> bytes:
    with TestClient(create_app(settings), headers=bearer(token)) as client:
        response = client.get(URL)
    assert response.status_code == 200, response.text
    return response.content


def test_hostile_text_stays_well_formed_xml_text(
    surveys: list[str], settings: Settings, admin_token: str
) -> None:
    document = _export(settings, admin_token)
    root = ElementTree.fromstring(document)  # parses: nothing broke out of its element
    notes = {
        placemark.findtext(f"{KML}name"): data.text
        for placemark in root.iter(f"{KML}Placemark")
        for data in placemark.iter(f"{KML}SimpleData")
        if data.get("name") == "needs_notes"
    }
    for survey_id, note in zip(surveys, HOSTILE_XML, strict=False):
        assert notes[survey_id] == NOT_XML.sub("", note)
    assert b"<script>" not in document and b"]]><" not in document
    # One Placemark per line: line ends inside values are character references.
    assert document.count(b"<Placemark>") == SURVEYS
    assert all(line.count(b"<Placemark>") <= 1 for line in document.splitlines())


def test_two_halves_give_the_document_of_one_statement(
    surveys: list[str], settings: Settings, admin_token: str, sync_engine: Engine
) -> None:
    with sync_engine.connect() as connection:
        bounds = connection.execute(
            text(
                "SELECT histogram_bounds IS NOT NULL FROM pg_stats "
                "WHERE tablename = 'household_surveys' AND attname = 'collected_at'"
            )
        ).scalar()
    assert bounds, "no statistics to split on: the test would not cover the two halves"
    halves = _export(settings, admin_token)  # 5 export slots: a second one is free
    one = _export(settings.model_copy(update={"export_concurrency": 1}), admin_token)
    assert halves == one
    with sync_engine.connect() as connection:
        ordered = connection.execute(
            text("SELECT id::text FROM household_surveys ORDER BY collected_at, id")
        ).scalars()
        expected = list(ordered)
    root = ElementTree.fromstring(halves)
    names = [p.findtext(f"{KML}name") for p in root.iter(f"{KML}Placemark")]
    assert names == expected and sorted(names) == sorted(surveys)
