"""Form definitions read from XLSForm files with pyxform: the form model of docs/forms-engine.md.

pyxform reads the workbook (and decides, as for ODK Collect, what a column or a type means);
its XForm gives every expression with `${name}` already turned into instance paths. This module
builds the tree of groups, repeats and questions from both, refuses at load what the server
cannot evaluate, and keeps the flat view of the questions outside repeats that exports, maps
and intake use.
"""

from __future__ import annotations

import hashlib
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.forms.problems import FormProblem, form_problem, messages, pyxform_problem
from app.forms.xform import read_xform
from app.forms.xpath import parse

if TYPE_CHECKING:
    from app.forms.compiled import CompiledForm

log = logging.getLogger(__name__)

# Question types (as in the model) the phone renders and the server validates.
VALUE_TYPES = frozenset(
    {
        "text",
        "integer",
        "decimal",
        "select_one",
        "select_multiple",
        "rank",
        "range",
        "geopoint",
        "geotrace",
        "geoshape",
        "image",
        "audio",
        "file",
        "date",
        "datetime",
        "time",
        "barcode",
        "note",
        "calculate",
        "acknowledge",
        "hidden",
    }
)
# pyxform's other names for them (pyxform/question_type_dictionary.py: every name there with
# the control and bind of a type above), each read as that type. Selects and rank come from
# pyxform already named `select one`, `select all that apply` or `rank`, whatever alias the
# form used (`select1`, `select_one_from_file`...).
PYXFORM_TYPES = {
    "select one": "select_one",
    "select one using": "select_one",
    "add select one prompt using": "select_one",
    "q select1": "select_one",
    "select all that apply": "select_multiple",
    "select all that apply from": "select_multiple",
    "select multiple from": "select_multiple",
    "select multiple using": "select_multiple",
    "add select multiple prompt using": "select_multiple",
    "q select": "select_multiple",
    "string": "text",
    "q string": "text",
    "add text prompt": "text",
    "phone number": "text",  # pyxform adds its constraint regex(., '^\\d*$') to the bind
    "int": "integer",
    "q int": "integer",
    "add integer prompt": "integer",
    # Integers with the constraint pyxform adds to the bind (0-100, 0-31, 0-183, 0-365).
    "percentage": "integer",
    "number of days in last month": "integer",
    "number of days in last six months": "integer",
    "number of days in last year": "integer",
    "q decimal": "decimal",
    "add decimal prompt": "decimal",
    "q date": "date",
    "add date prompt": "date",
    "dateTime": "datetime",
    "date time": "datetime",
    "q dateTime": "datetime",
    "q date time": "datetime",
    "add dateTime prompt": "datetime",
    "add date time prompt": "datetime",
    "gps": "geopoint",
    "location": "geopoint",
    "q geopoint": "geopoint",
    "q location": "geopoint",
    "add location prompt": "geopoint",
    "q geoshape": "geoshape",
    "q geotrace": "geotrace",
    "photo": "image",
    "q image": "image",
    "q picture": "image",
    "add image prompt": "image",
    "q audio": "audio",
    "add audio prompt": "audio",
    "add file prompt": "file",
    "q barcode": "barcode",
    "add barcode prompt": "barcode",
    "add note prompt": "note",
    "q note": "note",
    "q calculate": "calculate",
    "add calculate prompt": "calculate",
    "trigger": "acknowledge",
    "q acknowledge": "acknowledge",
    "add acknowledge prompt": "acknowledge",
}
# Types pyxform knows that are refused here, each with the message (app/i18n.py) saying why
# and what to use instead; any other type pyxform knows is form_type_not_supported, one it
# does not know form_type_unknown.
REFUSED_TYPES = {
    "loop": "form_type_loop",
    "osm": "form_type_osm",
    "select one external": "form_type_select_one_external",
    "video": "form_type_video",
    "q video": "form_type_video",
    "add video prompt": "form_type_video",
    # Recorded by ODK Collect by itself while the form is open: the web phone cannot.
    "background-audio": "form_type_background",
    "background-geopoint": "form_type_background",
    "start-geopoint": "form_type_background",
    # A file read by pulldata() or instance('...') in an expression, which are refused.
    "csv-external": "form_type_external_file",
    "xml-external": "form_type_external_file",
}
# Metadata the phone fills in by itself.
META_TYPES = frozenset({"start", "end", "today", "deviceid", "username", "audit"})
# Metadata ODK Collect fills from the device, which a web phone does not have: left out.
DEVICE_META = frozenset({"email", "simserial", "subscriberid", "phonenumber"})
# pyxform's other names for metadata, each read as the metadata above of that name.
META_ALIASES = {
    "start time": "start",
    "get start time": "start",
    "end time": "end",
    "get end time": "end",
    "get today": "today",
    "device id": "deviceid",
    "get device id": "deviceid",
    "imei": "deviceid",
    "uri:deviceid": "deviceid",
    "uri:username": "username",
    "uri:email": "email",
    "sim id": "simserial",
    "get sim id": "simserial",
    "uri:simserial": "simserial",
    "subscriber id": "subscriberid",
    "get subscriber id": "subscriberid",
    "uri:subscriberid": "subscriberid",
    "get phone number": "phonenumber",
    "uri:phonenumber": "phonenumber",
}
# Question types answered with a file (its name in the answers, the file an attachment); a
# photo is an image once pyxform has read the form, video is refused at load.
FILE_QUESTION_TYPES = frozenset({"image", "audio", "file"})
_NOT_EXPORTED = FILE_QUESTION_TYPES | {"note", "geopoint"}


class FormLoadError(ValueError):
    """An XLSForm that cannot be used, with every problem found (sheet, row, reason); str()
    is English, for logs."""

    def __init__(self, path: str, problems: list[FormProblem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(messages(problems)))

    def messages(self, language: str) -> list[str]:
        """Each problem's message in the given language."""
        return messages(self.problems, language)


# What a choice name may hold: several are stored separated by spaces (select_multiple), and
# exports write them into JSON as they are, so no space, quote, backslash or control character.
SAFE_CHOICE_NAME = re.compile(r'^[^\s"\\\x00-\x1f\x7f]+$')
REFERENCE = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class Choice:
    value: str
    label: dict[str, str]


@dataclass(frozen=True, eq=False)
class Question:
    """One question; `questions` of a form holds those outside repeats, flattened."""

    name: str
    type: str
    label: dict[str, str]
    hint: dict[str, str] = field(default_factory=dict)
    group: str | None = None  # the innermost group's name
    required: bool = False  # required is `true()` (an expression: see required_expression)
    required_message: dict[str, str] = field(default_factory=dict)
    relevant: str | None = None  # XPath as in the XForm
    constraint: str | None = None
    constraint_message: dict[str, str] = field(default_factory=dict)
    choices: tuple[Choice, ...] = ()
    # Marked personal: in its own row, by a group or repeat around it marked personal, or as
    # the `<name>_other` text of a personal select with `or_other` (app/forms/builder.py).
    personal: bool = False
    appearance: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    path: str = ""
    row: int = 0
    repeat: str | None = None  # path of the innermost repeat holding the question
    required_expression: str | None = None
    calculate: str | None = None
    default: str | None = None  # XPath (a static default is a string literal)
    readonly: str | None = None
    list_name: str | None = None
    choice_filter: str | None = None
    or_other: bool = False
    outputs: dict[str, str] = field(default_factory=dict)

    kind = "question"

    @cached_property
    def choice_values(self) -> frozenset[str]:
        """The allowed choice values of a select question."""
        return frozenset(choice.value for choice in self.choices)

    @cached_property
    def relevant_expression(self) -> Any:
        """The parsed `relevant` expression."""
        return None if not self.relevant else parse(self.relevant)


@dataclass(frozen=True, eq=False)
class Group:
    """A group or a repeat, with its children in form order."""

    kind: str  # "group" or "repeat"
    name: str
    path: str
    row: int
    label: dict[str, str]
    hint: dict[str, str]
    relevant: str | None
    appearance: str | None
    parameters: dict[str, str]
    repeat_count: str | None
    field_list: bool
    outputs: dict[str, str]
    children: tuple[Group | Question, ...]
    personal: bool = False  # marked personal: so is every question inside it

    @cached_property
    def by_name(self) -> dict[str, Group | Question]:
        """Children by name (names are unique among siblings)."""
        return {child.name: child for child in self.children}

    def walk(self) -> Iterator[Group | Question]:
        """Every node below, depth first, in form order."""
        for child in self.children:
            yield child
            if isinstance(child, Group):
                yield from child.walk()


@dataclass(frozen=True, eq=False)
class FormDefinition:
    """A form version: what the phone renders and what the server validates against."""

    form_id: str
    version: str
    title: dict[str, str]
    default_language: str | None
    languages: tuple[str, ...]
    questions: tuple[Question, ...]  # outside repeats, flattened
    source: dict[str, Any]  # pyxform's JSON
    xform: str  # the XForm XML (ODK Collect)
    md5: str
    filename: str
    root: Group = field(default_factory=lambda: _empty_root())
    instances: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Metadata questions (`start`, `deviceid`, ...: filled by the phone, not asked), by the
    # name the form gives each: their type.
    meta: dict[str, str] = field(default_factory=dict)
    # Where the form's choice files (select_one_from_file) and label media are looked for, in
    # order: beside the form file, then (an old version in forms/versions/) forms/ itself.
    folders: tuple[Path, ...] = ()

    def file_beside(self, name: str) -> Path | None:
        """The first of `folders` holding a plain file of that name (no path in it)."""
        return find_beside(self.folders, name)

    @cached_property
    def compiled(self) -> CompiledForm:
        """Every expression compiled (once; load_form refuses a form whose compiling fails)."""
        from app.forms.compiled import compile_form

        return compile_form(self)

    @cached_property
    def by_name(self) -> dict[str, Question]:
        """Questions outside repeats keyed by name."""
        return {question.name: question for question in self.questions}

    @cached_property
    def answerable(self) -> tuple[Question, ...]:
        """The questions outside repeats that take an answer (notes do not), in form order."""
        return tuple(q for q in self.questions if q.type != "note")

    @cached_property
    def personal_fields(self) -> frozenset[str]:
        """Names of the questions marked personal (never in public or planner outputs), those
        inside a personal group or repeat and the `_other` text of a personal select included,
        and of the repeats marked personal (their whole list is left out, not only its answers)."""
        return frozenset(q.name for q in self.all_questions if q.personal) | frozenset(
            r.name for r in self.repeats if r.personal
        )

    @cached_property
    def private_fields(self) -> frozenset[str]:
        """The personal questions and those answered with a file (a photo's file name): what a
        reader who may not see personal fields never gets, inside repeats too."""
        return self.personal_fields | frozenset(
            q.name for q in self.all_questions if q.type in FILE_QUESTION_TYPES
        )

    @cached_property
    def media_references(self) -> tuple[str, ...]:
        """The files the XForm refers to (label images, audio and video, CSV and XML choice
        lists), each once; those found beside the form are its media (app/services/odk.py)."""
        from app.forms.xform import media_references

        return media_references(self.xform)

    @cached_property
    def geopoint_question(self) -> Question | None:
        """The first geopoint question outside repeats: the survey's location."""
        return next((q for q in self.questions if q.type == "geopoint"), None)

    @cached_property
    def shape_question(self) -> Question | None:
        """The survey's area: the first geoshape question outside repeats of a form without
        a geopoint there (a settlement profile's walked boundary). Its answer is also stored
        as a polygon, the geometry of the form's layers; a form with a geopoint keeps the
        point, its geoshapes their text."""
        if self.geopoint_question is not None:
            return None
        return next((q for q in self.questions if q.type == "geoshape"), None)

    @cached_property
    def all_questions(self) -> tuple[Question, ...]:
        """Every question, those inside repeats included, in form order."""
        return tuple(node for node in self.root.walk() if isinstance(node, Question))

    @cached_property
    def repeats(self) -> tuple[Group, ...]:
        """The repeats, outermost first."""
        return tuple(n for n in self.root.walk() if isinstance(n, Group) and n.kind == "repeat")

    @cached_property
    def source_binds(self) -> dict[str, dict[str, Any]]:
        """pyxform's JSON `bind` of each question by name (expressions with `${name}`)."""
        found: dict[str, dict[str, Any]] = {}

        def walk(items: list[dict[str, Any]]) -> None:
            for item in items:
                if item.get("type") in ("group", "repeat"):
                    walk(item.get("children", []))
                else:
                    found.setdefault(str(item.get("name")), item.get("bind") or {})

        walk(self.source.get("children", []))
        return found

    def file_answers(self, answers: dict[str, Any]) -> set[str]:
        """The file names a survey's answers give to its image, audio and file questions,
        those inside repeats included."""
        found: set[str] = set()

        def walk(children: tuple[Group | Question, ...], scope: Any) -> None:
            if type(scope) is not dict:
                return
            for child in children:
                if isinstance(child, Question):
                    value = scope.get(child.name)
                    if child.type in FILE_QUESTION_TYPES and type(value) is str and value:
                        found.add(value)
                elif child.kind == "repeat":
                    items = scope.get(child.name)
                    for item in items if type(items) is list else ():
                        walk(child.children, item)
                else:
                    walk(child.children, scope)

        walk(self.root.children, answers)
        return found

    def public_fields(self) -> list[Question]:
        """Questions outside repeats whose answers may appear in planner exports."""
        return [q for q in self.questions if not q.personal and q.type not in _NOT_EXPORTED]

    @cached_property
    def model(self) -> dict[str, Any]:
        """The form model of docs/forms-engine.md, for the phone."""
        return {
            "root": self.root.name,
            "languages": list(self.languages),
            # The form's setting; else Vietnamese when the form has it (the app's first language).
            "default_language": self.default_language
            or (
                "vi"
                if "vi" in self.languages
                else self.languages[0]
                if self.languages
                else "default"
            ),
            # The language expressions read labels in (the server's: compiled.py), whatever
            # language the phone shows them in.
            "expression_language": self.expression_language,
            "instances": self.instances,
            "children": [_model_node(child) for child in self.root.children],
        }

    @cached_property
    def expression_language(self) -> str:
        """The language of the labels expressions read (jr:choice-name(), a list's label
        column): the form's default language, else its first; the phone reads the same."""
        return self.default_language or (self.languages[0] if self.languages else "default")


def _empty_root() -> Group:
    return Group("group", "data", "/data", 0, {}, {}, None, None, {}, None, False, {}, ())


def _model_node(node: Group | Question) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": node.kind, "name": node.name, "path": node.path}
    if isinstance(node, Question):
        out["type"] = node.type
    out["label"] = node.label
    if node.hint:
        out["hint"] = node.hint
    if node.outputs:
        out["outputs"] = node.outputs
    if isinstance(node, Question):
        if node.required_message:
            out["required_message"] = node.required_message
        if node.constraint_message:
            out["constraint_message"] = node.constraint_message
        for key in (
            "relevant",
            "constraint",
            "calculate",
            "readonly",
            "default",
            "choice_filter",
        ):
            value = getattr(node, key)
            if value:
                out[key] = value
        if node.required_expression:
            out["required"] = node.required_expression
        if node.list_name:
            out["choices"] = node.list_name
            out["or_other"] = node.or_other
        out["personal"] = node.personal
    else:
        if node.relevant:
            out["relevant"] = node.relevant
        if node.repeat_count:
            out["repeat_count"] = node.repeat_count
        if node.kind == "group":
            out["field_list"] = node.field_list
    if node.appearance:
        out["appearance"] = node.appearance
    if node.parameters:
        out["parameters"] = node.parameters
    out["row"] = node.row
    if isinstance(node, Group):
        out["children"] = [_model_node(child) for child in node.children]
    return out


def read_source(path: Path) -> tuple[Any, dict[str, Any], str]:
    """pyxform's workbook, JSON and XForm of one XLSForm (.xlsx, .xls, .md, .csv)."""
    from pyxform.errors import PyXFormError
    from pyxform.xls2json import workbook_to_json
    from pyxform.xls2json_backends import get_xlsform
    from pyxform.xls2xform import convert

    display = path.name
    try:
        workbook = get_xlsform(str(path))
        source = workbook_to_json(workbook, form_name="data", warnings=[])
        xform = convert(
            xlsform=str(path), validate=False, pretty_print=False, form_name="data"
        ).xform
    except PyXFormError as exc:
        raise FormLoadError(display, _explained(path, str(exc))) from exc
    except Exception as exc:  # openpyxl and zipfile raise many kinds for a broken file
        raise FormLoadError(display, [form_problem("form_unreadable", error=str(exc))]) from exc
    return workbook, source, xform


def _explained(path: Path, message: str) -> list[FormProblem]:
    """pyxform's message, with the rows of the features it refuses without naming a row."""
    problems = [pyxform_problem(message)]
    try:
        from pyxform.xls2json_backends import get_xlsform

        rows = getattr(get_xlsform(str(path)), "survey", None) or []
    except Exception:  # the file itself is what pyxform could not read
        return problems
    for index, row in enumerate(rows):
        lowered = {str(k).strip().lower(): v for k, v in row.items()}
        kind = str(lowered.get("type") or "").strip().lower()
        if kind.startswith("include"):
            problems.append(form_problem("form_include", "survey", index + 2, "type"))
    return problems


def find_beside(folders: tuple[Path, ...], name: str) -> Path | None:
    """The first folder's plain file of that name (a name with a path in it is none)."""
    if not name or Path(name).name != name or name in (".", ".."):
        return None
    return next((folder / name for folder in folders if (folder / name).is_file()), None)


def load_form(path: Path, fallback_folders: tuple[Path, ...] = ()) -> FormDefinition:
    """Read one XLSForm; raise FormLoadError naming the sheet and row of every problem.

    Its choice files are read from beside it, else from the first of `fallback_folders`
    holding them: an old version in forms/versions/ keeps its own copy when one lies there,
    else reads the current form's file in forms/."""
    try:
        return _load_form(path, (path.parent, *fallback_folders))
    except FormLoadError:
        raise
    except RecursionError as exc:
        raise FormLoadError(path.name, [form_problem("form_nested_too_deeply")]) from exc
    except Exception as exc:  # one odd form must not stop the server: it is refused alone
        log.exception("form %s could not be read", path.name)
        problem = form_problem("form_read_failed", error=str(exc))
        raise FormLoadError(path.name, [problem]) from exc


# A form's id and version are stored with every survey (64 characters at most) and the id is
# part of the URLs ODK Collect downloads the form from (`/odk/forms/{form_id}.xml`).
MAX_FORM_NAME = 64
_UNFIT_IN_ID = re.compile(r"[/\\\x00-\x1f\x7f]")
_UNFIT_IN_VERSION = re.compile(r"[\x00-\x1f\x7f]")  # in a query or the XML only: `26/11/2026`


def _name_problems(setting: str, value: str, unfit: re.Pattern[str]) -> list[FormProblem]:
    """Why a form_id or version cannot be used, as problems naming the setting."""
    if len(value) > MAX_FORM_NAME:
        return [
            form_problem(
                "form_setting_too_long",
                "settings",
                column=setting,
                setting=setting,
                length=len(value),
                max=MAX_FORM_NAME,
            )
        ]
    if unfit.search(value):
        code = "form_setting_unfit_id" if unfit is _UNFIT_IN_ID else "form_setting_unfit_version"
        return [form_problem(code, "settings", column=setting, setting=setting, value=value)]
    return []


# Characters XML 1.0 cannot hold, which pyxform copies into the XForm as they are: ODK
# Collect, like the server, cannot read the form then.
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _characters_xml_refuses(workbook: Any) -> list[FormProblem]:
    """The cells of the workbook holding a character an XForm cannot hold, each named by
    sheet, row, column and the character's code point."""
    problems = []
    for sheet in ("survey", "choices", "settings"):
        for index, row in enumerate(getattr(workbook, sheet, None) or []):
            for column, value in row.items():
                found = _NOT_IN_XML.search(str(value)) if value is not None else None
                if found:
                    point = ord(found.group(0))
                    code = "form_control_character" if point < 0x20 else "form_character_not_in_xml"
                    character = f"U+{point:04X}"
                    problems.append(
                        form_problem(code, sheet, index + 2, str(column), character=character)
                    )
    return problems


def _load_form(path: Path, folders: tuple[Path, ...]) -> FormDefinition:
    from app.forms.builder import (
        FormBuilder,
        choice_rows,
        complete_messages,
        complete_outputs,
        language_code,
        refuse_duplicate_names,
        row_numbers,
        translations,
    )

    display = path.name
    workbook, source, xform = read_source(path)
    problems: list[FormProblem] = []
    form_id = str(source.get("id_string") or "").strip()
    if form_id in ("", "data"):
        form_id = path.stem  # pyxform's and ODK Central's default: the file's name
    # No version: the empty version, as ODK Central does; a survey naming none gets the
    # current form (see docs/forms-engine.md).
    version = str(source.get("version") or "").strip()
    if not form_id or form_id == "data":
        problems.append(form_problem("form_id_missing", "settings", column="form_id"))
    problems.extend(_name_problems("form_id", form_id, _UNFIT_IN_ID))
    problems.extend(_name_problems("version", version, _UNFIT_IN_VERSION))
    if str(source.get("public_key") or "").strip():
        # ODK Collect would send every submission as an encrypted file the server cannot read
        # (it holds no private key, and it checks every answer), so each would be refused.
        problems.append(form_problem("form_encrypted", "settings", column="public_key"))
    default_language = source.get("default_language")
    if default_language == "default":
        default_language = None
    try:
        parts = read_xform(xform)
    except ET.ParseError as exc:
        raise FormLoadError(
            display,
            _characters_xml_refuses(workbook)
            or [form_problem("form_xform_unreadable", error=str(exc))],
        ) from exc
    builder = FormBuilder(
        parts, row_numbers(workbook), default_language, folders, choice_rows(workbook)
    )
    # The settings sheet's `name` is the root element's name: the XForm's binds use its paths.
    root_name = str(source.get("name") or "data")
    root = Group(
        "group",
        root_name,
        "/" + root_name,
        0,
        {},
        {},
        None,
        None,
        {},
        None,
        False,
        {},
        builder.children(source.get("children", []), "/" + root_name, None, None),
    )
    problems.extend(builder.problems)
    refuse_duplicate_names(root, problems)
    complete_outputs(root)
    complete_messages(
        root, builder.languages, language_code(default_language) if default_language else None
    )
    questions = tuple(
        node for node in root.walk() if isinstance(node, Question) and node.repeat is None
    )
    languages = builder.languages or {"default"}
    form = FormDefinition(
        form_id=form_id,
        version=version,
        title=translations(source.get("title"), default_language),
        default_language=language_code(default_language) if default_language else None,
        languages=tuple(sorted(languages)),
        questions=questions,
        source=source,
        xform=xform,
        md5=hashlib.md5(xform.encode("utf-8")).hexdigest(),
        filename=display,
        root=root,
        instances=builder.instances,
        meta=builder.meta,
        folders=folders,
    )
    if not problems:
        problems.extend(form.compiled.problems)
    if problems:
        raise FormLoadError(display, problems)
    return form
