"""Use case: GeoJSON layers (households, settlements, wards, each other form's surveys) for
planners and QGIS."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.exports import CopyStream, ExportSlots, Property, feature_sql
from app.db.indicators import COUNTED, HOUSEHOLD_FORM, Counted, households_where
from app.db.sql import sql_literal
from app.errors import NotFound, UnknownForm
from app.forms.definition import FormDefinition, Question
from app.forms.registry import FormRegistry
from app.services import places
from app.services.access import SYSTEM, Principal

CHUNK_BYTES = 256 * 1024


def _survey_properties(city_slug: str) -> list[Property]:
    """The survey's own fields; the city is the export's own, written as a literal."""
    return [
        Property("id", "h.id", "code"),
        Property("form_id", "h.form_id"),
        Property("form_version", "h.form_version"),
        Property("collected_at", "h.collected_at"),
        Property("received_at", "h.received_at"),
        Property("status", "h.status", "code"),
        Property("flags", "array_to_string(h.flags, ',')", "code"),
        Property("city", sql_literal(city_slug), "code"),
        Property("ward_id", "h.ward_id", "number"),
        Property("ward", "w.name"),
        Property("settlement_id", "h.settlement_id", "number"),
        Property("settlement", "s.name"),
        Property("gps_accuracy_m", "h.gps_accuracy_m", "number"),
        Property("altitude_m", "h.altitude_m", "number"),
    ]


def _answer_property(question: Question) -> Property:
    name = sql_literal(question.name)
    if question.type in NUMBER_TYPES:
        return Property(question.name, f"h.answers->{name}", "json")  # stored as JSON numbers
    if question.type in ("select_one", "select_multiple"):
        return Property(question.name, f"h.answers->>{name}", "code")  # safe choice names
    return Property(question.name, f"h.answers->>{name}")


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
    form: FormDefinition, personal: frozenset[str]
) -> tuple[set[str], dict[str, RepeatColumn]]:
    """The names answered at the top of a survey's answers, and its repeats, read from
    pyxform's JSON of the form (groups are transparent, a repeat is one key holding a list)."""
    by_name = form.by_name

    def public(node: dict[str, Any]) -> bool:
        name = str(node.get("name", ""))
        question = by_name.get(name)
        kind = question.type if question is not None else str(node.get("type", ""))
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


def _any_answer_property(question: Question) -> Property:
    """A question of any form: numbers as numbers, anything else as text (a list or an
    object, which a well-formed survey never holds outside a repeat, as its JSON text)."""
    name = sql_literal(question.name)
    if question.type in NUMBER_TYPES:
        return Property(
            question.name,
            f"CASE WHEN jsonb_typeof(h.answers->{name}) = 'number' "
            f"THEN h.answers->{name} ELSE to_jsonb(h.answers->>{name}) END",
            "json",
        )
    return Property(question.name, f"h.answers->>{name}")


def form_properties(
    forms: FormRegistry,
    form_id: str,
    city_slug: str,
    answer_property: Callable[[Question], Property] = _any_answer_property,
) -> list[Property]:
    """Survey metadata, then the public questions of a form's current version in the form's
    order, each a column; a repeat is one column holding its instances as JSON text, with the
    personal answers inside them left out. A question marked personal in any version of the
    form is never exported."""
    form = forms.current(form_id)
    personal = frozenset().union(*(v.personal_fields for v in forms.versions[form_id].values()))
    top, repeats = _form_layout(form, personal)
    properties = _survey_properties(city_slug)
    taken = {p.name for p in properties}

    def add_repeat(column: RepeatColumn) -> None:
        value = f"h.answers->{sql_literal(column.name)}"
        properties.append(Property(column.name, f"({_repeat_sql(value, column)})::text"))
        taken.add(column.name)

    for question in form.public_fields():
        if question.name in taken or question.name in personal:
            continue
        if question.name in repeats:
            add_repeat(repeats.pop(question.name))
        elif question.name in top and question.type not in NOT_EXPORTED_TYPES:
            properties.append(answer_property(question))
            taken.add(question.name)
    for column in repeats.values():  # repeats the flattened questions do not name
        if column.name not in taken:
            add_repeat(column)
    return properties


def household_properties(
    forms: FormRegistry, city_slug: str, household_form: str = HOUSEHOLD_FORM
) -> list[Property]:
    """Export properties: survey metadata, then every non-personal question of the household
    form, in the form's order (a repeat, such as a household roster: its instances as JSON
    text, personal answers inside them left out)."""
    if household_form not in forms.versions:
        return _survey_properties(city_slug)
    return form_properties(forms, household_form, city_slug, _answer_property)


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


async def households_geojson(
    engine: AsyncEngine,
    slots: ExportSlots,
    forms: FormRegistry,
    city_slug: str,
    ward_id: int | None,
    reader: Principal = SYSTEM,
    surveys: Counted = "approved",
    household_form: str = HOUSEHOLD_FORM,
) -> Layer:
    """Household points of a city (or one ward) as GeoJSON, streamed; no personal fields.

    Surveys of the household form only: approved, or with `surveys="all"` every one not
    rejected."""
    city = await places.readable_area(engine, reader, city_slug, ward_id)
    properties = household_properties(forms, city["slug"], household_form)
    return await _surveys_layer(
        engine,
        slots,
        city["id"],
        ward_id,
        households_where(surveys, household_form),
        properties,
        "households",
    )


async def _surveys_layer(
    engine: AsyncEngine,
    slots: ExportSlots,
    city_id: int,
    ward_id: int | None,
    condition: str,
    properties: list[Property],
    name: str,
) -> Layer:
    args: list[Any] = [city_id]
    where = f"h.city_id = $1 AND {condition}"
    if ward_id is not None:
        where += " AND h.ward_id = $2"
        args.append(ward_id)
    source = (
        "household_surveys h LEFT JOIN wards w ON w.id = h.ward_id "
        f"LEFT JOIN settlements s ON s.id = h.settlement_id WHERE {where}"
    )
    sql = feature_sql("h.geom", properties, source)
    return Layer(await CopyStream.open(engine, sql, args, slots), name)


async def form_geojson(
    engine: AsyncEngine,
    slots: ExportSlots,
    forms: FormRegistry,
    form_id: str,
    city_slug: str,
    ward_id: int | None,
    reader: Principal = SYSTEM,
    surveys: Counted = "approved",
) -> Layer:
    """The surveys of one form (a settlement profile, any added form) in a city or ward as
    their own GeoJSON layer named by the form id, streamed: the form's public questions as
    properties, never a personal field; a survey without a location has a null geometry.

    Approved surveys, or with `surveys="all"` every one not rejected. NotFound for a form
    the server does not have, as for a city the reader may not read."""
    city = await places.readable_area(engine, reader, city_slug, ward_id)
    try:
        properties = form_properties(forms, form_id, city["slug"])
    except UnknownForm as exc:
        raise NotFound(exc.code, **exc.params) from exc  # a missing resource, not bad input
    condition = f"h.form_id = {sql_literal(form_id)} AND {COUNTED[surveys]}"
    return await _surveys_layer(engine, slots, city["id"], ward_id, condition, properties, form_id)


async def wards_geojson(
    engine: AsyncEngine,
    slots: ExportSlots,
    city_slug: str,
    reader: Principal = SYSTEM,
    surveys: Counted = "approved",
    household_form: str = HOUSEHOLD_FORM,
) -> Layer:
    """Ward boundaries of a city with household counts, streamed."""
    city = await places.readable_area(engine, reader, city_slug, None)
    properties = [
        Property("id", "w.id", "number"),
        Property("code", "w.code"),
        Property("name", "w.name"),
        Property("city", sql_literal(city["slug"]), "code"),
        Property(
            "households",
            "(SELECT count(*) FROM household_surveys h WHERE h.ward_id = w.id "
            f"AND {households_where(surveys, household_form)})",
            "number",
        ),
    ]
    source = "wards w WHERE w.city_id = $1 ORDER BY w.code"
    sql = feature_sql("w.geom", properties, source)
    return Layer(await CopyStream.open(engine, sql, [city["id"]], slots), "wards")


async def settlements_geojson(
    engine: AsyncEngine,
    slots: ExportSlots,
    city_slug: str,
    ward_id: int | None,
    reader: Principal = SYSTEM,
    surveys: Counted = "approved",
    household_form: str = HOUSEHOLD_FORM,
) -> Layer:
    """Settlement boundaries with their profile and household counts, streamed."""
    city = await places.readable_area(engine, reader, city_slug, ward_id)
    args: list[Any] = [city["id"]]
    where = "s.city_id = $1"
    if ward_id is not None:
        where += " AND s.ward_id = $2"
        args.append(ward_id)
    properties = [
        Property("id", "s.id", "number"),
        Property("code", "s.code"),
        Property("name", "s.name"),
        Property("ward_id", "s.ward_id", "number"),
        Property("ward", "w.name"),
        Property("households_estimate", "s.households_estimate", "number"),
        Property("year_settled", "s.year_settled", "number"),
        Property("land_type", "s.land_type"),
        Property("threats", "array_to_string(s.threats, ',')"),
        Property(
            "households",
            "(SELECT count(*) FROM household_surveys h WHERE h.settlement_id = s.id "
            f"AND {households_where(surveys, household_form)})",
            "number",
        ),
    ]
    source = f"settlements s LEFT JOIN wards w ON w.id = s.ward_id WHERE {where} ORDER BY s.code"
    sql = feature_sql("s.geom", properties, source)
    return Layer(await CopyStream.open(engine, sql, args, slots), "settlements")


# Layer names of the GeoPackage beside the forms' own (a form with one of these ids gets
# "<form id>_surveys" instead).
FIXED_LAYERS = frozenset({"wards", "settlements", "households"})


@dataclass(frozen=True)
class GeoPackage:
    """A GeoPackage built in a temporary directory: iterate for its bytes, then aclose()
    (which deletes it), read or not."""

    path: Path
    directory: Path

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        with self.path.open("rb") as package:
            while chunk := package.read(CHUNK_BYTES):
                yield chunk

    async def aclose(self) -> None:
        """Delete the file."""
        shutil.rmtree(self.directory, ignore_errors=True)


async def _in_thread(function: Callable[..., None], *args: Any) -> None:
    """function(*args) in a worker thread; a cancelled caller still waits for it to end, so
    that the files it writes are not deleted under it."""
    task = asyncio.ensure_future(asyncio.to_thread(function, *args))
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise


async def geopackage(
    engine: AsyncEngine,
    slots: ExportSlots,
    forms: FormRegistry,
    city_slug: str,
    ward_id: int | None,
    reader: Principal = SYSTEM,
    surveys: Counted = "approved",
    household_form: str = HOUSEHOLD_FORM,
) -> GeoPackage:
    """Every layer of a city (or one ward) in one GeoPackage: wards (for a whole city),
    settlements, households, and one layer per other form named by its form id, with the
    same contents and rules as the GeoJSON layers.

    Each layer is copied out of PostgreSQL like a GeoJSON export (one export slot at a time,
    spilled to a temporary file), then written into the package by GDAL in batches.
    """
    from app.geo.geopackage import add_geojson_layer

    await places.readable_area(engine, reader, city_slug, ward_id)  # 404 before any work
    layers: list[tuple[str, Callable[[], Awaitable[Layer]]]] = []
    if ward_id is None:
        layers.append(
            (
                "wards",
                lambda: wards_geojson(engine, slots, city_slug, reader, surveys, household_form),
            )
        )
    layers.append(
        (
            "settlements",
            lambda: settlements_geojson(
                engine, slots, city_slug, ward_id, reader, surveys, household_form
            ),
        )
    )
    layers.append(
        (
            "households",
            lambda: households_geojson(
                engine, slots, forms, city_slug, ward_id, reader, surveys, household_form
            ),
        )
    )
    for form in forms.all_current():
        if form.form_id == household_form:
            continue
        name = f"{form.form_id}_surveys" if form.form_id in FIXED_LAYERS else form.form_id

        def opener(form_id: str = form.form_id) -> Awaitable[Layer]:
            return form_geojson(engine, slots, forms, form_id, city_slug, ward_id, reader, surveys)

        layers.append((name, opener))
    directory = Path(tempfile.mkdtemp(prefix="cdfmap-export-"))
    package = GeoPackage(directory / "layers.gpkg", directory)
    try:
        for name, open_layer in layers:
            scratch = directory / "layer.geojson"
            layer = await open_layer()
            try:
                with scratch.open("wb") as out:
                    async for chunk in layer:
                        out.write(chunk)
            finally:
                await layer.aclose()
            await _in_thread(add_geojson_layer, scratch, package.path, name)
            scratch.unlink()
    except BaseException:
        await package.aclose()
        raise
    return package
