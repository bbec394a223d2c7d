"""Survey lists paged by keyset cursor (`?after=`): every row once, under concurrent inserts."""

from __future__ import annotations

import base64
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.auth import bearer
from tests.factories import household_survey

URL = "/api/v1/submissions"
START = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


def _store(engine: Engine, count: int, start: datetime, same_time_every: int = 3) -> list[str]:
    """Surveys stored straight in the table, several sharing one collected_at (ties)."""
    ids = [str(uuid.uuid4()) for _ in range(count)]
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO household_surveys (id, city_id, form_id, form_version, collector, "
                "collected_at, answers, content_hash) "
                "SELECT CAST(:id AS uuid), c.id, 'household', '2026112801', 'tnv-07', :at, "
                "'{}'::jsonb, md5(CAST(:id AS text)) FROM cities c WHERE c.slug = 'tam-ky'"
            ),
            [
                {"id": survey_id, "at": start + timedelta(minutes=index // same_time_every)}
                for index, survey_id in enumerate(ids)
            ],
        )
    return ids


def _walk(client: TestClient, limit: int, between: Any = None) -> tuple[list[str], int]:
    """Every id of the list, page by page by cursor; `between` runs after each page."""
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["after"] = cursor
        answer = client.get(URL, params=params)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert (page["total"] is None) == (cursor is not None)
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            return seen, pages
        assert len(page["items"]) == limit
        if between is not None:
            between(pages)


def test_cursor_walk_sees_every_row_once_in_order(client: TestClient, sync_engine: Engine) -> None:
    ids = _store(sync_engine, 25, START)
    first = client.get(URL, params={"limit": 10}).json()
    assert first["total"] == 25 and first["next"]
    seen, pages = _walk(client, 10)
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen)) and pages == 3
    # Newest first, ties by id (descending): the same order as offset pages give.
    by_offset = [
        item["id"]
        for offset in range(0, 25, 10)
        for item in client.get(URL, params={"limit": 10, "offset": offset}).json()["items"]
    ]
    assert seen == by_offset
    exact = client.get(URL, params={"limit": 25}).json()
    assert exact["next"] is None and len(exact["items"]) == 25  # no empty page at the end


def test_cursor_walk_under_concurrent_inserts_sees_each_row_exactly_once(
    client: TestClient, sync_engine: Engine
) -> None:
    before = set(_store(sync_engine, 60, START))
    inserted: list[str] = []

    def insert_meanwhile(page: int) -> None:
        # Newer and older rows, some with the very collected_at of rows already listed,
        # sent from another thread while the walk goes on.
        def work() -> None:
            inserted.extend(_store(sync_engine, 2, START + timedelta(minutes=30 - 3 * page), 1))
            inserted.extend(_store(sync_engine, 1, START + timedelta(days=1, minutes=page)))
            inserted.extend(_store(sync_engine, 1, START - timedelta(days=1, minutes=page)))

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()

    seen, pages = _walk(client, 7, insert_meanwhile)
    assert len(seen) == len(set(seen)), "a row came twice"
    assert before <= set(seen), "a row that was there all along was missed"
    assert set(seen) <= before | set(inserted)
    assert pages >= 9 and inserted
    # By offset, the same walk repeats rows: what the cursor is for.
    offset_seen: list[str] = []
    for offset in range(0, 70, 7):
        offset_seen += [
            i["id"] for i in client.get(URL, params={"limit": 7, "offset": offset}).json()["items"]
        ]
        _store(sync_engine, 1, START + timedelta(days=2, minutes=offset))
    assert len(offset_seen) != len(set(offset_seen))


def test_cursor_keeps_the_filters_and_the_readers_scope(
    client: TestClient, sync_engine: Engine, planner_token: str
) -> None:
    bodies = [
        household_survey(collected_at=f"2026-11-{day:02d}T09:00:00+07:00") for day in range(1, 8)
    ]
    for body in bodies:
        assert client.post(URL, json=body).status_code == 201
    pages = []
    cursor = None
    for _ in range(4):
        params = {"limit": 2, "status": "received", "city": "tam-ky"}
        if cursor:
            params["after"] = cursor
        page = client.get(URL, params=params, headers=bearer(planner_token)).json()
        pages.append([item["id"] for item in page["items"]])
        for item in page["items"]:
            assert "head_name" not in item["answers"]  # a planner never sees personal fields
        cursor = page["next"]
        if cursor is None:
            break
    assert [i for page in pages for i in page] == [b["id"] for b in reversed(bodies)]
    assert cursor is None


BAD_CURSORS = [
    "",
    "not-a-cursor",
    "====",
    base64.urlsafe_b64encode(b"[1, 2]").decode(),
    base64.urlsafe_b64encode(b'["2026-11-01T00:00:00", "x"]').decode(),
    base64.urlsafe_b64encode(b'["2026-11-01T00:00:00+00:00", "not-a-uuid"]').decode(),
    base64.urlsafe_b64encode(b'["2026-11-01T00:00:00", "' + str(uuid.uuid4()).encode() + b'"]')
    .decode()
    .rstrip("="),
    base64.urlsafe_b64encode(b'{"a": 1, "b": 2}').decode(),
    base64.urlsafe_b64encode(b'["{{7*7}}", "</title><script>"]').decode(),
    base64.urlsafe_b64encode(b'["2026-11-01T00:00:00\\u0000+00:00", "x"]').decode(),
    "Phường Hòa Thuận Đông",
    "=cmd|' /C calc'!A0",
    "a" * 201,
]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_a_bad_cursor_is_422_naming_after(client: TestClient, cursor: str) -> None:
    answer = client.get(URL, params={"after": cursor, "lang": "en"})
    assert answer.status_code == 422, answer.text
    fields = [error.get("field") or error.get("loc") for error in answer.json()["errors"]]
    assert any("after" in str(field) for field in fields), answer.text


@pytest.mark.parametrize("raw", ["%ED%A0%80", "%00", "%FF%FE", "a%00b"])
def test_a_cursor_of_broken_bytes_is_422(client: TestClient, raw: str) -> None:
    # A lone surrogate (UTF-8 of U+D800), NUL, bytes that are no UTF-8.
    answer = client.get(f"{URL}?after={raw}")
    assert answer.status_code == 422, answer.text


def test_a_bad_cursor_is_explained_in_vietnamese(client: TestClient) -> None:
    answer = client.get(URL, params={"after": "xyz"})
    assert answer.status_code == 422
    assert "Con trỏ trang" in answer.text
