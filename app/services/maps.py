"""Use case: interactive and printable maps of a city or ward (no personal data on any map)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import context as context_queries
from app.db import indicators as queries
from app.db import places as place_queries
from app.db.indicators import HOUSEHOLD_FORM, Counted
from app.errors import NotFound
from app.forms.registry import FormRegistry
from app.geo.styles import POINT_STYLE_BY_KEY, POINT_STYLES
from app.i18n import date_text, translate, whole_percent, whole_score
from app.services import cdf_groups_map, cdf_projects, indicators, places
from app.services.access import SYSTEM, Principal
from app.services.small_areas import PUBLIC_MIN_HOUSEHOLDS
from app.text import isolated


def _t(key: str, language: str, **params: Any) -> str:
    return translate(f"map_page.{key}", language, **params)


def point_labels(
    forms: FormRegistry, language: str, household_form: str = HOUSEHOLD_FORM
) -> dict[str, dict[str, str]]:
    """Answer labels of the mapped household questions, from the current household form."""
    labels: dict[str, dict[str, str]] = {}
    form = forms.current(household_form) if household_form in forms.versions else None
    questions = form.by_name if form else {}
    for style in POINT_STYLES:
        question = questions.get(style.question)
        choices = {c.value: c.label for c in question.choices} if question else {}
        labels[style.key] = {
            value: (choices.get(value) or {}).get(language) or value for value in style.values
        }
    return labels


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{whole_percent(value)} %"


def _features(
    shapes: list[dict[str, Any]], properties: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    """A FeatureCollection of the shapes; a shape with a label point (a point inside it, for
    its name on the map) has it as the `label` property, [lon, lat]."""
    features = [
        {
            "type": "Feature",
            "geometry": orjson.loads(shape["geometry"]),
            "properties": {
                **properties.get(shape["id"], {"name": shape["name"]}),
                **(
                    {"label": [shape["label_lon"], shape["label_lat"]]}
                    if shape.get("label_lon") is not None
                    else {}
                ),
            },
        }
        for shape in shapes
    ]
    return {"type": "FeatureCollection", "features": features}


def _settlement_properties(row: dict[str, Any], language: str) -> dict[str, Any]:
    """What a settlement's popup shows: aggregates only, never a household."""
    # Names stay as they are: the page shows them as text, never as HTML (cdfmap.js).
    properties: dict[str, Any] = {
        "name": row["name"],
        "ward": row.get("ward") or "",
        "households": row["households"],
        "score": row["score"],
        "score_text": _score_text(row, language),
        "withheld": bool(row.get("withheld")),
        "rank_in_ward": row.get("rank_in_ward") or "–",
        "rank_in_city": row.get("rank_in_city") or "–",
    }
    for key in indicators.INDICATOR_KEYS:
        properties[f"share_{key}"] = _percent(row["shares"][key])
    return properties


def _score_text(row: dict[str, Any], language: str) -> str:
    if row.get("withheld"):  # a published place of a few households (small_areas.py)
        return _t("withheld", language, min=PUBLIC_MIN_HOUSEHOLDS)
    # Half up from the score as shown (one decimal), as the shares beside it round.
    return "–" if row["score"] is None else str(whole_score(row["score"]))


def popup_fields(language: str) -> list[tuple[str, str]]:
    """(property, label) pairs shown in a settlement popup."""
    fields = [
        ("name", _t("name", language)),
        ("ward", _t("ward", language)),
        ("households", _t("households", language)),
        ("score_text", _t("score", language)),
        ("rank_in_ward", _t("rank_in_ward", language)),
        ("rank_in_city", _t("rank_in_city", language)),
    ]
    fields += [(f"share_{i.key}", i.label[language]) for i in indicators.INDICATORS]
    return fields


@dataclass(frozen=True)
class MapOptions:
    """Configuration a map page needs (from settings, passed in by the API)."""

    priorities: Path
    static_url: str = "/static"
    basemap_url: str | None = None
    basemap_attribution: str = ""
    household_form: str = HOUSEHOLD_FORM  # whose surveys are the households
    # From this many households (approved surveys) the page draws them from vector tiles.
    tiles_from: int = 20_000


HOUSEHOLD_TILES = "/tiles/households/{z}/{x}/{y}.pbf"


def _points_source(
    report: dict[str, Any], options: MapOptions, points_url: str
) -> tuple[str, str | None]:
    """(points_url, tiles_url) for a page: a large area's households come from the vector
    tiles (only what is in view, from zoom 14, of approved surveys: the tiles' own filter),
    a smaller one's as one download of every point."""
    large = report["totals"]["households"] >= options.tiles_from
    if points_url and large and report["surveys"] == "approved":
        return "", HOUSEHOLD_TILES
    return points_url, None


async def _map_input(
    engine: AsyncEngine,
    forms: FormRegistry,
    report: dict[str, Any],
    city_id: int,
    ward_id: int | None,
    title: str,
    points_url: str,
    language: str,
    options: MapOptions,
    reader: Principal | None = None,
) -> Any:
    from app.geo.web_map import WebMapInput

    points_url, points_tiles = _points_source(report, options, points_url)

    async with engine.connect() as connection:
        shapes = await queries.area_shapes(connection, city_id, ward_id)
        context_slug = await context_queries.context_slug(connection, city_id)
    if not shapes["wards"]:
        if ward_id is not None:
            raise NotFound("ward_not_found", id=ward_id)
        raise NotFound("unknown_city", city=report["area"].get("slug", city_id))
    settlement_properties = {
        row["id"]: _settlement_properties(row, language) for row in report["settlements"]
    }
    wards = shapes["wards"]
    bounds = (
        min(w["west"] for w in wards),
        min(w["south"] for w in wards),
        max(w["east"] for w in wards),
        max(w["north"] for w in wards),
    )
    rank = "rank_in_ward" if ward_id is not None else "rank_in_city"
    ranks = {row["id"]: row.get(rank) for row in report["settlements"]}
    projects = await cdf_projects.map_projects(engine, reader, city_id, ward_id, language, ranks)
    groups, unplaced = await cdf_groups_map.map_groups(engine, reader, city_id, ward_id, language)
    totals = report["totals"]
    subtitle = _t(
        "subtitle",
        language,
        households=f"{totals['households']:,}".replace(",", "." if language == "vi" else ","),
        date=date_text(report["data_date"], language)
        if report["data_date"]
        else _t("no_date", language),
    )
    return WebMapInput(
        title=title,
        subtitle=subtitle,
        language=language,
        bounds=bounds,
        wards=_features(wards, {w["id"]: {"name": w["name"]} for w in wards}),
        settlements=_features(shapes["settlements"], settlement_properties),
        note=None if shapes["settlements"] else translate("web_map.no_settlements", language),
        popup_fields=popup_fields(language),
        points_url=points_url,
        points_tiles=points_tiles,
        points_ward=ward_id,
        point_labels=point_labels(forms, language, options.household_form),
        static_url=options.static_url,
        basemap_url=options.basemap_url,
        basemap_attribution=options.basemap_attribution,
        projects=cdf_projects.map_layer(projects),
        project_popup_fields=cdf_projects.popup_fields(language),
        groups=cdf_groups_map.map_layer(groups, unplaced),
        group_popup_fields=cdf_groups_map.popup_fields(language),
        context_url=f"/api/v1/context/{context_slug}.geojson" if context_slug else "",
    )


async def city_map_html(
    engine: AsyncEngine,
    forms: FormRegistry,
    slug: str,
    language: str,
    options: MapOptions,
    nonce: str = "",
    reader: Principal | None = SYSTEM,
    surveys: Counted = "approved",
) -> str:
    """The interactive map page of a city (`nonce`: the request's CSP nonce). Its readers
    see household points; anyone else, where the city publishes its map, settlements only."""
    from app.geo.web_map import render_web_map

    report = await indicators.city_report(
        engine, slug, options.priorities, reader, surveys, options.household_form
    )
    city = report["area"]
    households = reader is not None and reader.can_read_city(city["id"])
    query = "?surveys=all" if report["surveys"] == "all" else ""
    data = await _map_input(
        engine,
        forms,
        report,
        city["id"],
        None,
        _t("city_title", language, city=isolated(city["name"])),
        f"/maps/data/cities/{slug}/households.json{query}" if households else "",
        language,
        options,
        reader,
    )
    return render_web_map(data, nonce)


async def ward_map_html(
    engine: AsyncEngine,
    forms: FormRegistry,
    ward_id: int,
    language: str,
    options: MapOptions,
    nonce: str = "",
    reader: Principal | None = SYSTEM,
    surveys: Counted = "approved",
) -> str:
    """The interactive map page of one ward (`nonce`: the request's CSP nonce); household
    points for its readers only."""
    from app.geo.web_map import render_web_map

    report = await indicators.ward_report(
        engine,
        ward_id,
        options.priorities,
        reader=reader,
        surveys=surveys,
        household_form=options.household_form,
    )
    area = report["area"]
    async with engine.connect() as connection:
        ward = await place_queries.ward_by_id(connection, ward_id)
    assert ward is not None  # ward_report raised NotFound otherwise
    households = reader is not None and reader.can_read_ward(ward["city_id"], ward_id)
    query = "&surveys=all" if report["surveys"] == "all" else ""
    data = await _map_input(
        engine,
        forms,
        report,
        ward["city_id"],
        ward_id,
        # Each name isolated: one written right to left (or with a direction override) would
        # reorder the rest of the title, on the page and in the browser's tab.
        _t("ward_title", language, ward=isolated(area["name"]), city=isolated(area["city_name"])),
        f"/maps/data/cities/{area['city']}/households.json?ward={ward_id}{query}"
        if households
        else "",
        language,
        options,
        reader,
    )
    return render_web_map(data, nonce)


async def household_points_json(
    engine: AsyncEngine,
    slug: str,
    ward_id: int | None,
    reader: Principal = SYSTEM,
    surveys: Counted = "approved",
    household_form: str = HOUSEHOLD_FORM,
) -> bytes:
    """Household points (lon/lat offsets + one answer code per indicator) as compact JSON,
    for the city's readers (a ward's leader: that ward); never for the public."""
    questions = [(s.key, s.question, s.values) for s in POINT_STYLES]
    city = await places.readable_area(engine, reader, slug, ward_id)
    async with engine.connect() as connection:
        return await queries.household_points_json(
            connection, city["id"], ward_id, questions, surveys, household_form
        )


# Printable maps -----------------------------------------------------------------------------

T = TypeVar("T")


# Prints one person may have admitted at once (one drawing, one waiting): the slots are
# shared by every reader of every city.
PRINTS_PER_HOLDER = 2


class PrintsBusy(Exception):
    """Every print slot and every place in the queue is taken: try again in a few seconds."""

    retry_after = 5  # seconds; a print takes 0.3-1.5 s and the queue is short


class PrintSlots:
    """At most `concurrency` prints at once and `queue` more waiting; beyond that, PrintsBusy.

    A print holds a page-sized image while it draws (an A3 PNG at 200 dpi is a 31 MB RGBA
    buffer, plus matplotlib's artists): unbounded, 20 A3 PNGs at once took the server from
    220 MB to 650 MB and 40 to 1 GB. Prints are CPU-bound, so more than one per core only
    adds memory, not throughput; a caller that would wait behind a long queue is better told
    to come back (503 + Retry-After). asyncio.Semaphore has no queue limit, hence the count
    of admitted prints here.
    """

    def __init__(self, concurrency: int, queue: int, per_holder: int = PRINTS_PER_HOLDER) -> None:
        if concurrency < 1 or queue < 0 or per_holder < 1:
            raise ValueError("print concurrency and per holder must be >= 1, the queue >= 0")
        self._semaphore = asyncio.Semaphore(concurrency)
        self._capacity = concurrency + queue
        self._per_holder = per_holder
        self._admitted = 0  # printing or waiting
        self._held: dict[object, int] = {}  # by holder: printing or waiting

    @contextlib.asynccontextmanager
    async def slot(self, holder: object = None) -> AsyncIterator[None]:
        """Hold one print slot (waiting in the queue if need be); PrintsBusy when it is full,
        or when `holder` (a person's id) has `per_holder` prints admitted already: one
        reader's ten prints in a loop filled the slots and the queue, and every other
        reader's print was a 503 for as long as the loop ran (review)."""
        held = self._held.get(holder, 0) if holder is not None else 0
        if self._admitted >= self._capacity or held >= self._per_holder:
            raise PrintsBusy
        self._admitted += 1
        if holder is not None:
            self._held[holder] = held + 1
        try:
            async with self._semaphore:
                yield
        finally:
            self._admitted -= 1
            if holder is not None:
                left = self._held.pop(holder) - 1
                if left:
                    self._held[holder] = left


async def _in_thread(function: Callable[..., T], *args: Any) -> T:
    """function(*args) in a worker thread; a cancelled caller still waits for the thread to end.

    A thread cannot be stopped: letting the cancellation through at once would free the
    print slot while the render goes on, and the bound on memory would no longer hold.
    """
    task = asyncio.ensure_future(asyncio.to_thread(function, *args))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise


PRINT_INDICATORS = ("priority", *indicators.INDICATOR_KEYS)
# For a share indicator, which household question colours the points.
POINTS_FOR_INDICATOR = {
    "priority": None,
    "insecure_tenure": "tenure",
    "no_piped_water": "water",
    "no_own_toilet": "sanitation",
    "floods_often": "flooding",
    "temporary_house": "house",
    "no_own_electricity": "electricity",
    "no_car_access": None,
    "no_waste_collection": None,
}


async def ward_print(
    engine: AsyncEngine,
    forms: FormRegistry,
    ward_id: int,
    *,
    priorities: Path,
    indicator: str = "priority",
    size: str = "A4",
    orientation: str = "landscape",
    output: str = "pdf",
    language: str = "vi",
    slots: PrintSlots | None = None,
    reader: Principal = SYSTEM,
    surveys: Counted = "approved",
    household_form: str = HOUSEHOLD_FORM,
) -> bytes:
    """A ward's printable map (PDF or PNG): settlements, households, ranked table, legend,
    for the ward's readers (its leader, the city's planners and admins).

    With `slots` (the web app's), the print waits for a slot and raises PrintsBusy when the
    queue is full; the command line prints one map at a time and passes none.
    """
    if indicator not in PRINT_INDICATORS:
        raise ValueError(f"unknown indicator {indicator!r}")
    async with engine.connect() as connection:
        ward = await place_queries.ward_by_id(connection, ward_id)
    if ward is None or not reader.can_read_ward(ward["city_id"], ward_id):
        raise NotFound("ward_not_found", id=ward_id)
    args = (engine, forms, ward_id, priorities, indicator, size, orientation, output, language)
    if slots is None:
        return await _ward_print(*args, surveys, household_form, reader)
    # The slot covers the queries too: a full queue is answered before any database work.
    async with slots.slot(reader.user_id):
        return await _ward_print(*args, surveys, household_form, reader)


async def _print_context(
    engine: AsyncEngine, city_id: int, ward: dict[str, Any]
) -> tuple[list[Any], str]:
    """The city's streets, water and landmarks around a ward (its box and as much again on
    each side: the printed frame shows the ward's surroundings), with their attribution."""
    from app.services import context

    west, south, east, north = ward["west"], ward["south"], ward["east"], ward["north"]
    pad = max(east - west, north - south) * 0.5
    return await context.print_features(
        engine, city_id, (west - pad, south - pad, east + pad, north + pad)
    )


async def _ward_print(
    engine: AsyncEngine,
    forms: FormRegistry,
    ward_id: int,
    priorities: Path,
    indicator: str,
    size: str,
    orientation: str,
    output: str,
    language: str,
    surveys: Counted = "approved",
    household_form: str = HOUSEHOLD_FORM,
    reader: Principal = SYSTEM,
) -> bytes:
    """The print itself: its queries, then the render in a worker thread."""
    from app.geo.household_raster import HouseholdPoints
    from app.geo.print_map import PrintInput, render_print_map

    # The reader's, not the system's: a settlement reaching into another ward counts that
    # ward's surveys still waiting for review only for whom may read them.
    report = await indicators.ward_report(
        engine,
        ward_id,
        priorities,
        with_city=False,
        reader=reader,
        surveys=surveys,
        household_form=household_form,
    )
    area = report["area"]
    async with engine.connect() as connection:
        ward = await place_queries.ward_by_id(connection, ward_id)
        assert ward is not None
        shapes = await queries.area_shapes(connection, ward["city_id"], ward_id)
        style_key = POINTS_FOR_INDICATOR[indicator]
        style = POINT_STYLE_BY_KEY[style_key] if style_key else None
        lon, lat, codes = await queries.household_points(
            connection,
            ward["city_id"],
            ward_id,
            (style.question, style.values) if style else None,
            surveys,
            household_form,
        )
    rows = {row["id"]: row for row in report["settlements"]}
    settlements = [
        {
            "geometry": orjson.loads(shape["geometry"]),
            "name": shape["name"],
            "label_lon": shape["label_lon"],
            "label_lat": shape["label_lat"],
            **{k: v for k, v in rows[shape["id"]].items() if k in ("score", "shares")},
            "households": rows[shape["id"]]["households"],
            "rank_in_ward": rows[shape["id"]].get("rank_in_ward"),
        }
        for shape in shapes["settlements"]
        if shape["id"] in rows
    ]
    # Whoever may print the ward (its leader, the city's readers) may see all its projects.
    ranks = {row["id"]: row.get("rank_in_ward") for row in report["settlements"]}
    projects = await cdf_projects.map_projects(
        engine, SYSTEM, ward["city_id"], ward_id, language, ranks
    )
    # The savings groups only for whom may read them (a planner, the ward's leader).
    groups, _unplaced = await cdf_groups_map.map_groups(  # a ward's: every group placed
        engine, reader, ward["city_id"], ward_id, language
    )
    context, attribution = await _print_context(engine, ward["city_id"], shapes["wards"][0])
    data = PrintInput(
        ward_name=area["name"],
        city_name=area["city_name"],
        ward_geometry=orjson.loads(shapes["wards"][0]["geometry"]),
        settlements=settlements,
        households=HouseholdPoints(lon, lat, codes),
        indicator=indicator,
        indicator_labels={i.key: i.label for i in indicators.INDICATORS},
        indicator_short={i.key: i.short for i in indicators.INDICATORS},
        point_style=style_key,
        point_labels=point_labels(forms, language, household_form),
        households_total=report["totals"]["households"],
        data_date=report["data_date"],
        language=language,
        projects=projects,
        groups=groups,
        context=context,
        context_attribution=attribution,
    )
    return await _in_thread(render_print_map, data, size, orientation, output)
