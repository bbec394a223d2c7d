"""Form definitions read from XLSForm files with pyxform, and the supported subset."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from app.forms.xpath import ExpressionError, Node, Predicate, compile_predicate, parse, references

# Question types the phone app renders and the server validates.
VALUE_TYPES = frozenset(
    {
        "text",
        "integer",
        "decimal",
        "select_one",
        "select_multiple",
        "geopoint",
        "geotrace",
        "geoshape",
        "image",
        "date",
        "datetime",
        "note",
    }
)
# Metadata the phone fills in by itself.
META_TYPES = frozenset({"start", "end", "today", "deviceid", "username", "audit"})
GROUP_TYPES = frozenset({"begin_group", "begin group", "end_group", "end group"})
SUPPORTED_SURVEY_COLUMNS = frozenset(
    {
        "type",
        "name",
        "label",
        "hint",
        "required",
        "required_message",
        "relevant",
        "constraint",
        "constraint_message",
        "appearance",
        "parameters",
        "personal",
        "guidance_hint",
    }
)
SUPPORTED_SETTINGS = frozenset(
    {
        "form_title",
        "form_id",
        "version",
        "default_language",
        "instance_name",
        "style",
        "public_key",
        "submission_url",
    }
)


class FormLoadError(ValueError):
    """An XLSForm that cannot be used, with every problem found (sheet, row, reason)."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))


# What a choice name may hold: several are stored separated by spaces (select_multiple), and
# exports write them into JSON as they are, so no space, quote, backslash or control character.
SAFE_CHOICE_NAME = re.compile(r'^[^\s"\\\x00-\x1f\x7f]+$')


@dataclass(frozen=True)
class Choice:
    value: str
    label: dict[str, str]


@dataclass(frozen=True)
class Question:
    """One question, flattened out of its groups."""

    name: str
    type: str
    label: dict[str, str]
    hint: dict[str, str] = field(default_factory=dict)
    group: str | None = None
    required: bool = False
    required_message: dict[str, str] = field(default_factory=dict)
    relevant: str | None = None
    constraint: str | None = None
    constraint_message: dict[str, str] = field(default_factory=dict)
    choices: tuple[Choice, ...] = ()
    personal: bool = False
    appearance: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    relevant_expression: Node | None = None
    constraint_expression: Node | None = None

    @cached_property
    def choice_values(self) -> frozenset[str]:
        """The allowed choice values of a select question."""
        return frozenset(choice.value for choice in self.choices)

    @cached_property
    def is_relevant(self) -> Predicate | None:
        """The compiled `relevant` expression: (answers so far, None) -> shown or not."""
        return (
            None
            if self.relevant_expression is None
            else compile_predicate(self.relevant_expression)
        )

    @cached_property
    def is_allowed(self) -> Predicate | None:
        """The compiled `constraint` expression: (answers so far, this answer) -> valid."""
        return (
            None
            if self.constraint_expression is None
            else compile_predicate(self.constraint_expression)
        )


@dataclass(frozen=True)
class FormDefinition:
    """A form version: what the phone renders and what the server validates against."""

    form_id: str
    version: str
    title: dict[str, str]
    default_language: str | None
    languages: tuple[str, ...]
    questions: tuple[Question, ...]
    source: dict[str, Any]  # pyxform's JSON, for the phone app
    xform: str  # the XForm XML (ODK Collect)
    md5: str
    filename: str

    @cached_property
    def by_name(self) -> dict[str, Question]:
        """Questions keyed by name."""
        return {question.name: question for question in self.questions}

    @cached_property
    def answerable(self) -> tuple[Question, ...]:
        """The questions that take an answer (notes do not), in form order."""
        return tuple(q for q in self.questions if q.type != "note")

    @cached_property
    def personal_fields(self) -> frozenset[str]:
        """Names of the questions marked personal (never in public or planner outputs)."""
        return frozenset(q.name for q in self.questions if q.personal)

    @cached_property
    def geopoint_question(self) -> Question | None:
        """The first geopoint question: the survey's location."""
        return next((q for q in self.questions if q.type == "geopoint"), None)

    def public_fields(self) -> list[Question]:
        """Questions whose answers may appear in planner exports."""
        return [
            q
            for q in self.questions
            if not q.personal and q.type not in ("note", "geopoint", "image")
        ]


def _yes(value: Any) -> bool:
    return str(value).strip().lower() in ("yes", "true", "true()", "1")


def _translations(value: Any, default_language: str | None) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return {default_language or "default": str(value)}


def _language_code(language: str) -> str:
    """'Tiếng Việt (vi)' -> 'vi'; 'default' and unknown labels stay as they are."""
    if language.endswith(")") and "(" in language:
        return language[language.rindex("(") + 1 : -1].strip()
    return language


def _by_code(value: dict[str, str]) -> dict[str, str]:
    return {_language_code(k): v for k, v in value.items()}


def _unsupported_rows(workbook: Any) -> Iterator[str]:
    """Problems in the raw sheets, named by sheet and row as the form author sees them."""
    rows = getattr(workbook, "survey", None) or []
    for index, row in enumerate(rows):
        row_number = index + 2  # header is row 1
        kind = str(row.get("type", "")).strip()
        base = kind.split(" ")[0] if kind else ""
        if not kind:
            continue
        if base not in VALUE_TYPES | META_TYPES and kind not in GROUP_TYPES:
            yield f"survey sheet, row {row_number}: question type '{kind}' is not supported"
        for column in row:
            name = column.split("::")[0].strip()
            if name and name not in SUPPORTED_SURVEY_COLUMNS:
                yield f"survey sheet, row {row_number}: column '{column}' is not supported"
    for index, row in enumerate(getattr(workbook, "settings", None) or []):
        for column in row:
            if column not in SUPPORTED_SETTINGS:
                yield f"settings sheet, row {index + 2}: setting '{column}' is not supported"


def _parameters(value: Any) -> dict[str, str]:
    """pyxform gives parameters as a dict or as the raw 'key=value key=value' text."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    pairs = (item.split("=", 1) for item in str(value or "").split() if "=" in item)
    return {key.strip(): val.strip() for key, val in pairs}


def _row_numbers(workbook: Any) -> dict[str, int]:
    rows = getattr(workbook, "survey", None) or []
    return {str(row.get("name")): index + 2 for index, row in enumerate(rows) if row.get("name")}


def _walk(
    children: Iterable[dict[str, Any]], group: str | None
) -> Iterator[tuple[dict, str | None]]:
    for child in children:
        if child.get("type") == "group" and child.get("name") == "meta":
            continue  # pyxform's instanceID / instanceName, filled by the client
        if child.get("type") == "group":
            yield from _walk(child.get("children", []), child.get("name"))
        elif child.get("type") == "repeat":
            yield child, group  # reported as unsupported by the caller
        else:
            yield child, group


def _compile(
    expression: str | None, row: int, column: str, names: set[str], problems: list[str]
) -> Node | None:
    if not expression:
        return None
    try:
        node = parse(expression)
    except ExpressionError as exc:
        problems.append(f"survey sheet, row {row}: {column} '{expression}': {exc}")
        return None
    for name in sorted(references(node) - names):
        problems.append(f"survey sheet, row {row}: {column} refers to unknown question '{name}'")
    return node


def load_form(path: Path) -> FormDefinition:
    """Read one XLSForm; raise FormLoadError naming the sheet and row of every problem."""
    from pyxform.errors import PyXFormError
    from pyxform.xls2json import workbook_to_json
    from pyxform.xls2json_backends import get_xlsform
    from pyxform.xls2xform import convert

    display = path.name
    try:
        workbook = get_xlsform(str(path))
        warnings: list[str] = []
        source = workbook_to_json(workbook, form_name="data", warnings=warnings)
        xform = convert(
            xlsform=str(path), validate=False, pretty_print=False, form_name="data"
        ).xform
    except PyXFormError as exc:
        raise FormLoadError(display, [str(exc)]) from exc
    except Exception as exc:  # openpyxl and zipfile raise many kinds for a broken file
        raise FormLoadError(display, [f"not a readable XLSForm: {exc}"]) from exc

    problems = list(_unsupported_rows(workbook))
    form_id = str(source.get("id_string") or "").strip()
    version = str(source.get("version") or "").strip()
    if not form_id or form_id == "data":
        problems.append("settings sheet: form_id is missing")
    if not version:
        problems.append("settings sheet: version is missing")
    default_language = source.get("default_language")
    rows = _row_numbers(workbook)
    choices_by_list: dict[str, list[dict[str, Any]]] = source.get("choices", {}) or {}

    raw = list(_walk(source.get("children", []), None))
    names = {str(child.get("name")) for child, _ in raw}
    questions: list[Question] = []
    languages: set[str] = set()
    for child, group in raw:
        kind = str(child.get("type"))
        name = str(child.get("name"))
        row = rows.get(name, 0)
        if kind == "repeat":
            problems.append(f"survey sheet, row {row}: repeat groups are not supported")
            continue
        if kind in META_TYPES:
            continue
        bind = child.get("bind", {}) or {}
        label = _translations(child.get("label"), default_language)
        languages |= set(label)
        list_name = child.get("list_name") or child.get("itemset")
        choices: tuple[Choice, ...] = ()
        if kind in ("select one", "select all that apply"):
            kind = "select_one" if kind == "select one" else "select_multiple"
            options = child.get("choices") or choices_by_list.get(str(list_name), [])
            choices = tuple(
                Choice(str(o["name"]), _by_code(_translations(o.get("label"), default_language)))
                for o in options
            )
            if not choices:
                problems.append(f"survey sheet, row {row}: choice list '{list_name}' is empty")
            for choice in choices:
                if not SAFE_CHOICE_NAME.match(choice.value):
                    problems.append(
                        f"choices sheet, list '{list_name}': the name '{choice.value}' must not "
                        "be empty or hold spaces, quotes, backslashes or control characters "
                        "(several chosen names are stored separated by spaces)"
                    )
        if kind == "photo":
            kind = "image"
        questions.append(
            Question(
                name=name,
                type=kind,
                label=_by_code(label),
                hint=_by_code(_translations(child.get("hint"), default_language)),
                group=group,
                required=_yes(bind.get("required", "no")),
                required_message=_by_code(
                    _translations(bind.get("jr:requiredMsg"), default_language)
                ),
                relevant=bind.get("relevant"),
                constraint=bind.get("constraint"),
                constraint_message=_by_code(
                    _translations(bind.get("jr:constraintMsg"), default_language)
                ),
                choices=choices,
                personal=_yes(child.get("personal", "no")),
                appearance=(child.get("control") or {}).get("appearance"),
                parameters=_parameters(child.get("parameters")),
                relevant_expression=_compile(
                    bind.get("relevant"), row, "relevant", names, problems
                ),
                constraint_expression=_compile(
                    bind.get("constraint"), row, "constraint", names, problems
                ),
            )
        )
    if problems:
        raise FormLoadError(display, problems)
    xform_bytes = xform.encode("utf-8")
    return FormDefinition(
        form_id=form_id,
        version=version,
        title=_by_code(_translations(source.get("title"), default_language)),
        default_language=_language_code(default_language) if default_language else None,
        languages=tuple(sorted(_language_code(lang) for lang in languages)),
        questions=tuple(questions),
        source=source,
        xform=xform,
        md5=hashlib.md5(xform_bytes).hexdigest(),
        filename=display,
    )
