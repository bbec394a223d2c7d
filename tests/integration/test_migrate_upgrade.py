"""Upgrades on real data: a database filled at an earlier revision (0003, the accounts
release) migrates to head without losing or changing a survey; the app refuses to start
against a schema older than its head, or newer than it knows, with a message saying what to do.

The head is read from the migrations shipped (never written here): later migrations are
tested by the same upgrade as they are added. The CDF books, which did not exist at 0003, are
upgraded through their data migrations in test_migrate_upgrade_cdf.py.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic import command
from fastapi.testclient import TestClient

from app.db.migrate import SchemaMismatch, alembic_config, head_revision, upgrade_to_head
from app.main import create_app
from app.settings import Settings, with_driver
from tests.scratch_db import cli, scratch_database

EARLIER = "0003_accounts"
HOSTILE = [
    "Phường Hòa Thuận Đông",
    "{{7*7}}",
    "</title><script>alert(1)</script>",
    "=cmd|' /C calc'!A0",
    "'; DROP TABLE household_surveys; --",
]
# The columns a survey had at the earlier revision, compared before and after the upgrade.
SURVEY_COLUMNS = (
    "id, city_id, ward_id, settlement_id, form_id, form_version, collector, collected_at, "
    "received_at, status, flags, gps_accuracy_m, altitude_m, answers, content_hash, "
    "ST_AsEWKT(geom) AS geom, collector_user_id, review_comment, reviewed_by, reviewed_at, "
    "version, updated_at"
)
SURVEYS = 60


def fill_at_earlier_revision(url: str) -> None:
    """A city, a ward, a settlement, people, and surveys with photos, versions and reviews,
    written with the SQL of that revision's schema."""
    with psycopg.connect(url) as connection:
        city = connection.execute(
            "INSERT INTO cities (slug, name, province) VALUES ('tam-ky', 'Tam Kỳ', 'Quảng Nam') "
            "RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
        ward = connection.execute(
            "INSERT INTO wards (city_id, code, name, geom) VALUES (%s, 'W01', 'An Mỹ', "
            "ST_GeomFromText('MULTIPOLYGON(((108.46 15.56,108.49 15.56,108.49 15.59,"
            "108.46 15.59,108.46 15.56)))', 4326)) RETURNING id",
            (city,),
        ).fetchone()[0]  # type: ignore[index]
        settlement = connection.execute(
            "INSERT INTO settlements (city_id, ward_id, code, name, households_estimate, geom) "
            "VALUES (%s, %s, 'S01', %s, 40, ST_GeomFromText('POLYGON((108.47 15.57,108.48 "
            "15.57,108.48 15.58,108.47 15.58,108.47 15.57))', 4326)) RETURNING id",
            (city, ward, HOSTILE[0] + " " + HOSTILE[1]),
        ).fetchone()[0]  # type: ignore[index]
        volunteer = connection.execute(
            "INSERT INTO users (username, display_name) VALUES ('tnv-07', 'Nguyễn Thị Hoa') "
            "RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
        leader = connection.execute(
            "INSERT INTO users (username, display_name) VALUES ('leader', 'Trần Văn Bình') "
            "RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
        for index in range(SURVEYS):
            survey = uuid.uuid4()
            answers: dict[str, Any] = {
                "head_name": HOSTILE[index % len(HOSTILE)],
                "household_size": index % 9 + 1,
                "tenure": "papers_only",
                "priority_needs": "thoát nước " + HOSTILE[(index + 2) % len(HOSTILE)],
                "photo": "house.jpg",
            }
            status = ("received", "approved", "needs_correction", "rejected")[index % 4]
            connection.execute(
                "INSERT INTO household_surveys (id, city_id, ward_id, settlement_id, form_id, "
                "form_version, collector, collected_at, status, flags, gps_accuracy_m, "
                "altitude_m, answers, content_hash, geom, collector_user_id, review_comment, "
                "reviewed_by, reviewed_at, version) VALUES (%s, %s, %s, %s, 'household', "
                "'2026112801', 'tnv-07', '2026-11-26T09:30:00+07:00', %s, %s, %s, 12.5, %s, "
                "%s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s, %s, %s, %s, %s)",
                (
                    survey,
                    city,
                    ward,
                    settlement if index % 3 else None,
                    status,
                    ["gps_poor"] if index % 5 == 0 else [],
                    3.5 + index,
                    json.dumps(answers, ensure_ascii=False),
                    f"{index:064x}",
                    108.475 + index * 1e-5,
                    15.575 + index * 1e-5,
                    volunteer,
                    HOSTILE[index % len(HOSTILE)] if status == "needs_correction" else None,
                    leader if status != "received" else None,
                    "2026-11-27T10:00:00+07:00" if status != "received" else None,
                    2 if index % 7 == 0 else 1,
                ),
            )
            connection.execute(
                "INSERT INTO attachments (submission_id, filename, content_type, size_bytes, "
                "sha256) VALUES (%s, 'house.jpg', 'image/jpeg', 1234, %s)",
                (survey, f"{index:064x}"),
            )
            if index % 7 == 0:
                connection.execute(
                    "INSERT INTO survey_versions (survey_id, version, content, content_hash, "
                    "replaced_by) VALUES (%s, 1, %s, %s, %s)",
                    (survey, json.dumps({"answers": answers}), "0" * 64, volunteer),
                )


def surveys(url: str) -> dict[str, dict[str, Any]]:
    with psycopg.connect(url) as connection:
        cursor = connection.execute(f"SELECT {SURVEY_COLUMNS} FROM household_surveys")
        names = [column.name for column in cursor.description or []]
        return {str(row[0]): dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def table_rows(url: str, table: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as connection:
        return sorted(
            connection.execute(f"SELECT * FROM {table}").fetchall(), key=lambda row: repr(row)
        )


@pytest.fixture
def earlier_database(database_url: str) -> Iterator[str]:
    """A database migrated up to the earlier revision and filled with that schema's SQL."""
    with scratch_database(database_url, "cdfmap_upgrade") as url:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        sync_url = with_driver(url, "postgresql+psycopg")
        command.upgrade(alembic_config(sync_url), EARLIER)
        fill_at_earlier_revision(url)
        yield url


def test_no_survey_is_lost_or_changed_by_the_upgrade(earlier_database: str) -> None:
    before = surveys(earlier_database)
    attachments_before = table_rows(earlier_database, "attachments")
    versions_before = table_rows(earlier_database, "survey_versions")
    assert len(before) == SURVEYS

    done = cli("migrate", env={"DATABASE_URL": earlier_database})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"database schema {EARLIER} -> {head_revision()}: ")
    assert "0004_location_manual" in done.stdout

    after = surveys(earlier_database)
    assert after == before
    assert table_rows(earlier_database, "attachments") == attachments_before
    assert table_rows(earlier_database, "survey_versions") == versions_before
    with psycopg.connect(earlier_database) as connection:
        revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    assert revision == (head_revision(),)


def test_the_app_refuses_a_schema_older_than_its_head(earlier_database: str) -> None:
    app = create_app(Settings(database_url=earlier_database))
    with pytest.raises(SchemaMismatch) as refused, TestClient(app):
        pass
    message = str(refused.value)
    assert f"at revision {EARLIER}, older than this app's {head_revision()}" in message
    assert "python -m app.cli migrate" in message


def test_the_app_and_migrate_refuse_a_schema_newer_than_they_know(database_url: str) -> None:
    with scratch_database(database_url, "cdfmap_future") as url:
        upgrade_to_head(with_driver(url, "postgresql+psycopg"))
        with psycopg.connect(url) as connection:
            connection.execute("UPDATE alembic_version SET version_num = '0999_from_the_future'")
        app = create_app(Settings(database_url=url))
        with pytest.raises(SchemaMismatch) as refused, TestClient(app):
            pass
        assert "0999_from_the_future, which this app does not know" in str(refused.value)
        assert f"its newest is {head_revision()}" in str(refused.value)

        migrate = cli("migrate", env={"DATABASE_URL": url})
        assert migrate.returncode == 3
        assert "which this app does not know" in migrate.stderr


def test_the_app_refuses_a_database_never_migrated(database_url: str) -> None:
    with scratch_database(database_url, "cdfmap_unmigrated") as url:
        app = create_app(Settings(database_url=url))
        with pytest.raises(SchemaMismatch, match="has no schema"), TestClient(app):
            pass


def test_the_app_starts_at_head(database_url: str) -> None:
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        assert client.get("/healthz").status_code == 200


def test_a_backup_of_an_earlier_release_restores_then_migrates(
    earlier_database: str, database_url: str, tmp_path: Path
) -> None:
    """The documented way back from a lost server running an older release: restore its
    backup into a new database, then `migrate`; every survey arrives unchanged."""
    before = surveys(earlier_database)
    out = tmp_path / "backup-0003"
    media = tmp_path / "media"
    media.mkdir()
    done = cli(
        "backup", "--out", str(out), env={"DATABASE_URL": earlier_database, "MEDIA_DIR": str(media)}
    )
    # The fixture's rows name photos it never wrote: the backup is written and says so
    # (exit 3, every such file named); the database in it is whole.
    assert done.returncode == 3, done.stderr
    named = len(table_rows(earlier_database, "attachments"))
    assert f"{named} files the database names are missing" in done.stderr
    assert f"schema {EARLIER}" in done.stdout
    with scratch_database(database_url, "cdfmap_restore_old") as url:
        env = {"DATABASE_URL": url, "MEDIA_DIR": str(tmp_path / "restored-media")}
        restored = cli("restore", "--from", str(out), env=env)
        assert restored.returncode == 0, restored.stderr
        with (
            pytest.raises(SchemaMismatch, match="older than this app"),
            TestClient(create_app(Settings(database_url=url))),
        ):
            pass
        migrated = cli("migrate", env=env)
        assert migrated.returncode == 0, migrated.stderr
        assert surveys(url) == before
        with TestClient(create_app(Settings(database_url=url))) as client:
            assert client.get("/readyz").json()["database"] == "ok"
