"""DATABASE_URL is a plain libpq URL; each client gets it in the form it needs."""

from __future__ import annotations

import pytest

from app.db.replica import lsn_bytes
from app.settings import Settings


def test_drivers_are_chosen_by_the_app() -> None:
    settings = Settings(database_url="postgresql://u:p%40ss@db.example:5433/cdf?sslmode=require")
    assert (
        settings.sync_database_url
        == "postgresql+psycopg://u:p%40ss@db.example:5433/cdf?sslmode=require"
    )
    assert (
        settings.async_database_url
        == "postgresql+asyncpg://u:p%40ss@db.example:5433/cdf?ssl=require"
    )
    assert settings.libpq_database_url.startswith("postgresql://")
    assert (
        Settings(database_url="postgres://h/db").async_database_url == "postgresql+asyncpg://h/db"
    )


def test_a_non_postgres_url_is_refused() -> None:
    with pytest.raises(ValueError, match="postgresql"):
        _ = Settings(database_url="mysql://h/db").sync_database_url


def test_the_read_replica_url_gets_the_same_drivers_and_its_own_pool() -> None:
    settings = Settings(
        database_url="postgresql://u:p@h/db",
        database_replica_url="postgresql://u:p@replica:5433/db?sslmode=require",
        db_pool_size=20,
        db_replica_pool_size=8,
    )
    assert settings.async_replica_url == "postgresql+asyncpg://u:p@replica:5433/db?ssl=require"
    assert settings.replica_pool_size == 8
    # Exports read the replica or, while it is down, the primary: a quarter of the smaller pool.
    assert settings.export_slots == 2
    plain = Settings(database_url="postgresql://u:p@h/db", db_pool_size=20)
    assert plain.async_replica_url is None
    assert plain.replica_pool_size == 20 and plain.export_slots == 5


def test_wal_positions_read_as_byte_offsets() -> None:
    assert lsn_bytes("0/0") == 0
    assert lsn_bytes("0/16B3748") == 0x16B3748
    assert lsn_bytes("2/6D204160") - lsn_bytes("1/FFFFFFFF") == 0x6D204161
