"""A request's values that break its route's rules are named by field in the user's language:
pydantic's English ("Input should be...") and its regular expressions never reach a person."""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any, Literal

import pytest
from fastapi import FastAPI, Path, Query
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field

from app.api.errors import add_exception_handlers
from app.api.validation import PATTERN_CODES, SLUG_PATTERN, pydantic_problems
from app.main import create_app
from app.settings import Settings

# pydantic's own words, and the start of each of its messages.
ENGLISH = re.compile(r"Input should|String should|List should|Field required|should|pattern")


class Colour(StrEnum):
    red = "red"
    blue = "blue"


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(default=1, ge=1, le=1000)
    ratio: float = Field(default=0.5, gt=0, lt=1)
    name: str = Field(default="x", min_length=2, max_length=5)
    slug: str = Field(default="tam-ky", pattern=SLUG_PATTERN)
    code: str = Field(default="a", pattern=r"^[a-c]$")  # a pattern said in no message
    tags: list[str] = Field(default=[], max_length=2)
    flag: bool = False
    day: datetime.date | None = None
    at: datetime.datetime | None = None
    meeting_id: uuid.UUID | None = None
    size: Literal["A4", "A3"] = "A4"
    colour: Colour = Colour.red
    url: Any = None


def _app() -> TestClient:
    app = FastAPI()
    add_exception_handlers(app)

    @app.post("/things")
    async def things(thing: Thing) -> None:
        return None

    @app.get("/items/{item_id}")
    async def item(
        item_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        size: Literal["A4", "A3"] = "A4",
        flag: bool = False,
        token_id: uuid.UUID | None = None,
        status: Annotated[str | None, Query(max_length=3)] = None,
    ) -> None:
        return None

    return TestClient(app)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with _app() as test_client:
        yield test_client


def _problems(response: Any) -> dict[str, tuple[str, str]]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "validation_failed"
    return {e["field"]: (e["code"], e["message"]) for e in body["errors"]}


@pytest.mark.parametrize(
    ("url", "field", "code", "vi", "en"),
    [
        ("/items/0", "item_id", "at_least", "Phải từ 1 trở lên.", "Must be 1 or more."),
        (
            "/items/2147483648",
            "item_id",
            "at_most",
            "Không được quá 2.147.483.647.",
            "Must be 2,147,483,647 or less.",
        ),
        ("/items/x", "item_id", "not_integer", "số nguyên", "whole number"),
        ("/items/1?limit=0", "limit", "at_least", "từ 1", "1 or more"),
        ("/items/1?limit=1001", "limit", "at_most", "quá 1.000", "1,000 or less"),
        ("/items/1?size=A9", "size", "not_one_of", ": A4, A3.", ": A4, A3."),
        ("/items/1?flag=maybe", "flag", "not_boolean", "true hoặc false", "true or false"),
        ("/items/1?token_id=x", "token_id", "invalid_device_id", "UUID", "UUID"),
        ("/items/1?status=abcd", "status", "text_too_long", "tối đa 3 ký tự", "at most 3"),
    ],
)
def test_query_and_path_values_are_named_in_the_users_language(
    client: TestClient, url: str, field: str, code: str, vi: str, en: str
) -> None:
    for language, expected in (("vi", vi), ("en", en)):
        problems = _problems(client.get(url, headers={"Accept-Language": language}))
        assert problems[field][0] == code
        assert expected in problems[field][1], problems
        assert not ENGLISH.search(problems[field][1])


def test_every_error_of_a_body_is_translated_with_its_limits(client: TestClient) -> None:
    body = {
        "count": 0,
        "ratio": 1,
        "name": "x",
        "slug": "Tam Kỳ",
        "code": "z",
        "tags": ["a", "b", "c"],
        "flag": "maybe",
        "day": "2026-13-01",
        "at": "yesterday",
        "meeting_id": "nope",
        "size": "A9",
        "colour": "green",
        "extra": 1,
    }
    english = _problems(client.post("/things", json=body, headers={"Accept-Language": "en"}))
    vietnamese = _problems(client.post("/things", json=body))
    assert {field: code for field, (code, _) in english.items()} == {
        "count": "at_least",
        "ratio": "less_than",
        "name": "text_too_short",
        "slug": "invalid_slug",
        "code": "invalid_format",
        "tags": "too_many_items",
        "flag": "not_boolean",
        "day": "invalid_date",
        "at": "invalid_datetime",
        "meeting_id": "cdf_invalid_meeting_id",
        "size": "not_one_of",
        "colour": "not_one_of",
        "extra": "unknown_field",
    }
    assert english["ratio"][1] == "Must be less than 1."
    assert english["name"][1] == "Too short (at least 2 characters)."
    assert english["tags"][1] == "Too many items (at most 2)."
    assert english["colour"][1].endswith("Choose one of: red, blue.")
    assert english["extra"][1] == "Unknown field 'extra'."
    assert vietnamese["ratio"][1] == "Phải nhỏ hơn 1."
    assert vietnamese["slug"][1].startswith("Chỉ gồm chữ thường không dấu")
    for problems in (english, vietnamese):
        for field, (_, message) in problems.items():
            assert not ENGLISH.search(message), (field, message)
            assert "^" not in message and "{" not in message, (field, message)


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"count": "many"}, "count", "not_integer"),
        ({"count": 1.5}, "count", "not_integer"),
        ({"ratio": "half"}, "ratio", "not_number"),
        ({"name": 5}, "name", "wrong_type"),
        ({"tags": "a"}, "tags", "wrong_type"),
        ({"tags": [1]}, "tags.0", "wrong_type"),
        ({"count": "9" * 5000}, "count", "number_too_large"),
    ],
)
def test_wrong_types_in_a_body_are_named(
    client: TestClient, body: dict[str, Any], field: str, code: str
) -> None:
    problems = _problems(client.post("/things", json=body))
    assert problems[field][0] == code
    assert not ENGLISH.search(problems[field][1])


def test_a_body_that_is_not_an_object_or_not_json(client: TestClient) -> None:
    listed = _problems(client.post("/things", json=[1], headers={"Accept-Language": "en"}))
    assert listed == {"": ("wrong_type", "Wrong type: expected a JSON object {…}.")}
    broken = _problems(
        client.post("/things", content=b'{"count":', headers={"Content-Type": "application/json"})
    )
    assert broken == {"": ("invalid_json", "Dữ liệu gửi lên không phải JSON hợp lệ.")}


@pytest.mark.parametrize(
    "error",
    [
        {"type": "url_parsing", "loc": ("body", "url"), "msg": "Input should be a valid URL"},
        {"type": "value_error", "loc": ("url",), "msg": "Value error, bad", "ctx": {"error": "x"}},
        {"type": "literal_error", "loc": ("size",), "msg": "Input should be ...", "ctx": {}},
        {"type": "a_type_pydantic_adds_later", "loc": ("query", "x"), "msg": "Input is bad"},
    ],
)
def test_any_other_error_gets_a_translated_message_never_pydantics(error: Any) -> None:
    (problem,) = pydantic_problems([error], located=True)
    assert problem.code == "invalid_value"
    assert problem.message("vi") == "Giá trị không hợp lệ."
    assert problem.message("en") == "Not a valid value."


def test_every_pattern_a_route_checks_is_said_in_words() -> None:
    """A new pattern in a route must get its message in app.api.validation.PATTERN_CODES."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                found.add(node["pattern"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(create_app(Settings(database_url="postgresql://u:p@h/db")).openapi())
    from app.api.boundaries import CRS_PATTERN

    # Patterns only documented (json_schema_extra), which the route's own code checks with
    # its own message: the boundaries' crs (boundary_unknown_crs), a tile's coordinates
    # (tile_bad_coordinates), the submissions' paging cursor.
    documented = {CRS_PATTERN, "^[0-9]{1,9}$", "^[A-Za-z0-9_-]+$"}
    assert found - documented <= set(PATTERN_CODES), found - documented - set(PATTERN_CODES)
    assert set(PATTERN_CODES) <= found
