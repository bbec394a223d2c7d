"""Form definitions read from XLSForm files with pyxform: the form model of docs/forms-engine.md.

pyxform reads the workbook (and decides, as for ODK Collect, what a column or a type means);
its XForm gives every expression with `${name}` already turned into instance paths. This module
builds the tree of groups, repeats and questions from both, refuses at load what the server
cannot evaluate, and keeps the flat view of the questions outside repeats that exports, maps
and intake use.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.forms.xform import XFormParts, read_xform
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
# pyxform's names for some of them.
_PYXFORM_TYPES = {
    "select one": "select_one",
    "select all that apply": "select_multiple",
    "photo": "image",
    "phone number": "text",  # pyxform adds its constraint regex(., '^\\d*$') to the bind
    "trigger": "acknowledge",
    "add note prompt": "note",
    "q note": "note",
}
# Why a type pyxform knows is refused here, for the message naming its row.
_REFUSED_TYPES = {
    "loop": "'begin loop' (one group per choice, each holding the same names) is not supported: "
    "use begin_repeat",
    "osm": "'osm' questions (OpenMapKit) are not supported",
    "select one external": "'select_one_external' (choices searched in itemsets.csv) is not "
    "supported: use select_one with a choice_filter, or select_one_from_file",
    "video": "'video' questions are not supported: use 'file'",
}
# Metadata the phone fills in by itself.
META_TYPES = frozenset({"start", "end", "today", "deviceid", "username", "audit"})
# Metadata ODK Collect fills from the device, which a web phone does not have: left out.
_DEVICE_META = frozenset({"email", "simserial", "subscriberid", "phonenumber"})
FILE_QUESTION_TYPES = frozenset({"image", "audio", "file"})
_NOT_EXPORTED = FILE_QUESTION_TYPES | {"note", "geopoint"}


class FormLoadError(ValueError):
    """An XLSForm that cannot be used, with every problem found (sheet, row, reason)."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))


# What a choice name may hold: several are stored separated by spaces (select_multiple), and
# exports write them into JSON as they are, so no space, quote, backslash or control character.
SAFE_CHOICE_NAME = re.compile(r'^[^\s"\\\x00-\x1f\x7f]+$')
_REFERENCE = re.compile(r"\$\{([^}]*)\}")


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
        """Names of the questions marked personal (never in public or planner outputs)."""
        return frozenset(q.name for q in self.all_questions if q.personal)

    @cached_property
    def geopoint_question(self) -> Question | None:
        """The first geopoint question outside repeats: the survey's location."""
        return next((q for q in self.questions if q.type == "geopoint"), None)

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

    def public_fields(self) -> list[Question]:
        """Questions outside repeats whose answers may appear in planner exports."""
        return [q for q in self.questions if not q.personal and q.type not in _NOT_EXPORTED]

    @cached_property
    def model(self) -> dict[str, Any]:
        """The form model of docs/forms-engine.md, for the phone."""
        return {
            "root": self.root.name,
            "languages": list(self.languages),
            "default_language": self.default_language,
            "instances": self.instances,
            "children": [_model_node(child) for child in self.root.children],
        }


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


def _yes(value: Any) -> bool:
    return str(value).strip().lower() in ("yes", "true", "true()", "1")


def _language_code(language: str) -> str:
    """'Tiếng Việt (vi)' -> 'vi'; 'default' and unknown labels stay as they are."""
    if language.endswith(")") and "(" in language:
        return language[language.rindex("(") + 1 : -1].strip()
    return language


def _translations(value: Any, default_language: str | None) -> dict[str, str]:
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return {_language_code(str(k)): str(v) for k, v in value.items()}
    return {_language_code(default_language or "default"): str(value)}


def _parameters(value: Any) -> dict[str, str]:
    """pyxform gives parameters as a dict or as the raw 'key=value key=value' text."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    pairs = (item.split("=", 1) for item in str(value or "").split() if "=" in item)
    return {key.strip(): val.strip() for key, val in pairs}


def _literal(value: str) -> str:
    """An XPath string literal for a static default."""
    return f"'{value}'" if "'" not in value else f'"{value}"'


def _row_numbers(workbook: Any) -> dict[str, list[int]]:
    """Survey sheet rows by name, in sheet order (a name may repeat inside repeats)."""
    rows: dict[str, list[int]] = {}
    for index, row in enumerate(getattr(workbook, "survey", None) or []):
        lowered = {str(k).strip().lower(): v for k, v in row.items()}
        name = lowered.get("name")
        if name:
            rows.setdefault(str(name).strip(), []).append(index + 2)
    return rows


@dataclass
class _Builder:
    """Walks pyxform's JSON tree beside the XForm's parts, collecting problems."""

    parts: XFormParts
    rows: dict[str, list[int]]
    default_language: str | None
    directory: Path
    problems: list[str] = field(default_factory=list)
    languages: set[str] = field(default_factory=set)
    instances: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    or_other: set[str] = field(default_factory=set)
    last_rows: dict[str, int] = field(default_factory=dict)

    def row(self, name: str) -> int:
        rows = self.rows.get(name) or []
        if rows:
            self.last_rows[name] = rows[0]
            return rows.pop(0)
        if name.endswith("_other"):  # pyxform's text question of an or_other select
            return self.last_rows.get(name.removesuffix("_other"), 0)
        if name.endswith("_count"):  # pyxform's calculate of a repeat_count expression
            pending = self.rows.get(name.removesuffix("_count")) or [0]
            return pending[0]
        return 0

    def where(self, row: int) -> str:
        return f"survey sheet, row {row}" if row else "survey sheet"

    def texts(self, value: Any) -> dict[str, str]:
        found = _translations(value, self.default_language)
        self.languages |= set(found)
        return found

    def outputs(self, path: str, label: Any, hint: Any) -> dict[str, str]:
        """`${name}` of a label or hint -> the XPath pyxform wrote for it in this context."""
        found: dict[str, str] = {}
        for kind, value in (("label", label), ("hint", hint)):
            texts = list(value.values()) if isinstance(value, dict) else [value or ""]
            per_language = self.parts.outputs.get(path, {}).get(kind, [])
            for text in texts:
                names = _REFERENCE.findall(str(text))
                for expressions in per_language:
                    if len(expressions) == len(names):
                        found.update(zip(names, expressions, strict=True))
                        break
        return found

    def children(
        self, items: list[dict[str, Any]], parent: str, group: str | None, repeat: str | None
    ) -> tuple[Group | Question, ...]:
        nodes: list[Group | Question] = []
        for item in items:
            kind = str(item.get("type", ""))
            name = str(item.get("name", ""))
            if kind == "group" and name == "meta" and item.get("control", {}).get("bodyless"):
                continue  # pyxform's instanceID / instanceName, filled by the client
            path = f"{parent}/{name}"
            if kind in ("group", "repeat"):
                nodes.append(self.group(item, path, repeat))
            elif kind in META_TYPES or kind in _DEVICE_META:
                self.row(name)
            else:
                question = self.question(item, path, group, repeat)
                if question is not None:
                    nodes.append(question)
        return tuple(nodes)

    def group(self, item: dict[str, Any], path: str, repeat: str | None) -> Group:
        name = str(item["name"])
        row = self.row(name)
        kind = str(item["type"])
        bind = self.parts.binds.get(path, {})
        control = item.get("control") or {}
        appearance = control.get("appearance")
        return Group(
            kind=kind,
            name=name,
            path=path,
            row=row,
            label=self.texts(item.get("label")),
            hint=self.texts(item.get("hint")),
            relevant=bind.get("relevant"),
            appearance=appearance,
            parameters=_parameters(item.get("parameters")),
            repeat_count=self.parts.repeat_counts.get(path) if kind == "repeat" else None,
            field_list="field-list" in str(appearance or ""),
            outputs=self.outputs(path, item.get("label"), item.get("hint")),
            children=self.children(
                item.get("children", []), path, name, path if kind == "repeat" else repeat
            ),
        )

    def question(
        self, item: dict[str, Any], path: str, group: str | None, repeat: str | None
    ) -> Question | None:
        name = str(item["name"])
        row = self.row(name)
        raw_type = str(item.get("type", ""))
        kind = _PYXFORM_TYPES.get(raw_type, raw_type)
        if kind not in VALUE_TYPES:
            reason = _REFUSED_TYPES.get(raw_type, f"question type '{raw_type}' is not supported")
            self.problems.append(f"{self.where(row)}, column type: {reason}")
            return None
        bind = self.parts.binds.get(path, {})
        json_bind = item.get("bind") or {}
        control = item.get("control") or {}
        list_name: str | None = None
        choice_filter: str | None = None
        choices: tuple[Choice, ...] = ()
        if kind in ("select_one", "select_multiple", "rank"):
            itemset = self.parts.itemsets.get(path)
            if itemset is None:
                self.problems.append(f"{self.where(row)}, column type: no choices for '{name}'")
                return None
            list_name, choice_filter = itemset
            choices = self.choices(list_name, str(item.get("itemset") or ""), row)
        required = bind.get("required")
        return Question(
            name=name,
            type=kind,
            label=self.texts(item.get("label")),
            hint=self.texts(item.get("hint")),
            group=group,
            required=required is not None and required.strip() == "true()",
            required_message=self.texts(json_bind.get("jr:requiredMsg")),
            relevant=bind.get("relevant"),
            constraint=bind.get("constraint"),
            constraint_message=self.texts(json_bind.get("jr:constraintMsg")),
            choices=choices,
            personal=_yes(item.get("personal", "no")),
            appearance=control.get("appearance"),
            parameters=_parameters(item.get("parameters")),
            path=path,
            row=row,
            repeat=repeat,
            required_expression=required if required and required.strip() != "false()" else None,
            calculate=bind.get("calculate"),
            default=self.default(path),
            readonly=bind.get("readonly") if kind != "note" else None,
            list_name=list_name,
            choice_filter=choice_filter,
            or_other=f"{path}_other" in self.parts.binds and "other" in {c.value for c in choices},
            outputs=self.outputs(path, item.get("label"), item.get("hint")),
        )

    def default(self, path: str) -> str | None:
        value = self.parts.defaults.get(path)
        if value is None or value == "":
            return None
        return value.strip() if path in self.parts.dynamic_defaults else _literal(value)

    def choices(self, list_name: str, itemset: str, row: int) -> tuple[Choice, ...]:
        if list_name not in self.instances:
            self.instances[list_name] = self.instance(list_name, itemset, row)
        found = []
        for item in self.instances[list_name]:
            value = str(item.get("name", ""))
            if not SAFE_CHOICE_NAME.match(value):
                self.problems.append(
                    f"choices sheet, list '{list_name}': the name '{value}' must not "
                    "be empty or hold spaces, quotes, backslashes or control characters "
                    "(several chosen names are stored separated by spaces)"
                )
            found.append(Choice(value, dict(item.get("label") or {})))
        if not found:
            self.problems.append(f"{self.where(row)}: choice list '{list_name}' is empty")
        return tuple(found)

    def instance(self, list_name: str, itemset: str, row: int) -> list[dict[str, Any]]:
        """A secondary instance: a choice list of the form, or a CSV file beside it."""
        source = self.parts.instance_files.get(list_name)
        if source is not None:
            filename = Path(itemset if "." in itemset else f"{list_name}.csv").name
            if filename.lower().endswith(".xml"):
                return self.xml_instance(self.directory / filename, row)
            if not filename.lower().endswith(".csv"):
                self.problems.append(
                    f"{self.where(row)}, column type: choices from '{filename}' are not "
                    "supported (a CSV or XML file beside the form is)"
                )
                return []
            return self.csv_instance(self.directory / filename, row)
        items = []
        for raw in self.parts.instances.get(list_name, []):
            item: dict[str, Any] = {k: v for k, v in raw.items() if k not in ("itextId", "label")}
            text_id = raw.get("itextId")
            if text_id is not None:
                item["label"] = {
                    _language_code(lang): text
                    for lang, text in self.parts.itext.get(text_id, {}).items()
                }
            elif "label" in raw:
                item["label"] = {_language_code(self.default_language or "default"): raw["label"]}
            items.append(item)
        return items

    def xml_instance(self, path: Path, row: int) -> list[dict[str, Any]]:
        """An XML file of `<root><item><name/><label/>...</item></root>`."""
        try:
            document = ET.parse(path).getroot()  # the form author's own file
        except (OSError, ET.ParseError) as exc:
            self.problems.append(f"{self.where(row)}, column type: cannot read {path.name}: {exc}")
            return []
        language = _language_code(self.default_language or "default")
        items = []
        for element in document.iter("item"):
            item: dict[str, Any] = {child.tag: (child.text or "").strip() for child in element}
            item["label"] = {language: item.get("label", "")}
            items.append(item)
        if not items or any("name" not in item for item in items):
            self.problems.append(
                f"{self.where(row)}, column type: {path.name} needs items with a 'name'"
            )
        return items

    def csv_instance(self, path: Path, row: int) -> list[dict[str, Any]]:
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                records = list(csv.DictReader(handle))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            self.problems.append(f"{self.where(row)}, column type: cannot read {path.name}: {exc}")
            return []
        items = []
        for record in records:
            item: dict[str, Any] = {}
            labels: dict[str, str] = {}
            for key, value in record.items():
                if key is None:
                    continue
                column = key.strip()
                if column.lower() == "label":
                    labels[_language_code(self.default_language or "default")] = value or ""
                elif column.lower().startswith("label::"):
                    labels[_language_code(column.split("::", 1)[1])] = value or ""
                else:
                    item[column] = (value or "").strip()
            item["label"] = labels
            items.append(item)
        if not items or any("name" not in item for item in items):
            self.problems.append(
                f"{self.where(row)}, column type: {path.name} needs 'name' and 'label' columns"
            )
        return items


def _complete_outputs(root: Group) -> None:
    """`${name}` pyxform wrote no <output> for (a group's hint): the path of that question."""
    paths = {n.name: n.path for n in root.walk() if isinstance(n, Question) and n.repeat is None}
    for node in root.walk():
        texts = [*node.label.values(), *node.hint.values()]
        for name in _REFERENCE.findall(" ".join(texts)):
            if name not in node.outputs and name in paths:
                node.outputs[name] = paths[name]


def _duplicate_names(root: Group, problems: list[str]) -> None:
    """Answers are keyed by name: refuse two nodes of one name in one answers object."""

    def check(children: tuple[Group | Question, ...], scope: dict[str, list[int]]) -> None:
        for child in children:
            scope.setdefault(child.name, []).append(child.row)
            if isinstance(child, Group):
                if child.kind == "repeat":
                    check(child.children, {})
                else:
                    check(child.children, scope)

    def report(scope: dict[str, list[int]]) -> None:
        for name, rows in scope.items():
            if len(rows) > 1:
                where = ", ".join(str(r) for r in rows)
                problems.append(
                    f"survey sheet, rows {where}, column name: the name '{name}' is used more "
                    "than once (answers are keyed by name)"
                )

    def walk(children: tuple[Group | Question, ...]) -> None:
        scope: dict[str, list[int]] = {}
        check(children, scope)
        report(scope)
        for node in children:
            if isinstance(node, Group):
                for inner in (node, *node.walk()):
                    if isinstance(inner, Group) and inner.kind == "repeat":
                        inner_scope: dict[str, list[int]] = {}
                        check(inner.children, inner_scope)
                        report(inner_scope)

    walk(root.children)


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
        raise FormLoadError(display, [f"not a readable XLSForm: {exc}"]) from exc
    return workbook, source, xform


def _explained(path: Path, message: str) -> list[str]:
    """pyxform's message, with the rows of the features it refuses without naming a row."""
    problems = [message]
    try:
        from pyxform.xls2json_backends import get_xlsform

        rows = getattr(get_xlsform(str(path)), "survey", None) or []
    except Exception:  # the file itself is what pyxform could not read
        return problems
    for index, row in enumerate(rows):
        lowered = {str(k).strip().lower(): v for k, v in row.items()}
        kind = str(lowered.get("type") or "").strip().lower()
        if kind.startswith("include"):
            problems.append(
                f"survey sheet, row {index + 2}, column type: 'include' (a section from another "
                "file) is not supported by pyxform: copy the section's rows into this form"
            )
    return problems


def load_form(path: Path) -> FormDefinition:
    """Read one XLSForm; raise FormLoadError naming the sheet and row of every problem."""
    try:
        return _load_form(path)
    except FormLoadError:
        raise
    except RecursionError as exc:
        raise FormLoadError(path.name, ["the form is nested too deeply to be read"]) from exc
    except Exception as exc:  # one odd form must not stop the server: it is refused alone
        log.exception("form %s could not be read", path.name)
        raise FormLoadError(path.name, [f"the form could not be read: {exc}"]) from exc


def _load_form(path: Path) -> FormDefinition:
    display = path.name
    workbook, source, xform = read_source(path)
    problems: list[str] = []
    form_id = str(source.get("id_string") or "").strip()
    if form_id in ("", "data"):
        form_id = path.stem  # pyxform's and ODK Central's default: the file's name
    # No version: the empty version, as ODK Central does; a survey naming none gets the
    # current form (see docs/forms-engine.md).
    version = str(source.get("version") or "").strip()
    if not form_id or form_id == "data":
        problems.append("settings sheet: form_id is missing")
    default_language = source.get("default_language")
    if default_language == "default":
        default_language = None
    try:
        parts = read_xform(xform)
    except ET.ParseError as exc:
        raise FormLoadError(
            display,
            [
                f"the XForm pyxform wrote cannot be read ({exc}): a custom column "
                "with a namespace prefix needs the 'namespaces' setting"
            ],
        ) from exc
    builder = _Builder(parts, _row_numbers(workbook), default_language, path.parent)
    root = Group(
        "group",
        str(source.get("name") or "data"),
        "/" + str(source.get("name") or "data"),
        0,
        {},
        {},
        None,
        None,
        {},
        None,
        False,
        {},
        builder.children(source.get("children", []), "/data", None, None),
    )
    problems.extend(builder.problems)
    _duplicate_names(root, problems)
    _complete_outputs(root)
    questions = tuple(
        node for node in root.walk() if isinstance(node, Question) and node.repeat is None
    )
    languages = builder.languages or {"default"}
    form = FormDefinition(
        form_id=form_id,
        version=version,
        title=_translations(source.get("title"), default_language),
        default_language=_language_code(default_language) if default_language else None,
        languages=tuple(sorted(languages)),
        questions=questions,
        source=source,
        xform=xform,
        md5=hashlib.md5(xform.encode("utf-8")).hexdigest(),
        filename=display,
        root=root,
        instances=builder.instances,
    )
    if not problems:
        problems.extend(form.compiled.problems)
    if problems:
        raise FormLoadError(display, problems)
    return form
