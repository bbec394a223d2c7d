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
from app.forms.definition import FILE_QUESTION_TYPES, Question
from app.forms.registry import FormRegistry
from app.i18n import translate
from app.services import places, review
from app.settings import Settings
from app.text import isolated

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
    "outside_assigned_city",
    "shape_self_intersects",
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
    "review_no_location",
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
    "review_bulk_unseen",
    "review_bulk_none_shown",
    "review_bulk_changed",
    "review_bulk_own",
    "review_own",
    "review_changed",
    "review_changed_gone",
    "review_survey_gone",
    "review_decided_gone",
    "review_decided_yours",
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


# What a card never lists: places (the map shows the point), files (never on the card),
# notes and computed values (nobody answered them).
NOT_LISTED = (
    frozenset({"note", "geopoint", "geoshape", "geotrace", "calculate", "hidden", "start-geopoint"})
    | FILE_QUESTION_TYPES
)
TITLE_TYPES = frozenset({"text"})


def _label(value: Any, language: str) -> str:
    if isinstance(value, dict):
        return str(value.get(language) or value.get("vi") or next(iter(value.values()), ""))
    return "" if value is None else str(value)


def _question_entry(question: Question, language: str) -> dict[str, Any]:
    return {
        "label": _label(question.label, language) or question.name,
        "choices": {c.value: _label(c.label, language) for c in question.choices},
    }


def form_summary(
    forms: FormRegistry, form_id: str, language: str, household_form: str
) -> dict[str, Any]:
    """How the page shows a survey of a form: its title, the question a card is titled by,
    and the questions listed (with their choices' labels) in the page's language.

    The household form keeps its key questions and the head of household; any other form is
    titled by its first text question that is not personal (a settlement profile by the
    settlement's name) and lists every answered question of every version, newest first.
    """
    versions = forms.newest_first(form_id)
    current = versions[0]
    questions: dict[str, Question] = {}
    for form in versions:
        for question in form.questions:
            questions.setdefault(question.name, question)
    if form_id == household_form:
        title_question: str | None = "head_name"
        title_label = translate("page.review_head", language)
        untitled: str | None = translate("page.review_no_name", language)
        listed = [name for name in KEY_QUESTIONS if name in questions]
    else:
        title = next(
            (q for q in questions.values() if q.type in TITLE_TYPES and not q.personal), None
        )
        title_question = title.name if title is not None else None
        title_label = _question_entry(title, language)["label"] if title is not None else ""
        untitled = None  # the card says "—", the toast the form's title
        listed = [
            q.name
            for q in questions.values()
            if q.type not in NOT_LISTED and q.name != title_question
        ]
    return {
        "title": _label(current.title, language) or form_id,
        "title_question": title_question,
        "title_label": title_label,
        "untitled": untitled,
        "questions": listed,
        "answers": {name: _question_entry(questions[name], language) for name in listed},
    }


def forms_summary(forms: FormRegistry, language: str, household_form: str) -> dict[str, Any]:
    """form_summary of every form the server knows, by form id."""
    return {
        form_id: form_summary(forms, form_id, language, household_form)
        for form_id in sorted(forms.versions)
        if forms.versions[form_id]
    }


def page_config(
    ward: dict[str, Any],
    forms: FormRegistry,
    settings: Settings,
    language: str,
    user_id: int | None = None,
) -> dict[str, Any]:
    """What the page's script needs, written into the page as JSON (never as script);
    `user_id`, the reviewer's, tells their own surveys (another reviews them)."""
    return {
        "ward": {"id": ward["id"], "name": ward["name"], "city": ward["city_name"]},
        "user_id": user_id,
        "language": language,
        "page_size": QUEUE_PAGE,
        "forms": forms_summary(forms, language, settings.household_form),
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
        title=f"{translate('page.review', language)}: {isolated(chosen['name'])}",
        ward=chosen,
        wards=wards,
        config=page_config(chosen, forms, settings, language, user.user_id),
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
    settlement (received, and received without flags: what a bulk approval takes, but the
    reader's own, counted apart as `own_unflagged`)."""
    return JSON(await review.ward_review_counts(engine, user, ward_id))
