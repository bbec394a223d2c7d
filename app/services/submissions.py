"""Use case: store household surveys exactly once, and read them back."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import submissions as queries
from app.db.pool import StatementPool
from app.errors import Conflict, InvalidInput, NotFound, Problem
from app.forms.registry import FormRegistry
from app.services.intake import PreparedSubmission

Outcome = Literal["created", "duplicate", "conflict", "invalid"]


@dataclass
class IngestResult:
    """What happened to one submitted survey."""

    index: int
    id: str | None
    outcome: Outcome
    record: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)


def submission_row(prepared: PreparedSubmission) -> dict[str, Any]:
    """The row the ingest SQL stores (orjson writes the uuid and the datetime for a batch)."""
    return {
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
    }


async def ingest(
    pool: StatementPool,
    items: Sequence[tuple[PreparedSubmission | None, list[Problem]]],
    raw_ids: Sequence[str | None],
) -> list[IngestResult]:
    """Store the valid surveys of a batch in one transaction; report each item's outcome.

    Idempotent: a survey whose id is stored already is a `duplicate` when its content is the
    same and a `conflict` when it differs; the stored survey is never changed. Concurrent
    senders of one id are serialised by the primary key (INSERT ... ON CONFLICT DO NOTHING).
    """
    results: list[IngestResult] = []
    first_of_id: dict[str, PreparedSubmission] = {}
    rows: list[dict[str, Any]] = []
    for index, (prepared, problems) in enumerate(items):
        if prepared is None:
            results.append(IngestResult(index, raw_ids[index], "invalid", problems=problems))
            continue
        results.append(IngestResult(index, str(prepared.id), "duplicate"))
        if str(prepared.id) not in first_of_id:
            first_of_id[str(prepared.id)] = prepared
            rows.append(submission_row(prepared))
    if not rows:
        return results
    records = await queries.insert_many(pool, rows)
    inserted = set(records)
    if len(records) < len(first_of_id):
        # Sent before, or committed by a concurrent sender meanwhile: a new statement sees it.
        records |= await queries.fetch_records_now(
            pool, [uuid.UUID(i) for i in first_of_id if i not in records]
        )
    claimed: set[str] = set()
    for result, (prepared, _) in zip(results, items, strict=True):
        if prepared is None:
            continue
        key = str(prepared.id)
        record = records.get(key)
        result.record = record
        if key in inserted and key not in claimed:
            result.outcome = "created"
            claimed.add(key)
        elif record is None or record["content_hash"] != prepared.content_hash:
            result.outcome = "conflict"
            result.problems = [Problem("id", "conflict", {"id": str(prepared.id)})]
    return results


async def ingest_one(
    pool: StatementPool, prepared: PreparedSubmission | None, problems: list[Problem]
) -> IngestResult:
    """Store one survey; raise InvalidInput or Conflict when it cannot be stored."""
    if prepared is None:
        raise InvalidInput(problems)
    (result,) = await ingest(pool, [(prepared, problems)], [str(prepared.id)])
    if result.outcome == "conflict":
        raise Conflict(id=str(prepared.id))
    return result


def redact(record: dict[str, Any], forms: FormRegistry) -> dict[str, Any]:
    """Drop personal answers (names, phones, photos) from a record's answers."""
    answers = record.get("answers")
    if not isinstance(answers, dict):
        return record
    try:
        personal = forms.get(record["form_id"], record["form_version"]).personal_fields
    except Exception:  # an unknown old form: keep nothing that could be personal
        personal = frozenset(answers)
    return {**record, "answers": {k: v for k, v in answers.items() if k not in personal}}


async def get_submission(engine: AsyncEngine, submission_id: uuid.UUID) -> dict[str, Any]:
    """One stored survey (with answers), or NotFound."""
    async with engine.connect() as connection:
        records = await queries.fetch_records(connection, [submission_id], with_answers=True)
    if str(submission_id) not in records:
        raise NotFound(what=f"survey {submission_id}")
    return records[str(submission_id)]


async def list_submissions(
    engine: AsyncEngine,
    *,
    city_id: int | None = None,
    ward_id: int | None = None,
    settlement_id: int | None = None,
    status: str | None = None,
    collected_from: datetime | None = None,
    collected_to: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:
    """A page of stored surveys and the total matching the filters."""
    async with engine.connect() as connection:
        return await queries.list_records(
            connection,
            city_id=city_id,
            ward_id=ward_id,
            settlement_id=settlement_id,
            status=status,
            collected_from=collected_from,
            collected_to=collected_to,
            limit=limit,
            offset=offset,
        )
