"""Use case: the printed map of one settlement for its community meeting (PDF or PNG).

Who: whoever may print the settlement's ward (its leader, the city's planners and admins;
anyone else gets 404 as for a settlement that does not exist). A settlement in no ward (its
boundary outside every ward of the import) is printed for the city's planners and admins
and national admins: it has no ward leader, and no ward's leader may read it. With
`names=True` the households' table carries the heads of household's names, for those who
may see personal fields there (the ward's leader, the city's admins, a national admin);
anyone else asking for names gets 403 and no print, and without `names` the names are never
even read.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import indicators as queries
from app.db import places as place_queries
from app.db.indicators import HOUSEHOLD_FORM, Counted
from app.db.settlement_households import settlement_households
from app.errors import Forbidden, NotFound
from app.forms.registry import FormRegistry
from app.geo.styles import POINT_STYLES
from app.services import indicators
from app.services.access import SYSTEM, Principal
from app.services.maps import PrintSlots, _in_thread

DEFICIENT_COLOUR = "#d73027"
FINE_COLOUR = "#1a9850"


def answer_styles(
    forms: FormRegistry, indicator: str, language: str, household_form: str = HOUSEHOLD_FORM
) -> tuple[str, list[tuple[str, str, str]]]:
    """The question behind `indicator` (its label) and its answers as (value, colour, label)
    in legend order: the map's colours where the web map has a style for that question,
    otherwise red for a deficient answer and green for a fine one."""
    rule = next(i.rule for i in indicators.INDICATORS if i.key == indicator)
    form = forms.current(household_form) if household_form in forms.versions else None
    question = form.by_name.get(rule.question) if form else None
    labels = (
        {c.value: c.label.get(language) or c.value for c in question.choices} if question else {}
    )
    style = next((s for s in POINT_STYLES if s.question == rule.question), None)
    if style is not None:
        answers = [(value, colour, labels.get(value, value)) for value, colour in style.colours]
        answers += [
            (value, _deficiency_colour(rule, value), label)
            for value, label in labels.items()
            if value not in style.values
        ]
    else:
        answers = [(v, _deficiency_colour(rule, v), label) for v, label in labels.items()]
    title = (question.label.get(language) if question else None) or rule.question
    return title, answers


def _deficiency_colour(rule: queries.DeficiencyRule, value: str) -> str:
    deficient = (value in rule.values) != rule.negate
    return DEFICIENT_COLOUR if deficient else FINE_COLOUR


async def _print_context(
    engine: AsyncEngine, city_id: int, geometry: dict[str, Any]
) -> tuple[list[Any], str]:
    """The city's streets, water and landmarks around a settlement (its box and as much
    again on each side), with their attribution; none where no context was imported."""
    from shapely.geometry import shape

    from app.services import context

    west, south, east, north = shape(geometry).bounds
    pad = max(east - west, north - south)
    return await context.print_features(
        engine, city_id, (west - pad, south - pad, east + pad, north + pad)
    )


def may_print(reader: Principal, place: dict[str, Any]) -> bool:
    """Whether the reader may print a settlement's meeting map: whoever may read its ward,
    or for a settlement in no ward whoever may read its whole city."""
    if place["ward_id"] is None:
        return reader.can_read_city(place["city_id"])
    return reader.can_read_ward(place["city_id"], place["ward_id"])


async def _figures(
    engine: AsyncEngine,
    place: dict[str, Any],
    priorities: Path,
    reader: Principal,
    surveys: Counted,
    household_form: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The settlement's figures and the report they come from: its ward's (ranked in the
    ward), or for a settlement in no ward its city's (ranked in the city)."""
    if place["ward_id"] is None:
        report = await indicators.city_report(
            engine,
            place["city"],
            priorities,
            reader=reader,
            surveys=surveys,
            household_form=household_form,
        )
    else:
        report = await indicators.ward_report(
            engine,
            place["ward_id"],
            priorities,
            reader=reader,
            with_city=False,
            surveys=surveys,
            household_form=household_form,
        )
    figures = next((row for row in report["settlements"] if row["id"] == place["id"]), None)
    if figures is None:  # moved to another ward (a boundary import) since it was looked up
        raise NotFound("settlement_not_found", id=place["id"])
    return figures, report


async def settlement_print(
    engine: AsyncEngine,
    forms: FormRegistry,
    settlement_id: int,
    *,
    priorities: Path,
    indicator: str = "insecure_tenure",
    size: str = "A4",
    orientation: str = "landscape",
    output: str = "pdf",
    language: str = "vi",
    names: bool = False,
    slots: PrintSlots | None = None,
    reader: Principal = SYSTEM,
    surveys: Counted = "approved",
    household_form: str = HOUSEHOLD_FORM,
) -> bytes:
    """One settlement's meeting map: its households numbered and coloured by their answer
    to `indicator`'s question, its figures, then the numbered table (names only if asked
    and allowed; Forbidden otherwise)."""
    from app.geo.settlement_print import SettlementPrintInput, render_settlement_print

    if indicator not in indicators.INDICATOR_KEYS:
        raise ValueError(f"unknown indicator {indicator!r}")
    async with engine.connect() as connection:
        place = await place_queries.settlement_by_id(connection, settlement_id)
    if place is None or not may_print(reader, place):
        raise NotFound("settlement_not_found", id=settlement_id)
    if names and not reader.can_see_personal(place):
        raise Forbidden("print_names_not_allowed")
    slot = slots.slot(reader.user_id) if slots is not None else contextlib.nullcontext()
    async with slot:  # a full queue is answered before any database work
        figures, report = await _figures(engine, place, priorities, reader, surveys, household_form)
        question, answers = answer_styles(forms, indicator, language, household_form)
        rule = next(i.rule for i in indicators.INDICATORS if i.key == indicator)
        async with engine.connect() as connection:
            if place["ward_id"] is None:  # no ward's settlements: those around it
                areas = await queries.settlements_around(connection, settlement_id)
            else:
                shapes = await queries.area_shapes(connection, place["city_id"], place["ward_id"])
                areas = shapes["settlements"]
            households = await settlement_households(
                connection,
                settlement_id,
                rule.question,
                with_names=names,
                surveys=report["surveys"],
                household_form=household_form,
            )
        # A settlement may reach into another ward: its households there are each in their
        # own ward. Approved, they are on every reader's print (no name); still waiting
        # (`surveys=all`), only on the prints of those who may read that ward's surveys.
        households = [
            household
            for household in households
            if household["status"] == "approved" or reader.can_read_survey(household)
        ]
        for household in households:
            # A ward leader sees the names of their own ward's only.
            if household["name"] is not None and not reader.can_see_personal(household):
                household["name"] = None
        own = next(s for s in areas if s["id"] == settlement_id)
        geometry = orjson.loads(own["geometry"])
        context, attribution = await _print_context(engine, place["city_id"], geometry)
        data = SettlementPrintInput(
            settlement_name=own["name"],
            ward_name=None if place["ward_id"] is None else report["area"]["name"],
            city_name=(
                report["area"]["name"] if place["ward_id"] is None else report["area"]["city_name"]
            ),
            geometry=geometry,
            figures=figures,
            households=households,
            indicator=indicator,
            indicator_labels={i.key: i.label for i in indicators.INDICATORS},
            answers=answers,
            question_label=question,
            names=names,
            neighbours=[
                {"geometry": orjson.loads(s["geometry"]), "name": s["name"]}
                for s in areas
                if s["id"] != settlement_id
            ],
            context=context,
            context_attribution=attribution,
            data_date=report["data_date"],
            language=language,
        )
        return await _in_thread(render_settlement_print, data, size, orientation, output)
