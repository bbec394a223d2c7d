"""A select_multiple's 0/1 columns (app.services.exports._chosen) in PostgreSQL: the cheap
search for " value " gives what splitting the answer into an array gives, for every answer
shape a survey can hold."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from app.db.sql import sql_literal
from app.services.exports import _chosen

ANSWERS = [
    None,
    "",
    "water",
    "drainage lane",
    "water_tank",
    "lane  water",
    " water ",
    "water\tlane",
    "waterlane",
    "lane water_tank",
    "Water",
]
VALUES = ["water", "lane", "water_tank", "drainage", "a b", ""]


@pytest.mark.parametrize("value", VALUES)
def test_the_search_finds_what_the_split_finds(sync_engine: Engine, value: str) -> None:
    answer = "(a.x)"
    items = f"string_to_array({answer}, ' ')"
    split = (
        f"CASE WHEN {answer} IS NULL THEN NULL "
        f"WHEN {sql_literal(value)} = ANY({items}) THEN 1 ELSE 0 END"
    )
    rows = ", ".join(f"({'NULL' if a is None else sql_literal(a)})" for a in ANSWERS)
    sql = f"SELECT a.x, {_chosen(answer, value, items)}, {split} FROM (VALUES {rows}) AS a(x)"
    with sync_engine.connect() as connection:
        found = connection.execute(text(sql)).all()
    assert len(found) == len(ANSWERS)
    for answer_text, searched, splitted in found:
        assert searched == splitted, (answer_text, value)
    assert [r[1] for r in found][:4] == {
        "water": [None, 0, 1, 0],
        "lane": [None, 0, 0, 1],
        "water_tank": [None, 0, 0, 0],
        "drainage": [None, 0, 0, 1],
        "a b": [None, 0, 0, 0],
        "": [None, 0, 0, 0],
    }[value]
