"""Use case: load the synthetic sample city (boundaries + households) into the database."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from app.db.submissions import insert_many_in_transaction
from app.forms.registry import FormRegistry
from app.geo import sample_city
from app.services.boundaries import ImportSummary, import_city
from app.services.cdf_projects_sample import load_sample_projects
from app.services.context import load_sample_context
from app.services.intake import prepare_submission
from app.services.sample_cdf import load_sample_cdf
from app.services.submissions import submission_row

CHUNK = 2000


def load_boundaries(connection: Connection, samples_dir: Path) -> ImportSummary:
    """Import the sample city's wards and settlements from data/samples/tam-ky/."""
    directory = samples_dir / sample_city.CITY_SLUG
    return import_city(
        connection,
        slug=sample_city.CITY_SLUG,
        name=sample_city.CITY_NAME,
        province=sample_city.PROVINCE,
        wards_path=directory / "wards.geojson",
        settlements_path=directory / "settlements.geojson",
    )


def insert_submissions(
    connection: Connection,
    forms: FormRegistry,
    raw_items: Iterable[dict[str, Any]],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Validate and insert surveys in chunks through the ingest SQL; return how many were new."""
    now = datetime.now(UTC)
    created = 0
    chunk: list[dict[str, Any]] = []

    def flush() -> int:
        if not chunk:
            return 0
        count = insert_many_in_transaction(connection, chunk)
        if progress:
            progress(len(chunk))
        chunk.clear()
        return count

    for raw in raw_items:
        prepared, problems = prepare_submission(raw, forms, now)
        if prepared is None:
            raise ValueError(f"sample survey {raw.get('id')} is invalid: {problems}")
        chunk.append(submission_row(prepared))
        if len(chunk) >= CHUNK:
            created += flush()
    created += flush()
    return created


def load_sample_city(
    connection: Connection,
    forms: FormRegistry,
    samples_dir: Path,
    households: int,
    seed: int = 2026,
    progress: Callable[[int], None] | None = None,
) -> tuple[ImportSummary, int]:
    """Load the sample city and its demo accounts; re-running adds nothing (boundaries
    upsert, surveys by id, accounts by username)."""
    summary = load_boundaries(connection, samples_dir)
    load_demo_accounts(connection, summary.city_id)
    load_sample_projects(connection, summary.city_id)
    has_context = connection.execute(
        text("SELECT 1 FROM context_imports WHERE city_id = :id"), {"id": summary.city_id}
    ).first()
    if not has_context:  # the generated streets, unless an extract was imported since
        load_sample_context(connection, summary.city_id, seed)
    stored = connection.execute(
        text("SELECT count(*) FROM household_surveys WHERE city_id = :id AND form_id = :form"),
        {"id": summary.city_id, "form": sample_city.FORM_ID},
    ).scalar_one()
    if stored >= households:
        load_sample_cdf(connection, summary.city_id, seed)
        return summary, 0
    city = sample_city.generate_city(seed)
    items = sample_city.generate_households(city, households, seed)
    created = insert_submissions(connection, forms, items, progress)
    approve_generated(connection, summary.city_id)
    # Fresh statistics now, not when autovacuum comes by: the planner needs them to choose,
    # for instance, a parallel scan for a city-wide export.
    connection.execute(text("ANALYZE household_surveys"))
    # The CDF's books after the surveys: some members are linked to surveyed households.
    load_sample_cdf(connection, summary.city_id, seed)
    return summary, created


def approve_generated(connection: Connection, city_id: int) -> None:
    """The generated surveys of a city approved: they stand for a city whose review is done
    (phones' surveys, which always have a collector, wait for their reviewer)."""
    connection.execute(
        text(
            "UPDATE household_surveys SET status = 'approved', reviewed_at = now() "
            "WHERE city_id = :id AND status = 'received' AND collector_user_id IS NULL"
        ),
        {"id": city_id},
    )


def load_member_cities(
    connection: Connection,
    forms: FormRegistry,
    count: int,
    households: int,
    seed: int = 2026,
    progress: Callable[[int], None] | None = None,
) -> list[tuple[ImportSummary, int]]:
    """Load `count` more synthetic member cities of the network (app/geo/sample_network.py)
    with `households` surveys and CDF books each; re-running adds nothing."""
    import tempfile

    from app.geo import sample_network

    loaded = []
    for member in sample_network.MEMBER_CITIES[:count]:
        city = sample_network.generate_member_city(member, seed)
        with tempfile.TemporaryDirectory() as directory:
            sample_city.write_boundaries(city, Path(directory))
            summary = import_city(
                connection,
                slug=member.slug,
                name=member.name,
                province=member.province,
                wards_path=Path(directory) / "wards.geojson",
                settlements_path=Path(directory) / "settlements.geojson",
            )
        stored = connection.execute(
            text("SELECT count(*) FROM household_surveys WHERE city_id = :id AND form_id = :f"),
            {"id": summary.city_id, "f": sample_city.FORM_ID},
        ).scalar_one()
        created = 0
        if stored < households:
            items = sample_city.generate_households(city, households, seed + member.seed_offset)
            created = insert_submissions(connection, forms, items, progress)
            approve_generated(connection, summary.city_id)
        # The demo accounts stay on the sample city's fund (README): not the last one loaded.
        load_sample_cdf(connection, summary.city_id, seed + member.seed_offset, demo_grants=False)
        loaded.append((summary, created))
    return loaded


DEMO_PASSWORD = "demo"
# username, display name, role, scope ("ward": the sample city's first ward, "city", None)
DEMO_ACCOUNTS = (
    ("demo-volunteer", "Tình nguyện viên (demo)", "volunteer", "ward"),
    ("demo-ward-leader", "Trưởng khu phố (demo)", "ward_leader", "ward"),
    ("demo-planner", "Cán bộ quy hoạch (demo)", "planner", "city"),
    ("demo-admin", "Quản trị quốc gia (demo)", "national_admin", None),
)


def load_demo_accounts(connection: Connection, city_id: int) -> list[str]:
    """The demo accounts (password `demo`) on the sample city; only with the sample city.

    Created once; their roles are set again each time (a changed sample keeps them valid).
    """
    from app.services.auth import hash_password

    ward_id = connection.execute(
        text("SELECT id FROM wards WHERE city_id = :id ORDER BY code LIMIT 1"), {"id": city_id}
    ).scalar_one()
    password_hash = hash_password(DEMO_PASSWORD)
    created = []
    for username, display_name, role, scope in DEMO_ACCOUNTS:
        user_id = connection.execute(
            text(
                "INSERT INTO users (username, display_name, password_hash, is_demo) "
                "VALUES (:username, :display_name, :password_hash, true) "
                "ON CONFLICT (username) DO NOTHING RETURNING id"
            ),
            {"username": username, "display_name": display_name, "password_hash": password_hash},
        ).scalar()
        if user_id is None:
            user_id = connection.execute(
                text("SELECT id FROM users WHERE username = :username"), {"username": username}
            ).scalar_one()
        else:
            created.append(username)
        connection.execute(text("DELETE FROM role_grants WHERE user_id = :id"), {"id": user_id})
        connection.execute(
            text(
                "INSERT INTO role_grants (user_id, role, city_id, ward_id) "
                "VALUES (:user_id, :role, :city_id, :ward_id)"
            ),
            {
                "user_id": user_id,
                "role": role,
                "city_id": city_id if scope else None,
                "ward_id": ward_id if scope == "ward" else None,
            },
        )
    return created
