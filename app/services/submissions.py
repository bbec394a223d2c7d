"""Use case: store household surveys exactly once, and read them back."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import uuid
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import submissions as queries
from app.db.duplicate_checks import FLAG as DUPLICATE_FLAG
from app.db.pool import StatementPool
from app.db.scope import SurveyScope
from app.errors import Conflict, InvalidInput, NotFound, Problem
from app.forms.registry import FormRegistry
from app.services import placement
from app.services.access import ANYWHERE, Assignment, Principal
from app.services.intake import PreparedSubmission

log = logging.getLogger(__name__)
Outcome = Literal["created", "duplicate", "conflict", "invalid"]


@dataclass
class IngestResult:
    """What happened to one submitted survey."""

    index: int
    id: str | None
    outcome: Outcome
    record: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)


def submission_row(
    prepared: PreparedSubmission,
    collector_user_id: int | None = None,
    assignment: Assignment = ANYWHERE,
) -> dict[str, Any]:
    """The row the ingest SQL stores (orjson writes the uuid and the datetime for a batch).

    `assignment`: where a volunteer was sent (access.Assignment); a survey outside it is
    flagged for its reviewer. A survey with an area has its shape too (`shape_wkt`):
    queries.SHAPE_KEY picks the statements that store it."""
    row = {
        "id": prepared.id,
        "form_id": prepared.form_id,
        "form_version": prepared.form_version,
        "collector": prepared.collector,
        "collected_at": prepared.collected_at,
        "city": prepared.city,
        "lat": prepared.lat,
        "lon": prepared.lon,
        "accuracy_m": prepared.accuracy_m,
        "altitude_m": prepared.altitude_m,
        "answers": prepared.answers,
        "flags": prepared.flags,
        "content_hash": prepared.content_hash,
        "collector_user_id": collector_user_id,
        "assigned_wards": list(assignment.wards),
        "assigned_cities": list(assignment.cities),
        "location_manual": prepared.location_manual,
        "manual_points": prepared.manual_points or None,
    }
    if prepared.shape is not None:
        row[queries.SHAPE_KEY] = prepared.shape
    return row


# A batch goes to PostgreSQL once every survey of it is checked: its new surveys in
# statements of at most STATEMENT_ROWS, of equal sizes, sent at once on their own
# connections (a phone's 500 surveys: two statements of 250). Python's checks and
# PostgreSQL's statements then each have the machine to themselves: statements sent while the
# next surveys were still being checked (60, then 220 at a time) slowed both sides, which
# share the caches and the cores, and their answers waited for the checks to yield (a batch
# took ~15 % longer; docs/benchmarks.md, 2026-12-07). A statement's fixed costs (its plan,
# the tally and parents triggers, the commit: ~2 ms) are paid per statement, so a batch is
# not cut finer than it needs to keep two cores busy. Their surveys are distinct ids and
# each statement locks its own in id order: they cannot deadlock with each other or with
# another batch.
STATEMENT_ROWS = 250
STATEMENTS_IN_FLIGHT = 2


def statement_sizes(count: int, most: int = STATEMENT_ROWS) -> list[int]:
    """How `count` new surveys are cut into statements: as few as hold at most `most` each,
    of sizes that differ by one at most (the first ones the larger)."""
    if count <= 0:
        return []
    statements = -(-count // most)
    size, extra = divmod(count, statements)
    return [size + 1] * extra + [size] * (statements - extra)


async def ingest(
    pool: StatementPool,
    items: Iterable[tuple[PreparedSubmission | None, list[Problem]]],
    raw_ids: Sequence[str | None],
    collector_user_id: int | None = None,
    assignment: Assignment = ANYWHERE,
) -> list[IngestResult]:
    """Store the valid surveys of a batch; report each item's outcome (no records: a phone
    needs to know what happened to each survey, not to download them back).

    Idempotent: a survey whose id is stored already is a `duplicate` when its content is the
    same and a `conflict` when it differs; the stored survey is never changed. An id an ODK
    edit took as its instanceID is another name of the survey it edited: a `conflict` too
    (the insert statement itself leaves it out, app/db/submissions.py). Concurrent
    senders of one id are serialised by the primary key (INSERT ... ON CONFLICT DO NOTHING).

    `items` (each survey checked: prepare_submission's answer) are all drawn first; the new
    surveys then leave in the statements of statement_sizes, at most STATEMENTS_IN_FLIGHT at
    once. Each statement is atomic; if a batch is cut short, the phone sends it again and
    what was stored comes back as duplicates.
    """
    results: list[IngestResult] = []
    prepared_items: list[PreparedSubmission | None] = []
    first_of_id: dict[str, PreparedSubmission] = {}
    rows: list[dict[str, Any]] = []
    for index, (prepared, problems) in enumerate(items):
        prepared_items.append(prepared)
        if prepared is None:
            results.append(IngestResult(index, raw_ids[index], "invalid", problems=problems))
            continue
        key = prepared.key
        results.append(IngestResult(index, key, "duplicate"))
        if key not in first_of_id:
            first_of_id[key] = prepared
            rows.append(submission_row(prepared, collector_user_id, assignment))
    inserted = await _store(pool, rows)
    stored = dict(inserted)
    if len(stored) < len(first_of_id):
        # Sent before, or committed by a concurrent sender meanwhile: a new statement sees it.
        stored |= await queries.stored_hashes(
            pool, [uuid.UUID(i) for i in first_of_id if i not in stored]
        )
    claimed: set[str] = set()
    for result, prepared in zip(results, prepared_items, strict=True):
        if prepared is None or result.id is None:
            continue
        key = result.id  # prepared.key
        if key in inserted and key not in claimed:
            result.outcome = "created"
            claimed.add(key)
        elif stored.get(key) != prepared.content_hash:
            result.outcome = "conflict"
            result.problems = [Problem("id", "conflict", {"id": key})]
    return results


async def _store(pool: StatementPool, rows: list[dict[str, Any]]) -> dict[str, str]:
    """Store the rows in the statements of statement_sizes, at most STATEMENTS_IN_FLIGHT at
    once; content hash by id stored now. When one fails, those still running are cancelled
    (what committed stays: the phone's resend finds it)."""
    chunks: list[list[dict[str, Any]]] = []
    start = 0
    for size in statement_sizes(len(rows)):
        chunks.append(rows[start : start + size])
        start += size
    inserted: dict[str, str] = {}
    in_flight: deque[asyncio.Future[dict[str, str]]] = deque()
    try:
        for chunk in chunks:
            while len(in_flight) >= STATEMENTS_IN_FLIGHT:
                inserted.update(await in_flight.popleft())
            in_flight.append(asyncio.ensure_future(placement.store(pool, chunk)))
        while in_flight:
            inserted.update(await in_flight.popleft())
    except BaseException:
        # An error (or the request's end) cut the batch short: none left behind, each ended
        # (its connection dropped or given back) before the error goes on, and another
        # statement's own failure said, not lost with it.
        for statement in in_flight:
            statement.cancel()
        for outcome in await asyncio.gather(*in_flight, return_exceptions=True):
            if isinstance(outcome, Exception):
                log.error("a statement of the same batch failed too", exc_info=outcome)
        raise
    return inserted


async def ingest_one(
    pool: StatementPool,
    prepared: PreparedSubmission | None,
    problems: list[Problem],
    collector_user_id: int | None = None,
    assignment: Assignment = ANYWHERE,
) -> IngestResult:
    """Store one survey; raise InvalidInput or Conflict when it cannot be stored (another
    content under its id, or its id an ODK edit's instanceID: see `ingest`)."""
    if prepared is None:
        raise InvalidInput(problems)
    key = prepared.key
    row = submission_row(prepared, collector_user_id, assignment)
    record = await queries.insert_grouped(pool, row)
    if record is not None:
        return IngestResult(0, key, "created", record)
    # Sent before, or committed by a concurrent sender meanwhile: a new statement sees it.
    record = (await queries.fetch_records_now(pool, [prepared.id])).get(key)
    if record is None or record["content_hash"] != prepared.content_hash:
        raise Conflict(id=key)
    return IngestResult(0, key, "duplicate", record)


async def known_cities(pool: StatementPool, items: Sequence[Any]) -> frozenset[str] | None:
    """Which of the cities named by the surveys (`city`) exist; None when none names one."""
    named = {
        item["city"]
        for item in items
        if isinstance(item, dict)
        and type(item.get("city")) is str
        and len(item["city"]) <= 64
        and item["city"].isascii()
        and "\x00" not in item["city"]
    }
    if not named:
        return None
    return frozenset(await queries.existing_city_slugs(pool, sorted(named)))


def redact(
    record: dict[str, Any], forms: FormRegistry, reader: Principal | None = None
) -> dict[str, Any]:
    """Drop personal answers (names, phones, photos) unless the reader may see them, those
    inside repeats (a household roster's names) included; and the `possible_duplicate`
    flag unless the reader may read the surveys it compares (Principal.sees_duplicate_matches)."""
    record = without_hidden_flags(record, reader)
    answers = record.get("answers")
    if not isinstance(answers, dict) or (reader is not None and reader.can_see_personal(record)):
        return record
    versions = forms.versions.get(record["form_id"])
    if not versions or record["form_version"] not in versions:
        return {**record, "answers": {}}  # an unknown old form: nothing that could be personal
    return {
        **record,
        "answers": _without(answers, forms.personal_fields(record["form_id"], files=True)),
    }


def without_hidden_flags(record: dict[str, Any], reader: Principal | None) -> dict[str, Any]:
    """The record without `possible_duplicate` unless the reader may see it: the flag says
    that another survey nearby names a similar head or the same phone, which the sender of
    a survey next to a house must not learn from it (names tried one by one)."""
    flags = record.get("flags")
    if not flags or DUPLICATE_FLAG not in flags:
        return record
    if reader is not None and reader.sees_duplicate_matches(record):
        return record
    return {**record, "flags": [flag for flag in flags if flag != DUPLICATE_FLAG]}


def _without(answers: dict[str, Any], private: frozenset[str]) -> dict[str, Any]:
    """The answers but the private ones, in every repeat instance at any depth."""
    kept: dict[str, Any] = {}
    for name, value in answers.items():
        if name in private:
            continue
        if type(value) is list:
            value = [_without(item, private) if type(item) is dict else item for item in value]
        kept[name] = value
    return kept


async def get_submission(
    engine: AsyncEngine, submission_id: uuid.UUID, reader: Principal
) -> dict[str, Any]:
    """One stored survey (with answers) the reader may see, or NotFound."""
    async with engine.connect() as connection:
        records = await queries.fetch_records(connection, [submission_id], with_answers=True)
    record = records.get(str(submission_id))
    if record is None or not reader.can_read_survey(record):
        raise NotFound("survey_not_found", id=str(submission_id))
    return record


def page_cursor(record: dict[str, Any]) -> str:
    """The opaque `after=` cursor that starts the page after this record."""
    key = orjson.dumps([record["collected_at"].isoformat(), str(record["id"])])
    return base64.urlsafe_b64encode(key).decode().rstrip("=")


def read_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (collected_at, id) a cursor stands for, or InvalidInput naming `after`."""
    try:
        raw = cursor.strip()
        key = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        collected_at, survey_id = key
        moment = datetime.fromisoformat(collected_at)
        if moment.tzinfo is None:
            raise ValueError("a cursor's time has its offset")
        return moment, uuid.UUID(survey_id)
    except (ValueError, TypeError, AttributeError, binascii.Error, orjson.JSONDecodeError):
        raise InvalidInput([Problem("after", "invalid_cursor")]) from None


@dataclass(frozen=True)
class SurveyPage:
    """A page of surveys: the total matching (None on a cursor's page), the rows, and the
    cursor of the next page (None on the last)."""

    total: int | None
    rows: list[dict[str, Any]]
    next: str | None


async def list_submissions(
    engine: AsyncEngine,
    *,
    scope: SurveyScope,
    city_id: int | None = None,
    ward_id: int | None = None,
    settlement_id: int | None = None,
    status: str | None = None,
    collected_from: datetime | None = None,
    collected_to: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
    after: str | None = None,
) -> SurveyPage:
    """A page of stored surveys, newest first. The total is counted on a first page only:
    a page after a cursor stays as fast as the first however deep it is."""
    position = read_cursor(after) if after is not None else None
    async with engine.connect() as connection:
        total, rows = await queries.list_records(
            connection,
            scope=scope,
            city_id=city_id,
            ward_id=ward_id,
            settlement_id=settlement_id,
            status=status,
            collected_from=collected_from,
            collected_to=collected_to,
            limit=limit + 1,  # one more: whether a next page exists
            offset=offset,
            after=position,
            with_total=position is None,
        )
    more = len(rows) > limit
    rows = rows[:limit]
    return SurveyPage(total, rows, page_cursor(rows[-1]) if more else None)
