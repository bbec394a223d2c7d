"""The schema is owned by Alembic: empty database -> head -> base -> head."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, make_url, text

from app.db.migrate import (
    alembic_config,
    create_database_if_missing,
    drop_database,
    upgrade_to_head,
)
from app.settings import with_driver


@pytest.fixture
def empty_database(database_url: str) -> Iterator[str]:
    url = make_url(with_driver(database_url, "postgresql+psycopg"))
    sync_url = url.set(database=f"cdfmap_migrate_{uuid.uuid4().hex[:8]}").render_as_string(
        hide_password=False
    )
    assert create_database_if_missing(sync_url)
    yield sync_url
    drop_database(sync_url)


def test_migrate_from_empty_to_head_and_back(empty_database: str) -> None:
    upgrade_to_head(empty_database)
    upgrade_to_head(empty_database)  # running twice is safe
    engine = create_engine(empty_database)
    try:
        inspector = inspect(engine)
        tables = set(inspector.get_table_names())
        assert {"cities", "wards", "settlements", "household_surveys", "alembic_version"} <= tables
        indexes = {i["name"] for i in inspector.get_indexes("household_surveys")}
        assert "idx_household_surveys_geom" in indexes
        assert "ix_household_surveys_shape" in indexes
        with engine.connect() as connection:
            geometry_types = dict(
                connection.execute(
                    text(
                        "SELECT f_table_name || '.' || f_geometry_column, type "
                        "FROM geometry_columns WHERE srid = 4326"
                    )
                ).all()
            )
        core = {
            "wards.geom": "MULTIPOLYGON",
            "settlements.geom": "POLYGON",
            "household_surveys.geom": "POINT",
            "household_surveys.shape": "POLYGON",
        }
        assert {k: v for k, v in geometry_types.items() if k in core} == core
        config = alembic_config(empty_database)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        assert "household_surveys" not in set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    upgrade_to_head(empty_database)


def test_create_database_is_idempotent(empty_database: str) -> None:
    assert create_database_if_missing(empty_database) is False


def test_runs_that_create_the_database_at_once_all_succeed(database_url: str) -> None:
    """Several `migrate --create-database` at one moment: the ones that lost the race between
    "does it exist?" and CREATE DATABASE died with a UniqueViolation traceback."""
    url = make_url(with_driver(database_url, "postgresql+psycopg"))
    for _ in range(3):  # the race is narrow: a few rounds of six at once
        sync_url = url.set(database=f"cdfmap_race_{uuid.uuid4().hex[:8]}").render_as_string(
            hide_password=False
        )
        start = threading.Barrier(6)

        def create(sync_url: str = sync_url, start: threading.Barrier = start) -> bool:
            start.wait()
            return create_database_if_missing(sync_url)

        try:
            with ThreadPoolExecutor(6) as pool:
                created = list(pool.map(lambda _: create(), range(6)))
            assert created.count(True) == 1, created
        finally:
            drop_database(sync_url)
