"""SQL for GeoJSON layers: PostGIS writes each Feature; Python only joins them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, Literal

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.sql import concat_sql, sql_literal

COORDINATE_DECIMALS = 6  # about 0.1 m, more than any phone GPS gives

# How a property's SQL value becomes JSON text, cheapest first. PostgreSQL's JSON builders
# (json_build_object, row_to_json) look up each argument's type on every row, which made
# them most of an export's cost; plain text concatenation of values that are already JSON
# does not.
Kind = Literal["number", "code", "json", "text"]
_JSON_VALUE = {
    # integer, float8 or numeric: their text form is JSON (no NaN or infinity is stored)
    "number": "coalesce(({})::text, 'null')",
    # text that cannot hold a quote, backslash or control character (uuids, slugs, status
    # codes, choice names: the form loader refuses others): quoted as it is
    "code": "coalesce('\"' || ({}) || '\"', 'null')",
    # a jsonb value: its text form is JSON
    "json": "coalesce(({})::text, 'null')",
    # anything else (names, free text, timestamps): escaped by PostgreSQL
    "text": "coalesce(to_json({})::text, 'null')",
}


FieldType = Literal["int", "float", "text"]


@dataclass(frozen=True)
class Property:
    """One exported attribute: its name, its SQL expression and how to write it as JSON.

    File formats other than GeoJSON read `value` (the plain SQL value, default `sql`) typed
    as `field_type`: a number kept as JSON for GeoJSON is a float or an integer there.
    """

    name: str
    sql: str
    kind: Kind = "text"
    value: str | None = None
    field_type: FieldType | None = None

    @property
    def value_sql(self) -> str:
        """The SQL of the plain value (a number, a text, NULL) for file formats."""
        return self.value or self.sql

    @property
    def type(self) -> FieldType:
        """The column type in file formats."""
        if self.field_type is not None:
            return self.field_type
        return "float" if self.kind == "number" else "text"


def properties_sql(properties: Sequence[Property]) -> str:
    """SQL text expression for the JSON object of the properties, in their order."""
    members = []
    for index, prop in enumerate(properties):
        key = ("{" if index == 0 else ",") + orjson.dumps(prop.name).decode() + ":"
        members.append(f"{sql_literal(key)} || {_JSON_VALUE[prop.kind].format(prop.sql)}")
    return concat_sql([*members, "'}'"]) if members else "'{}'"


def feature_sql(geometry: str, properties: Sequence[Property], source: str) -> str:
    """A SELECT yielding one GeoJSON Feature text per row (a row without a geometry, such as
    a survey of a form without location, gets `"geometry":null`, as RFC 7946 allows)."""
    return (
        f'SELECT \'{{"type":"Feature","geometry":\' || '
        f"coalesce(ST_AsGeoJSON({geometry}, {COORDINATE_DECIMALS}), 'null') || "
        f"',\"properties\":' || {properties_sql(properties)} || '}}' FROM {source}"
    )


# CSV with a delimiter and a quote that JSON text never holds: rows come out as they are,
# without the backslash escaping of COPY's text format.
JSON_ROWS: dict[str, Any] = {"format": "csv", "delimiter": "\x02", "quote": "\x01"}
# A CSV file for people: a header row, commas, quotes where needed (RFC 4180).
CSV_FILE: dict[str, Any] = {"format": "csv", "header": True}
# The same without the header, for Arrow's CSV reader (app/geo/export_writers.py).
CSV_ROWS: dict[str, Any] = {"format": "csv"}


class ExportsBusy(Exception):
    """Every export slot stayed taken for the whole wait: the client should try again later."""


class ExportSlots:
    """At most `size` exports read the database at once; the next one waits `wait_seconds`."""

    def __init__(self, size: int, wait_seconds: float) -> None:
        self._free = asyncio.Semaphore(size)
        self.wait_seconds = wait_seconds

    async def try_acquire(self) -> bool:
        """Take a slot if one is free now (without waiting); whether it was taken."""
        if self._free.locked():
            return False
        await self._free.acquire()  # returns at once: nothing runs between the two lines
        return True

    async def acquire(self) -> None:
        """Take a slot, or raise ExportsBusy when none frees up within the wait."""
        try:
            async with asyncio.timeout(self.wait_seconds):
                await self._free.acquire()
        except TimeoutError:
            raise ExportsBusy from None

    def release(self) -> None:
        """Give a slot back."""
        self._free.release()


class CopyStream:
    """The rows of one `COPY (sql) TO STDOUT`, read from the database at the database's pace.

    Why not a bounded queue between COPY and the client (as before) or SpooledTemporaryFile:
    with a queue, a client that stops reading stops the COPY, which then holds its pooled
    connection for as long as the client likes (20 silent clients took the whole pool); a
    SpooledTemporaryFile keeps everything in memory up to a size, then everything on disk,
    and gives nothing back as it is read. Here COPY never waits for the client: chunks not
    yet taken stay in memory up to `memory_chunks` and beyond that go to an unnamed temporary
    file, read back in order, which starts again from its beginning whenever the client has
    caught up. So the connection goes back as soon as PostgreSQL has written the rows, memory
    stays flat whatever the row count, and a client that keeps up never touches the disk.
    The rule it imposes: whoever opens one must aclose() it, whether it was read or not.
    File I/O runs on the event loop: a 256 KB write into the page cache takes ~0.1 ms, less
    than handing it to a thread and back, and leaves no write in flight when the file closes.
    """

    def __init__(
        self,
        slots: ExportSlots,
        memory_chunks: int,
        chunk_bytes: int,
        copy_options: dict[str, Any] | None = None,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self._slots = slots
        self._settings = dict(settings or {})
        self._copy_options = copy_options or JSON_ROWS
        self._memory_chunks = memory_chunks
        self._chunk_bytes = chunk_bytes
        self._pending: list[bytes] = []  # COPY's messages, gathered into one chunk
        self._pending_bytes = 0
        self._memory: deque[bytes] = deque()
        self._file: BinaryIO | None = None
        self._file_read = 0  # the file's bytes from here to _file_written are still to take
        self._file_written = 0
        self.spilled_bytes = 0  # how much went through the file in all
        self._ready = asyncio.Event()  # set whenever a chunk arrives or the COPY ends
        self._copying = True
        self._failure: BaseException | None = None
        self._task: asyncio.Task[None] | None = None
        self._started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._closed = False

    @classmethod
    async def open(
        cls,
        engine: AsyncEngine,
        sql: str,
        args: Sequence[Any],
        slots: ExportSlots,
        memory_chunks: int = 8,
        chunk_bytes: int = 256 * 1024,
        copy_options: dict[str, Any] | None = None,
        settings: Mapping[str, str] | None = None,
        slot_taken: bool = False,
    ) -> CopyStream:
        """Start copying `sql`'s rows (one text column of JSON; or as `copy_options` of
        COPY say, such as CSV_FILE) once a slot and a connection are free; `settings`:
        PostgreSQL settings for this statement only (SET LOCAL). `slot_taken`: the caller
        already holds the slot this stream gives back."""
        if not slot_taken:
            await slots.acquire()
        stream = cls(slots, memory_chunks, chunk_bytes, copy_options, settings)
        stream._task = asyncio.create_task(stream._copy(engine, sql, args))
        # A callback, not a `finally` in _copy: a task cancelled before its first step never
        # runs its body, and the slot must come back all the same.
        stream._task.add_done_callback(stream._copy_ended)
        try:
            # Waiting for the connection here lets a database out of reach answer 503 before
            # the response starts, instead of a 200 cut after its first line.
            await stream._started
        except BaseException:
            await stream.aclose()
            raise
        return stream

    async def _copy(self, engine: AsyncEngine, sql: str, args: Sequence[Any]) -> None:
        try:
            async with engine.connect() as connection:
                raw = await connection.get_raw_connection()
                driver: Any = raw.driver_connection
                if not self._started.done():  # else open() was cancelled while it waited
                    self._started.set_result(None)
                try:
                    if not self._settings:
                        await driver.copy_from_query(
                            sql, *args, output=self._gather, **self._copy_options
                        )
                    else:
                        async with driver.transaction(readonly=True):
                            for name, value in self._settings.items():
                                await driver.execute(
                                    f"SELECT set_config({sql_literal(name)}, "
                                    f"{sql_literal(value)}, true)"
                                )
                            await driver.copy_from_query(
                                sql, *args, output=self._gather, **self._copy_options
                            )
                except BaseException:
                    # Stopped mid-statement (the client left, the server went away): the
                    # connection's state is unknown, so it never serves another request.
                    # terminate() first: invalidate() alone tries a polite close, which waits
                    # on the unfinished COPY.
                    driver.terminate()
                    with contextlib.suppress(Exception):  # the first error is the one to tell
                        await connection.invalidate()
                    raise
            if self._pending:
                self._put(b"".join(self._pending))
        except BaseException as exc:
            self._failure = exc  # the reader raises it
            if not self._started.done():
                if isinstance(exc, Exception):
                    self._started.set_exception(exc)
                else:
                    self._started.cancel()
            if not isinstance(exc, Exception):
                raise

    def _copy_ended(self, _: asyncio.Task[None]) -> None:
        self._copying = False
        self._slots.release()
        self._ready.set()

    async def _gather(self, data: bytes) -> None:
        # PostgreSQL sends one message per row: chunks are what crosses to the reader.
        self._pending.append(data)
        self._pending_bytes += len(data)
        if self._pending_bytes >= self._chunk_bytes:
            chunk = b"".join(self._pending)
            self._pending.clear()
            self._pending_bytes = 0
            self._put(chunk)

    def _put(self, chunk: bytes) -> None:
        if self._closed:
            return
        caught_up = self._file_read == self._file_written
        if caught_up and len(self._memory) < self._memory_chunks:
            self._memory.append(chunk)
        else:
            if self._file is None:  # closed by aclose(), which outlives any `with` here
                self._file = tempfile.TemporaryFile(buffering=0)  # noqa: SIM115
            if caught_up:  # all the file was read: start it again from its beginning
                self._file_read = self._file_written = 0
            self.spilled_bytes += len(chunk)
            view = memoryview(chunk)
            while view:
                written = os.pwrite(self._file.fileno(), view, self._file_written)
                self._file_written += written
                view = view[written:]
        self._ready.set()

    async def _chunks(self) -> AsyncIterator[bytes]:
        while True:
            if self._memory:
                yield self._memory.popleft()
            elif self._file is not None and self._file_read < self._file_written:
                size = min(self._chunk_bytes, self._file_written - self._file_read)
                data = os.pread(self._file.fileno(), size, self._file_read)
                self._file_read += len(data)
                yield data
            elif not self._copying:
                if self._failure is not None:
                    raise self._failure
                return
            else:
                self._ready.clear()
                await self._ready.wait()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def aclose(self) -> None:
        """Stop the COPY if it still runs (its connection is then dropped) and free the file."""
        self._closed = True
        if self._file is not None:
            self._file.close()
            self._file = None
        self._memory.clear()
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


def rows_sql(columns: Sequence[str], source: str) -> str:
    """A SELECT of plain values (one per column SQL expression) for file formats."""
    return f"SELECT {', '.join(columns)} FROM {source}"


@dataclass(frozen=True)
class OrderedHalves:
    """A layer's rows as two statements that together give them in order: `first` the rows
    whose first sort column (`column` of `table`, of SQL type `type`) is below a value, then
    `second` the others; `${n}` in both stands for that value, its argument after the
    layer's own."""

    table: str
    column: str
    type: str
    first: str
    second: str


async def middle_value(engine: AsyncEngine, halves: OrderedHalves) -> Any:
    """The middle bound of the column's histogram in PostgreSQL's statistics (gathered by
    ANALYZE, autovacuum's included), or None without statistics: a value that splits the
    table's rows about in half, read without reading the table."""
    from sqlalchemy import text

    bounds = f"histogram_bounds::text::{halves.type}[]"
    sql = (
        f"SELECT b[array_length(b, 1) / 2 + 1] FROM (SELECT {bounds} AS b FROM pg_stats "
        "WHERE schemaname = current_schema() AND tablename = :table AND attname = :column "
        "AND NOT inherited LIMIT 1) s"
    )
    async with engine.connect() as connection:
        result = await connection.execute(
            text(sql), {"table": halves.table, "column": halves.column}
        )
        return result.scalar()


class Consecutive:
    """Copy streams that all copy at once, read one after the other (see copy_ordered)."""

    def __init__(self, streams: Sequence[CopyStream]) -> None:
        self._streams = list(streams)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        for stream in self._streams:
            async for chunk in stream:
                yield chunk

    async def aclose(self) -> None:
        """Stop every COPY still running and free their files."""
        for stream in self._streams:
            await stream.aclose()


# A statement that makes an expensive text of each row (a KML Placemark) sorted: without
# parallel workers, without JIT compilation (~60 ms per process for a 45-value Placemark,
# and no faster rows: the time is in the functions the expression calls).
NO_JIT = {"jit": "off"}
SERIAL = {**NO_JIT, "max_parallel_workers_per_gather": "0"}


async def copy_ordered(
    engine: AsyncEngine,
    slots: ExportSlots,
    column: str,
    source: str,
    args: Sequence[Any],
    halves: OrderedHalves | None,
) -> CopyStream | Consecutive:
    """COPY of `SELECT column FROM source` (ORDER BY included), rows in order; for a text
    PostgreSQL spends long building per row (a KML Placemark: ~10 us).

    One statement sorts the finished texts: its parallel workers build them, then sort
    them (200 MB for 100,000 households' KML, on disk) and the leader merges the workers'
    sorted runs; nothing is sent before the sort ends. With `halves`, a statistics bound
    of the sort column and a second export slot free at once, two connections each copy
    one half of the order without workers, and with `LIMIT ALL`: a LIMIT makes the planner
    build an expensive select list after the sort instead of before (make_sort_input_target
    in planner.c; ALL keeps every row), so each sorts its rows' columns (~40 % of the
    Placemarks' bytes) and sends each Placemark as soon as it is built. The second half
    waits in CopyStream's file while the first is read: memory stays flat. 100,000
    households' KML: PostgreSQL's CPU about 1.9 s -> 1.45 s (no leader merging the workers'
    runs, a third of the bytes sorted), and the first bytes leave after ~0.2 s instead of
    ~1 s. Without a bound or a free slot, the one statement (the same document)."""
    middle = await middle_value(engine, halves) if halves is not None else None
    await slots.acquire()
    try:
        split = middle is not None and await slots.try_acquire()
    except BaseException:
        slots.release()
        raise
    if not split or halves is None:
        return await CopyStream.open(
            engine, rows_sql([column], source), args, slots, settings=NO_JIT, slot_taken=True
        )
    bounded = [*args, middle]
    try:
        first = await CopyStream.open(
            engine,
            f"{rows_sql([column], halves.first)} LIMIT ALL",
            bounded,
            slots,
            settings=SERIAL,
            slot_taken=True,
        )
    except BaseException:
        slots.release()  # the second half's slot
        raise
    try:
        second = await CopyStream.open(
            engine,
            f"{rows_sql([column], halves.second)} LIMIT ALL",
            bounded,
            slots,
            settings=SERIAL,
            slot_taken=True,
        )
    except BaseException:
        await first.aclose()
        raise
    return Consecutive([first, second])
