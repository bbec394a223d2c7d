"""Programmatic Alembic: create the PostGIS extension and upgrade to head."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, make_url, text

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(sync_url: str) -> Config:
    """An Alembic config pointing at our migrations and the given psycopg URL."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", sync_url.replace("%", "%%"))
    return config


def upgrade_to_head(sync_url: str) -> None:
    """Ensure PostGIS exists, then run every migration up to head (safe to repeat)."""
    engine = create_engine(sync_url)
    try:
        with engine.begin() as connection:
            available = connection.execute(
                text("SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'")
            ).scalar_one()
            if not available:
                version = connection.execute(text("SHOW server_version_num")).scalar_one()
                raise RuntimeError(
                    "PostGIS is not installed on the database server: install "
                    f"postgresql-{str(version)[:2]}-postgis-3 (Debian/Ubuntu) and run again"
                )
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
            config = alembic_config(sync_url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()


def create_database_if_missing(sync_url: str) -> bool:
    """Create the URL's database on its server when it does not exist; True if created."""
    url = make_url(sync_url)
    name = url.database
    if not name:
        raise ValueError("DATABASE_URL names no database")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if exists:
                return False
            quoted = connection.dialect.identifier_preparer.quote(name)
            connection.execute(text(f"CREATE DATABASE {quoted}"))
            return True
    finally:
        admin.dispose()


def drop_database(sync_url: str) -> None:
    """Drop the URL's database (tests), closing its other connections first."""
    url = make_url(sync_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            quoted = connection.dialect.identifier_preparer.quote(str(url.database))
            connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
    finally:
        admin.dispose()
