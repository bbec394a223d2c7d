"""Use case: GeoJSON layers (households, settlements, wards) for planners and QGIS."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.exports import CopyStream, ExportSlots, Property, feature_sql
from app.db.indicators import COUNTED, Counted
from app.db.sql import sql_literal
from app.forms.definition import Question
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
    if question.type in ("integer", "decimal"):
        return Property(question.name, f"h.answers->{name}", "json")  # stored as JSON numbers
    if question.type in ("select_one", "select_multiple"):
        return Property(question.name, f"h.answers->>{name}", "code")  # safe choice names
    return Property(question.name, f"h.answers->>{name}")


def household_properties(forms: FormRegistry, city_slug: str) -> list[Property]:
    """Export properties: survey metadata, then every non-personal question of the household
    form, in the form's order."""
    properties = _survey_properties(city_slug)
    taken = {p.name for p in properties}
    for form_id in ("household",):
        if form_id not in forms.versions:
            continue
        for question in forms.current(form_id).public_fields():
            if question.name not in taken:
                properties.append(_answer_property(question))
                taken.add(question.name)
    return properties


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
    yield f'{{"type":"FeatureCollection","name":"{name}","features":[\n'.encode()
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
) -> Layer:
    """Household points of a city (or one ward) as GeoJSON, streamed; no personal fields.

    Approved surveys, or with `surveys="all"` every survey not rejected."""
    city = await places.readable_area(engine, reader, city_slug, ward_id)
    args: list[Any] = [city["id"]]
    where = f"h.city_id = $1 AND {COUNTED[surveys]}"
    if ward_id is not None:
        where += " AND h.ward_id = $2"
        args.append(ward_id)
    source = (
        "household_surveys h LEFT JOIN wards w ON w.id = h.ward_id "
        f"LEFT JOIN settlements s ON s.id = h.settlement_id WHERE {where}"
    )
    sql = feature_sql("h.geom", household_properties(forms, city["slug"]), source)
    return Layer(await CopyStream.open(engine, sql, args, slots), "households")


async def wards_geojson(
    engine: AsyncEngine,
    slots: ExportSlots,
    city_slug: str,
    reader: Principal = SYSTEM,
    surveys: Counted = "approved",
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
            f"AND {COUNTED[surveys]})",
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
            f"AND {COUNTED[surveys]})",
            "number",
        ),
    ]
    source = f"settlements s LEFT JOIN wards w ON w.id = s.ward_id WHERE {where} ORDER BY s.code"
    sql = feature_sql("s.geom", properties, source)
    return Layer(await CopyStream.open(engine, sql, args, slots), "settlements")
