"""DATABASE_URL is a plain libpq URL; each client gets it in the form it needs."""

from __future__ import annotations

import pytest

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
