"""Household survey intake: single and batch submissions, reads with filters."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Container
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from app.api.deps import (
    DATE_TIME,
    MAX_ID,
    BatchPoolDep,
    CurrentUser,
    EngineDep,
    FormsDep,
    IdQuery,
    LanguageDep,
    OptionalCityQuery,
    SettingsDep,
    StatusQuery,
    submitter,
    time_range,
)
from app.api.errors import error_body
from app.api.requests import is_json, parse_json
from app.api.responses import JSON
from app.api.schemas import (
    BatchIn,
    BatchOut,
    ErrorOut,
    SubmissionIn,
    SubmissionRecord,
    SubmissionsPage,
    component_body,
    record_out,
)
from app.errors import InvalidInput, Problem, UnsupportedMediaType
from app.forms.quality import NO_RULES, QualityRules
from app.forms.registry import FormRegistry
from app.services import places, submissions
from app.services.check_runner import needs_whole_engine
from app.services.intake import PreparedSubmission, all_clean, prepare_submission
from app.settings import Settings

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/submissions", tags=["submissions"])
ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut},
    413: {"model": ErrorOut},
    415: {"model": ErrorOut},
    422: {"model": ErrorOut},
    503: {"model": ErrorOut, "description": "Nothing stored: send again after Retry-After"},
}


async def _json_body(request: Request) -> Any:
    # Only JSON is read as JSON: a page on another site can send text/plain (or no type)
    # without asking, but never application/json.
    if not is_json(request.headers.get("content-type")):
        raise UnsupportedMediaType("json_required")
    return parse_json(await request.body())


def _checker(
    forms: FormRegistry,
    settings: Settings,
    known_cities: Container[str] | None = None,
    quality: QualityRules = NO_RULES,
    clean: bool = False,
) -> Callable[[Any], tuple[PreparedSubmission | None, list[Problem]]]:
    """prepare_submission with the settings and the time read once, for every survey of a
    request (`clean`: intake.all_clean holds for them all)."""
    future_tolerance = timedelta(seconds=settings.future_tolerance_seconds)
    low_accuracy_m = settings.gps_warning_accuracy_m
    late_after = timedelta(days=settings.late_upload_days)
    now = datetime.now(UTC)

    def check(raw: Any) -> tuple[PreparedSubmission | None, list[Problem]]:
        try:
            return prepare_submission(
                raw,
                forms,
                now,
                future_tolerance=future_tolerance,
                low_accuracy_m=low_accuracy_m,
                known_cities=known_cities,
                quality=quality,
                late_after=late_after,
                clean=clean,
            )
        except Exception:
            # A bug, but only this survey's: the others of its batch are stored, and the
            # phone is told which one could not be checked instead of retrying the whole
            # outbox for ever.
            log.exception("survey could not be checked")
            return None, [Problem("", "internal_error")]

    return check


@router.post(
    "",
    status_code=201,
    response_model=SubmissionRecord,
    responses={
        200: {"model": SubmissionRecord, "description": "Sent before: nothing new stored"},
        **ERRORS,
    },
    openapi_extra=component_body(SubmissionIn),
)
async def create_submission(request: Request) -> JSON:
    """Store one household survey; a resend of the same survey answers 200 and stores nothing."""
    # Every phone's hot path: the app's state is read directly; resolving three FastAPI
    # dependencies took a measurable share (~5 %) of this request's CPU.
    state = request.app.state
    user = await submitter(request)
    forms = await state.forms.current()
    raw = await _json_body(request)
    cities = await submissions.known_cities(state.ingest_pool, [raw])
    check = _checker(forms, state.settings, cities, state.quality)
    if needs_whole_engine(forms, [raw]):
        prepared, problems = await state.check_runner.run(lambda: check(raw))
    else:
        prepared, problems = check(raw)
    result = await submissions.ingest_one(
        state.ingest_pool, prepared, problems, user.user_id, user.assignment()
    )
    assert result.record is not None
    status = 201 if result.outcome == "created" else 200
    # The sender's own survey: its answers are theirs, its duplicate flag is the reviewer's.
    record = submissions.without_hidden_flags(result.record, user)
    return JSON(record_out(record), status_code=status)


@router.post(
    "/batch",
    response_model=BatchOut,
    responses=ERRORS,
    openapi_extra=component_body(BatchIn),
)
async def create_batch(
    request: Request,
    pool: BatchPoolDep,
    forms: FormsDep,
    settings: SettingsDep,
    language: LanguageDep,
) -> JSON:
    """Store up to 500 surveys (a phone's outbox); answer each item on its own."""
    user = await submitter(request)
    raw = await _json_body(request)
    items = raw.get("submissions") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise InvalidInput([Problem("submissions", "wrong_type", {"expected": "list"})])
    if len(items) > settings.max_batch_items:
        # A 422 naming the field: the body may be small (500 empty objects), it is the
        # number of surveys that is refused.
        problem = Problem(
            "submissions", "batch_too_large", {"max": settings.max_batch_items, "count": len(items)}
        )
        message = problem.message(language)
        return JSON(
            error_body("batch_too_large", message, [problem.as_dict(language)]), status_code=422
        )
    cities = await submissions.known_cities(pool, items)
    quality = request.app.state.quality
    check = _checker(forms, settings, cities, quality, all_clean(items))
    # Every survey is checked, then the new ones are stored (submissions.ingest): on the
    # worker thread when a form needs the whole engine (app.services.check_runner).
    prepared: list[tuple[PreparedSubmission | None, list[Problem]]]
    if needs_whole_engine(forms, items):
        prepared = await request.app.state.check_runner.run(lambda: list(map(check, items)))
    else:
        prepared = await check_in_turns(check, items)
    raw_ids = [
        str(item.get("id")) if isinstance(item, dict) and item.get("id") else None for item in items
    ]
    try:
        results = await submissions.ingest(
            pool,
            prepared,
            raw_ids,
            collector_user_id=user.user_id,
            assignment=user.assignment(),
        )
    finally:
        # The duplicate checks its statements queued run once batches pause (stored in part
        # too: an error may cut a batch short after a statement committed).
        request.app.state.duplicate_checks.batch_answered()
    summary = {"created": 0, "duplicate": 0, "conflict": 0, "invalid": 0}
    out = []
    for result in results:
        summary[result.outcome] += 1
        out.append(
            {
                "index": result.index,
                "id": result.id,
                "outcome": result.outcome,
                "errors": [p.as_dict(language) for p in result.problems],
            }
        )
    response = JSON({"summary": summary, "results": out})
    # Freeing a batch (the parsed body, its checked surveys, their outcomes: ~10^5 objects)
    # takes ~1.5 ms: done once the answer is written, not before it (the event loop's next
    # turn holds the last references).
    asyncio.get_running_loop().call_soon(_free, raw, prepared, results, out)
    return response


# Surveys checked between two turns of the event loop: a phone's 500 take ~15 ms of the
# server's Python, which other requests (another phone's single survey) need not wait for.
CHECKS_PER_TURN = 100


async def check_in_turns(
    check: Callable[[Any], tuple[PreparedSubmission | None, list[Problem]]], items: list[Any]
) -> list[tuple[PreparedSubmission | None, list[Problem]]]:
    """Every item checked, in order, the event loop given a turn after each CHECKS_PER_TURN."""
    checked: list[tuple[PreparedSubmission | None, list[Problem]]] = []
    for start in range(0, len(items), CHECKS_PER_TURN):
        if start:
            await asyncio.sleep(0)
        checked.extend(map(check, items[start : start + CHECKS_PER_TURN]))
    return checked


def _free(*_batch: object) -> None:
    """Nothing: the batch's last references go with this call's arguments."""


# `:uuid` makes a path that is no survey id (GET /batch) a 404 or 405, not a 422.
@router.get(
    "/{submission_id:uuid}", response_model=SubmissionRecord, responses={404: {"model": ErrorOut}}
)
async def read_submission(
    submission_id: uuid.UUID, user: CurrentUser, engine: EngineDep, forms: FormsDep
) -> JSON:
    """One stored survey; personal fields only for the roles that may see them."""
    record = await submissions.get_submission(engine, submission_id, user)
    return JSON(record_out(submissions.redact(record, forms, user)))


@router.get("", response_model=SubmissionsPage, responses={404: {"model": ErrorOut}})
async def list_submissions(
    user: CurrentUser,
    engine: EngineDep,
    forms: FormsDep,
    settings: SettingsDep,
    city: OptionalCityQuery = None,
    ward: IdQuery = None,
    settlement: IdQuery = None,
    status: StatusQuery = None,
    collected_from: Annotated[str | None, Query(alias="from", **DATE_TIME)] = None,
    collected_to: Annotated[str | None, Query(alias="to", **DATE_TIME)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    after: Annotated[
        str | None,
        Query(max_length=200, json_schema_extra={"pattern": "^[A-Za-z0-9_-]+$"}),
    ] = None,
) -> JSON:
    """The surveys this person may read, newest first, filtered by city, ward, settlement,
    status and date range. Page on with `after=` the answer's `next` (a keyset cursor: as
    fast deep in the list as on its first page); `offset` still works but reads every row it
    skips (slow past some ten thousand rows). A page after a cursor has no `total`."""
    time_from, time_to = time_range(collected_from, collected_to)
    city_id = (await places.city(engine, city, user))["id"] if city else None
    page = await submissions.list_submissions(
        engine,
        scope=user.survey_filter(),
        city_id=city_id,
        ward_id=ward,
        settlement_id=settlement,
        status=status,
        collected_from=time_from,
        collected_to=time_to,
        limit=min(limit, settings.max_page_size),
        offset=offset,
        after=after,
    )
    items = [record_out(submissions.redact(row, forms, user)) for row in page.rows]
    return JSON(
        {
            "total": page.total,
            "limit": limit,
            "offset": offset,
            "next": page.next,
            "items": items,
        }
    )
