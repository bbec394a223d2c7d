"""The review page of ward leaders and city admins, and the two small reads it needs.

`GET /review` is a fixed template; the queue itself comes from the surveys API (which applies
the reader's scope and shows personal fields only to those who may see them) and is written
into the page by static/review/review.js with textContent only. Decisions go through the
review API with the page's CSRF token.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.deps import (
    CurrentUser,
    EngineDep,
    FormsDep,
    IdPath,
    LanguageDep,
    OptionalUser,
    SettingsDep,
)
from app.api.pages import render_page, sign_in_first
from app.api.responses import JSON
from app.api.schemas import ErrorOut
from app.errors import UnknownForm
from app.forms.registry import FormRegistry
from app.i18n import translate
from app.services import places, review
from app.settings import Settings

router = APIRouter(tags=["review"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    404: {"model": ErrorOut},
    422: {"model": ErrorOut},
}

# Answers a reviewer checks at a glance (personal ones are in the list only for those who
# may see them: the head of household's name is shown apart).
KEY_QUESTIONS = (
    "household_size",
    "poverty_status",
    "tenure",
    "house_condition",
    "water_source",
    "sanitation",
    "flooding",
    "eviction_threat",
    "needs_notes",
)
FLAGS = (
    "low_gps_accuracy",
    "outside_wards",
    "outside_cities",
    "clock_skew",
    "possible_duplicate",
    "contradiction",
    "late_upload",
    "outside_assigned_ward",
)
# Page texts the script needs (each `page.<key>` in app/i18n.py).
SCRIPT_TEXTS = (
    "review_loading",
    "review_empty",
    "review_waiting_count",
    "review_load_more",
    "review_collected",
    "review_collector",
    "review_settlement",
    "review_no_settlement",
    "review_head",
    "review_no_name",
    "review_comment",
    "review_approve",
    "review_send_back",
    "review_reject",
    "review_done_approved",
    "review_done_needs_correction",
    "review_done_rejected",
    "review_change",
    "review_current",
    "review_keep",
    "review_network_error",
    "review_error",
    "review_retry",
    "review_signed_out",
    "review_bulk_button",
    "review_bulk_waiting",
    "review_bulk_confirm",
    "review_bulk_done",
    "review_bulk_none",
    "review_outside_settlements",
    "review_gps",
    "review_manual",
    "review_show_on_map",
    "review_flags",
    "review_no_volunteers",
)
QUEUE_PAGE = 50


class GeoJSON(JSON):
    """application/geo+json rendered by orjson."""

    media_type = "application/geo+json"


def _label(value: Any, language: str) -> str:
    if isinstance(value, dict):
        return str(value.get(language) or value.get("vi") or next(iter(value.values()), ""))
    return "" if value is None else str(value)


def answer_labels(forms: FormRegistry, form_id: str, language: str) -> dict[str, Any]:
    """Labels of the key questions and their choices in the current household form."""
    try:
        form = forms.get(form_id, None)
    except UnknownForm:
        return {}
    labels: dict[str, Any] = {}
    for question in form.questions:
        if question.name in KEY_QUESTIONS:
            labels[question.name] = {
                "label": _label(question.label, language),
                "choices": {c.value: _label(c.label, language) for c in question.choices},
            }
    return {name: labels[name] for name in KEY_QUESTIONS if name in labels}


def page_config(
    ward: dict[str, Any], forms: FormRegistry, settings: Settings, language: str
) -> dict[str, Any]:
    """What the page's script needs, written into the page as JSON (never as script)."""
    return {
        "ward": {"id": ward["id"], "name": ward["name"], "city": ward["city_name"]},
        "language": language,
        "page_size": QUEUE_PAGE,
        "key_questions": list(KEY_QUESTIONS),
        "answers": answer_labels(forms, settings.household_form, language),
        "flags": {flag: translate(f"page.flag.{flag}", language) for flag in FLAGS},
        "texts": {
            **{key: translate(f"page.{key}", language) for key in SCRIPT_TEXTS},
            "comment_required": translate("comment_required", language),
        },
        "basemap": (
            {"url": settings.basemap_tiles_url, "attribution": settings.basemap_attribution}
            if settings.basemap_tiles_url
            else None
        ),
    }


def _problem_page(
    request: Request, language: str, user: Any, status_code: int, kind: str
) -> Response:
    return render_page(
        request,
        "review.html",
        language,
        user,
        status_code=status_code,
        title=translate(f"page.review_{kind}_title", language),
        problem={
            "title": translate(f"page.review_{kind}_title", language),
            "text": translate(f"page.review_{kind}", language),
        },
    )


@router.get("/review", include_in_schema=False)
async def review_page(
    request: Request,
    user: OptionalUser,
    engine: EngineDep,
    forms: FormsDep,
    settings: SettingsDep,
    language: LanguageDep,
    ward: str | None = None,
) -> Response:
    """The queue of a ward's surveys waiting for review, a map, bulk approval, and counts
    per volunteer; for ward leaders and city (or national) admins."""
    if user is None:
        return sign_in_first(request)
    if not user.has_role("ward_leader", "city_admin"):
        return _problem_page(request, language, user, 403, "forbidden")
    wards = await review.reviewable_wards(engine, user)
    if ward is not None:
        chosen = next((w for w in wards if ward.isdigit() and str(w["id"]) == ward), None)
        if chosen is None:  # another's ward looks like one that does not exist
            return _problem_page(request, language, user, 404, "not_found")
    elif wards:
        chosen = wards[0]
    else:
        return _problem_page(request, language, user, 200, "no_wards")
    return render_page(
        request,
        "review.html",
        language,
        user,
        title=f"{translate('page.review', language)}: {chosen['name']}",
        ward=chosen,
        wards=wards,
        config=page_config(chosen, forms, settings, language),
    )


@router.get(
    "/api/v1/wards/{ward_id}/outline",
    responses={200: {"content": {"application/geo+json": {}}}, **ERRORS},
)
async def ward_outline(ward_id: IdPath, user: CurrentUser, engine: EngineDep) -> GeoJSON:
    """The ward's boundary and its settlements' (GeoJSON), for those who may read the ward."""
    return GeoJSON(await places.ward_outline(engine, ward_id, user))


@router.get("/api/v1/wards/{ward_id}/review-counts", responses=ERRORS)
async def ward_review_counts(ward_id: IdPath, user: CurrentUser, engine: EngineDep) -> JSON:
    """Surveys of the ward by review status, per volunteer (with their flags) and per
    settlement (received, and received without flags: what a bulk approval takes)."""
    return JSON(await review.ward_review_counts(engine, user, ward_id))
