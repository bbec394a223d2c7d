"""Review of surveys, corrections by their volunteers, and the record of every change."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

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
from app.services.intake import prepare_submission
from app.services.submissions import redact

router = APIRouter(tags=["review"])
ERRORS = WRITE_ERRORS


def version_problem(value: Any, field: str) -> Problem | None:
    """What is wrong with a version a client names (absent or null: nothing, it names none)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_VERSION:
        return Problem(field, "not_a_version")
    return None


class ReviewIn(BaseModel):
    """A reviewer's decision; a comment is required to send back or reject."""

    decision: Literal["approved", "needs_correction", "rejected"]
    comment: str | None = Field(default=None, max_length=1000)


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
    """Approve, send back for correction (the volunteer sees the comment) or reject."""
    body = await json_object(request)
    decision = body.get("decision")
    if decision is None:  # absent or null: was "'None' is not one of the choices"
        allowed = ", ".join(review.DECISIONS)
        raise InvalidInput([Problem("decision", "decision_missing", {"allowed": allowed})])
    result = await review.review(engine, user, submission_id, str(decision), body.get("comment"))
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
    drawn in their ward."""
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
    if ward_id is not None and (
        isinstance(ward_id, bool) or not isinstance(ward_id, int) or not 1 <= ward_id <= MAX_ID
    ):
        raise InvalidInput([Problem("ward_id", "not_an_id")])
    return JSON(
        await review.approve_settlement(engine, user, settlement_id, only_unflagged, ward_id)
    )


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
    version_wrong = version_problem(base_version, "base_version")
    prepared, problems = prepare_submission(
        raw,
        forms,
        datetime.now(UTC),
        future_tolerance=timedelta(seconds=settings.future_tolerance_seconds),
        low_accuracy_m=settings.gps_warning_accuracy_m,
        quality=request.app.state.quality,
        # A correction keeps the survey's first collection time: days later is no late upload.
        late_after=None,
    )
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
