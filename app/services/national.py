"""Use case: the national view of the CDF network, every member city side by side.

Survey figures (households surveyed, settlements, the share of the settlements' estimated
households surveyed, the priority score) for every city the reader may read, and for any
city that publishes its aggregates; the CDF's figures (savings, loans outstanding, PAR30,
members, groups) beside them for the cities whose books the reader may read.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import indicators as indicator_queries
from app.db import national as queries
from app.db.indicators import HOUSEHOLD_FORM, Counted, shown_score
from app.i18n import date_text, number_text, percent_text, translate
from app.services import cdf_reports
from app.services.access import Principal
from app.services.indicators import INDICATORS, read_weights, shaped_rows
from app.services.small_areas import withhold
from app.services.spreadsheet import csv_writer
from app.vietnam import VIETNAM_TIME, vietnam_day

CDF_FIGURES = ("savings_balance", "loans_outstanding", "par30", "members", "groups")
COLUMNS = (
    "city",
    "name",
    "province",
    "wards",
    "settlements",
    "households",
    "households_estimate",
    "share_surveyed",
    "priority_score",
    "average_settlement_priority",
    "projects_done",
    *CDF_FIGURES,
)
LABELS: dict[str, dict[str, str]] = {
    "city": {"vi": "Mã thành phố", "en": "City code"},
    "name": {"vi": "Thành phố", "en": "City"},
    "province": {"vi": "Tỉnh", "en": "Province"},
    "wards": {"vi": "Số phường", "en": "Wards"},
    "settlements": {"vi": "Số khu dân cư", "en": "Settlements"},
    "households": {"vi": "Hộ đã khảo sát", "en": "Households surveyed"},
    "households_estimate": {"vi": "Hộ ước tính", "en": "Estimated households"},
    "share_surveyed": {"vi": "Tỷ lệ đã khảo sát (%)", "en": "Share surveyed (%)"},
    "priority_score": {"vi": "Điểm ưu tiên", "en": "Priority score"},
    "average_settlement_priority": {
        "vi": "Điểm ưu tiên trung bình các khu",
        "en": "Average settlement priority",
    },
    "projects_done": {"vi": "Công trình đã xong", "en": "Upgrading projects done"},
    "savings_balance": {"vi": "Tiết kiệm (đồng)", "en": "Savings (VND)"},
    "loans_outstanding": {"vi": "Dư nợ (đồng)", "en": "Loans outstanding (VND)"},
    "par30": {"vi": "PAR30 (%)", "en": "PAR30 (%)"},
    "members": {"vi": "Thành viên", "en": "Members"},
    "groups": {"vi": "Nhóm tiết kiệm", "en": "Savings groups"},
    "total": {"vi": "Cả mạng lưới", "en": "Whole network"},
}


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def _city(row: Mapping[str, Any], surveys: Counted) -> dict[str, Any]:
    estimate = int(row["households_estimate"])
    last = row["last_collected_at"]
    return {
        "city": row["slug"],
        "name": row["name"],
        "province": row["province"],
        "surveys": surveys,
        "lon": _round(row["lon"], 5),
        "lat": _round(row["lat"], 5),
        "wards": int(row["wards"]),
        "settlements": int(row["settlements"]),
        "households": int(row["households"]),
        "households_in_settlements": int(row["households_in_settlements"]),
        "households_estimate": estimate,
        "share_surveyed": _round(row["households_in_settlements"] / estimate, 4)
        if estimate
        else None,
        "priority_score": shown_score(row["priority_score"]),
        "average_settlement_priority": shown_score(row["average_settlement_priority"]),
        "projects": int(row["projects"]),
        "projects_done": int(row["projects_done"]),
        "data_date": vietnam_day(last).isoformat() if last else None,
        "cdf": None,
    }


def _published(row: dict[str, Any], page: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """A city read only because it is published, as its own page shows it to this reader
    (app/services/small_areas.py): withheld when the page withholds the city's figures, the
    average settlement priority over the settlements the page shows (the one of every
    settlement, less those shown, would give the withheld ones back)."""
    if page["city"][0].get("withheld"):
        withhold(row)
        row["priority_score"] = None
    scores = [area["score"] for area in page["settlement"] if area["score"] is not None]
    row["average_settlement_priority"] = shown_score(sum(scores) / len(scores)) if scores else None
    return row


async def national_indicators(
    engine: AsyncEngine,
    books_engine: AsyncEngine,
    reader: Principal | None,
    priorities: Path,
    surveys: Counted = "approved",
    household_form: str = HOUSEHOLD_FORM,
) -> dict[str, Any]:
    """Every member city the reader may see (their cities; public ones for anyone), with
    totals. `surveys="all"` counts unreviewed surveys only in the cities the reader reads.
    Survey figures may come from a replica (`engine`); the books from the primary."""
    weights = read_weights(priorities)
    rules = [i.rule for i in INDICATORS]
    async with engine.connect() as connection:
        cities = await queries.all_city_ids(connection)
        readable = [c["id"] for c in cities if reader is not None and reader.can_read_city(c["id"])]
        public = [c["id"] for c in cities if c["public_aggregates"] and c["id"] not in readable]
        rows = [
            _city(row, surveys)
            for row in await queries.national_rows(
                connection, readable, rules, weights, surveys, household_form
            )
        ]
        for row in await queries.national_rows(
            connection, public, rules, weights, "approved", household_form
        ):
            # Read only because published: what the city's own page shows such a reader.
            areas = await indicator_queries.city_indicators(
                connection, row["id"], rules, weights, None, "approved", household_form
            )
            rows.append(_published(_city(row, "approved"), shaped_rows(areas, reader, row["id"])))
    if reader is not None:
        books = await cdf_reports.national_report(books_engine, reader)
        by_slug = {row["city"]: row for row in books["cities"]}
        for row in rows:
            figures = by_slug.get(row["city"])
            if figures is not None:
                row["cdf"] = {key: figures[key] for key in CDF_FIGURES}
    rows.sort(key=lambda row: (row["name"], row["city"]))
    return {"cities": rows, "totals": _totals(rows), "indicators_formula": _formula()}


def _formula() -> str:
    return "priority_score = 100 * sum(w_i * share_i) / sum(w_i) over the city's households"


def _totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def total(key: str) -> int:
        return sum(int(row[key]) for row in rows)

    estimate = total("households_estimate")
    scored = [
        row["average_settlement_priority"]
        for row in rows
        if row["average_settlement_priority"] is not None
    ]
    with_books = [row["cdf"] for row in rows if row["cdf"] is not None]
    outstanding = sum(books["loans_outstanding"] for books in with_books)
    at_risk = sum(round((books["par30"] or 0) * books["loans_outstanding"]) for books in with_books)
    return {
        "cities": len(rows),
        "wards": total("wards"),
        "settlements": total("settlements"),
        "households": total("households"),
        "households_estimate": estimate,
        "share_surveyed": _round(total("households_in_settlements") / estimate, 4)
        if estimate
        else None,
        "average_settlement_priority": shown_score(sum(scored) / len(scored)) if scored else None,
        "projects_done": total("projects_done"),
        "cdf": {
            "cities": len(with_books),
            "savings_balance": sum(books["savings_balance"] for books in with_books),
            "loans_outstanding": outstanding,
            "par30": _round(at_risk / outstanding, 4) if outstanding else None,
            "members": sum(books["members"] for books in with_books),
            "groups": sum(books["groups"] for books in with_books),
        }
        if with_books
        else None,
    }


def _cell(row: Mapping[str, Any], key: str) -> Any:
    if key in CDF_FIGURES:
        books = row.get("cdf")
        value = None if books is None else books[key]
        return "" if value is None else (percent_text(value, 1) if key == "par30" else value)
    value = row.get(key)
    if value is None:
        return ""
    if key == "share_surveyed":
        return percent_text(value, 1)
    return value


def national_csv(report: Mapping[str, Any], language: str) -> bytes:
    """The national figures as CSV (UTF-8 with BOM; cells never start a formula)."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow([LABELS[key][language] for key in COLUMNS])
    for row in report["cities"]:
        writer.writerow([_cell(row, key) for key in COLUMNS])
    totals = dict(report["totals"])
    totals.update({"city": "", "name": LABELS["total"][language], "province": ""})
    totals["priority_score"] = None
    writer.writerow([_cell(totals, key) for key in COLUMNS])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def generated_at() -> str:
    """Now, in Vietnam's time, for a printed summary."""
    return datetime.now(VIETNAM_TIME).strftime("%Y-%m-%d %H:%M")


# --- The page and the printed summary ---------------------------------------------------------

TABLE_COLUMNS = (  # (key, numeric)
    ("name", False),
    ("households", True),
    ("settlements", True),
    ("share_surveyed", True),
    ("average_settlement_priority", True),
    ("savings_balance", True),
    ("loans_outstanding", True),
    ("par30", True),
    ("projects_done", True),
)


def page_view(report: Mapping[str, Any], language: str, basemap_url: str | None) -> dict[str, Any]:
    """What the national page shows beside the report: column headings, the subtitle, the
    map's data (numbers and names only: the page's script puts names in as text)."""
    from app.geo.styles import CLASS_COLOURS, NO_DATA_COLOUR

    totals = report["totals"]
    dates = [row["data_date"] for row in report["cities"] if row["data_date"]]
    subtitle = translate(
        "page.national_subtitle",
        language,
        cities=totals["cities"],
        households=number_text(totals["households"], language),
        date=date_text(max(dates), language) if dates else "—",
    )
    cities = []
    for row in report["cities"]:
        lines = [
            f"{LABELS['households'][language]}: {number_text(row['households'], language)}",
            f"{LABELS['settlements'][language]}: {row['settlements']}",
        ]
        if row["share_surveyed"] is not None:
            share = percent_text(row["share_surveyed"], 1, language)
            lines.append(f"{LABELS['share_surveyed'][language]}: {share}")
        if row["average_settlement_priority"] is not None:
            lines.append(
                f"{LABELS['average_settlement_priority'][language]}: "
                f"{number_text(row['average_settlement_priority'], language, 1)}"
            )
        cities.append(
            {
                "name": row["name"],
                "lon": row["lon"],
                "lat": row["lat"],
                "households": row["households"],
                "priority": row["average_settlement_priority"],
                "url": f"/maps/cities/{row['city']}?lang={language}",
                "lines": lines,
            }
        )
    return {
        "columns": [
            {"key": key, "label": LABELS[key][language], "number": number}
            for key, number in TABLE_COLUMNS
        ],
        "subtitle": subtitle,
        "totals_label": LABELS["total"][language],
        "map_data": {
            "language": language,
            "cities": cities,
            "colours": list(CLASS_COLOURS),
            "no_data_colour": NO_DATA_COLOUR,
            "basemap_url": basemap_url,
        },
    }
