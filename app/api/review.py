"""Review of surveys, corrections by their volunteers, and the record of every change."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import (
    DATE_TIME,
    MAX_ID,
    CurrentUser,
    EngineDep,
    FormsDep,
    IdPath,
    SettingsDep,
    submitter,
    time_range,
)
from app.api.errors import error_body, request_language
from app.api.requests import json_object
from app.api.responses import JSON
from app.api.schemas import (
    MAX_VERSION,
    WRITE_ERRORS,
    CorrectionIn,
    ErrorOut,
    SubmissionRecord,
    component_body,
    model_body,
    record_out,
)
from app.errors import InvalidInput, Problem
from app.services import review
from app.services.check_runner import needs_whole_engine
from app.services.intake import PreparedSubmission, prepare_submission
from app.services.submissions import redact

router = APIRouter(tags=["review"])
ERRORS = WRITE_ERRORS


def whole_number(value: Any, most: int) -> int | None:
    """A whole number from 1 to `most` as a client names it (2.0 is 2: JSON has one kind of
    number, and JSON Schema's integer takes it); None when it is none (text, 2.5, true, a
    list, 0, past `most`...)."""
    if isinstance(value, float) and value.is_integer() and 1 <= value <= most:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        return None
    return value


def read_version(value: Any) -> int | None:
    """A survey's version as a client names it (whole_number), or None."""
    return whole_number(value, MAX_VERSION)


class ReviewIn(BaseModel):
    """A reviewer's decision; a comment is required to send back or reject."""

    decision: Literal["approved", "needs_correction", "rejected"]
    comment: str | None = Field(default=None, max_length=1000)
    version: int | None = Field(
        default=None,
        ge=1,
        le=MAX_VERSION,
        description="The survey's version the reviewer was shown: 409 "
        "`review_version_changed`, and nothing changes, when it is at another (its volunteer "
        "corrected it meanwhile). Absent: the decision is on whatever version it is at.",
    )
    status: Literal["received", "approved", "needs_correction", "rejected"] | None = Field(
        default=None,
        description="The survey's review status the reviewer was shown: 409 "
        "`review_status_changed`, and nothing changes, when it is in another (someone "
        "decided it meanwhile), unless it is already as this decision would leave it. "
        "Absent: `received` when `version` is given (the reviewer was shown the survey "
        "waiting), else not compared.",
    )


# The most surveys a bulk approval may name (a review page shows them 50 at a time).
MAX_SEEN = 5000


class SurveySeen(BaseModel):
    """A survey as the reviewer was shown it."""

    model_config = ConfigDict(extra="forbid")  # as surveys_seen reads it: another key is a 422

    id: uuid.UUID
    version: int = Field(ge=1, le=MAX_VERSION)


class SettlementReviewIn(BaseModel):
    """Approve the received surveys of a settlement at once (those the reviewer reviews)."""

    decision: Literal["approved"] = "approved"
    only_unflagged: bool = Field(default=False, description="leave flagged surveys for later")
    ward_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="only this ward's surveys (a settlement may reach into several wards)",
    )
    surveys: list[SurveySeen] | None = Field(
        default=None,
        max_length=MAX_SEEN,
        description="Only these surveys, each if still at the version the reviewer was shown "
        "(and still waiting, in this settlement, without flags when asked); the others are "
        "left as they are and counted apart in the answer (`changed`, `changed_ids`). "
        "Absent: every survey that matches. Either way the reviewer's own surveys (they "
        "collected them) are left and counted apart (`own`, `own_ids`).",
    )


# Sending back or rejecting needs a comment (the volunteer reads it).
COMMENT_RULE: dict[str, Any] = {
    "if": {
        "properties": {"decision": {"enum": ["needs_correction", "rejected"]}},
        "required": ["decision"],
    },
    "then": {
        "required": ["comment"],
        "properties": {"comment": {"type": "string", "pattern": "\\S"}},
    },
}


@router.post(
    "/api/v1/submissions/{submission_id:uuid}/review",
    responses=ERRORS,
    openapi_extra=model_body(ReviewIn, **COMMENT_RULE),
)
async def review_submission(
    submission_id: uuid.UUID, request: Request, user: CurrentUser, engine: EngineDep
) -> JSON:
    """Approve, send back for correction (the volunteer sees the comment) or reject. Never a
    survey one collected oneself, whatever one's role (409 `own_survey`): another ward leader
    or the city admin reviews it. With `version` (and `status`), only if the survey is still
    as the reviewer was shown it: 409 `review_version_changed` (corrected meanwhile) or
    `review_status_changed` (decided meanwhile: its body names the `status` now, the one
    `seen`, and `decided_by_you` when that decision is the reviewer's own, taken by a request
    whose answer was lost) and nothing changes."""
    body = await json_object(request)
    decision = body.get("decision")
    if decision is None:  # absent or null: was "'None' is not one of the choices"
        allowed = ", ".join(review.DECISIONS)
        raise InvalidInput([Problem("decision", "decision_missing", {"allowed": allowed})])
    # Absent or null: the decision is on whatever version the survey is at.
    version = body.get("version")
    if version is not None:
        version = read_version(version)
        if version is None:
            raise InvalidInput([Problem("version", "not_a_version")])
    # Absent or null: `received` when a version is named, else not compared.
    status = body.get("status")
    if status is not None and status not in review.STATUSES:
        allowed = ", ".join(review.STATUSES)
        raise InvalidInput(
            [Problem("status", "invalid_status", {"value": str(status)[:64], "allowed": allowed})]
        )
    try:
        result = await review.review(
            engine, user, submission_id, str(decision), body.get("comment"), version, status
        )
    except review.DecidedMeanwhile as refusal:
        # The status now and whether it is the reviewer's own decision, beside the message:
        # the page tells a lost answer to the reviewer's own tap from someone else's decision.
        message = refusal.message(request_language(request))
        return JSON({**error_body(refusal.code, message), **refusal.fields()}, status_code=409)
    return JSON(result)


@router.post(
    "/api/v1/settlements/{settlement_id}/review",
    responses=ERRORS,
    openapi_extra=model_body(SettlementReviewIn),
)
async def review_settlement(
    settlement_id: IdPath, request: Request, user: CurrentUser, engine: EngineDep
) -> JSON:
    """Approve a settlement's received surveys: its city's admins all, a ward leader those in
    their wards (a settlement may reach into several wards; each survey is in the ward of
    its point). 404 for a settlement holding none of the leader's wards' surveys and not
    drawn in their ward. With `surveys`, only those still at the version the reviewer was
    shown. The reviewer's own surveys are left waiting (`own`, `own_ids`)."""
    body = await json_object(request)
    if "decision" in body and body["decision"] is None:
        raise InvalidInput([Problem("decision", "decision_missing", {"allowed": "approved"})])
    if body.get("decision", "approved") != "approved":
        problem = Problem(
            "decision", "invalid_choice", {"value": body.get("decision"), "allowed": "approved"}
        )
        raise InvalidInput([problem])
    only_unflagged = body.get("only_unflagged", False)
    if not isinstance(only_unflagged, bool):
        raise InvalidInput([Problem("only_unflagged", "wrong_type", {"expected": "true/false"})])
    ward_id = body.get("ward_id")
    if ward_id is not None:
        ward_id = whole_number(ward_id, MAX_ID)
        if ward_id is None:
            raise InvalidInput([Problem("ward_id", "not_an_id")])
    seen = surveys_seen(body.get("surveys"))
    return JSON(
        await review.approve_settlement(engine, user, settlement_id, only_unflagged, ward_id, seen)
    )


def _survey_id(value: Any) -> uuid.UUID | None:
    """A survey id sent as text, or None."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def surveys_seen(value: Any) -> dict[uuid.UUID, int] | None:
    """The surveys a bulk approval names with the versions the reviewer was shown (absent or
    null: none named), or InvalidInput naming each bad item."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise InvalidInput([Problem("surveys", "wrong_type", {"expected": "list"})])
    if len(value) > MAX_SEEN:
        raise InvalidInput([Problem("surveys", "too_many_items", {"max": MAX_SEEN})])
    seen: dict[uuid.UUID, int] = {}
    problems: list[Problem] = []
    for index, item in enumerate(value):
        field = f"surveys[{index}]"
        if not isinstance(item, dict):
            problems.append(Problem(field, "wrong_type", {"expected": "object"}))
            continue
        problems.extend(
            Problem(f"{field}.{key}", "unknown_field", {"name": key})
            for key in item
            if key not in ("id", "version")
        )
        survey_id = _survey_id(item.get("id"))
        if survey_id is None:
            problems.append(Problem(f"{field}.id", "invalid_uuid"))
        version = read_version(item.get("version"))
        if version is None:
            problems.append(Problem(f"{field}.version", "not_a_version"))
        elif survey_id is not None:
            if survey_id in seen:
                problems.append(Problem(f"{field}.id", "listed_twice", {"id": str(survey_id)}))
            seen[survey_id] = version
    if problems:
        raise InvalidInput(problems[:50])
    return seen


@router.put(
    "/api/v1/submissions/{submission_id:uuid}",
    response_model=SubmissionRecord,
    responses=ERRORS,
    openapi_extra=component_body(CorrectionIn),
)
async def correct_submission(
    submission_id: uuid.UUID,
    request: Request,
    engine: EngineDep,
    forms: FormsDep,
    settings: SettingsDep,
) -> JSON:
    """A volunteer's correction of their own survey (same id, the whole new content) until it
    is approved or rejected; it waits for review again. Sending it twice changes nothing.
    `base_version` names the version it was made on: a retry after the reviewer sent the
    survey back again is then told from a new correction."""
    user = await submitter(request)
    raw = await json_object(request)
    # The version the correction was made on is no part of the survey's content.
    base_version = raw.pop("base_version", None)
    version_wrong = None
    if base_version is not None:
        base_version = read_version(base_version)
        if base_version is None:
            version_wrong = Problem("base_version", "not_a_version")
    now = datetime.now(UTC)

    def check() -> tuple[PreparedSubmission | None, list[Problem]]:
        return prepare_submission(
            raw,
            forms,
            now,
            future_tolerance=timedelta(seconds=settings.future_tolerance_seconds),
            low_accuracy_m=settings.gps_warning_accuracy_m,
            quality=request.app.state.quality,
            # Lateness is the first sending's: a correction keeps the flag the survey has
            # (review.correct) and never adds it.
            late_after=None,
            # Its expressions read the time of the correction, as the phone's editor does.
            evaluated_at=now,
        )

    if needs_whole_engine(forms, [raw]):  # on the worker thread (app.services.check_runner)
        prepared, problems = await request.app.state.check_runner.run(check)
    else:
        prepared, problems = check()
    if version_wrong is not None:
        raise InvalidInput([*problems, version_wrong])
    if prepared is None:
        raise InvalidInput(problems)
    outcome, record = await review.correct(
        engine, user, submission_id, prepared, base_version=base_version
    )
    return JSON(
        record_out(redact(record, forms, user)),
        headers={"X-Outcome": outcome},
    )


@router.get("/api/v1/submissions/{submission_id:uuid}/history", responses=ERRORS)
async def submission_history(
    submission_id: uuid.UUID, user: CurrentUser, engine: EngineDep, forms: FormsDep
) -> JSON:
    """Every change to a survey (who, when, what, the old value) and its earlier versions."""
    return JSON(await review.history(engine, forms, user, submission_id))


@router.get("/api/v1/me/surveys", responses={401: {"model": ErrorOut}, 422: {"model": ErrorOut}})
async def my_surveys(
    user: CurrentUser,
    engine: EngineDep,
    since: Annotated[str | None, Query(**DATE_TIME)] = None,
    after: Annotated[uuid.UUID | None, Query(description="the last id of the page before")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> JSON:
    """The signed-in volunteer's own surveys changed since a time: their review state, for
    the phone (comments to act on, surveys it may clear). Pages follow (updated_at, id):
    ask for the next with `since` = the last item's `updated_at` and `after` = its id, until
    `next` is null."""
    start, _ = time_range(since, None, names=("since", "to"))
    items = await review.own_surveys(engine, user, start, limit, after)
    last = items[-1] if len(items) == limit else None
    following = {"since": last["updated_at"], "after": str(last["id"])} if last else None
    return JSON({"items": items, "next": following})
