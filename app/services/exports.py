"""Use case: GeoJSON layers (households, settlements, wards) for planners and QGIS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.exports import feature_sql, stream_copy
from app.forms.definition import Question
from app.forms.registry import FormRegistry
from app.services import places

CHUNK_BYTES = 256 * 1024
HOUSEHOLD_COLUMNS: list[tuple[str, str]] = [
    ("id", "h.id"),
    ("form_id", "h.form_id"),
    ("form_version", "h.form_version"),
    ("collected_at", "h.collected_at"),
    ("received_at", "h.received_at"),
    ("status", "h.status"),
    ("flags", "array_to_string(h.flags, ',')"),
    ("city", "c.slug"),
    ("ward_id", "h.ward_id"),
    ("ward", "w.name"),
    ("settlement_id", "h.settlement_id"),
    ("settlement", "s.name"),
    ("gps_accuracy_m", "h.gps_accuracy_m"),
    ("altitude_m", "h.altitude_m"),
]


def _answer_expression(question: Question) -> str:
    name = question.name.replace("'", "''")
    if question.type in ("integer", "decimal"):
        return f"(h.answers->>'{name}')::numeric"
    return f"h.answers->>'{name}'"


def household_columns(forms: FormRegistry) -> list[tuple[str, str]]:
    """Export columns: survey metadata, then every non-personal question of the household form."""
    columns = list(HOUSEHOLD_COLUMNS)
    taken = {name for name, _ in columns}
    for form_id in ("household",):
        if form_id not in forms.versions:
            continue
        for question in forms.current(form_id).public_fields():
            if question.name not in taken:
                columns.append((question.name, _answer_expression(question)))
                taken.add(question.name)
    return columns


async def feature_collection(copy_rows: AsyncIterator[bytes], name: str) -> AsyncIterator[bytes]:
    """Join COPY text rows (one Feature per line) into an RFC 7946 FeatureCollection.

    The rows are JSON, which never holds a raw tab or newline, so the only COPY escape in them
    is the doubled backslash; undoing it and turning line ends into commas are C-level byte
    operations on whole chunks, with no Python loop per feature.
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
        body = data.replace(b"\\\\", b"\\").replace(b"\n", b",\n")
        buffer.append(pending + body[:-2])
        pending = body[-2:]
        size += len(body)
        if size >= CHUNK_BYTES:
            yield b"".join(buffer)
            buffer, size = [], 0
    buffer.append(b"\n]}\n")
    yield b"".join(buffer)


async def households_geojson(
    engine: AsyncEngine, forms: FormRegistry, city_slug: str, ward_id: int | None
) -> AsyncIterator[bytes]:
    """Household points of a city (or one ward) as GeoJSON, streamed; no personal fields."""
    city = await places.city(engine, city_slug)
    args: list[Any] = [city["id"]]
    where = "h.city_id = $1"
    if ward_id is not None:
        await places.ward(engine, ward_id)
        where += " AND h.ward_id = $2"
        args.append(ward_id)
    source = (
        "household_surveys h LEFT JOIN cities c ON c.id = h.city_id "
        "LEFT JOIN wards w ON w.id = h.ward_id "
        f"LEFT JOIN settlements s ON s.id = h.settlement_id WHERE {where}"
    )
    sql = feature_sql("h.geom", household_columns(forms), source)
    return feature_collection(stream_copy(engine, sql, args), "households")


async def wards_geojson(engine: AsyncEngine, city_slug: str) -> AsyncIterator[bytes]:
    """Ward boundaries of a city with household counts, streamed."""
    city = await places.city(engine, city_slug)
    columns = [
        ("id", "w.id"),
        ("code", "w.code"),
        ("name", "w.name"),
        ("city", "c.slug"),
        ("households", "(SELECT count(*) FROM household_surveys h WHERE h.ward_id = w.id)"),
    ]
    source = "wards w JOIN cities c ON c.id = w.city_id WHERE w.city_id = $1 ORDER BY w.code"
    sql = feature_sql("w.geom", columns, source)
    return feature_collection(stream_copy(engine, sql, [city["id"]]), "wards")


async def settlements_geojson(
    engine: AsyncEngine, city_slug: str, ward_id: int | None
) -> AsyncIterator[bytes]:
    """Settlement boundaries with their profile and household counts, streamed."""
    city = await places.city(engine, city_slug)
    args: list[Any] = [city["id"]]
    where = "s.city_id = $1"
    if ward_id is not None:
        await places.ward(engine, ward_id)
        where += " AND s.ward_id = $2"
        args.append(ward_id)
    columns = [
        ("id", "s.id"),
        ("code", "s.code"),
        ("name", "s.name"),
        ("ward_id", "s.ward_id"),
        ("ward", "w.name"),
        ("households_estimate", "s.households_estimate"),
        ("year_settled", "s.year_settled"),
        ("land_type", "s.land_type"),
        ("threats", "array_to_string(s.threats, ',')"),
        ("households", "(SELECT count(*) FROM household_surveys h WHERE h.settlement_id = s.id)"),
    ]
    source = f"settlements s LEFT JOIN wards w ON w.id = s.ward_id WHERE {where} ORDER BY s.code"
    sql = feature_sql("s.geom", columns, source)
    return feature_collection(stream_copy(engine, sql, args), "settlements")
