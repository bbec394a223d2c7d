"""Use case: GeoJSON layers (households, settlements, wards, each other form's surveys) for
planners and QGIS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any

import orjson

from app.db.exports import CopyStream, Kind, Property
from app.db.indicators import HOUSEHOLD_FORM
from app.db.sql import sql_literal
from app.forms.definition import Choice, FormDefinition, Question
from app.forms.registry import FormRegistry
from app.services.access import Principal

CHUNK_BYTES = 256 * 1024


# A time as every format writes it, GeoJSON and the OGC API included: UTC to the second,
# `2026-12-05T00:43:01Z` (to_json wrote `...01.575259+00:00`, unlike the other formats).
# Its text never holds a quote or a backslash, so GeoJSON takes it as a "code"; to_char
# costs about 0.15 us a value more than to_json (30 ms for 100,000 households).
ISO_UTC = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"


def _survey_properties(city_slug: str) -> list[Property]:
    """The survey's own fields; the city is the export's own, written as a literal."""
    return [
        Property("id", "h.id", "code", "h.id::text"),
        Property("form_id", "h.form_id"),
        Property("form_version", "h.form_version"),
        Property("collected_at", ISO_UTC.format("h.collected_at"), "code"),
        Property("received_at", ISO_UTC.format("h.received_at"), "code"),
        Property("status", "h.status", "code"),
        Property("flags", "array_to_string(h.flags, ',')", "code"),
        Property("city", sql_literal(city_slug), "code"),
        Property("ward_id", "h.ward_id", "number", field_type="int"),
        Property("ward", "w.name"),
        Property("settlement_id", "h.settlement_id", "number", field_type="int"),
        Property("settlement", "s.name"),
        Property("gps_accuracy_m", "h.gps_accuracy_m", "number"),
        Property("altitude_m", "h.altitude_m", "number"),
        # A point placed by hand on the phone's map (GPS poor or off): 1, else 0.
        Property("location_manual", "h.location_manual::int", "number", field_type="int"),
    ]


# Columns a file format writes beside the properties: a point's lon and lat (CSV, XLSX), an
# area's wkt, GeoPackage's fid and geom. An answer of one of these names is renamed in every
# format (see free_name), so that a layer has the same columns whatever its format.
FILE_COLUMNS = ("lon", "lat", "wkt", "fid", "geom")


def free_name(name: str, taken: set[str]) -> str:
    """The column name of an answer: `name`, or when a column before it has that name (case
    aside, as GeoPackage and dBase compare names) `name_2`, `name_3`... the first free, so
    that no answer is lost and a layer always maps the same way. `taken` holds the names
    used so far in lower case; the name returned is added to it."""
    found, number = name, 1
    while found.lower() in taken:
        number += 1
        found = f"{name}_{number}"
    taken.add(found.lower())
    return found


def _choice_label(choice: Choice, language: str) -> str:
    """A choice's label in `language` (else the form's first label, else its code)."""
    text = choice.label.get(language) or next(iter(choice.label.values()), "") or choice.value
    return text.replace("\x00", "")


def choice_labels(form: FormDefinition, language: str) -> dict[str, dict[str, str]]:
    """Each select_one question's choice labels in `language` by code: the values its
    column holds with `?labels=` (a code listed twice: its first label, as in _labelled)."""
    found: dict[str, dict[str, str]] = {}
    for question in form.questions:
        if question.type == "select_one":
            labels = found[question.name] = {}
            for choice in question.choices:
                labels.setdefault(choice.value, _choice_label(choice, language))
    return found


def _labelled(value: str, question: Question, language: str) -> str:
    """SQL: the label of the choice whose code `value` is (an unknown code stays as it is)."""
    whens = " ".join(
        f"WHEN {sql_literal(choice.value)} THEN {sql_literal(_choice_label(choice, language))}"
        for choice in question.choices
    )
    return f"CASE {value} {whens} ELSE {value} END" if whens else value


def _choice_properties(question: Question, labels: str | None, codes_safe: bool) -> list[Property]:
    """A select question: its codes (or labels) as one column; a select_multiple also has
    one 0/1 column per choice, named `<question>_<choice>` (NULL when unanswered)."""
    answer = f"(h.answers->>{sql_literal(question.name)})"
    kind: Kind = "code" if codes_safe else "text"
    if question.type == "select_one":
        if labels:
            return [Property(question.name, _labelled(answer, question, labels))]
        return [Property(question.name, answer, kind)]
    items = f"string_to_array({answer}, ' ')"
    if labels:
        each = _labelled("c", question, labels)
        text = (
            f"CASE WHEN {answer} IS NOT NULL THEN array_to_string(ARRAY(SELECT {each} "
            f"FROM unnest({items}) WITH ORDINALITY AS u(c, n) ORDER BY n), '; ') END"
        )
        found = [Property(question.name, text)]
    else:
        found = [Property(question.name, answer, kind)]
    for choice in question.choices:
        found.append(
            Property(
                f"{question.name}_{choice.value}",
                _chosen(answer, choice.value, items),
                "number",
                field_type="int",
            )
        )
    return found


def _chosen(answer: str, value: str, items: str) -> str:
    """SQL: 1 when the space-separated answer holds the choice `value`, 0 when not, NULL
    when unanswered. A search for " value " in " answer " finds the same as splitting the
    answer into an array, at a third of the cost per row (8 choices of the household form:
    0.4 s of 100,000 households' export); a value that holds a space can never be one of the
    split items, so it keeps the array."""
    if value == "" or any(c.isspace() for c in value):
        return (
            f"CASE WHEN {answer} IS NULL THEN NULL "
            f"WHEN {sql_literal(value)} = ANY({items}) THEN 1 ELSE 0 END"
        )
    return f"(strpos(' ' || {answer} || ' ', {sql_literal(f' {value} ')}) > 0)::int"


def answer_properties(
    question: Question, labels: str | None = None, codes_safe: bool = False
) -> list[Property]:
    """The columns of one answer: numbers as numbers, choices as codes or (with `labels`,
    "vi" or "en") as labels, anything else as text (a list or an object, which a
    well-formed survey never holds outside a repeat, as its JSON text). `codes_safe`: the
    form's answers are checked on intake (the household form), so numbers and choice codes
    are written to JSON as they are."""
    name = sql_literal(question.name)
    if question.type in NUMBER_TYPES:
        answer = f"h.answers->{name}"
        number = "round(({})::numeric)::bigint" if question.type == "integer" else "({})::float8"
        checked = f"jsonb_typeof({answer}) = 'number'"
        return [
            Property(
                question.name,
                answer
                if codes_safe
                else f"CASE WHEN {checked} THEN {answer} ELSE to_jsonb(h.answers->>{name}) END",
                "json",
                f"CASE WHEN {checked} THEN {number.format(f'h.answers->>{name}')} END",
                "int" if question.type == "integer" else "float",
            )
        ]
    if question.type in ("select_one", "select_multiple"):
        return _choice_properties(question, labels, codes_safe)
    return [Property(question.name, f"h.answers->>{name}")]


# Answers never exported: notes hold none, the location is the feature's geometry, and files
# (photos, recordings, documents) are served only to the roles that may see personal fields.
NOT_EXPORTED_TYPES = frozenset(
    {"note", "geopoint", "image", "photo", "audio", "video", "file", "background-audio"}
)
NUMBER_TYPES = frozenset({"integer", "decimal", "range"})
REPEAT_DEPTH = 3  # repeats nested deeper than this export as null: no real form goes there


@dataclass(frozen=True)
class RepeatColumn:
    """A repeat (e.g. the household roster) as one export column: its instances as JSON text,
    each holding only the answers named in `keys` (public ones) and its nested repeats."""

    name: str
    keys: tuple[str, ...]
    nested: tuple[RepeatColumn, ...] = ()


def _yes(value: Any) -> bool:
    return str(value).strip().lower() in ("yes", "true", "1", "true()")


def _form_layout(
    form: FormDefinition, personal: frozenset[str], with_personal: bool = False
) -> tuple[set[str], dict[str, RepeatColumn]]:
    """The names answered at the top of a survey's answers, and its repeats, read from
    pyxform's JSON of the form (groups are transparent, a repeat is one key holding a list).
    `with_personal`: personal answers (file names of photos included) are kept."""
    by_name = form.by_name

    def public(node: dict[str, Any]) -> bool:
        name = str(node.get("name", ""))
        question = by_name.get(name)
        kind = question.type if question is not None else str(node.get("type", ""))
        if with_personal:
            return bool(name) and kind not in ("note", "geopoint")
        return (
            bool(name)
            and name not in personal
            and not _yes(node.get("personal"))
            and not (question is not None and question.personal)
            and kind not in NOT_EXPORTED_TYPES
        )

    def walk(
        nodes: list[Any], names: set[str], repeats: dict[str, RepeatColumn], depth: int
    ) -> None:
        for node in nodes:
            if not isinstance(node, dict):
                continue
            kind = node.get("type")
            if kind == "group":
                walk(node.get("children") or [], names, repeats, depth)
            elif kind == "repeat":
                if not public(node) or depth >= REPEAT_DEPTH:
                    continue
                inner_names: set[str] = set()
                inner: dict[str, RepeatColumn] = {}
                walk(node.get("children") or [], inner_names, inner, depth + 1)
                repeats[node["name"]] = RepeatColumn(
                    node["name"], tuple(sorted(inner_names)), tuple(inner.values())
                )
            elif public(node):
                names.add(str(node["name"]))

    names: set[str] = set()
    repeats: dict[str, RepeatColumn] = {}
    walk(form.source.get("children") or [], names, repeats, 0)
    return names, repeats


def _repeat_sql(value: str, column: RepeatColumn, depth: int = 0) -> str:
    """A jsonb expression: the list `value` with only the public answers of each instance."""
    element, key, item, position = f"e{depth}", f"k{depth}", f"v{depth}", f"n{depth}"
    kept = " ".join(
        f"WHEN {sql_literal(nested.name)} THEN {_repeat_sql(item, nested, depth + 1)}"
        for nested in column.nested
    )
    item_sql = f"CASE {key} {kept} ELSE {item} END" if kept else item
    names = [*column.keys, *(nested.name for nested in column.nested)]
    allowed = ", ".join(sql_literal(name) for name in names) or "NULL"
    instance = (
        f"CASE WHEN jsonb_typeof({element}) = 'object' THEN (SELECT coalesce("
        f"jsonb_object_agg({key}, {item_sql}), '{{}}'::jsonb) FROM jsonb_each({element}) "
        f"AS p{depth}({key}, {item}) WHERE {key} IN ({allowed})) END"
    )
    return (
        f"CASE WHEN jsonb_typeof({value}) = 'array' THEN (SELECT coalesce(jsonb_agg({instance} "
        f"ORDER BY {position}), '[]'::jsonb) FROM jsonb_array_elements({value}) "
        f"WITH ORDINALITY AS r{depth}({element}, {position})) END"
    )


@dataclass(frozen=True)
class FormColumns:
    """A form's export columns and its repeats (each also a related table of its own)."""

    properties: list[Property]
    repeats: dict[str, RepeatColumn]


def form_columns(
    forms: FormRegistry,
    form_id: str,
    city_slug: str,
    labels: str | None = None,
    with_personal: bool = False,
    codes_safe: bool = False,
) -> FormColumns:
    """Survey metadata, then the questions of a form's current version in the form's order,
    flat (see answer_properties); a repeat is one column holding its instances as JSON text.
    An answer's column named as one before it (or as a file's own, FILE_COLUMNS) is renamed
    by free_name: a question `status` is the column `status_2`.
    Without `with_personal`, a question marked personal in any version of the form, its
    answers inside repeats included, and every file answer are left out."""
    form = forms.current(form_id)
    personal: frozenset[str] = frozenset() if with_personal else forms.personal_fields(form_id)
    top, repeats = _form_layout(form, personal, with_personal)
    properties = _survey_properties(city_slug)
    taken = {name.lower() for name in (*FILE_COLUMNS, *(p.name for p in properties))}
    all_repeats = dict(repeats)

    def add_repeat(column: RepeatColumn) -> None:
        value = f"h.answers->{sql_literal(column.name)}"
        name = free_name(column.name, taken)
        properties.append(Property(name, f"({_repeat_sql(value, column)})::text"))

    questions = (
        [q for q in form.questions if q.type not in ("note", "geopoint")]
        if with_personal
        else form.public_fields()
    )
    for question in questions:
        if question.name in personal:
            continue
        if question.name in repeats:
            add_repeat(repeats.pop(question.name))
        elif question.name in top and (with_personal or question.type not in NOT_EXPORTED_TYPES):
            for prop in answer_properties(question, labels, codes_safe):
                properties.append(replace(prop, name=free_name(prop.name, taken)))
    for column in repeats.values():  # repeats the flattened questions do not name
        add_repeat(column)
    return FormColumns(properties, all_repeats)


def flat_properties(
    forms: FormRegistry,
    form_id: str,
    city_slug: str,
    labels: str | None = None,
    with_personal: bool = False,
    household_form: str = HOUSEHOLD_FORM,
) -> list[Property]:
    """THE flattening of a survey layer's rows, shared by every export format (GeoJSON,
    files, OGC API Features, tiles): survey metadata (location_manual included), then one
    stable column per question in the form's order; choices as codes, or with `labels`
    ("vi"/"en") as labels, a select_multiple also as one 0/1 column per choice
    (`<question>_<choice>`); repeats as JSON text. Personal answers only `with_personal`
    (a reader who may see them: see personal_allowed). Each Property's `sql` reads the
    survey as `h` (household_surveys), its ward as `w` and its settlement as `s`."""
    if form_id not in forms.versions:
        return _survey_properties(city_slug)
    return form_columns(
        forms, form_id, city_slug, labels, with_personal, codes_safe=form_id == household_form
    ).properties


def survey_geometry(forms: FormRegistry, form_id: str) -> tuple[str, str]:
    """The geometry of a form's surveys (SQL on `h`) and its type as GDAL names it: the
    polygon stored from the answer of a form whose location is a geoshape
    (FormDefinition.shape_question; surveys of an older version without it have none),
    else the survey's point."""
    if form_id in forms.versions and forms.current(form_id).shape_question is not None:
        return "h.shape", "Polygon"
    return "h.geom", "Point"


def personal_allowed(reader: Principal, city_id: int, ward_id: int | None) -> bool:
    """Whether an export of a city (or of one of its wards) may hold personal answers: the
    city's admins and national admins, or the ward's leader for their ward; never a planner."""
    record = {"city_id": city_id, "ward_id": ward_id}
    return reader.is_national_admin or (
        reader.can_see_personal(record)
        if ward_id is not None
        else city_id in reader.cities_as("city_admin")
    )


def form_properties(forms: FormRegistry, form_id: str, city_slug: str) -> list[Property]:
    """A form's layer columns without personal answers, choices as codes (see form_columns)."""
    return form_columns(forms, form_id, city_slug).properties


def household_properties(
    forms: FormRegistry, city_slug: str, household_form: str = HOUSEHOLD_FORM
) -> list[Property]:
    """Export properties: survey metadata, then every non-personal question of the household
    form, in the form's order (a repeat, such as a household roster: its instances as JSON
    text, personal answers inside them left out)."""
    return flat_properties(forms, household_form, city_slug, household_form=household_form)


@dataclass(frozen=True)
class Layer:
    """A GeoJSON layer being exported: iterate for its bytes, then aclose() (read or not)."""

    rows: CopyStream
    name: str

    def __aiter__(self) -> AsyncIterator[bytes]:
        return feature_collection(self.rows, self.name)

    async def aclose(self) -> None:
        """Stop reading the database if it still does, and free what the layer holds."""
        await self.rows.aclose()


async def feature_collection(copy_rows: AsyncIterable[bytes], name: str) -> AsyncIterator[bytes]:
    """Join COPY rows (one Feature per line) into an RFC 7946 FeatureCollection.

    The rows are JSON exactly as PostgreSQL wrote them (see CopyStream); turning line ends
    into commas is a C-level byte operation on whole chunks, with no Python loop per feature.
    """
    # The name may be a form id: written by orjson, whatever characters the form's author chose.
    yield b'{"type":"FeatureCollection","name":' + orjson.dumps(name) + b',"features":[\n'
    pending = b""  # the separator after the last feature sent, held back until another comes
    buffer: list[bytes] = []
    size = 0
    partial = b""  # a row cut by a chunk boundary waits for its end
    async for chunk in copy_rows:
        data = partial + chunk
        cut = data.rfind(b"\n") + 1
        partial, data = data[cut:], data[:cut]
        if not data:
            continue
        body = data.replace(b"\n", b",\n")
        buffer.append(pending + body[:-2])
        pending = body[-2:]
        size += len(body)
        if size >= CHUNK_BYTES:
            yield b"".join(buffer)
            buffer, size = [], 0
    buffer.append(b"\n]}\n")
    yield b"".join(buffer)


# Layer names of the GeoPackage beside the forms' own (a form with one of these ids gets
# "<form id>_surveys" instead).
FIXED_LAYERS = frozenset(
    {"wards", "settlements", "households", "savings_groups", "upgrading_projects"}
)


async def _in_thread(function: Callable[..., None], *args: Any) -> None:
    """function(*args) in a worker thread; a cancelled caller still waits for it to end, so
    that the files it writes are not deleted under it."""
    task = asyncio.ensure_future(asyncio.to_thread(function, *args))
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise
