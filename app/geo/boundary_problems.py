"""Problems of a boundary import, said in every language and naming the file, and the
refusal that lists them (app.geo.boundary_files, app.geo.boundary_crs)."""

from __future__ import annotations

from typing import Any

from app.errors import InvalidInput, Problem
from app.i18n import LANGUAGES, translate

MAX_PROBLEMS = 60  # listed in one refusal; the rest are counted


def _texts(
    code: str, params: dict[str, Any], prefix: tuple[str, dict[str, Any]] | None
) -> dict[str, str]:
    texts = {}
    for language in LANGUAGES:
        text = translate(code, language, **params)
        if prefix is not None:
            text = f"{translate(prefix[0], language, **prefix[1])} {text}"
        texts[language] = text
    return texts


def layer_problem(kind: str, label: str, code: str, **params: Any) -> Problem:
    """A problem with a whole file or layer, naming the file."""
    params = {"file": label, **params}
    return Problem(kind, code, params, _texts(code, params, None))


def row_problem(kind: str, label: str, row: int, code: str, message: str, **params: Any) -> Problem:
    """A problem with one feature, naming the file, its row and its code."""
    where = {"file": label, "row": row, "feature": code or "—"}
    return Problem(
        f"{kind}[{row}]", message, params, _texts(message, params, ("boundary_row", where))
    )


def refusal(problems: list[Problem]) -> InvalidInput:
    """All the problems in one refusal, at most MAX_PROBLEMS listed."""
    if len(problems) > MAX_PROBLEMS:
        more = len(problems) - MAX_PROBLEMS
        extra = Problem("", "boundary_more_problems", {"count": more})
        problems = [*problems[:MAX_PROBLEMS], extra]
    return InvalidInput(problems)
