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


@pytest.mark.parametrize(
    ("url", "sync", "asyncpg", "libpq"),
    [
        # libpq's Unix socket: no host, the socket's folder in the query. The scheme was
        # replaced with urlunsplit(), which wrote `postgresql:/cdfmap`: "Could not parse
        # SQLAlchemy URL" from the CLI and the server, pg_dump "invalid connection option".
        (
            "postgresql:///cdfmap?host=/var/run/postgresql&user=cdfmap",
            "postgresql+psycopg:///cdfmap?host=/var/run/postgresql&user=cdfmap",
            "postgresql+asyncpg:///cdfmap?host=/var/run/postgresql&user=cdfmap",
            "postgresql:///cdfmap?host=/var/run/postgresql&user=cdfmap",
        ),
        ("postgresql:///cdfmap", "postgresql+psycopg:///cdfmap", None, "postgresql:///cdfmap"),
        # The socket's folder as the host, percent-encoded: SQLAlchemy would take it for a
        # host name to resolve, so it moves into the query, where every client reads it.
        (
            "postgresql://cdfmap@%2Fvar%2Frun%2Fpostgresql:5433/cdfmap?sslmode=disable",
            "postgresql+psycopg://cdfmap@/cdfmap?host=%2Fvar%2Frun%2Fpostgresql&port=5433"
            "&sslmode=disable",
            "postgresql+asyncpg://cdfmap@/cdfmap?host=%2Fvar%2Frun%2Fpostgresql&port=5433"
            "&ssl=disable",
            "postgresql://cdfmap@/cdfmap?host=%2Fvar%2Frun%2Fpostgresql&port=5433&sslmode=disable",
        ),
    ],
)
def test_a_unix_socket_url_keeps_its_empty_host(
    url: str, sync: str, asyncpg: str | None, libpq: str
) -> None:
    from sqlalchemy import make_url

    settings = Settings(database_url=url)
    assert settings.sync_database_url == sync
    assert settings.libpq_database_url == libpq
    if asyncpg is not None:
        assert settings.async_database_url == asyncpg
    parsed = make_url(settings.sync_database_url)  # raised ArgumentError
    assert parsed.database == "cdfmap" and parsed.host is None


def test_trusted_origins_are_comma_separated_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    # As ALLOWED_HOSTS: a plain origin was a SettingsError traceback (it wanted JSON).
    for value, expected in [
        ("https://a.example.org", ["https://a.example.org"]),
        ("https://a.example.org, http://b.example.org:8080/", None),
        ('["https://a.example.org", "http://b.example.org:8080"]', None),
        ("[]", []),
    ]:
        monkeypatch.setenv("TRUSTED_ORIGINS", value)
        found = Settings().trusted_origins
        assert found == (
            expected
            if expected is not None
            else [
                "https://a.example.org",
                "http://b.example.org:8080",
            ]
        )
    for wrong, said in [("a.example.org", "is not an origin"), ("[https://x", "JSON list")]:
        monkeypatch.setenv("TRUSTED_ORIGINS", wrong)
        with pytest.raises(ValueError, match=said):
            Settings()


def test_an_empty_value_means_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    # deploy/cdfmap.env.example shows `#DB_REPLICA_POOL_SIZE=`: uncommented as shown it was
    # "Input should be a valid integer".
    for name in ("DB_REPLICA_POOL_SIZE", "EXPORT_CONCURRENCY", "METRICS_DIR", "REQUEST_LOG"):
        monkeypatch.setenv(name, "")
    settings = Settings(database_url="postgresql://u@h/db")
    assert settings.db_replica_pool_size is None and settings.export_concurrency is None
    assert settings.metrics_dir is None and settings.request_log is None
    # Not where an empty value is a mistake: `ALLOWED_HOSTS=` still names no host.
    monkeypatch.setenv("ALLOWED_HOSTS", "")
    with pytest.raises(ValueError, match="ALLOWED_HOSTS names no host"):
        Settings(database_url="postgresql://u@h/db")
