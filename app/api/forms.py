"""Form definitions as JSON, for the phone app and integrators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from app.api.deps import CurrentUser, FormsDep, LanguageDep
from app.api.responses import JSON
from app.api.schemas import ErrorOut
from app.errors import NotFound, UnknownForm
from app.forms.definition import FormDefinition

router = APIRouter(prefix="/api/v1/forms", tags=["forms"])


def _summary(form: FormDefinition) -> dict[str, Any]:
    return {
        "form_id": form.form_id,
        "version": form.version,
        "title": form.title,
        "languages": form.languages,
        "default_language": form.default_language,
        "md5": form.md5,
    }


@router.get("")
async def list_forms(user: CurrentUser, forms: FormsDep, language: LanguageDep) -> JSON:
    """The current version of every form, and why each form file that is not used was
    refused: per file, its problems (code, message in the request's language, sheet, row or
    rows, column, and the message's other params)."""
    return JSON(
        {
            "forms": [_summary(form) for form in forms.all_current()],
            "problems": {
                name: [problem.as_dict(language) for problem in problems]
                for name, problems in forms.problems.items()
            },
        }
    )


@router.get("/{form_id}", responses={404: {"model": ErrorOut}})
async def read_form(
    form_id: str, user: CurrentUser, request: Request, version: str | None = None
) -> JSON:
    """A form definition: the form model (docs/forms-engine.md), pyxform's JSON, and the
    flattened questions outside repeats (with `${name}` expressions) for older phones."""
    # The version the phone was given (maybe by another server process, seconds newer).
    forms = await request.app.state.forms.having(form_id, version)
    try:
        form = forms.get(form_id, version)
    except UnknownForm as exc:  # a missing resource here, not an invalid submission
        raise NotFound(exc.code, **exc.params) from exc
    questions = [
        {
            "name": q.name,
            "type": q.type,
            "group": q.group,
            "label": q.label,
            "hint": q.hint,
            "required": q.required,
            "required_message": q.required_message,
            "relevant": form.source_binds.get(q.name, {}).get("relevant"),
            "constraint": form.source_binds.get(q.name, {}).get("constraint"),
            "constraint_message": q.constraint_message,
            "choices": [{"value": c.value, "label": c.label} for c in q.choices],
            "personal": q.personal,
            "appearance": q.appearance,
            "parameters": q.parameters,
        }
        for q in form.questions
    ]
    return JSON(
        {**_summary(form), "questions": questions, "source": form.source, "model": form.model}
    )
