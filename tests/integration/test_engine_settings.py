"""The settings every connection of the app gets: JIT off (docs/scale.md: at 5 million
households each batch statement spent 3 s compiling), generic plans on the ingest pool."""

from __future__ import annotations

from sqlalchemy import text

from app.db.engine import make_batch_pool, make_engine, make_ingest_pool
from app.settings import Settings
from tests.aio import run


def test_every_pool_runs_without_jit(settings: Settings) -> None:
    async def settings_seen() -> list[tuple[str, str]]:
        engine = make_engine(settings.async_database_url, 1, 0)
        ingest = make_ingest_pool(settings.libpq_database_url, 1)
        batch = make_batch_pool(settings.libpq_database_url, 1)
        try:
            async with engine.connect() as connection:
                main = (await connection.execute(text("SHOW jit"))).scalar_one()
            rows = [
                (main, "main"),
                ((await ingest.fetch("SHOW jit"))[0][0], "ingest"),
                ((await batch.fetch("SHOW jit"))[0][0], "batch"),
                ((await ingest.fetch("SHOW plan_cache_mode"))[0][0], "ingest plans"),
            ]
        finally:
            await ingest.close()
            await batch.close()
            await engine.dispose()
        return rows

    assert run(settings_seen()) == [
        ("off", "main"),
        ("off", "ingest"),
        ("off", "batch"),
        ("force_generic_plan", "ingest plans"),
    ]
