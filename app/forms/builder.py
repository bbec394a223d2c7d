"""The tree of a form (groups, repeats, questions) built from pyxform's JSON beside the parts
of its XForm, with the problems found on the way (sheet, row, column, feature)."""

from __future__ import annotations

import csv
import re
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.forms.definition import (
    DEVICE_META,
    META_ALIASES,
    META_TYPES,
    PYXFORM_TYPES,
    REFERENCE,
    REFUSED_TYPES,
    SAFE_CHOICE_NAME,
    VALUE_TYPES,
    Choice,
    Group,
    Question,
    find_beside,
)
from app.forms.problems import FormProblem, form_problem
from app.forms.xform import XFormParts
from app.i18n import LANGUAGES


def _yes(value: Any) -> bool:
    return str(value).strip().lower() in ("yes", "true", "true()", "1")


# The app's languages as forms name them without a code (`label::Tiếng Việt`).
_LANGUAGE_NAMES = {
    "tiếng việt": "vi",
    "tieng viet": "vi",
    "vietnamese": "vi",
    "english": "en",
    "tiếng anh": "en",
    "tieng anh": "en",
}


def language_code(language: str) -> str:
    """'Tiếng Việt (vi)' -> 'vi', 'Tiếng Việt' or 'Vietnamese' -> 'vi', 'English' -> 'en';
    'default' and other names stay as they are."""
    if language.endswith(")") and "(" in language:
        return language[language.rindex("(") + 1 : -1].strip()
    return _LANGUAGE_NAMES.get(unicodedata.normalize("NFC", language).strip().casefold(), language)


def translations(value: Any, default_language: str | None) -> dict[str, str]:
    """pyxform's text or {language: text} as {language code: text}."""
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return {language_code(str(k)): str(v) for k, v in value.items()}
    return {language_code(default_language or "default"): str(value)}


def _parameters(value: Any) -> dict[str, str]:
    """pyxform gives parameters as a dict or as the raw 'key=value key=value' text."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    pairs = (item.split("=", 1) for item in str(value or "").split() if "=" in item)
    return {key.strip(): val.strip() for key, val in pairs}


def _refusal(kind: str) -> str:
    """The message code refusing a question type: why for those refused on purpose, "not
    supported" for another type pyxform knows, "unknown" for one it does not."""
    from pyxform.question_type_dictionary import QUESTION_TYPE_DICT

    if kind in REFUSED_TYPES:
        return REFUSED_TYPES[kind]
    return "form_type_not_supported" if kind in QUESTION_TYPE_DICT else "form_type_unknown"


def _literal(value: str) -> str:
    """An XPath string literal for a static default."""
    return f"'{value}'" if "'" not in value else f'"{value}"'


def _no_itemset(name: str, row: int, control: dict[str, Any]) -> FormProblem:
    """Why a select has no list of choices the server can read, naming the column."""
    appearance = str(control.get("appearance") or "")
    if "search(" in appearance.replace(" ", ""):
        return form_problem(
            "form_search_appearance", "survey", row, "appearance", appearance=appearance.strip()
        )
    return form_problem("form_choices_unreadable", "survey", row, "type", name=name)


def row_numbers(workbook: Any) -> dict[str, list[int]]:
    """Survey sheet rows by name, in sheet order (a name may repeat inside repeats)."""
    rows: dict[str, list[int]] = {}
    for index, row in enumerate(getattr(workbook, "survey", None) or []):
        lowered = {str(k).strip().lower(): v for k, v in row.items()}
        name = lowered.get("name")
        if name:
            rows.setdefault(str(name).strip(), []).append(index + 2)
    return rows


def choice_rows(workbook: Any) -> dict[tuple[str, str], int]:
    """Choices sheet rows by (list name, choice name): the first row of each."""
    rows: dict[tuple[str, str], int] = {}
    for index, row in enumerate(getattr(workbook, "choices", None) or []):
        lowered = {str(k).strip().lower(): v for k, v in row.items()}
        list_name = str(lowered.get("list_name") or lowered.get("list name") or "").strip()
        rows.setdefault((list_name, str(lowered.get("name") or "").strip()), index + 2)
    return rows


# A condition that is one question's path alone (`relevant = ${nick}`, `not(${nick})`): ODK
# Collect reads it by the question's value (JavaRosa's toBoolean of the unpacked value: a text
# is true when not empty, a number when not empty and not 0), XPath 1.0 and Enketo by its node
# (true when it exists, so always). Forms are written and tried in Collect: such a condition
# is read as Collect reads it, on the server and on the phone alike (the XForm sent to Collect
# is left as pyxform writes it). A path inside a longer expression keeps XPath's meaning.
# A step is an XML name as the expression reader reads one (app/forms/xpath.py): a letter of
# any script or `_` first (`ảnh`, `địa_chỉ`), as pyxform allows in names.
_STEP = r"(?:[^\W\d]|_)[\w.-]*"
_PATH = rf"(?:\.\.?|/?{_STEP})(?:/(?:\.\.|{_STEP}))*"
_BARE_PATH = re.compile(rf"\s*({_PATH})\s*")
_NOT_BARE_PATH = re.compile(rf"\s*not\(\s*({_PATH})\s*\)\s*")
NUMBER_BINDS = ("int", "integer", "decimal")


def _resolved(path: str, context: str) -> str:
    """An instance path read from the node at `context` (`..` its parent), made absolute."""
    steps = [] if path.startswith("/") else context.strip("/").split("/")
    for step in path.strip("/").split("/"):
        if step == "..":
            steps = steps[:-1]
        elif step not in (".", ""):
            steps.append(step)
    return "/" + "/".join(steps)


def collect_condition(
    expression: str | None, context: str = "", binds: dict[str, dict[str, str]] | None = None
) -> str | None:
    """A bind's condition on the node at `context` as ODK Collect reads it (see above);
    others as they are. `binds` give the type of the question a path names."""
    if expression is None or expression.strip() in ("true()", "false()"):
        return expression
    negated = False
    match = _BARE_PATH.fullmatch(expression)
    if match is None:
        match, negated = _NOT_BARE_PATH.fullmatch(expression), True
    if match is None:
        return expression
    path = match.group(1)
    kind = (binds or {}).get(_resolved(path, context), {}).get("type", "string")
    if kind in NUMBER_BINDS:
        if negated:
            return f"(string({path}) = '' or number({path}) = 0)"
        return f"(string({path}) != '' and number({path}) != 0)"
    return f"string({path}) = ''" if negated else f"string({path}) != ''"


@dataclass
class FormBuilder:
    """Walks pyxform's JSON tree beside the XForm's parts, collecting problems."""

    parts: XFormParts
    rows: dict[str, list[int]]
    default_language: str | None
    # Where choice files are looked for, in order (FormDefinition.folders).
    folders: tuple[Path, ...]
    choice_rows: dict[tuple[str, str], int] = field(default_factory=dict)
    problems: list[FormProblem] = field(default_factory=list)
    languages: set[str] = field(default_factory=set)
    instances: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    or_other: set[str] = field(default_factory=set)
    last_rows: dict[str, int] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)  # metadata questions' types by name
    # Paths of the personal selects with `or_other`: pyxform's `<path>_other` text question
    # (the "other" typed in: an ID number, a name) has no `personal` column of its own.
    personal_selects: set[str] = field(default_factory=set)

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

    def texts(self, value: Any) -> dict[str, str]:
        found = translations(value, self.default_language)
        self.languages |= set(found)
        return found

    def outputs(self, path: str, label: Any, hint: Any) -> dict[str, str]:
        """`${name}` of a label or hint -> the XPath pyxform wrote for it in this context."""
        found: dict[str, str] = {}
        for kind, value in (("label", label), ("hint", hint)):
            texts = list(value.values()) if isinstance(value, dict) else [value or ""]
            per_language = self.parts.outputs.get(path, {}).get(kind, [])
            for text in texts:
                names = REFERENCE.findall(str(text))
                for expressions in per_language:
                    if len(expressions) == len(names):
                        found.update(zip(names, expressions, strict=True))
                        break
        return found

    def children(
        self,
        items: list[dict[str, Any]],
        parent: str,
        group: str | None,
        repeat: str | None,
        personal: bool = False,
    ) -> tuple[Group | Question, ...]:
        """The nodes of `items`; `personal`: they are inside a group or repeat marked personal
        (every question there is personal)."""
        nodes: list[Group | Question] = []
        for item in items:
            kind = str(item.get("type", ""))
            name = str(item.get("name", ""))
            if kind == "group" and name == "meta" and item.get("control", {}).get("bodyless"):
                continue  # pyxform's instanceID / instanceName, filled by the client
            path = f"{parent}/{name}"
            if kind in ("group", "repeat"):
                nodes.append(self.group(item, path, repeat, personal))
            elif META_ALIASES.get(kind, kind) in META_TYPES | DEVICE_META:
                self.row(name)
                self.meta[name] = META_ALIASES.get(kind, kind)
            else:
                question = self.question(item, path, group, repeat, personal)
                if question is not None:
                    nodes.append(question)
        return tuple(nodes)

    def group(
        self, item: dict[str, Any], path: str, repeat: str | None, inside_personal: bool = False
    ) -> Group:
        name = str(item["name"])
        personal = inside_personal or _yes(item.get("personal", "no"))
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
            relevant=collect_condition(bind.get("relevant"), path, self.parts.binds),
            appearance=appearance,
            parameters=_parameters(item.get("parameters")),
            repeat_count=self.parts.repeat_counts.get(path) if kind == "repeat" else None,
            field_list="field-list" in str(appearance or ""),
            outputs=self.outputs(path, item.get("label"), item.get("hint")),
            children=self.children(
                item.get("children", []),
                path,
                name,
                path if kind == "repeat" else repeat,
                personal,
            ),
            personal=personal,
        )

    def question(
        self,
        item: dict[str, Any],
        path: str,
        group: str | None,
        repeat: str | None,
        inside_personal: bool = False,
    ) -> Question | None:
        name = str(item["name"])
        row = self.row(name)
        raw_type = str(item.get("type", ""))
        kind = PYXFORM_TYPES.get(raw_type, raw_type)
        if kind not in VALUE_TYPES:
            self.problems.append(
                form_problem(_refusal(raw_type), "survey", row, "type", type=raw_type)
            )
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
                self.problems.append(_no_itemset(name, row, control))
                return None
            list_name, choice_filter = itemset
            choices = self.choices(list_name, str(item.get("itemset") or ""), row)
        required = collect_condition(bind.get("required"), path, self.parts.binds)
        or_other = f"{path}_other" in self.parts.binds and "other" in {c.value for c in choices}
        personal = (
            inside_personal
            or _yes(item.get("personal", "no"))
            or (path.endswith("_other") and path.removesuffix("_other") in self.personal_selects)
        )
        if personal and or_other:
            self.personal_selects.add(path)
        return Question(
            name=name,
            type=kind,
            label=self.texts(item.get("label")),
            hint=self.texts(item.get("hint")),
            group=group,
            required=required is not None and required.strip() == "true()",
            required_message=self.texts(json_bind.get("jr:requiredMsg")),
            relevant=collect_condition(bind.get("relevant"), path, self.parts.binds),
            constraint=collect_condition(bind.get("constraint"), path, self.parts.binds),
            constraint_message=self.texts(json_bind.get("jr:constraintMsg")),
            choices=choices,
            personal=personal,
            appearance=control.get("appearance"),
            parameters=_parameters(item.get("parameters")),
            path=path,
            row=row,
            repeat=repeat,
            required_expression=required if required and required.strip() != "false()" else None,
            calculate=bind.get("calculate"),
            default=self.default(path),
            readonly=(
                collect_condition(bind.get("readonly"), path, self.parts.binds)
                if kind != "note"
                else None
            ),
            list_name=list_name,
            choice_filter=choice_filter,
            or_other=or_other,
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
                    form_problem(
                        "form_choice_name_unsafe",
                        "choices",
                        self.choice_rows.get((list_name, value.strip())),
                        "name",
                        list_name=list_name,
                        name=value,
                    )
                )
            found.append(Choice(value, dict(item.get("label") or {})))
        if not found:
            self.problems.append(
                form_problem("form_choice_list_empty", "survey", row, list_name=list_name)
            )
        return tuple(found)

    def instance(self, list_name: str, itemset: str, row: int) -> list[dict[str, Any]]:
        """A secondary instance: a choice list of the form, or a CSV file beside it."""
        source = self.parts.instance_files.get(list_name)
        if source is not None:
            filename = Path(itemset if "." in itemset else f"{list_name}.csv").name
            if filename.lower().endswith(".xml"):
                return self.xml_instance(self.beside(filename), row)
            if not filename.lower().endswith(".csv"):
                self.problems.append(
                    form_problem("form_choices_file_type", "survey", row, "type", file=filename)
                )
                return []
            return self.csv_instance(self.beside(filename), row)
        items = []
        for raw in self.parts.instances.get(list_name, []):
            item: dict[str, Any] = {k: v for k, v in raw.items() if k not in ("itextId", "label")}
            text_id = raw.get("itextId")
            if text_id is not None:
                item["label"] = {
                    language_code(lang): text
                    for lang, text in self.parts.itext.get(text_id, {}).items()
                }
            elif "label" in raw:
                item["label"] = {language_code(self.default_language or "default"): raw["label"]}
            items.append(item)
        return items

    def beside(self, filename: str) -> Path:
        """A choice file: in the first folder holding it (the form's own first)."""
        return find_beside(self.folders, filename) or self.folders[0] / filename

    def unreadable(self, path: Path, row: int, exc: Exception) -> FormProblem:
        """A choices file beside the form that cannot be read."""
        if isinstance(exc, FileNotFoundError):
            return form_problem("form_choices_file_missing", "survey", row, "type", file=path.name)
        return form_problem(
            "form_choices_file_unreadable", "survey", row, "type", file=path.name, error=str(exc)
        )

    def xml_instance(self, path: Path, row: int) -> list[dict[str, Any]]:
        """An XML file of `<root><item><name/><label/>...</item></root>`."""
        try:
            document = ET.parse(path).getroot()  # the form author's own file
        except (OSError, ET.ParseError) as exc:
            self.problems.append(self.unreadable(path, row, exc))
            return []
        language = language_code(self.default_language or "default")
        items = []
        for element in document.iter("item"):
            item: dict[str, Any] = {child.tag: (child.text or "").strip() for child in element}
            item["label"] = {language: item.get("label", "")}
            items.append(item)
        if not items or any("name" not in item for item in items):
            self.problems.append(
                form_problem("form_choices_xml_no_name", "survey", row, "type", file=path.name)
            )
        return items

    def csv_instance(self, path: Path, row: int) -> list[dict[str, Any]]:
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                records = list(csv.DictReader(handle))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            self.problems.append(self.unreadable(path, row, exc))
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
                    labels[language_code(self.default_language or "default")] = value or ""
                elif column.lower().startswith("label::"):
                    labels[language_code(column.split("::", 1)[1])] = value or ""
                else:
                    item[column] = (value or "").strip()
            item["label"] = labels
            items.append(item)
        if not items or any("name" not in item for item in items):
            self.problems.append(
                form_problem("form_choices_csv_columns", "survey", row, "type", file=path.name)
            )
        return items


def complete_outputs(root: Group) -> None:
    """`${name}` pyxform wrote no <output> for (a group's hint): the path of that question."""
    paths = {n.name: n.path for n in root.walk() if isinstance(n, Question) and n.repeat is None}
    for node in root.walk():
        texts = [*node.label.values(), *node.hint.values()]
        for name in REFERENCE.findall(" ".join(texts)):
            if name not in node.outputs and name in paths:
                node.outputs[name] = paths[name]


def complete_messages(root: Group, languages: set[str], default_language: str | None) -> None:
    """A form's own required and constraint message in every language of the form and of
    the app: one written in a single language (`constraint_message::English (en)`) is the
    message in the others too (its default language's text first, else any), rather than
    the generic "invalid answer". Labels and hints need not: the phone shows them in another
    language when one is missing (i18n.js pick)."""
    wanted = languages | set(LANGUAGES)
    for node in root.walk():
        if not isinstance(node, Question):
            continue
        for texts in (node.required_message, node.constraint_message):
            if not texts:
                continue
            fallback = texts.get(default_language or "default") or texts.get("default")
            fallback = fallback or next((text for text in texts.values() if text), "")
            for language in wanted - set(texts) - {"default"}:
                texts[language] = fallback


def refuse_duplicate_names(root: Group, problems: list[FormProblem]) -> None:
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
                problems.append(
                    form_problem(
                        "form_name_repeated", "survey", column="name", rows=rows, name=name
                    )
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
