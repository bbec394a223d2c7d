"""The "does not apply" message of an answer given to a question its form hides: it names the
questions the hiding condition reads, by their labels, in each language of the app; never the
condition's XPath (`/data/g_community/savings_group = 'yes'` means nothing to a volunteer)."""

from __future__ import annotations

from typing import Any

from app.errors import Problem
from app.forms.definition import FormDefinition
from app.forms.xpath import parse
from app.i18n import LANGUAGES, translate


def _names_read(ast: Any, found: list[str]) -> None:
    """The question names an expression reads (the last step of each path, `${name}`)."""
    if not isinstance(ast, tuple) or not ast:
        return
    kind = ast[0]
    if kind == "path":
        steps = ast[2]
        named = [step[1] for step in steps if step[0] == "child" and step[1] not in (None, "*")]
        if named and named[-1] not in found:
            found.append(named[-1])
        if isinstance(ast[1], tuple):
            _names_read(ast[1], found)
        for step in steps:
            for predicate in step[2]:
                _names_read(predicate, found)
        return
    if kind == "ref":
        if ast[1] not in found:
            found.append(ast[1])
        return
    for part in ast[1:]:
        if isinstance(part, tuple):
            _names_read(part, found)
        elif isinstance(part, list):
            for item in part:
                _names_read(item, found)


def _label(labels: dict[str, str], language: str, name: str) -> str:
    return labels.get(language) or labels.get("default") or next(iter(labels.values()), name)


def not_relevant(form: FormDefinition, where: str, relevant: str | None) -> Problem:
    """The problem of an answer to a hidden question: the questions `relevant` reads, by
    their labels in each language; without them (a group's condition, or one that reads no
    question) the message names none."""
    questions = []
    if relevant:
        try:
            names: list[str] = []
            _names_read(parse(relevant), names)
        except Exception:  # compiled when the form loaded: never expected here
            names = []
        by_name = {q.name: q for q in form.all_questions}
        questions = [by_name[name] for name in names if name in by_name]
    if not questions:
        return Problem(where, "not_relevant")
    texts = {
        language: translate(
            "not_relevant_on",
            language,
            questions=", ".join(f"“{_label(q.label, language, q.name)}”" for q in questions),
        )
        for language in LANGUAGES
    }
    return Problem(where, "not_relevant", texts=texts)
