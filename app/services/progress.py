"""Use case: survey progress of a city while its survey runs, for those who steer it.

Who sees what (app.services.access):
- national admin, the city's admins and planners: the whole city, or one ward of it;
- a ward leader: their own ward(s) only (another ward of the city answers 404);
- a volunteer: per day, their own surveys only (the place figures are 403 for them);
- anyone without a role in the city: 404, as for a city that does not exist.
A volunteer is shown by account name and username (neither is a household's personal data);
phones and e-mails are never read.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import places as place_queries
from app.db import progress as queries
from app.errors import Forbidden, InvalidInput, NotFound, Problem
from app.i18n import percent_text, translate, whole_percent
from app.services.access import Principal
from app.services.spreadsheet import csv_writer

MAX_DAYS = 366
DEFAULT_DAYS = 14
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FIGURES = ("households", "surveys", "waiting", "approved", "needs_correction", "rejected")


def day_range(first: str | None, last: str | None, today: date) -> tuple[date, date]:
    """`from`/`to` (YYYY-MM-DD, both included) or the last two weeks; InvalidInput for a bad
    date, a range that ends before it starts, or one longer than MAX_DAYS."""
    problems: list[Problem] = []
    days: dict[str, date | None] = {}
    for name, raw in (("from", first), ("to", last)):
        days[name] = None
        if raw is None or raw.strip() == "":
            continue
        try:
            if not _DAY.match(raw.strip()):
                raise ValueError(raw)
            days[name] = date.fromisoformat(raw.strip())
        except ValueError:
            problems.append(Problem(name, "invalid_date"))
    if problems:
        raise InvalidInput(problems)
    end = days["to"] or max(today, days["from"] or today)
    try:
        start = days["from"] or end - timedelta(days=DEFAULT_DAYS - 1)
    except OverflowError:  # `to` in the first days of year 1: no default range before it
        raise InvalidInput([Problem("to", "invalid_date")]) from None
    if end < start:
        raise InvalidInput([Problem("to", "progress_range_reversed")])
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput([Problem("from", "progress_range_too_long", {"max": MAX_DAYS})])
    return start, end


def _led_wards(reader: Principal, city_id: int) -> frozenset[int]:
    return frozenset(
        g.ward_id
        for g in reader.grants
        if g.role == "ward_leader" and g.city_id == city_id and g.ward_id is not None
    )


def progress_wards(reader: Principal, city_id: int, ward_id: int | None) -> list[int] | None:
    """The wards whose progress the reader sees (None: the whole city), or Forbidden /
    NotFound (another's ward looks like one that does not exist)."""
    if reader.can_read_city(city_id):
        return None if ward_id is None else [ward_id]
    led = _led_wards(reader, city_id)
    if not led:
        raise Forbidden("progress_forbidden")
    if ward_id is None:
        return sorted(led)
    if ward_id not in led:
        raise NotFound("ward_not_found", id=ward_id)
    return [ward_id]


async def _city(engine: AsyncEngine, slug: str, reader: Principal) -> dict[str, Any]:
    async with engine.connect() as connection:
        found = await place_queries.city_by_slug(connection, slug)
    if found is None or not reader.can_see_city(found["id"]):
        raise NotFound("unknown_city", city=slug)
    return found


def _place(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "code": row["code"],
        "name": row["name"],
        "ward_id": row["ward_id"],
        "ward_name": row["ward_name"],
        "estimate": row["estimate"],
        "settlements": int(row["settlements"]),
        "settlements_without_estimate": int(row["without_estimate"]),
        "share_surveyed": row["share_surveyed"],
        **{name: int(row[name]) for name in FIGURES},
    }


async def place_progress(
    engine: AsyncEngine,
    slug: str,
    reader: Principal,
    household_form: str,
    ward_id: int | None = None,
) -> dict[str, Any]:
    """Households surveyed against the estimates, and surveys by review status, per ward and
    settlement of the city (or of the reader's wards) and in total."""
    city = await _city(engine, slug, reader)
    wards = progress_wards(reader, city["id"], ward_id)
    async with engine.connect() as connection:
        rows = await queries.place_figures(connection, city["id"], wards, household_form)
    by_level: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_level.setdefault(row["level"], []).append(_place(row))
    if ward_id is not None and not by_level.get("ward"):
        raise NotFound("ward_not_found", id=ward_id)  # a ward of another city
    return {
        "city": {"slug": city["slug"], "name": city["name"]},
        "wards_shown": wards,
        "total": by_level["total"][0],
        "wards": by_level.get("ward", []),
        "settlements": by_level.get("settlement", []),
        "outside_settlements": next(iter(by_level.get("outside_settlements", [])), None),
        "outside_wards": next(iter(by_level.get("outside_wards", [])), None),
    }


async def volunteer_progress(
    engine: AsyncEngine,
    slug: str,
    reader: Principal,
    household_form: str,
    first_day: date,
    last_day: date,
    ward_id: int | None = None,
) -> dict[str, Any]:
    """Per day and volunteer, surveys sent and their review status; a volunteer sees their
    own only."""
    city = await _city(engine, slug, reader)
    own_only = False
    try:
        wards = progress_wards(reader, city["id"], ward_id)
    except Forbidden:
        wards, own_only = ([ward_id] if ward_id is not None else None), True
    async with engine.connect() as connection:
        rows = await queries.volunteer_days(
            connection,
            city["id"],
            first_day,
            last_day,
            household_form,
            wards=wards,
            collector_user_id=reader.user_id if own_only else None,
        )
    items = [
        {
            "day": row["day"].isoformat(),
            "user_id": row["user_id"],
            "name": row["display_name"] or row["collector"] or "",
            "username": row["username"],
            **{name: int(row[name]) for name in FIGURES},
        }
        for row in rows
    ]
    return {
        "city": {"slug": city["slug"], "name": city["name"]},
        "from": first_day.isoformat(),
        "to": last_day.isoformat(),
        "own_only": own_only,
        "days": day_totals(items, first_day, last_day),
        "items": items,
    }


def day_totals(
    items: Sequence[Mapping[str, Any]], first_day: date, last_day: date
) -> list[dict[str, Any]]:
    """Every day of the range (days without surveys too) with its totals: the already
    grouped rows summed per day, a few hundred at most."""
    totals = {
        (first_day + timedelta(days=n)).isoformat(): dict.fromkeys(FIGURES, 0)
        for n in range((last_day - first_day).days + 1)
    }
    for item in items:
        day = totals[item["day"]]
        for name in FIGURES:
            day[name] += item[name]
    return [{"day": day, **figures} for day, figures in totals.items()]


# --- CSV ------------------------------------------------------------------------------------


def _label(key: str, language: str) -> str:
    return translate(f"page.progress_{key}", language)


def _share(value: float | None) -> str:
    return percent_text(value, 1, no_data="")


def places_csv(report: Mapping[str, Any], language: str) -> bytes:
    """Progress per place as CSV (UTF-8 with BOM for Excel); names cannot run as formulas."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    columns = ("level", "code", "name", "ward", "estimate", "share_surveyed", *FIGURES)
    writer.writerow([_label(key, language) for key in columns])

    def write(level: str, row: Mapping[str, Any]) -> None:
        writer.writerow(
            [
                _label(f"level_{level}", language),
                row["code"] or "",
                row["name"] or "",
                row["ward_name"] or "",
                "" if row["estimate"] is None else row["estimate"],
                _share(row["share_surveyed"]),
                *(row[name] for name in FIGURES),
            ]
        )

    write("total", report["total"])
    for ward in report["wards"]:
        write("ward", ward)
    for settlement in report["settlements"]:
        write("settlement", settlement)
    for level in ("outside_settlements", "outside_wards"):
        if report[level] is not None:
            write(level, report[level])
    return ("\ufeff" + buffer.getvalue()).encode()


def volunteers_csv(report: Mapping[str, Any], language: str) -> bytes:
    """Progress per volunteer and day as CSV (UTF-8 with BOM)."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    columns = ("day", "volunteer", "username", *FIGURES)
    writer.writerow([_label(key, language) for key in columns])
    for item in report["items"]:
        writer.writerow(
            [item["day"], item["name"], item["username"] or "", *(item[n] for n in FIGURES)]
        )
    return ("\ufeff" + buffer.getvalue()).encode()


# --- charts (drawn as inline SVG by app/templates/progress.html: numbers only here) ---------

BAR_HEIGHT = 18
BAR_GAP = 8
LABEL_WIDTH = 270  # about 30 characters at 13 px
BAR_WIDTH = 400
CHART_WIDTH = LABEL_WIDTH + BAR_WIDTH + 220  # room for "123.456 / 234.567 · 100 %"
DAY_CHART_HEIGHT = 160
DAY_CHART_WIDTH = 760
STATUS_STACK = ("approved", "waiting", "needs_correction", "rejected")


def settlement_chart(settlements: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Bars per settlement: the share of its estimate surveyed (capped at the full bar); a
    settlement without an estimate gets a hatched bar scaled to the most households."""
    most = max((int(s["households"]) for s in settlements), default=0) or 1
    bars = []
    for index, settlement in enumerate(settlements):
        share = settlement["share_surveyed"]
        known = share is not None
        fraction = min(float(share), 1.0) if known else int(settlement["households"]) / most
        bars.append(
            {
                "y": index * (BAR_HEIGHT + BAR_GAP),
                "width": round(BAR_WIDTH * fraction, 1),
                "known": known,
                "name": settlement["name"],
                "households": settlement["households"],
                "estimate": settlement["estimate"],
                "percent": None if share is None else whole_percent(share),
            }
        )
    height = max(1, len(bars)) * (BAR_HEIGHT + BAR_GAP)
    return {
        "bars": bars,
        "width": CHART_WIDTH,
        "height": height,
        "label_width": LABEL_WIDTH,
        "bar_width": BAR_WIDTH,
        "bar_height": BAR_HEIGHT,
    }


def day_chart(days: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Columns per day, stacked by review status, scaled to the busiest day."""
    most = max((int(d["surveys"]) for d in days), default=0) or 1
    step = DAY_CHART_WIDTH / max(1, len(days))
    columns = []
    for index, day in enumerate(days):
        top = float(DAY_CHART_HEIGHT)
        parts = []
        for status in STATUS_STACK:
            height = round(DAY_CHART_HEIGHT * int(day[status]) / most, 1)
            if height > 0:
                top -= height
                parts.append({"status": status, "y": round(top, 1), "height": height})
        columns.append(
            {
                "x": round(index * step, 1),
                "width": round(max(1.0, step * 0.8), 1),
                "day": day["day"],
                "surveys": day["surveys"],
                "parts": parts,
            }
        )
    return {
        "columns": columns,
        "width": DAY_CHART_WIDTH,
        "height": DAY_CHART_HEIGHT,
        "most": most if days else 0,
        "label_every": max(1, len(days) // 10),
    }
