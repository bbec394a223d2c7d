"""Use case: the CDF report as a page for people (`/cdf/{city}`, `/cdf/national`): the figures
of app.services.cdf_reports (the very numbers of the JSON report) laid out for reading, with
simple bar charts whose sizes are worked out here, so that the template only draws them as
inline SVG (no script, nothing from a CDN). Texts in Vietnamese and English; every text from
data (city names) is escaped by the template.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import cdf_books as books
from app.db.engine import snapshot
from app.errors import Forbidden
from app.i18n import date_text, number_text, percent_text
from app.services import cdf_books, cdf_reports
from app.services.access import Principal
from app.services.cdf_report_texts import GROWTH_KEYS, MONEY_KEYS, TEXTS, text

COUNT_KEYS = ("members", "groups", "active_loans")
RATE_KEYS = (
    "par1",
    "par30",
    "par60",
    "par90",
    "on_time_repayment_rate",
    "collection_rate",
    "loan_fund_utilisation",
)
FIGURE_ORDER = (
    "savings_balance",
    "members",
    "groups",
    "active_loans",
    "loans_outstanding",
    "par30",
    "par1",
    "par60",
    "par90",
    "on_time_repayment_rate",
    "collection_rate",
    "capital_total",
    "lent_to_date",
    "times_revolved",
    "loan_fund_utilisation",
    "fund_cash",
    "interest_income",
    "mutual_aid_balance",
)


def money(amount: int, language: str) -> str:
    """A whole number (đồng, members) as the page's language writes it: 1234567 ->
    '1.234.567' (vi), '1,234,567' (en)."""
    return number_text(int(amount), language)


def percent(value: float | None, language: str) -> str:
    """0.1234 -> '12,3 %' (vi) or '12.3 %' (en), half up as on every page and print
    (0.0625 -> '6,3 %'); None -> '—'."""
    if value is None:
        return "—"
    return f"{percent_text(value, 1, language)} %"


def shown(key: str, value: Any, language: str) -> str:
    """A figure as a person reads it."""
    if value is None:
        return "—"
    if key in MONEY_KEYS:
        return f"{money(int(value), language)} đ"
    if key in COUNT_KEYS:
        return money(int(value), language)
    if key == "times_revolved":
        return text("times", language, value=number_text(value, language, 2))
    return percent(value, language)


@dataclass(frozen=True)
class Bar:
    """One bar of a chart: its label, the figure written beside it, its length (0-1)."""

    label: str
    value: str
    share: float
    colour: str
    key: str


@dataclass(frozen=True)
class Chart:
    """A horizontal bar chart: a title and bars (drawn as inline SVG by the template)."""

    key: str
    title: str
    bars: list[Bar]

    @property
    def height(self) -> int:
        return 12 + 30 * len(self.bars)


def _bars(
    items: list[tuple[str, str, float | int | None, str]], scale: float | None = None
) -> list[Bar]:
    """Bars of (key, label, raw value, colour), lengths relative to `scale` (the largest by
    default); a missing value is an empty bar."""
    values = [float(raw or 0) for _, _, raw, _ in items]
    top = scale if scale is not None else max(values, default=0.0)
    return [
        Bar(label, "", (value / top) if top > 0 else 0.0, colour, key)
        for (key, label, _raw, colour), value in zip(items, values, strict=True)
    ]


def _with_values(bars: list[Bar], values: list[str]) -> list[Bar]:
    return [
        Bar(b.label, v, min(max(b.share, 0.0), 1.0), b.colour, b.key)
        for b, v in zip(bars, values, strict=True)
    ]


def signed_percent(value: float | None, language: str) -> str:
    """Growth as a person reads it: '+12,3 %', '-4,0 %', '—'."""
    return ("+" if value is not None and value > 0 else "") + percent(value, language)


def growth_rows(report: dict[str, Any], language: str) -> list[dict[str, Any]]:
    """Fund growth: each balance at the opening and the closing of the period, its growth
    (sources that held nothing on either day are left out)."""
    growth = report["fund_growth"]
    items = [(key, text(f"growth.{key}", language), growth[key]) for key in GROWTH_KEYS]
    items += [
        (
            f"capital.{source}",
            text("growth.source", language, source=text(f"source.{source}", language)),
            figures,
        )
        for source, figures in growth["capital_by_source"].items()
        if figures["opening"] or figures["closing"]
    ]
    return [
        {
            "key": key,
            "label": label,
            "opening": f"{money(figures['opening'], language)} đ",
            "closing": f"{money(figures['closing'], language)} đ",
            "growth": signed_percent(figures["growth"], language),
            "raw": "" if figures["growth"] is None else figures["growth"],
        }
        for key, label, figures in items
    ]


def growth_chart(report: dict[str, Any], language: str) -> Chart:
    """Growth of the four balances: bars as long as the largest change, red when shrinking."""
    growth = report["fund_growth"]
    values = [growth[key]["growth"] for key in GROWTH_KEYS]
    top = max([abs(v) for v in values if v is not None] + [0.0])
    bars = [
        Bar(
            text(f"growth.{key}", language),
            signed_percent(value, language),
            abs(value) / top if value is not None and top > 0 else 0.0,
            "#b3261e" if value is not None and value < 0 else "#1b6e3c",
            key,
        )
        for key, value in zip(GROWTH_KEYS, values, strict=True)
    ]
    return Chart("growth", text("chart_growth", language), bars)


def charts(report: dict[str, Any], language: str) -> list[Chart]:
    """The charts of one report (a city's or the national total)."""
    par_keys = ("par1", "par30", "par60", "par90")
    par_top = max([float(report.get(k) or 0) for k in par_keys] + [0.1])
    par = _bars([(k, k.upper(), report.get(k), "#b3261e") for k in par_keys], par_top)
    rates = _bars(
        [
            (
                "on_time_repayment_rate",
                text("on_time_repayment_rate", language),
                report.get("on_time_repayment_rate"),
                "#1b6e3c",
            ),
            (
                "collection_rate",
                text("collection_rate", language),
                report.get("collection_rate"),
                "#7a9a86",
            ),
        ],
        1.0,
    )
    aging_keys = ("1_30", "31_60", "61_90", "over_90")
    aging = _bars(
        [(k, text(f"aging.{k}", language), report["aging"][k], "#8a5a00") for k in aging_keys]
    )
    sources = list(report["capital_by_source"].items())
    capital = _bars([(k, text(f"source.{k}", language), v, "#2b5d9b") for k, v in sources])
    return [
        Chart(
            "par",
            text("chart_par", language),
            _with_values(par, [percent(report.get(k), language) for k in par_keys]),
        ),
        Chart(
            "rates",
            text("chart_rates", language),
            _with_values(
                rates,
                [
                    percent(report.get(k), language)
                    for k in ("on_time_repayment_rate", "collection_rate")
                ],
            ),
        ),
        Chart(
            "aging",
            text("chart_aging", language),
            _with_values(aging, [money(report["aging"][k], language) for k in aging_keys]),
        ),
        Chart(
            "capital",
            text("chart_capital", language),
            _with_values(capital, [money(v, language) for _, v in sources]),
        ),
        growth_chart(report, language),
    ]


def figure_rows(report: dict[str, Any], language: str) -> list[dict[str, Any]]:
    """The key figures, each with its raw value (data-value) and how it reads."""
    return [
        {
            "key": key,
            "label": text(key, language),
            "raw": "" if report.get(key) is None else report[key],
            "shown": shown(key, report.get(key), language),
        }
        for key in FIGURE_ORDER
    ]


def _texts(language: str) -> dict[str, str]:
    return {key: text(key, language) for key in TEXTS if "{" not in TEXTS[key]["vi"]}


def _as_of(report: dict[str, Any], language: str) -> str:
    """The page's subtitle: the day of the figures and the start of the on-time period."""
    day, start = date_text(report["as_of"], language), date_text(report["period_start"], language)
    return text("as_of", language, day=day, start=start)


def _growth_period(report: dict[str, Any], language: str) -> str:
    opening = report["period_start"] - timedelta(days=1)
    return text(
        "growth_period",
        language,
        opening=date_text(opening, language),
        day=date_text(report["as_of"], language),
    )


async def city_page(
    engine: AsyncEngine, user: Principal, city_slug: str, language: str, as_of: date | None
) -> dict[str, Any]:
    """What the city's report page shows (Forbidden for whoever may not read its books)."""
    from app.errors import NotFound

    as_of, start = cdf_reports.report_period(as_of, None)
    # One snapshot: the groups' savings in the table add up to the report's (a saving posted
    # between two reads made the page disagree with itself).
    async with snapshot(engine) as connection:
        try:
            report = await cdf_reports.city_report_on(connection, user, city_slug, as_of, start)
        except NotFound as exc:  # a city this person may not read: the page says so, no more
            raise Forbidden("not_allowed") from exc
        city = await books.city_by_slug(connection, city_slug)
        listed = await cdf_books.list_groups_on(connection, user, city_slug)
    name = city["name"] if city else city_slug
    groups = [
        {
            "name": g["name"],
            "settlement": g.get("settlement") or "—",
            "ward": g.get("ward") or "—",
            "members": money(g["members"], language),
            "savings": money(int(g["savings_balance"]), language),
            "pdf": f"/api/v1/cdf/groups/{int(g['id'])}/statement.pdf?lang={language}",
        }
        for g in listed["groups"]
    ]
    return {
        "kind": "city",
        "title": text("title_city", language, city=name),
        "subtitle": _as_of(report, language),
        "report": report,
        "figures": figure_rows(report, language),
        "growth": growth_rows(report, language),
        "growth_period": _growth_period(report, language),
        "charts": charts(report, language),
        "groups": groups,
        "json_url": f"/api/v1/cdf/{city_slug}/report",
        "csv_url": f"/api/v1/cdf/{city_slug}/report.csv",
        "texts": _texts(language),
    }


async def national_page(
    engine: AsyncEngine, user: Principal, language: str, as_of: date | None
) -> dict[str, Any]:
    """What the national page shows: the totals, their charts, a line and bars per city
    (national admins only)."""
    if not user.is_national_admin:
        raise Forbidden("not_allowed")
    report = await cdf_reports.national_report(engine, user, as_of)
    total = report["total"]
    cities = report["cities"]
    top = max([max(c["savings_balance"], c["loans_outstanding"]) for c in cities] + [0])
    city_bars = []
    for city in cities:
        for key, short, colour in (
            ("savings_balance", "savings_short", "#1b6e3c"),
            ("loans_outstanding", "loans_short", "#2b5d9b"),
        ):
            label = f"{city['city_name']} · {text(short, language)}"
            city_bars.append(
                Bar(
                    label,
                    money(city[key], language),
                    city[key] / top if top else 0.0,
                    colour,
                    f"{city['city']}:{key}",
                )
            )
    return {
        "kind": "national",
        "title": text("title_national", language),
        "subtitle": _as_of(report, language),
        "report": total,
        "figures": figure_rows(total, language),
        "growth": growth_rows(total, language),
        "growth_period": _growth_period(report, language),
        "charts": [
            *charts(total, language),
            Chart("cities", text("chart_cities", language), city_bars),
        ],
        "cities": [
            {
                "slug": c["city"],
                "name": c["city_name"],
                "cells": [
                    shown(k, c.get(k), language)
                    for k in (
                        "savings_balance",
                        "members",
                        "groups",
                        "loans_outstanding",
                        "par30",
                        "on_time_repayment_rate",
                        "collection_rate",
                    )
                ],
                "raw": {
                    k: c.get(k)
                    for k in ("savings_balance", "members", "groups", "loans_outstanding", "par30")
                },
            }
            for c in cities
        ],
        "city_columns": [
            text(k, language)
            for k in (
                "savings_balance",
                "members",
                "groups",
                "loans_outstanding",
                "par30",
                "on_time_repayment_rate",
                "collection_rate",
            )
        ],
        "json_url": "/api/v1/cdf/national/report",
        "csv_url": "/api/v1/cdf/national/report.csv",
        "texts": _texts(language),
    }
