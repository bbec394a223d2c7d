"""household_tallies (migration 0013) against the full recomputation from the surveys.

Randomized surveys (forms, statuses, places, answers, times) are inserted one by one and in
batches, reviewed, corrected, moved, re-placed by a boundary change, deleted and truncated;
after each step every indicator row read from the tallies equals the one summed from every
survey's answers (`surveys_indicators_sql`, the reference), for both `surveys=` switches and
two household forms. And through the API: a survey posted moves the shares at once.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text

from app.db import progress as progress_queries
from app.db.indicators import (
    TALLIED_RULES,
    indicators_sql,
    surveys_indicators_sql,
    tallied,
)
from app.db.national import national_sql
from app.db.submissions import REPLACE_HOUSEHOLDS
from app.services.indicators import INDICATORS
from tests.auth import bearer, make_token, make_user
from tests.factories import household_answers, household_survey
from tests.integration.test_bench_quick import run_bench

RULES = [indicator.rule for indicator in INDICATORS]
# Values each question may take: deficient ones, sound ones, something else.
VALUES = {
    rule.question: [*rule.values, "other", "red_book", "piped", "car", "never"] for rule in RULES
}
STATUSES = ("received", "approved", "rejected", "needs_correction")
FORMS = ("household", "household", "household", "settlement_profile")


def _square(west: float, south: float, size: float) -> str:
    east, north = west + size, south + size
    return f"POLYGON(({west} {south},{east} {south},{east} {north},{west} {north},{west} {south}))"


@pytest.fixture
def places(sync_engine: Engine, clean_surveys: None) -> Iterator[dict[str, Any]]:
    """Two cities; the first with 2 wards and 4 settlements side by side along 105.80-105.82."""
    ids: dict[str, Any] = {"settlements": [], "wards": []}
    with sync_engine.begin() as connection:
        for slug in ("tally-mot", "tally-hai"):
            ids.setdefault("cities", []).append(
                connection.execute(
                    text(
                        "INSERT INTO cities (slug, name, province) VALUES (:slug, :name, "
                        "'Quảng Nam') RETURNING id"
                    ),
                    {"slug": slug, "name": slug},
                ).scalar_one()
            )
        city = ids["cities"][0]
        for index in range(2):
            ids["wards"].append(
                connection.execute(
                    text(
                        "INSERT INTO wards (city_id, code, name, geom) VALUES (:city, :code, "
                        ":name, ST_Multi(ST_GeomFromText(:wkt, 4326))) RETURNING id"
                    ),
                    {
                        "city": city,
                        "code": f"W{index}",
                        "name": f"Phường {index}",
                        "wkt": _square(105.80 + index / 100, 21, 0.01),
                    },
                ).scalar_one()
            )
        for index in range(4):
            ids["settlements"].append(
                connection.execute(
                    text(
                        "INSERT INTO settlements (city_id, ward_id, code, name, geom) VALUES "
                        "(:city, :ward, :code, :name, ST_GeomFromText(:wkt, 4326)) RETURNING id"
                    ),
                    {
                        "city": city,
                        "ward": ids["wards"][index // 2],
                        "code": f"S{index}",
                        "name": f"Xóm {index}",
                        "wkt": _square(105.80 + index * 0.005, 21, 0.005),
                    },
                ).scalar_one()
            )
    yield ids
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM cities WHERE id = ANY(:ids)"), {"ids": ids["cities"]})


def _survey(rng: random.Random, ids: dict[str, Any]) -> dict[str, Any]:
    answers: dict[str, Any] = {"head_name": "{{ x }}</script>"}
    for question, values in VALUES.items():
        if rng.random() < 0.85:
            answers[question] = rng.choice(values)
    city = rng.choice([*ids["cities"], ids["cities"][0], ids["cities"][0]])
    same_city = city == ids["cities"][0]
    return {
        "id": str(uuid.uuid4()),
        "city": city,
        "ward": rng.choice([*ids["wards"], None]) if same_city else None,
        "settlement": rng.choice([*ids["settlements"], None]) if same_city else None,
        "form": rng.choice(FORMS),
        "status": rng.choice(STATUSES),
        "at": (
            datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(40000))
        ).isoformat(),
        "answers": orjson.dumps(answers).decode(),
        "lon": 105.80 + rng.random() * 0.02,
    }


INSERT = text(
    "INSERT INTO household_surveys (id, city_id, ward_id, settlement_id, form_id, form_version, "
    "collected_at, status, answers, content_hash, geom) "
    "SELECT (s->>'id')::uuid, (s->>'city')::int, (s->>'ward')::int, (s->>'settlement')::int, "
    "s->>'form', '1', (s->>'at')::timestamptz, s->>'status', (s->>'answers')::jsonb, 'x', "
    "ST_SetSRID(ST_MakePoint((s->>'lon')::float8, 21.002), 4326) "
    "FROM jsonb_array_elements(CAST(:items AS jsonb)) s"
)


def _rows(connection: Connection, sql: str, city: int, ward: int | None = None) -> list[Any]:
    params: dict[str, Any] = {"city_id": city, "ward_id": ward}
    params.update({f"w_{rule.key}": float(index % 3) for index, rule in enumerate(RULES)})
    return [dict(row._mapping) for row in connection.execute(text(sql), params)]


def _assert_same(connection: Connection, ids: dict[str, Any], step: str) -> None:
    compared = 0
    for city in ids["cities"]:
        for surveys in ("approved", "all"):
            for form in ("household", "settlement_profile"):
                fast = _rows(connection, indicators_sql(RULES, False, surveys, form), city)
                full = _rows(connection, surveys_indicators_sql(RULES, False, surveys, form), city)
                assert fast == full, (step, city, surveys, form)
                compared += len(full)
    # A ward's page: its rows and its settlements' rows are those of the ward-only reference.
    ward = ids["wards"][0]
    fast = _rows(connection, indicators_sql(RULES, True), ids["cities"][0], ward)
    full = _rows(connection, surveys_indicators_sql(RULES, True), ids["cities"][0], ward)
    mine = {
        (row["kind"], row["id"]): row
        for row in full
        if (row["kind"] == "ward" and row["id"] == ward)
        or (row["kind"] == "settlement" and row["ward_id"] == ward)
    }
    assert len(mine) == 3
    seen = 0
    for row in fast:
        if (row["kind"], row["id"]) in mine:
            # The reference reads only the ward: its ranks in the city are not right.
            reference = {**mine[(row["kind"], row["id"])], "rank_in_city": row["rank_in_city"]}
            assert row == reference, step
            seen += 1
    assert seen == 3
    # Survey progress: the whole city and a ward leader's part.
    for wards in (None, [ids["wards"][0]]):
        progress = []
        for sql in (progress_queries._PLACES, progress_queries.PLACES_FROM_SURVEYS):
            params = {"city_id": ids["cities"][0], "wards": wards, "form": "household"}
            progress.append([dict(row._mapping) for row in connection.execute(text(sql), params)])
        assert progress[0] == progress[1], (step, wards)
    # The national view of both cities.
    for surveys in ("approved", "all"):
        national: list[list[Any]] = []
        for use_tallies in (True, False):
            sql = national_sql(RULES, surveys, "household", use_tallies)
            params: dict[str, Any] = {"city_ids": ids["cities"]}
            params.update({f"w_{rule.key}": 1.0 + index for index, rule in enumerate(RULES)})
            national.append([dict(row._mapping) for row in connection.execute(text(sql), params)])
        assert national[0] == national[1], (step, surveys)
        assert len(national[0]) == 2
    assert compared > 0
    connection.rollback()  # read only: end the transaction the reads began


def test_tallies_equal_the_full_recomputation(sync_engine: Engine, places: dict[str, Any]) -> None:
    assert tallied(RULES)
    rng = random.Random(20261203)
    stored: list[str] = []
    with sync_engine.connect() as connection:

        def step(name: str, sql: str, **params: Any) -> None:
            with connection.begin():
                connection.execute(text(sql), params)
            _assert_same(connection, places, name)

        _assert_same(connection, places, "empty")
        for _ in range(3):  # batches of 60
            batch = [_survey(rng, places) for _ in range(60)]
            with connection.begin():
                connection.execute(INSERT, {"items": orjson.dumps(batch).decode()})
            stored += [s["id"] for s in batch]
        _assert_same(connection, places, "batches")
        for _ in range(15):  # one by one
            one = _survey(rng, places)
            with connection.begin():
                connection.execute(INSERT, {"items": orjson.dumps([one]).decode()})
            stored.append(one["id"])
        _assert_same(connection, places, "single inserts")
        for decision in ("approved", "rejected", "needs_correction", "approved"):
            step(
                f"review {decision}",
                "UPDATE household_surveys SET status = :s WHERE id = ANY(CAST(:ids AS uuid[]))",
                s=decision,
                ids=rng.sample(stored, 30),
            )
        step(
            "one review",
            "UPDATE household_surveys SET status = 'approved' WHERE id = CAST(:id AS uuid)",
            id=rng.choice(stored),
        )
        for item in rng.sample(stored, 20):  # corrections: the whole content replaced
            new = _survey(rng, places)
            with connection.begin():
                connection.execute(
                    text(
                        "UPDATE household_surveys SET answers = CAST(:a AS jsonb), "
                        "collected_at = CAST(:at AS timestamptz), status = 'received' "
                        "WHERE id = CAST(:id AS uuid)"
                    ),
                    {"a": new["answers"], "at": new["at"], "id": item},
                )
        _assert_same(connection, places, "corrections")
        step(
            "flags only (counts nothing)",
            "UPDATE household_surveys SET flags = array_append(flags, 'checked')",
        )
        step(
            "form changed",
            "UPDATE household_surveys SET form_id = 'settlement_profile' "
            "WHERE id = ANY(CAST(:ids AS uuid[]))",
            ids=rng.sample(stored, 10),
        )
        # The latest survey of each group leaves it: the groups' last dates are read again.
        step(
            "latest moved out",
            "UPDATE household_surveys SET status = 'rejected' WHERE id IN ("
            "SELECT DISTINCT ON (settlement_id, status) id FROM household_surveys "
            "ORDER BY settlement_id, status, collected_at DESC)",
        )
        # A boundary change: settlement S0 grows over S1's west half, households re-placed.
        step(
            "boundary change",
            "UPDATE settlements SET geom = ST_GeomFromText(:wkt, 4326) WHERE id = :id",
            wkt=_square(105.80, 21, 0.0075),
            id=places["settlements"][0],
        )
        with connection.begin():
            moved = connection.execute(
                REPLACE_HOUSEHOLDS,
                {"city_id": places["cities"][0], "actor_id": None, "actor": "test"},
            )
        assert moved.rowcount > 0
        _assert_same(connection, places, "re-placed")
        step(
            "settlement deleted (its surveys' settlement set to NULL)",
            "DELETE FROM settlements WHERE id = :id",
            id=places["settlements"][3],
        )
        step(
            "deleted",
            "DELETE FROM household_surveys WHERE id = ANY(CAST(:ids AS uuid[]))",
            ids=rng.sample(stored, 40),
        )
        with connection.begin():
            rebuilt_before = connection.execute(
                text(
                    "SELECT * FROM household_tallies WHERE households <> 0 "
                    "ORDER BY 1, 2, 3, 4, 5, 6"
                )
            ).all()
            connection.execute(text("SELECT household_tallies_rebuild()"))
            rebuilt = connection.execute(
                text("SELECT * FROM household_tallies ORDER BY 1, 2, 3, 4, 5, 6")
            ).all()
        assert rebuilt == rebuilt_before  # the kept tallies are what a rebuild makes
        step("truncated", "TRUNCATE household_surveys CASCADE")
        with connection.begin():
            assert connection.execute(text("SELECT count(*) FROM household_tallies")).scalar() == 0


def test_concurrent_writers_keep_the_tallies_right(
    sync_engine: Engine, places: dict[str, Any]
) -> None:
    """Six writers at once on the same groups: batches, single inserts, reviews both ways,
    corrections and deletes; no deadlock, no lost count."""
    rng = random.Random(7)
    seed = [_survey(rng, places) for _ in range(120)]
    with sync_engine.begin() as connection:
        connection.execute(INSERT, {"items": orjson.dumps(seed).decode()})
    ids = [item["id"] for item in seed]
    moves = [
        ("received", "needs_correction"),
        ("needs_correction", "received"),
        ("approved", "rejected"),
        ("rejected", "approved"),
    ]

    def lock_in_id_order(connection: Connection, chosen: list[str]) -> list[str]:
        # Two UPDATEs of overlapping rows take them in their plans' order (by id through the
        # index, by place in the table otherwise) and can deadlock on the rows themselves,
        # triggers or not; writers of several surveys take them in id order first, as the
        # app's batch statement does. The tally triggers' own lock order is what is tested.
        connection.execute(
            text(
                "SELECT id FROM household_surveys WHERE id = ANY(CAST(:ids AS uuid[]))"
                " ORDER BY id FOR NO KEY UPDATE"
            ),
            {"ids": chosen},
        )
        return chosen

    def writer(number: int) -> None:
        local = random.Random(number)
        for round_ in range(12):
            with sync_engine.begin() as connection:
                kind = (number + round_) % 4
                if kind == 0:
                    batch = [_survey(local, places) for _ in range(local.randrange(1, 30))]
                    connection.execute(INSERT, {"items": orjson.dumps(batch).decode()})
                elif kind == 1:
                    before, after = moves[local.randrange(len(moves))]
                    connection.execute(
                        text(
                            "UPDATE household_surveys SET status = :after "
                            "WHERE status = :before AND id = ANY(CAST(:ids AS uuid[]))"
                        ),
                        {
                            "before": before,
                            "after": after,
                            "ids": lock_in_id_order(connection, local.sample(ids, 40)),
                        },
                    )
                elif kind == 2:
                    new = _survey(local, places)
                    connection.execute(
                        text(
                            "UPDATE household_surveys SET answers = CAST(:a AS jsonb), "
                            "settlement_id = CAST(:s AS int) WHERE id = ANY(CAST(:ids AS uuid[]))"
                        ),
                        {
                            "a": new["answers"],
                            "s": new["settlement"],
                            "ids": lock_in_id_order(connection, local.sample(ids, 5)),
                        },
                    )
                else:
                    connection.execute(
                        text("DELETE FROM household_surveys WHERE id = CAST(:id AS uuid)"),
                        {"id": local.choice(ids)},
                    )

    with ThreadPoolExecutor(6) as pool:
        for future in [pool.submit(writer, number) for number in range(6)]:
            future.result()  # a deadlock or any error fails the test here
    with sync_engine.connect() as connection:
        _assert_same(connection, places, "concurrent writers")


def test_rules_in_the_app_are_the_tallied_ones() -> None:
    # Changing a rule needs a migration recreating the tally triggers (see migration 0013).
    assert tuple(RULES) == TALLIED_RULES


def test_a_posted_survey_moves_the_share_at_once(client: TestClient, sync_engine: Engine) -> None:
    url = "/api/v1/cities/tam-ky/indicators"
    # Another admin reviews: nobody reviews the surveys they sent (four eyes).
    admin = make_user(sync_engine, "tallies-reviewer", [("national_admin", None)])
    reviewer = bearer(make_token(sync_engine, admin))

    def tenure(view: str) -> tuple[int, Any]:
        totals = client.get(f"{url}?surveys={view}").json()["totals"]
        return totals["households"], totals["shares"]["insecure_tenure"]

    assert tenure("all") == (0, None)
    body = household_survey(answers=household_answers(tenure="red_book"))
    assert client.post("/api/v1/submissions", json=body).status_code == 201
    first = body["id"]
    assert tenure("all") == (1, 0.0)
    body = household_survey(answers=household_answers(tenure="renting"))
    assert client.post("/api/v1/submissions", json=body).status_code == 201
    assert tenure("all") == (2, 0.5)
    assert tenure("approved") == (0, None)  # not reviewed yet
    review = client.post(
        f"/api/v1/submissions/{body['id']}/review",
        json={"decision": "approved"},
        headers=reviewer,
    )
    assert review.status_code == 200, review.text
    assert tenure("approved") == (1, 1.0)
    rejected = client.post(
        f"/api/v1/submissions/{first}/review",
        json={"decision": "rejected", "comment": "trùng hộ"},
        headers=reviewer,
    )
    assert rejected.status_code == 200, rejected.text
    assert tenure("all") == (1, 1.0)  # the rejected one left the picture


@pytest.mark.slow
def test_tallies_bench_quick(database_url: str) -> None:
    output = run_bench("bench.tallies", "--database", f"cdfmap_bench_tallies_q{os.getpid()}")
    assert "indicators ratio:" in output and "insert ratio:" in output
