"""OGC API Features paging by keyset cursor: following the `next` links returns every feature
that stays approved exactly once, while surveys are approved or sent back mid-walk; a forged
cursor is a 400 and positions only within what the reader may read."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.main import create_app
from app.settings import Settings
from tests.auth import bearer
from tests.integration import test_ogc

ITEMS = "/ogc/collections/households/items"
EARLY = "00000000-0000-4000-8000-000000000001"  # sorts before every random uuid
LATE = "ffffffff-ffff-4fff-bfff-fffffffffffe"  # sorts after every random uuid

# The OGC tests' sample households (mostly approved, 20 received, 10 rejected).
surveys = test_ogc.surveys


def _store(engine: Engine, count: int, status: str = "approved") -> list[str]:
    """Household surveys stored straight in the table (phones make random uuids)."""
    ids = [str(uuid.uuid4()) for _ in range(count)]
    _insert(engine, ids, status)
    return sorted(ids)


def _insert(engine: Engine, ids: list[str], status: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO household_surveys (id, city_id, form_id, form_version, collector, "
                "collected_at, answers, content_hash, status, geom) "
                "SELECT CAST(:id AS uuid), c.id, 'household', '2026112801', 'tnv-07', "
                "'2026-11-26T02:30:00Z', '{}'::jsonb, md5(CAST(:id AS text)), :status, "
                "ST_SetSRID(ST_MakePoint(108.474, 15.571), 4326) "
                "FROM cities c WHERE c.slug = 'tam-ky'"
            ),
            [{"id": survey_id, "status": status} for survey_id in ids],
        )


def _review(client: TestClient, survey_id: str, decision: str) -> None:
    """A reviewer's decision through the API, as the review page takes it."""
    body: dict[str, Any] = {"decision": decision}
    if decision != "approved":
        body["comment"] = "Kiểm tra lại số nhân khẩu"
    answer = client.post(f"/api/v1/submissions/{survey_id}/review", json=body)
    assert answer.status_code == 200, answer.text


def _walk(
    client: TestClient, url: str, between: Callable[[int], None] | None = None
) -> tuple[list[str], list[dict[str, Any]]]:
    """Every feature id by the next links, and each page's body; `between(pages)` runs after
    each page that has a next one."""
    ids: list[str] = []
    bodies: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        answer = client.get(next_url)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["numberReturned"] == len(body["features"])
        ids += [str(feature["id"]) for feature in body["features"]]
        bodies.append(body)
        next_url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        assert len(bodies) < 200
        if next_url and between is not None:
            between(len(bodies))
    return ids, bodies


def _cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


@pytest.fixture
def households(sync_engine: Engine, clean_surveys: None) -> list[str]:
    """3,000 approved households, as in the reviewer's reproduction."""
    return _store(sync_engine, 3000)


@pytest.fixture
def as_planner(settings: Settings, planner_token: str, clean_surveys: None) -> Iterator[TestClient]:
    with TestClient(create_app(settings), headers=bearer(planner_token)) as client:
        yield client


def test_a_survey_approved_mid_walk_repeats_and_skips_nothing(
    client: TestClient, sync_engine: Engine, households: list[str]
) -> None:
    """An approved survey whose id sorts before the page read moved every later feature one
    place on: by offset, the next page began with the last feature of the page before, and
    the new survey came on no page."""

    def arrive(pages: int) -> None:
        if pages == 1:
            _insert(sync_engine, [EARLY, LATE], "received")
            _review(client, EARLY, "approved")
            _review(client, LATE, "approved")

    ids, bodies = _walk(client, f"{ITEMS}?limit=1000", arrive)
    assert len(ids) == len(set(ids)), "a feature came twice"
    # Every feature approved throughout, once and in id order; the new one sorting after the
    # page already read comes too, the one sorting before it in the next walk.
    assert ids == [*households, LATE]
    assert EARLY not in ids
    assert [body["numberMatched"] for body in bodies] == [3000, 3002, 3002, 3002]
    assert [body["numberReturned"] for body in bodies] == [1000, 1000, 1000, 1]
    again, _ = _walk(client, f"{ITEMS}?limit=1000")
    assert again == sorted([*households, EARLY, LATE])


def test_a_survey_sent_back_mid_walk_skips_no_other(
    client: TestClient, sync_engine: Engine, households: list[str]
) -> None:
    """A page-1 survey sent back for correction moved every later feature one place back: by
    offset, the first feature of page 2 was never returned. The last feature of page 1 (the
    cursor's own) goes too: a cursor needs no row to stand on."""
    sent_back = [households[5], households[999]]

    def correct(pages: int) -> None:
        if pages == 1:
            for survey_id in sent_back:
                _review(client, survey_id, "needs_correction")

    ids, bodies = _walk(client, f"{ITEMS}?limit=1000", correct)
    assert len(ids) == len(set(ids))
    kept = [survey_id for survey_id in households if survey_id not in sent_back]
    assert [survey_id for survey_id in ids if survey_id not in sent_back] == kept
    assert ids[:1000] == households[:1000]  # page 1 was read before the decision
    assert ids[1000:] == households[1000:]
    assert [body["numberMatched"] for body in bodies] == [3000, 2998, 2998]


def test_next_links_carry_a_cursor_and_offset_still_works(
    client: TestClient, households: list[str]
) -> None:
    first = client.get(ITEMS, params={"limit": 1000}).json()
    link = next(link["href"] for link in first["links"] if link["rel"] == "next")
    query = parse_qs(urlsplit(link).query)
    assert set(query) == {"after", "limit"} and query["limit"] == ["1000"]
    assert not any(link["rel"] == "prev" for link in first["links"])
    # an offset request answers as before; its next link goes on by cursor, its prev by offset
    page = client.get(ITEMS, params={"limit": 700, "offset": 1400}).json()
    assert [f["id"] for f in page["features"]] == households[1400:2100]
    assert page["numberMatched"] == 3000 and page["numberReturned"] == 700
    links = {link["rel"]: link["href"] for link in page["links"]}
    assert "offset" not in parse_qs(urlsplit(links["next"]).query)
    assert [f["id"] for f in client.get(links["next"]).json()["features"]] == households[2100:2800]
    assert parse_qs(urlsplit(links["prev"]).query)["offset"] == ["700"]
    # the last page: no next link, no empty page after it
    last = client.get(ITEMS, params={"limit": 200, "offset": 2800}).json()
    assert last["numberReturned"] == 200 and not any(x["rel"] == "next" for x in last["links"])
    # a cursor with an offset skips after the cursor
    after = parse_qs(urlsplit(link).query)["after"][0]
    skipped = client.get(ITEMS, params={"after": after, "offset": 10, "limit": 5}).json()
    assert [f["id"] for f in skipped["features"]] == households[1010:1015]
    # the HTML page numbers a cursor's page by its place in the layer
    html = client.get(link.replace("limit=1000", "limit=1000&f=html"))
    assert html.status_code == 200 and "1001–2000" in html.text, html.text[:2000]


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "!!!!",
        "%00",
        "W10",  # []
        _cursor(["not-a-uuid"]),
        _cursor([1]),  # an area's id in a survey collection
        _cursor([EARLY, EARLY]),
        _cursor({"id": EARLY}),
        _cursor(EARLY),
        "é" * 10,
        _cursor([EARLY]) + "x" * 300,
    ],
)
def test_a_forged_cursor_is_a_400(client: TestClient, cursor: str) -> None:
    answer = client.get(f"{ITEMS}?after={cursor}")
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["code"] == "invalid_cursor"
    assert "next" in answer.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "cursor", [_cursor([EARLY]), _cursor([-1]), _cursor([2**31]), _cursor([True]), _cursor([1.5])]
)
def test_a_forged_area_cursor_is_a_400(client: TestClient, cursor: str) -> None:
    assert client.get(f"/ogc/collections/wards/items?after={cursor}").status_code == 400
    assert client.get(f"/ogc/collections/settlements/items?after={cursor}").status_code == 400


def test_every_collection_pages_by_cursor(
    client: TestClient, sync_engine: Engine, surveys: int
) -> None:
    """Wards, settlements (with their figures), households and another form's surveys: each
    walked by small pages returns what one large page does, every feature once."""
    listed = [c["id"] for c in client.get("/ogc/collections").json()["collections"]]
    assert {"wards", "settlements", "households", "settlement"} <= set(listed)
    for collection in listed:
        url = f"/ogc/collections/{collection}/items"
        whole = client.get(url, params={"limit": 10000}).json()
        expected = [str(f["id"]) for f in whole["features"]]
        limit = max(1, len(expected) // 4)
        ids, bodies = _walk(client, f"{url}?limit={limit}")
        assert ids == expected, collection
        assert len(bodies) == -(-len(expected) // limit) or not expected, collection
        assert all(body["numberMatched"] == len(expected) for body in bodies), collection
        if len(bodies) > 1:
            assert "after=" in next(x["href"] for x in bodies[0]["links"] if x["rel"] == "next")
    # filters and datetime hold on every page after a cursor
    query = "limit=50&datetime=2026-01-01T00:00:00Z/..&bbox=108,15,109,16"
    ids, bodies = _walk(client, f"{ITEMS}?{query}")
    whole = client.get(ITEMS, params={"limit": 10000, "datetime": "2026-01-01T00:00:00Z/.."})
    inside = [
        f["id"]
        for f in whole.json()["features"]
        if f["geometry"] and 108 <= f["geometry"]["coordinates"][0] <= 109
    ]
    assert ids == inside and len(bodies) > 1
    assert all(
        "datetime=" in x["href"] and "bbox=" in x["href"]
        for body in bodies
        for x in body["links"]
        if x["rel"] == "next"
    )


def test_a_cursor_reaches_no_hidden_feature(
    as_planner: TestClient, sync_engine: Engine, surveys: int
) -> None:
    """A cursor positions within the reader's own filtered rows: one forged just before a
    survey waiting for review, or one of another city, starts after it and never shows it."""
    with sync_engine.connect() as connection:
        hidden = [
            str(row[0])
            for row in connection.execute(
                text("SELECT id FROM household_surveys WHERE status <> 'approved' ORDER BY id")
            )
        ]
    elsewhere = str(uuid.uuid4())
    with sync_engine.begin() as connection:
        other_city = connection.execute(
            text(
                "INSERT INTO cities (slug, name) VALUES ('ogc-paging-elsewhere', 'Nơi khác') "
                "RETURNING id"
            )
        ).scalar_one()
        connection.execute(
            text(
                "INSERT INTO household_surveys (id, city_id, form_id, form_version, collector, "
                "collected_at, answers, content_hash, status, geom) VALUES (CAST(:id AS uuid), "
                ":city, 'household', '2026112801', 'tnv-07', '2026-11-26T02:30:00Z', "
                "'{}'::jsonb, md5(CAST(:id AS text)), 'approved', "
                "ST_SetSRID(ST_MakePoint(108.47, 15.57), 4326))"
            ),
            {"id": elsewhere, "city": other_city},
        )
    try:
        _assert_cursors_stay_in_scope(as_planner, [*hidden[:5], elsewhere])
    finally:
        with sync_engine.begin() as connection:
            connection.execute(
                text("DELETE FROM household_surveys WHERE id = CAST(:id AS uuid)"),
                {"id": elsewhere},
            )
            connection.execute(text("DELETE FROM cities WHERE id = :id"), {"id": other_city})


def _assert_cursors_stay_in_scope(client: TestClient, hidden: list[str]) -> None:
    readable = {f["id"] for f in client.get(ITEMS, params={"limit": 10000}).json()["features"]}
    assert readable and not set(hidden) & readable
    for target in hidden:
        just_before = str(uuid.UUID(int=uuid.UUID(target).int - 1))
        page = client.get(ITEMS, params={"after": _cursor([just_before]), "limit": 3})
        assert page.status_code == 200, page.text
        ids = [f["id"] for f in page.json()["features"]]
        assert target not in ids and set(ids) <= readable
        assert page.json()["numberMatched"] == len(readable)
        assert client.get(f"{ITEMS}/{target}").status_code == 404
