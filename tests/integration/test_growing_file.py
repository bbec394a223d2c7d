"""copy_while_reading against a real PostgreSQL: a worker thread reads the rows while the COPY
writes them (the point Shapefile's first pass), gets every row once the COPY is over, and a
failure on either side ends both, with the slot and the connection given back."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.exports import ExportSlots
from app.services.growing_file import RowsNotCopied, copy_while_reading
from tests.integration.test_export_stream import checked_out, run

ROWS = 50_000
SERIES = f"SELECT g, repeat('x', 100) FROM generate_series(1, {ROWS}) g"
EXPECTED = "".join(f"{n},{'x' * 100}\n" for n in range(1, ROWS + 1)).encode()


def test_the_reader_gets_every_row_as_the_copy_wrote_it(database_url: str, tmp_path: Path) -> None:
    read: list[bytes] = []

    def reader(rows: io.BufferedReader) -> None:
        while chunk := rows.read(1000):  # small reads: many waits for the COPY
            read.append(chunk)

    async def body(engine: AsyncEngine) -> None:
        slots = ExportSlots(1, 1.0)
        await copy_while_reading(engine, slots, SERIES, [], tmp_path / "rows.csv", reader)
        assert checked_out(engine) == 0
        await slots.acquire()
        slots.release()

    run(database_url, body)
    assert b"".join(read) == EXPECTED
    assert (tmp_path / "rows.csv").read_bytes() == EXPECTED


def test_a_failed_copy_stops_the_reader_and_is_the_error_raised(
    database_url: str, tmp_path: Path
) -> None:
    seen: list[type[BaseException]] = []

    def reader(rows: io.BufferedReader) -> None:
        try:
            rows.read()
        except RowsNotCopied as error:
            seen.append(type(error))
            raise

    failing = f"SELECT 1 / (g - {ROWS // 2}) FROM generate_series(1, {ROWS}) g"

    async def body(engine: AsyncEngine) -> None:
        slots = ExportSlots(1, 1.0)
        with pytest.raises(Exception, match="division by zero"):
            await copy_while_reading(engine, slots, failing, [], tmp_path / "rows.csv", reader)
        assert checked_out(engine) == 0
        await slots.acquire()
        slots.release()

    run(database_url, body)
    assert seen == [RowsNotCopied]


def test_a_failed_reader_stops_the_copy_and_is_the_error_raised(
    database_url: str, tmp_path: Path
) -> None:
    def reader(rows: io.BufferedReader) -> None:
        rows.read(10)
        raise ValueError("the writer failed")

    async def body(engine: AsyncEngine) -> None:
        slots = ExportSlots(1, 1.0)
        with pytest.raises(ValueError, match="the writer failed"):
            await copy_while_reading(engine, slots, SERIES, [], tmp_path / "rows.csv", reader)
        assert checked_out(engine) == 0
        await slots.acquire()
        slots.release()

    run(database_url, body)
