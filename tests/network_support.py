"""A database of its own with the CDF network's three sample cities (Tam Kỳ and the two
synthetic member cities), for the national view's tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.db.migrate import create_database_if_missing, drop_database, upgrade_to_head
from app.forms.registry import load_registry
from app.geo import sample_city
from app.services.samples import insert_submissions, load_boundaries, load_member_cities
from app.settings import DEFAULT_DATABASE_URL, REPO_ROOT, with_driver

TAM_KY_HOUSEHOLDS = 120
MEMBER_HOUSEHOLDS = 80


@contextmanager
def network_database() -> Iterator[str]:
    """A fresh database with three cities' boundaries, approved households and (for the two
    member cities) CDF books; dropped afterwards. Yields its libpq URL."""
    server = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    name = f"cdfmap_network_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = (
        make_url(with_driver(server or DEFAULT_DATABASE_URL, "postgresql"))
        .set(database=name)
        .render_as_string(hide_password=False)
    )
    sync_url = with_driver(url, "postgresql+psycopg")
    create_database_if_missing(sync_url)
    try:
        upgrade_to_head(sync_url)
        engine = create_engine(sync_url)
        forms = load_registry(REPO_ROOT / "forms")
        with engine.begin() as connection:
            load_boundaries(connection, REPO_ROOT / "data" / "samples")
            city = sample_city.generate_city()
            insert_submissions(
                connection, forms, sample_city.generate_households(city, TAM_KY_HOUSEHOLDS)
            )
            connection.execute(text("UPDATE household_surveys SET status = 'approved'"))
            load_member_cities(connection, forms, 2, MEMBER_HOUSEHOLDS)
        engine.dispose()
        yield url
    finally:
        drop_database(sync_url)
