"""A survey's city, ward, settlement and collector, kept per statement (migration 0016) as the
foreign keys kept them row by row: no survey names a place or person that is not there,
deleting one empties (or, for a city, deletes) its surveys, also against concurrent writers."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from tests.auth import make_user

INSERT = text(
    "INSERT INTO household_surveys (id, city_id, ward_id, settlement_id, collector_user_id, "
    "form_id, form_version, collected_at, answers, content_hash, geom) VALUES (:id, :city, "
    ":ward, :settlement, :user, 'household', '1', now(), '{}', 'h', "
    "ST_SetSRID(ST_MakePoint(105.805, 21.005), 4326))"
)


@pytest.fixture
def places(sync_engine: Engine, clean_surveys: None) -> Iterator[dict[str, Any]]:
    """A city with one ward, two settlements and a volunteer."""
    with sync_engine.begin() as connection:
        city = connection.execute(
            text("INSERT INTO cities (slug, name) VALUES ('parents-town', 'P') RETURNING id")
        ).scalar_one()
        ward = connection.execute(
            text(
                "INSERT INTO wards (city_id, code, name, geom) VALUES (:city, 'W1', 'W', "
                "ST_Multi(ST_MakeEnvelope(105.80, 21.00, 105.81, 21.01, 4326))) RETURNING id"
            ),
            {"city": city},
        ).scalar_one()
        settlements = [
            connection.execute(
                text(
                    "INSERT INTO settlements (city_id, ward_id, code, name, geom) VALUES "
                    "(:city, :ward, :code, 'S', ST_MakeEnvelope(105.80, 21.00, 105.81, 21.01, "
                    "4326)) RETURNING id"
                ),
                {"city": city, "ward": ward, "code": code},
            ).scalar_one()
            for code in ("S1", "S2")
        ]
    user = make_user(sync_engine, f"parents-{uuid.uuid4().hex[:8]}", [])
    yield {"city": city, "ward": ward, "settlements": settlements, "user": user}
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM cities WHERE id = :id"), {"id": city})
        connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": user})


def _row(places: dict[str, Any], **changes: Any) -> dict[str, Any]:
    row = {
        "id": uuid.uuid4(),
        "city": places["city"],
        "ward": places["ward"],
        "settlement": places["settlements"][0],
        "user": places["user"],
    }
    return row | changes


def _stored(connection: Connection, survey_id: uuid.UUID) -> Any:
    return connection.execute(
        text(
            "SELECT city_id, ward_id, settlement_id, collector_user_id FROM household_surveys "
            "WHERE id = :id"
        ),
        {"id": survey_id},
    ).one_or_none()


def _refused(engine: Engine, sql: Any, params: Any) -> str:
    with pytest.raises(DBAPIError) as caught, engine.begin() as connection:
        connection.execute(sql, params)
    return str(getattr(caught.value.orig, "sqlstate", "")) + " " + str(caught.value.orig)


@pytest.mark.parametrize(
    ("column", "key"),
    [("city", "city"), ("ward", "ward"), ("settlement", "settlement"), ("user", "user")],
)
def test_a_survey_naming_a_missing_row_is_refused(
    sync_engine: Engine, places: dict[str, Any], column: str, key: str
) -> None:
    missing = 2_000_000_000
    # One statement of two rows, one naming a missing row: the statement is refused whole.
    good, bad = _row(places), _row(places, **{key: missing})
    two_rows = text(
        str(INSERT).replace(
            "(:id, :city, :ward, :settlement, :user,",
            "(:id, :city, :ward, :settlement, :user, 'household', '1', now(), '{}', 'h', NULL),"
            " (:id2, :city2, :ward2, :settlement2, :user2,",
        )
    )
    params = good | {f"{name}2": value for name, value in bad.items()}
    error = _refused(sync_engine, two_rows, params)
    assert error.startswith("23503"), error
    with sync_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM household_surveys")).scalar() == 0
    # An update naming a missing row is refused too; one leaving the names alone is not.
    stored = _row(places)
    with sync_engine.begin() as connection:
        connection.execute(INSERT, stored)
    column_name = {"city": "city_id", "ward": "ward_id", "settlement": "settlement_id"}.get(
        column, "collector_user_id"
    )
    error = _refused(
        sync_engine,
        text(f"UPDATE household_surveys SET {column_name} = :missing WHERE id = :id"),
        {"missing": missing, "id": stored["id"]},
    )
    assert error.startswith("23503"), error
    with sync_engine.begin() as connection:
        connection.execute(
            text("UPDATE household_surveys SET status = 'approved' WHERE id = :id"),
            {"id": stored["id"]},
        )
        assert _stored(connection, stored["id"]) == (
            places["city"],
            places["ward"],
            places["settlements"][0],
            places["user"],
        )


def test_deleting_a_place_or_person_empties_or_deletes_its_surveys(
    sync_engine: Engine, places: dict[str, Any]
) -> None:
    first, second = _row(places), _row(places, settlement=places["settlements"][1])
    with sync_engine.begin() as connection:
        connection.execute(INSERT, [first, second])
        connection.execute(
            text("DELETE FROM settlements WHERE id = :id"), {"id": first["settlement"]}
        )
        assert _stored(connection, first["id"]).settlement_id is None
        assert _stored(connection, second["id"]).settlement_id == second["settlement"]
        connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": places["user"]})
        assert _stored(connection, first["id"]).collector_user_id is None
        connection.execute(text("DELETE FROM wards WHERE id = :id"), {"id": places["ward"]})
        assert _stored(connection, first["id"]) == (places["city"], None, None, None)
        # (a ward's settlements stay, without a ward)
        assert _stored(connection, second["id"]) == (
            places["city"],
            None,
            second["settlement"],
            None,
        )
        connection.execute(text("DELETE FROM cities WHERE id = :id"), {"id": places["city"]})
        assert connection.execute(text("SELECT count(*) FROM household_surveys")).scalar() == 0


@pytest.mark.parametrize("table", ["cities", "wards", "settlements", "users"])
def test_referenced_ids_and_tables_are_kept(
    sync_engine: Engine, places: dict[str, Any], table: str
) -> None:
    with sync_engine.begin() as connection:
        connection.execute(INSERT, _row(places))
    row_id = {
        "cities": places["city"],
        "wards": places["ward"],
        "settlements": places["settlements"][0],
        "users": places["user"],
    }[table]
    error = _refused(
        sync_engine, text(f"UPDATE {table} SET id = id + 1000000 WHERE id = :id"), {"id": row_id}
    )
    assert error.startswith("23503"), error
    error = _refused(sync_engine, text(f"TRUNCATE {table} CASCADE"), {})
    assert error.startswith("23503"), error
    # A row no survey names may change its id.
    with sync_engine.begin() as connection:
        connection.execute(
            text("UPDATE settlements SET id = id + 1000000 WHERE id = :id"),
            {"id": places["settlements"][1]},
        )
        places["settlements"][1] += 1_000_000


def test_a_delete_outside_read_committed_is_refused(
    sync_engine: Engine, places: dict[str, Any]
) -> None:
    with pytest.raises(DBAPIError) as caught, sync_engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            connection.execute(text("DELETE FROM wards WHERE id = :id"), {"id": places["ward"]})
    assert "READ COMMITTED" in str(caught.value.orig)


def _after_commit(transaction: Any, work: Callable[[], None]) -> Future[None]:
    """Start `work` in another thread, check that it waits for the open `transaction`, commit
    that, and hand back the finished work (its result() raises what the work raised)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        done = pool.submit(work)
        time.sleep(0.5)
        try:
            assert not done.done()  # it waits for the transaction
        finally:  # ended either way, so that the pool's thread cannot wait for ever
            transaction.commit()
    return done


def _delete_ward(engine: Engine, ward_id: int) -> Callable[[], None]:
    def delete() -> None:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM wards WHERE id = :id"), {"id": ward_id})

    return delete


def test_a_delete_waits_for_surveys_being_stored_and_then_sees_them(
    sync_engine: Engine, places: dict[str, Any]
) -> None:
    row = _row(places)
    with sync_engine.connect() as storing:
        transaction = storing.begin()
        storing.execute(INSERT, row)  # not committed: the ward is locked FOR KEY SHARE
        # the delete waits for the survey being stored
        _after_commit(transaction, _delete_ward(sync_engine, row["ward"])).result(10)
    with sync_engine.connect() as connection:
        assert _stored(connection, row["id"]).ward_id is None  # the delete saw it


def test_a_survey_stored_while_its_ward_is_deleted_is_refused(
    sync_engine: Engine, places: dict[str, Any]
) -> None:
    row = _row(places)
    with sync_engine.connect() as deleting:
        transaction = deleting.begin()
        deleting.execute(text("DELETE FROM wards WHERE id = :id"), {"id": row["ward"]})

        def store() -> None:
            with sync_engine.begin() as connection:
                connection.execute(INSERT, row)

        stored = _after_commit(transaction, store)  # waits for the delete to end
    with pytest.raises(DBAPIError) as caught:
        stored.result(10)
    assert getattr(caught.value.orig, "sqlstate", "") == "23503"
    with sync_engine.connect() as connection:
        assert _stored(connection, row["id"]) is None


def test_a_move_onto_a_ward_another_row_leaves_locks_it(
    sync_engine: Engine, places: dict[str, Any]
) -> None:
    """One UPDATE moves survey A into ward 2 and survey B out of it: ward 2 is newly named by
    A, so it is locked as a foreign key would lock it; a concurrent delete of ward 2 waits,
    then empties A's ward instead of leaving A naming a ward that is gone."""
    with sync_engine.begin() as connection:
        wards = [places["ward"]] + [
            connection.execute(
                text(
                    "INSERT INTO wards (city_id, code, name, geom) VALUES (:city, :code, 'W', "
                    "ST_Multi(ST_MakeEnvelope(105.90, 21.00, 105.91, 21.01, 4326))) RETURNING id"
                ),
                {"city": places["city"], "code": code},
            ).scalar_one()
            for code in ("W2", "W3")
        ]
    a, b = _row(places, ward=wards[0]), _row(places, ward=wards[1])
    with sync_engine.begin() as connection:
        connection.execute(INSERT, [a, b])
    with sync_engine.connect() as moving:
        transaction = moving.begin()
        moving.execute(
            text(
                "UPDATE household_surveys SET ward_id = CASE id WHEN :a THEN :w2 ELSE :w3 END "
                "WHERE id IN (:a, :b)"
            ),
            {"a": a["id"], "b": b["id"], "w2": wards[1], "w3": wards[2]},
        )

        # the delete waits for the move
        _after_commit(transaction, _delete_ward(sync_engine, wards[1])).result(10)
    with sync_engine.connect() as connection:
        assert _stored(connection, a["id"]).ward_id is None  # not the deleted ward
        assert _stored(connection, b["id"]).ward_id == wards[2]


def test_the_update_check_never_plans_nested_loops(sync_engine: Engine) -> None:
    """Transition tables have no statistics: the old and new rows of an UPDATE are matched by
    hash (approving 100,000 surveys: the check added nothing measurable to a 4.4 s UPDATE)."""
    with sync_engine.connect() as connection:
        config = connection.execute(
            text(
                "SELECT proconfig FROM pg_proc WHERE proname = 'household_surveys_parents_updated'"
            )
        ).scalar_one()
    assert config == ["enable_nestloop=off"]
