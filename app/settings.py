"""Settings: the only module that reads the environment (and `.env`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/cdfmap"


class SettingError(RuntimeError):
    """A setting the server or the command line cannot work with (the message says why)."""


class Settings(BaseSettings):
    """Application settings; every field can be set as an environment variable."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="Plain libpq URL, e.g. postgresql://user:pass@host:5432/db",
    )
    # A fixed pool: overflow connections are closed when returned, and reconnecting (TLS, catalog
    # caches, statement plans) under load costs more than waiting for a pooled connection.
    # Each server process opens up to this many for reads and as many again for storing
    # surveys (the ingest pool), on demand: 40 per uvicorn worker with the default.
    db_pool_size: int = Field(default=20, ge=1, le=1000)
    db_max_overflow: int = Field(default=0, ge=0, le=1000)
    # A streaming read replica (docs/deploy.md): reads that may be slightly behind (maps,
    # exports, tiles, OGC API, indicators, progress) go there; writes, sign-in and a
    # volunteer's own reads stay on DATABASE_URL. While it does not answer, those reads go to
    # the primary (a warning in the log, cdfmap_replica_fallbacks_total in /metrics).
    database_replica_url: str | None = Field(
        default=None,
        description="Plain libpq URL of a hot standby of DATABASE_URL (same database name).",
    )
    db_replica_pool_size: int | None = Field(default=None, ge=1)  # default: db_pool_size
    db_replica_connect_seconds: float = Field(default=2.0, gt=0)
    # After the replica failed to answer, reads go to the primary this long before the next try.
    db_replica_retry_seconds: float = Field(default=10.0, gt=0)
    # Reads go to the primary while the replica's replay is more than this far behind (a
    # replica stuck replaying would otherwise show old maps for as long as it is stuck);
    # unset: no limit.
    db_replica_max_lag_seconds: float | None = Field(default=None, gt=0)
    # Exports reading the database at once (default: a quarter of the pool), so that they
    # cannot take the connections every other request needs; the next waits, then gets 503.
    export_concurrency: int | None = Field(default=None, ge=1)
    export_wait_seconds: float = 5.0
    # A download whose client accepts no bytes for this long is cut off, and what the server
    # kept for it (a task, a temporary file) freed.
    export_stall_seconds: float = Field(default=60.0, gt=0)
    forms_dir: Path = REPO_ROOT / "forms"
    forms_reload_seconds: float = Field(
        default=5.0, description="How often the server looks for new or changed form files."
    )
    household_form: str = Field(
        default="household",
        min_length=1,
        description="The form id whose surveys are households: only they are counted, scored, "
        "mapped and exported as households; other forms' surveys export as their own layers.",
    )
    priorities_path: Path = Field(
        default=REPO_ROOT / "forms" / "priorities.yaml",
        description="Weights of the upgrading priority score (see docs/maps.md).",
    )
    static_dir: Path = REPO_ROOT / "static"
    media_dir: Path = REPO_ROOT / "var" / "media"
    samples_dir: Path = REPO_ROOT / "data" / "samples"
    max_body_bytes: int = 2 * 1024 * 1024
    # A request body that sends nothing for this long, or is not whole after the total, is
    # answered 408 and its connection closed (app.api.limits: a stalled body held memory).
    body_idle_seconds: float = Field(default=60.0, gt=0)
    body_total_seconds: float = Field(default=15 * 60.0, gt=0)
    # Ward and settlement boundary files uploaded on the admin page (that route only).
    max_boundary_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    max_batch_items: int = 500
    # A phone's batch is answered before its surveys are checked for a likely second survey
    # of a household (`possible_duplicate`, a flag for the reviewer): each server process
    # runs the checks once no batch has come in for `quiet` seconds, at the latest `max_delay`
    # seconds after the first batch it has not checked, and every `sweep` seconds (and at
    # start-up) runs those a stopped process left (app/services/duplicate_checks.py). The
    # checks use one database connection per process, besides the pools.
    duplicate_check_quiet_seconds: float = Field(default=1.0, gt=0)
    duplicate_check_max_delay_seconds: float = Field(default=30.0, gt=0)
    duplicate_check_sweep_seconds: float = Field(default=30.0, gt=0)
    max_attachments_per_survey: int = 20
    max_attachment_bytes_per_survey: int = 10 * 1024 * 1024
    max_page_size: int = 1000
    future_tolerance_seconds: int = 600
    gps_warning_accuracy_m: float = 20.0
    quality_rules_path: Path = Field(
        default=REPO_ROOT / "forms" / "quality.yaml",
        description="Answers that contradict each other, flagged for the reviewer.",
    )
    late_upload_days: float = Field(
        default=14, gt=0, description="A survey sent this long after it was collected is flagged."
    )
    basemap_tiles_url: str | None = Field(
        default=None,
        description="Optional background tile URL template (e.g. an OSM tile server); "
        "maps work without it.",
    )
    basemap_attribution: str = "© OpenStreetMap contributors"
    map_tiles_from_households: int = Field(
        default=20_000,
        ge=0,
        description="From this many households a map page draws them from vector tiles "
        "(/tiles/households) instead of downloading every point at once.",
    )
    # Comma-separated, not JSON: `ALLOWED_HOSTS=cdf.example.org,www.cdf.example.org`.
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["*"],
        description="The server's public names (comma-separated; `*.example.org` for its "
        "subdomains): a request for any other name is answered 400 (app.api.hosts). `*`, the "
        "default, serves any name, for `make run` on one machine; set it in production. "
        "Requests made on the server itself may name 127.0.0.1 or localhost.",
    )
    # Comma-separated like ALLOWED_HOSTS (a JSON list is read too).
    trusted_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Other origins (scheme://host:port, comma-separated) whose pages may write "
        "to this server; by default only pages served by the server itself may.",
    )
    # Accounts. Outside demo mode the server refuses to start without a real secret key.
    secret_key: str | None = Field(
        default=None,
        repr=False,
        description="At least 32 random characters (e.g. `python -c 'import secrets; "
        "print(secrets.token_urlsafe(48))'`); tokens are stored as HMACs under it.",
    )
    demo: bool = Field(
        default=False,
        description="Demo mode (`make run`): the sample city's demo accounts sign in (only in "
        "demo mode), and a secret key is generated into var/secret_key when none is set.",
    )
    api_token_hours: float = Field(default=24, gt=0)
    session_hours: float = Field(default=12, gt=0)
    device_token_days: float = Field(default=30, gt=0)
    enrolment_hours: float = Field(default=72, gt=0)
    sign_in_window_minutes: float = Field(default=15, gt=0)
    max_sign_in_failures_per_account: int = Field(default=5, ge=1)
    max_sign_in_failures_per_address: int = Field(default=30, ge=1)
    token_cache_seconds: float = Field(default=10, ge=0)
    secure_cookies: bool | None = Field(
        default=None,
        description="Session cookies only over HTTPS; by default when the request came over "
        "HTTPS (behind a proxy: run uvicorn with --proxy-headers).",
    )
    request_log: bool | None = Field(
        default=None,
        description="One JSON line per request on stderr (method, route template, status, "
        "duration; no query string, address or token); by default on outside demo mode.",
    )
    metrics_dir: Path | None = Field(
        default=None,
        description="A directory the uvicorn workers share (/run/cdfmap/metrics under systemd): "
        "/metrics then sums the counters of every worker, not only the one asked.",
    )
    var_dir: Path = REPO_ROOT / "var"
    # Printed maps are CPU-bound and each holds page-sized images while it draws: at most
    # this many at once per process, this many more waiting, beyond that 503 + Retry-After.
    print_concurrency: int = Field(default=2, ge=1)
    print_queue: int = Field(default=8, ge=0)

    @property
    def async_database_url(self) -> str:
        """The database URL with the asyncpg driver, for the web app.

        asyncpg calls libpq's `sslmode` parameter `ssl`; everything else passes through.
        """
        return asyncpg_url(self.database_url)

    @property
    def async_replica_url(self) -> str | None:
        """The read replica's URL with the asyncpg driver, or None without a replica."""
        return asyncpg_url(self.database_replica_url) if self.database_replica_url else None

    @property
    def replica_pool_size(self) -> int:
        """Connections of each process's pool on the read replica."""
        return self.db_replica_pool_size or self.db_pool_size

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            names = [str(name).strip().lower() for name in value if str(name).strip()]
            if not names:
                raise ValueError(
                    "ALLOWED_HOSTS names no host: set the server's public name, "
                    "e.g. ALLOWED_HOSTS=cdf.example.org (or * for any)"
                )
            for name in names:
                if "/" in name or (name != "*" and "*" in name.removeprefix("*.")):
                    raise ValueError(
                        f"ALLOWED_HOSTS: {name!r} is not a host name: give names only, "
                        "without https:// or a path (cdf.example.org, *.example.org)"
                    )
            return names
        return value

    # `DB_REPLICA_POOL_SIZE=` (an example line uncommented as it is shown) means unset, the
    # default: it was "Input should be a valid integer". Only for the settings that may be
    # unset; pydantic-settings' env_ignore_empty would also let `ALLOWED_HOSTS=` serve any name.
    @field_validator(
        "database_replica_url",
        "db_replica_pool_size",
        "db_replica_max_lag_seconds",
        "export_concurrency",
        "basemap_tiles_url",
        "secret_key",
        "secure_cookies",
        "request_log",
        "metrics_dir",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("trusted_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except ValueError:
                    raise ValueError(
                        "TRUSTED_ORIGINS is not a JSON list: write the origins comma-separated, "
                        "TRUSTED_ORIGINS=https://a.example.org,https://b.example.org"
                    ) from None
            else:
                value = text.split(",")
        if isinstance(value, list | tuple):
            origins = [str(origin).strip().rstrip("/") for origin in value if str(origin).strip()]
            for origin in origins:
                parts = urlsplit(origin)
                if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
                    raise ValueError(
                        f"TRUSTED_ORIGINS: {origin!r} is not an origin: give scheme://host[:port] "
                        "only, e.g. https://other.example.org"
                    )
            return origins
        return value

    @field_validator("database_url")
    @classmethod
    def _names_a_database(cls, value: str) -> str:
        # libpq would take the user's name for a missing one (the cluster's `postgres`
        # database, as often as not): the app's tables went there.
        parts = urlsplit(value)
        if not parts.scheme.startswith("postgres"):
            raise ValueError("DATABASE_URL must be a postgresql:// URL")
        if not parts.path.strip("/"):
            raise ValueError(
                "DATABASE_URL names no database: add it after the host, "
                "postgresql://user:password@host:5432/cdfmap"
            )
        return value

    @property
    def sync_database_url(self) -> str:
        """The database URL with the psycopg driver, for migrations and the CLI."""
        return with_driver(self.database_url, "postgresql+psycopg")

    @property
    def libpq_database_url(self) -> str:
        """The database URL without any SQLAlchemy driver suffix (for asyncpg, psql, GDAL)."""
        return with_driver(self.database_url, "postgresql")

    @property
    def export_slots(self) -> int:
        """How many exports may read the database at once."""
        # Exports read the replica while it answers and the primary otherwise: the smaller pool.
        pool = min(self.db_pool_size, self.replica_pool_size)
        return self.export_concurrency or max(1, pool // 4)


def demo_secret(var_dir: Path) -> str:
    """Demo mode's secret key: generated once into var/secret_key, the same after a restart."""
    import secrets

    path = var_dir / "secret_key"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def asyncpg_url(url: str) -> str:
    """`url` with the asyncpg driver; asyncpg calls libpq's `sslmode` parameter `ssl`."""
    address, mark, rest = with_driver(url, "postgresql+asyncpg").partition("?")
    query, hash_mark, fragment = rest.partition("#")
    query = "&".join(
        ("ssl=" + pair.split("=", 1)[1]) if pair.startswith("sslmode=") else pair
        for pair in query.split("&")
        if pair
    )
    return address + (mark if query else "") + query + hash_mark + fragment


def with_driver(url: str, scheme: str) -> str:
    """Return `url` with its scheme replaced (postgres://, postgresql+x:// -> scheme://).

    Only the scheme changes: urlunsplit() wrote a URL without a host, libpq's way to a Unix
    socket (`postgresql:///cdfmap?host=/var/run/postgresql`), as `postgresql:/cdfmap`, which
    neither SQLAlchemy nor libpq reads.
    """
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        raise ValueError(f"DATABASE_URL must be a postgresql:// URL, got {parts.scheme!r}")
    rest = url.strip()[len(parts.scheme) :]
    user, at, host = parts.netloc.rpartition("@")
    if host.lower().startswith("%2f"):
        # libpq's other spelling of a socket directory, `postgresql://%2Fvar%2Frun%2Fpostgresql/db`:
        # SQLAlchemy takes it for a host name, so it goes into the query (libpq reads both).
        host, colon, port = host.partition(":")
        socket = [f"host={host}"] + ([f"port={port}"] if colon and port else [])
        query = "&".join(socket + ([parts.query] if parts.query else []))
        rest = f"://{user}{at}{parts.path}?{query}" + (
            f"#{parts.fragment}" if parts.fragment else ""
        )
    return scheme + rest


def settings_problems(exc: Exception) -> list[str]:
    """One line per setting the environment gets wrong (pydantic's ValidationError, or
    pydantic-settings' SettingsError for a value it could not decode), for an operator."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        return [str(exc).splitlines()[0] if str(exc) else type(exc).__name__]
    lines = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]).upper()
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"setting {field}: {message}")
    return lines


def get_settings() -> Settings:
    """Read settings from the environment (called by create_app's callers, not at import)."""
    return Settings()
