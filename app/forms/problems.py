"""Why a form file cannot be used: each reason a message code, placed in the workbook.

A form problem is an app.errors.Problem whose params say where the author fixes it (the
sheet, the row or rows, the column) beside what the message names (a question, a list, an
expression); app/i18n.py holds every text, so the admin reads it in Vietnamese or English and
the log in English. Text from the form only ever fills a parameter of a fixed message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.errors import Problem
from app.i18n import translate

# The params that place a problem in the workbook, in the order the message names them.
LOCATION = ("sheet", "row", "rows", "column")
LOG_LANGUAGE = "en"


class CodedError(ValueError):
    """A reason as a message code with params; str() is its English message (for logs)."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params
        super().__init__(translate(code, LOG_LANGUAGE, **params))


@dataclass(frozen=True)
class FormProblem(Problem):
    """One reason a form file cannot be used; `field` is its sheet ("" for the whole file)."""

    def message(self, language: str) -> str:
        """Where (sheet, row, column) and why, in the given language."""
        reason = translate(self.code, language, **self.params)
        if "expression" in self.params:
            reason += translate("form_in_expression", language, **self.params)
        where = location_text(self.params, language)
        return f"{where}: {reason}" if where else reason

    def as_dict(self, language: str) -> dict[str, Any]:
        """JSON shape: code, message, the location's params, and the message's other params."""
        out: dict[str, Any] = {"code": self.code, "message": self.message(language)}
        out |= {key: self.params[key] for key in LOCATION if key in self.params}
        details = {k: v for k, v in self.params.items() if k not in LOCATION}
        if details:
            out["params"] = details
        return out


def location_text(params: dict[str, Any], language: str) -> str:
    """'survey sheet, row 6, column relevant' in the given language (what is known of it)."""
    parts = []
    for key in LOCATION:
        value = params.get(key)
        if value is None:
            continue
        if key == "rows":
            value = ", ".join(str(row) for row in value)
        parts.append(translate(f"form_at_{key}", language, **{key: value}))
    return ", ".join(parts)


def form_problem(
    code: str,
    sheet: str | None = None,
    row: int | None = None,
    column: str | None = None,
    rows: Sequence[int] | None = None,
    **params: Any,
) -> FormProblem:
    """A problem at a place of the workbook; a row of 0 (not known) is left out."""
    location: dict[str, Any] = {"sheet": sheet, "row": row or None, "column": column}
    if rows:
        location["rows"] = list(rows)
    located = {key: value for key, value in location.items() if value is not None}
    return FormProblem(sheet or "", code, {**located, **params})


def messages(problems: Sequence[Problem], language: str = LOG_LANGUAGE) -> list[str]:
    """Each problem's message in the given language (English: the logs')."""
    return [problem.message(language) for problem in problems]


# pyxform's own way of placing a message: "[row : 6] On the 'survey' sheet, the 'relevant'
# value is invalid. ..."
_PYXFORM_ROW = re.compile(r"^\[row : (\d+)\]\s*")
_PYXFORM_SHEET = re.compile(r"^On the '(\w+)' sheet, ")
_PYXFORM_COLUMN = re.compile(r"^the '([^']+)' value\b")


def pyxform_problem(message: str) -> FormProblem:
    """pyxform's message (English only) as a problem placed where pyxform says it is."""
    row = _PYXFORM_ROW.match(message)
    rest = message[row.end() :] if row else message
    sheet = _PYXFORM_SHEET.match(rest)
    if sheet is None:
        return form_problem("form_pyxform", row=int(row.group(1)) if row else None, error=rest)
    rest = rest[sheet.end() :]
    column = _PYXFORM_COLUMN.match(rest)
    return form_problem(
        "form_pyxform",
        sheet.group(1),
        int(row.group(1)) if row else None,
        column.group(1) if column else None,
        error=rest,
    )
