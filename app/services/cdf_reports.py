"""Use case: a CDF's report and the national one, from the sums the database keeps as
entries are posted (app/db/cdf_reports.py: equal to the journal's, checked by tests).

Figures (amounts in đồng; ratios between 0 and 1, rounded to 4 places, null when their
denominator is 0):
- savings_balance: members' savings (credit balance of the savings accounts);
- members, groups: members active on the day, groups founded by then;
- loans_outstanding: principal still owed (balance of the loans-receivable accounts);
- par1/par30/par60/par90 (portfolio at risk): outstanding principal of loans whose oldest
  unpaid installment is at least 1 / more than 30 / 60 / 90 days late, ÷ loans_outstanding
  (balances, not counts);
- on_time_repayment_rate: what was paid by its due date (entries not reversed) on the
  installments that fell due in the period ÷ what fell due in the period (default period:
  the 12 months up to the day);
- collection_rate: everything collected on installments due by the day ÷ what fell due by
  then (cumulative, late payments included: it flatters; read it beside the on-time rate);
- aging: overdue principal by days late of each installment (1-30, 31-60, 61-90, >90);
- capital_by_source: capital received, by source;
- times_revolved: cumulative principal lent ÷ capital received (all sources);
- loan_fund_utilisation: loans_outstanding ÷ savings_balance (the issue's lent ÷ saved);
- fund_growth: over the same period as the on-time rate (from `period_start` to the day,
  a year by default), each of capital received (in all and by source), the fund's equity
  (capital received + interest earned), members' savings and loans outstanding: its
  `opening` balance (at the end of the day before the period starts), its `closing` balance
  (at the end of the day) and `growth` = (closing − opening) ÷ opening (null when the
  opening is 0).
Totals of the national report are sums of the cities' amounts, with ratios worked out from
those sums (never an average of ratios).
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db import cdf_reports as queries
from app.db.engine import snapshot
from app.errors import InvalidInput, Problem
from app.i18n import translate
from app.services import cdf_access as cdf
from app.services.access import Principal, require
from app.services.cdf_books import city_for
from app.services.cdf_report_texts import column_label
from app.services.cdf_schedule import add_months
from app.services.spreadsheet import csv_writer
from app.vietnam import today_in_vietnam

SOURCES = ("seed_grant", "city_budget", "donor", "interest_earned", "other")
AMOUNTS = (
    "savings_balance",
    "members",
    "groups",
    "active_loans",
    "loans_outstanding",
    "lent_to_date",
    "capital_total",
    "fund_cash",
    "interest_income",
    "mutual_aid",
    "due_in_period",
    "on_time_in_period",
    "due_to_date",
    "collected_to_date",
)
AGING = ("aging_1_30", "aging_31_60", "aging_61_90", "aging_over_90")
# Balances kept at the start of the period too (fund growth).
BALANCES = (
    "savings_balance",
    "loans_outstanding",
    "capital_total",
    "fund_cash",
    "interest_income",
    "mutual_aid",
)


def ratio(numerator: int, denominator: int) -> float | None:
    """A share rounded to 4 places for display (null when nothing to divide by)."""
    return round(numerator / denominator, 4) if denominator else None


def _empty() -> dict[str, Any]:
    return {
        **dict.fromkeys(AMOUNTS, 0),
        **dict.fromkeys(AGING, 0),
        "at_risk": {"1": 0, "30": 0, "60": 0, "90": 0},
        "capital": dict.fromkeys(SOURCES, 0),
        "opening": {**dict.fromkeys(BALANCES, 0), "capital": dict.fromkeys(SOURCES, 0)},
    }


def _balances(figures: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """Add balance rows (per kind and source, debits positive) to the figures."""
    for row in rows:
        total, kind = int(row["total"]), row["kind"]
        if kind == "savings":
            figures["savings_balance"] += -total
        elif kind == "loans_receivable":
            figures["loans_outstanding"] += total
        elif kind == "capital":
            figures["capital"][row["source"]] += -total
            figures["capital_total"] += -total
        elif kind == "fund_cash":
            figures["fund_cash"] += total
        elif kind == "interest_income":
            figures["interest_income"] += -total
        elif kind == "mutual_aid":
            figures["mutual_aid"] += -total


def _sums(raw: dict[str, list[dict[str, Any]]]) -> dict[int, dict[str, Any]]:
    sums: dict[int, dict[str, Any]] = {}

    def of(fund_id: int) -> dict[str, Any]:
        return sums.setdefault(fund_id, _empty())

    for row in raw["balances"]:
        _balances(of(row["fund_id"]), [row])
    for row in raw["opening"]:
        _balances(of(row["fund_id"])["opening"], [row])
    for row in raw["lent"]:
        of(row["fund_id"])["lent_to_date"] = int(row["lent"])
    for row in raw["counts"]:
        figures = of(row["fund_id"])
        figures["groups"], figures["members"] = int(row["groups"]), int(row["members"])
    for row in raw["arrears"]:
        figures = of(row["fund_id"])
        figures["active_loans"] = int(row["active_loans"] or 0)
        for days in ("1", "30", "60", "90"):
            figures["at_risk"][days] = int(row[f"at_risk_{days}"] or 0)
        for name in ("due_in_period", "on_time_in_period", "due_to_date", "collected_to_date"):
            figures[name] = int(row[name] or 0)
        for name in AGING:
            figures[name] = int(row[name] or 0)
    return sums


def _growth(opening: int, closing: int) -> dict[str, Any]:
    return {"opening": opening, "closing": closing, "growth": ratio(closing - opening, opening)}


def fund_growth(figures: dict[str, Any]) -> dict[str, Any]:
    """Opening and closing balances of the period and their growth (see the module)."""
    opening = figures["opening"]
    return {
        "capital": _growth(opening["capital_total"], figures["capital_total"]),
        "capital_by_source": {
            source: _growth(opening["capital"][source], figures["capital"][source])
            for source in SOURCES
        },
        "fund_equity": _growth(
            opening["capital_total"] + opening["interest_income"],
            figures["capital_total"] + figures["interest_income"],
        ),
        "savings": _growth(opening["savings_balance"], figures["savings_balance"]),
        "loans_outstanding": _growth(opening["loans_outstanding"], figures["loans_outstanding"]),
    }


def _report(figures: dict[str, Any]) -> dict[str, Any]:
    """The published shape of one fund's (or the nation's) sums."""
    outstanding, at_risk = figures["loans_outstanding"], figures["at_risk"]
    return {
        "savings_balance": figures["savings_balance"],
        "members": figures["members"],
        "groups": figures["groups"],
        "active_loans": figures["active_loans"],
        "loans_outstanding": outstanding,
        "par1": ratio(figures["at_risk"]["1"], outstanding),
        "par30": ratio(figures["at_risk"]["30"], outstanding),
        "par60": ratio(figures["at_risk"]["60"], outstanding),
        "par90": ratio(figures["at_risk"]["90"], outstanding),
        "portfolio_at_risk": {f"over_{days}": amount for days, amount in at_risk.items()},
        "on_time_repayment_rate": ratio(figures["on_time_in_period"], figures["due_in_period"]),
        "collection_rate": ratio(figures["collected_to_date"], figures["due_to_date"]),
        "due_in_period": figures["due_in_period"],
        "paid_on_time_in_period": figures["on_time_in_period"],
        "due_to_date": figures["due_to_date"],
        "collected_to_date": figures["collected_to_date"],
        "aging": {
            "1_30": figures["aging_1_30"],
            "31_60": figures["aging_31_60"],
            "61_90": figures["aging_61_90"],
            "over_90": figures["aging_over_90"],
        },
        "capital_by_source": dict(figures["capital"]),
        "capital_total": figures["capital_total"],
        "lent_to_date": figures["lent_to_date"],
        "times_revolved": ratio(figures["lent_to_date"], figures["capital_total"]),
        "loan_fund_utilisation": ratio(outstanding, figures["savings_balance"]),
        "fund_cash": figures["fund_cash"],
        "interest_income": figures["interest_income"],
        "mutual_aid_balance": figures["mutual_aid"],
        "fund_growth": fund_growth(figures),
    }


def _add(total: dict[str, Any], one: dict[str, Any]) -> None:
    for key, value in one.items():
        if isinstance(value, dict):
            _add(total[key], value)
        else:
            total[key] += value


async def _build(
    engine: AsyncEngine, city_ids: list[int] | None, as_of: date, start: date
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    # One snapshot: balances and arrears read while entries are posted agree with each other.
    async with snapshot(engine) as connection:
        return await _build_on(connection, city_ids, as_of, start)


async def _build_on(
    connection: AsyncConnection, city_ids: list[int] | None, as_of: date, start: date
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The figures as `connection` reads them (one snapshot: see _build)."""
    funds = await queries.funds(connection, city_ids)
    raw = await queries.figures(connection, [f["fund_id"] for f in funds], as_of, start)
    sums = _sums(raw)
    total = _empty()
    cities = []
    for fund in funds:
        figures = sums.get(fund["fund_id"], _empty())
        _add(total, figures)
        cities.append({"city": fund["city"], "city_name": fund["city_name"], **_report(figures)})
    return cities, _report(total)


def report_period(as_of: date | None, start: date | None) -> tuple[date, date]:
    """The report's day and the start of its period (a year before it by default); a
    period that starts after it is refused (fund growth was computed backwards)."""
    as_of = as_of or today_in_vietnam()
    if start is not None and start > as_of:
        raise InvalidInput([Problem("from", "cdf_from_after_as_of", {"as_of": as_of.isoformat()})])
    return as_of, start or add_months(as_of, -12)


async def city_report(
    engine: AsyncEngine,
    user: Principal,
    city_slug: str,
    as_of: date | None = None,
    start: date | None = None,
) -> dict[str, Any]:
    """One city's CDF figures (its CDF staff, admins and planners)."""
    as_of, start = report_period(as_of, start)
    async with snapshot(engine) as connection:
        return await city_report_on(connection, user, city_slug, as_of, start)


async def city_report_on(
    connection: AsyncConnection, user: Principal, city_slug: str, as_of: date, start: date
) -> dict[str, Any]:
    """city_report as `connection` reads it: with a REPEATABLE READ connection, the figures
    of one moment, beside whatever else the caller reads in that snapshot."""
    city = await city_for(connection, user, city_slug)
    require(cdf.can_read_city_books(user, city["id"]), "unknown_city", city=city_slug)
    _cities, total = await _build_on(connection, [city["id"]], as_of, start)
    return {
        "city": city["slug"],
        "city_name": city["name"],
        "as_of": as_of,
        "period_start": start,
        **total,
    }


async def national_report(
    engine: AsyncEngine, user: Principal, as_of: date | None = None, start: date | None = None
) -> dict[str, Any]:
    """Every city's figures and the totals: for whom may read every city's books (national
    admins); anyone else sees the cities they may read."""
    as_of, start = report_period(as_of, start)
    city_ids = None
    if not user.is_national_admin:
        city_ids = sorted(c for c in user.cities_anywhere() if cdf.can_read_city_books(user, c))
    cities, total = await _build(engine, city_ids, as_of, start)
    return {"as_of": as_of, "period_start": start, "total": total, "cities": cities}


def _flat(report: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in report.items():
        if isinstance(value, dict):
            rows += _flat(value, f"{prefix}{key}.")
        elif key not in ("city", "city_name", "as_of", "period_start"):
            rows.append((prefix + key, value))
    return rows


def report_csv(rows: list[dict[str, Any]], language: str) -> bytes:
    """Reports as CSV (one line per city, a column per figure headed in the language, as the
    report page names it; UTF-8 with BOM for Excel); city names never run as formulas."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    names = [name for name, _ in _flat(rows[0])] if rows else []
    headers = [column_label(name, language) for name in names]
    writer.writerow([translate("cdf_report.city", language), *headers])
    for row in rows:
        values = dict(_flat(row))
        writer.writerow(
            [row.get("city_name") or row.get("city") or "", *(values[n] for n in names)]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
