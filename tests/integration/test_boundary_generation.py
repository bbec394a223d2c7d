"""The boundary generation moves once per transaction that changes the boundaries (migration
0026), however many statements that takes: every committed move makes every server build its
placement index again and place its batch again. Never less: a transaction that changed a
boundary leaves the generation past the one before it, and a batch placed at that one is told.

A ward is "changed" here by `SET name = name`: the trigger fires per statement, whatever the
statement did, and the sample city's lines stay as they are for the other tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Connection, Engine, text

TOUCH = text("UPDATE wards SET name = name WHERE id = :id")
GENERATION = text("SELECT generation FROM boundary_generation")
HOLD = text("SELECT generation FROM boundary_generation FOR SHARE")
# A statement that waits for the row longer than this is a bug here, not a slow machine.
NO_WAIT = text("SET LOCAL lock_timeout = '5s'")

T = TypeVar("T")


def committed_generation(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(GENERATION).scalar_one())


def generation(connection: Connection) -> int:
    return int(connection.execute(GENERATION).scalar_one())


def ward_ids(engine: Engine, count: int = 8) -> list[int]:
    with engine.connect() as connection:
        ids = [
            int(i) for i in connection.execute(text("SELECT id FROM wards ORDER BY id")).scalars()
        ]
    assert len(ids) >= 3, "the sample city has wards"
    return (ids * count)[:count]  # the same ward twice is two statements all the same


def touch(connection: Connection, ids: list[int]) -> None:
    """One statement per ward, as a psql session or an admin's script writes them."""
    for ward_id in ids:
        connection.execute(TOUCH, {"id": ward_id})


def test_a_transaction_changing_wards_one_statement_each_moves_the_generation_once(
    sync_engine: Engine,
) -> None:
    """The regression: 8 statements moved it 8 times."""
    before = committed_generation(sync_engine)
    with sync_engine.begin() as connection:
        touch(connection, ward_ids(sync_engine)[:1])
        assert generation(connection) == before + 1
        touch(connection, ward_ids(sync_engine))
        assert generation(connection) == before + 1
        assert committed_generation(sync_engine) == before  # the others see it at commit
    assert committed_generation(sync_engine) == before + 1


def test_a_transaction_that_changes_no_boundary_leaves_the_generation(
    sync_engine: Engine,
) -> None:
    before = committed_generation(sync_engine)
    with sync_engine.begin() as connection:
        connection.execute(text("SELECT count(*) FROM wards")).scalar_one()
        connection.execute(HOLD)
        # An import refused after its lock (another city's wards, say) wrote nothing.
        connection.execute(text("SELECT generation FROM boundary_generation FOR UPDATE"))
        connection.execute(text("CREATE TEMP TABLE scratch (n int) ON COMMIT DROP"))
        connection.execute(text("INSERT INTO scratch VALUES (1)"))
        assert generation(connection) == before
    assert committed_generation(sync_engine) == before


def test_two_transactions_move_it_twice_on_one_connection_or_two(sync_engine: Engine) -> None:
    ids = ward_ids(sync_engine, 5)
    before = committed_generation(sync_engine)
    with sync_engine.connect() as connection:  # one server process, two transactions
        touch(connection, ids)
        connection.commit()
        touch(connection, ids)
        connection.commit()
    assert committed_generation(sync_engine) == before + 2
    for _ in range(2):
        with sync_engine.begin() as connection:
            touch(connection, ids)
    assert committed_generation(sync_engine) == before + 4


def test_a_rolled_back_transaction_does_not_move_it(sync_engine: Engine) -> None:
    ids = ward_ids(sync_engine, 5)
    before = committed_generation(sync_engine)
    with sync_engine.connect() as connection:
        touch(connection, ids)
        assert generation(connection) == before + 1
        connection.rollback()
        assert committed_generation(sync_engine) == before
        # The transaction's note went with it: the next one moves it again.
        touch(connection, ids)
        connection.commit()
    assert committed_generation(sync_engine) == before + 1


def test_savepoints_rolled_back_take_their_move_back_and_no_more(sync_engine: Engine) -> None:
    """psql's ON_ERROR_ROLLBACK and SQLAlchemy's begin_nested wrap statements in savepoints:
    one rolled back takes back the move it made, never one made before it."""
    ids = ward_ids(sync_engine, 3)
    before = committed_generation(sync_engine)
    with sync_engine.begin() as connection:
        with connection.begin_nested() as savepoint:
            touch(connection, ids)
            assert generation(connection) == before + 1
            savepoint.rollback()
        assert generation(connection) == before
        touch(connection, ids)  # moves it again
        assert generation(connection) == before + 1
        with connection.begin_nested():
            touch(connection, ids)
        with connection.begin_nested() as savepoint:
            touch(connection, ids)
            savepoint.rollback()
        assert generation(connection) == before + 1
    assert committed_generation(sync_engine) == before + 1


def test_a_note_restored_from_another_cluster_is_not_taken_for_this_transaction(
    sync_engine: Engine,
) -> None:
    """A restored database holds another cluster's transaction id, which this one may reach:
    the transaction's start time tells them apart."""
    with sync_engine.connect() as connection:
        before = generation(connection)
        connection.execute(
            text(
                "UPDATE boundary_generation SET moved_by = pg_current_xact_id(), "
                "moved_at = now() - interval '1 day'"
            )
        )
        touch(connection, ward_ids(sync_engine, 2))
        assert generation(connection) == before + 1
        connection.rollback()


def waiting_for_a_lock(engine: Engine, pid: int) -> bool:
    with engine.connect() as connection:
        return bool(
            connection.execute(
                text("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": pid},
            ).scalar()
        )


def in_thread_once_waiting(engine: Engine, pid: int, work: Callable[[], T]) -> Future[T]:
    """Start `work` in another thread and return once the session `pid` waits for a lock."""
    pool = ThreadPoolExecutor(1)
    future = pool.submit(work)
    pool.shutdown(wait=False)  # the work waits for the caller: the caller must not wait here
    deadline = time.monotonic() + 10
    while not waiting_for_a_lock(engine, pid):
        assert not future.done(), future.result()
        assert time.monotonic() < deadline, "never waited for the generation's row"
        time.sleep(0.02)
    return future


def test_a_batch_waiting_for_a_changing_transaction_sees_it_moved_once(
    sync_engine: Engine,
) -> None:
    """A batch's insert reads the row FOR SHARE while a transaction changes wards: it waits
    for the commit, and the statements the transaction makes meanwhile do not wait for it
    (no deadlock), nor move the generation again."""
    ids = ward_ids(sync_engine, 6)
    before = committed_generation(sync_engine)
    with sync_engine.connect() as changing, sync_engine.connect() as batch:
        changing.execute(NO_WAIT)
        touch(changing, ids[:1])
        batch_pid = int(batch.execute(text("SELECT pg_backend_pid()")).scalar_one())
        batch.rollback()

        def place() -> int:
            batch.execute(NO_WAIT)
            seen = int(batch.execute(HOLD).scalar_one())
            batch.commit()
            return seen

        placing = in_thread_once_waiting(sync_engine, batch_pid, place)
        touch(changing, ids[1:])
        changing.commit()
        assert placing.result(timeout=10) == before + 1  # a batch placed at `before` is told


def test_a_transaction_changing_wards_while_a_batch_holds_the_row_waits_once(
    sync_engine: Engine,
) -> None:
    """The other order: the batch holds the row FOR SHARE first; the transaction's first
    boundary statement waits for the batch to end, its next ones go on, one move in all."""
    ids = ward_ids(sync_engine, 6)
    before = committed_generation(sync_engine)
    with sync_engine.connect() as changing, sync_engine.connect() as batch:
        changing_pid = int(changing.execute(text("SELECT pg_backend_pid()")).scalar_one())
        changing.rollback()
        assert int(batch.execute(HOLD).scalar_one()) == before
        done = threading.Event()

        def change() -> None:
            changing.execute(NO_WAIT)
            touch(changing, ids)
            changing.commit()
            done.set()

        changing_done = in_thread_once_waiting(sync_engine, changing_pid, change)
        assert not done.is_set()
        assert int(batch.execute(HOLD).scalar_one()) == before  # it placed by these lines
        batch.commit()
        changing_done.result(timeout=10)
    assert committed_generation(sync_engine) == before + 1
