"""Use case: upgrading indicators and the priority score of settlements, wards and cities.

Definitions (which answers count as a deficiency) live here. The weights are a city's own
(set by its admins, `cities.priority_weights`) or else the common ones of forms/priorities.yaml.
See docs/maps.md for the formula.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db import indicators as queries
from app.db import places as place_queries
from app.db.indicators import HOUSEHOLD_FORM, Counted, DeficiencyRule, shown_score
from app.db.scope import EVERY_SURVEY, SurveyScope
from app.errors import InvalidInput, NotFound, Problem, Unauthorized
from app.i18n import percent_text
from app.services.access import SYSTEM, Principal
from app.services.small_areas import rerank, withhold_small
from app.services.spreadsheet import csv_writer
from app.vietnam import vietnam_day


@dataclass(frozen=True)
class Weights:
    """The weights of a city's scores and where they come from: `city` (its admins set them)
    or `common` (forms/priorities.yaml)."""

    values: dict[str, float]
    source: str


@dataclass(frozen=True)
class Indicator:
    """A deficiency, its SQL rule and its labels (long and short, vi and en)."""

    rule: DeficiencyRule
    label: dict[str, str]
    short: dict[str, str]

    @property
    def key(self) -> str:
        """The indicator's key (as in priorities.yaml)."""
        return self.rule.key


INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        # Simplest documented choice: handwritten papers count as insecure, at full weight.
        DeficiencyRule(
            "insecure_tenure", "tenure", ("papers_only", "renting", "public_land", "relatives")
        ),
        {"vi": "Không có giấy tờ nhà đất an toàn", "en": "Insecure tenure"},
        {"vi": "Giấy tờ", "en": "Tenure"},
    ),
    Indicator(
        DeficiencyRule("no_piped_water", "water_source", ("piped",), negate=True),
        {"vi": "Không có nước máy", "en": "No piped water"},
        {"vi": "Nước", "en": "Water"},
    ),
    Indicator(
        DeficiencyRule("no_own_toilet", "sanitation", ("own_toilet",), negate=True),
        {"vi": "Không có nhà vệ sinh riêng", "en": "No own toilet"},
        {"vi": "Vệ sinh", "en": "Toilet"},
    ),
    Indicator(
        DeficiencyRule("floods_often", "flooding", ("yearly", "often")),
        {"vi": "Ngập hằng năm hoặc thường xuyên", "en": "Floods every year or often"},
        {"vi": "Ngập", "en": "Flood"},
    ),
    Indicator(
        DeficiencyRule("temporary_house", "house_condition", ("temporary", "dilapidated")),
        {"vi": "Nhà tạm hoặc dột nát", "en": "Temporary or dilapidated house"},
        {"vi": "Nhà tạm", "en": "House"},
    ),
    Indicator(
        DeficiencyRule("no_own_electricity", "electricity", ("own_meter",), negate=True),
        {"vi": "Không có công tơ điện riêng", "en": "No own electricity meter"},
        {"vi": "Điện", "en": "Power"},
    ),
    Indicator(
        DeficiencyRule("no_car_access", "lane_access", ("car",), negate=True),
        {"vi": "Ô tô không vào được", "en": "No car access"},
        {"vi": "Ô tô", "en": "Car"},
    ),
    Indicator(
        DeficiencyRule("no_waste_collection", "waste", ("collected",), negate=True),
        {"vi": "Rác không được thu gom", "en": "No waste collection"},
        {"vi": "Rác", "en": "Waste"},
    ),
)
INDICATOR_KEYS = tuple(indicator.key for indicator in INDICATORS)

LABELS: dict[str, dict[str, str]] = {
    "kind": {"vi": "Cấp", "en": "Level"},
    "settlement": {"vi": "Khu dân cư", "en": "Settlement"},
    "ward": {"vi": "Phường/xã", "en": "Ward"},
    "city": {"vi": "Thành phố", "en": "City"},
    "code": {"vi": "Mã", "en": "Code"},
    "name": {"vi": "Tên", "en": "Name"},
    "households": {"vi": "Số hộ đã khảo sát", "en": "Households surveyed"},
    "households_estimate": {"vi": "Số hộ ước tính", "en": "Households (estimate)"},
    "score": {"vi": "Điểm ưu tiên (0-100)", "en": "Priority score (0-100)"},
    "rank_in_ward": {"vi": "Hạng trong phường", "en": "Rank in ward"},
    "rank_in_city": {"vi": "Hạng trong thành phố", "en": "Rank in city"},
    "last_collected_at": {"vi": "Ngày khảo sát gần nhất", "en": "Last survey"},
    "share": {"vi": "% hộ", "en": "% households"},
}


MAX_WEIGHT = 1000
WEIGHTS_FIELD = "priority_weights"


def check_weights(raw: object) -> dict[str, float]:
    """Weights as a city admin or forms/priorities.yaml gives them, checked: every key an
    indicator, every weight a number from 0 to MAX_WEIGHT, at least one above 0; a missing
    indicator weighs 0. InvalidInput naming each bad one (`priority_weights.<key>`)."""
    if not isinstance(raw, dict):
        raise InvalidInput([Problem(WEIGHTS_FIELD, "wrong_type", {"expected": "object"})])
    problems: list[Problem] = []
    unknown = [str(key) for key in raw if key not in INDICATOR_KEYS]
    if unknown:
        shown = ", ".join(repr(key[:40]) for key in unknown[:5])
        known = ", ".join(INDICATOR_KEYS)
        problems.append(
            Problem(WEIGHTS_FIELD, "weight_unknown_indicator", {"keys": shown, "known": known})
        )
    weights: dict[str, float] = {}
    for key in INDICATOR_KEYS:
        value = raw.get(key, 0)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not (0 <= value <= MAX_WEIGHT)  # NaN fails both sides, huge integers too
        ):
            field = f"{WEIGHTS_FIELD}.{key}"
            params = {"indicator": key, "max": MAX_WEIGHT}
            problems.append(Problem(field, "weight_not_a_number", params))
            continue
        weights[key] = float(value)
    if not problems and not any(weight > 0 for weight in weights.values()):
        problems.append(Problem(WEIGHTS_FIELD, "weights_all_zero"))
    if problems:
        raise InvalidInput(problems)
    return weights


def read_weights(path: Path) -> dict[str, float]:
    """The common weights, from priorities.yaml (`weights:`), checked as a city's are."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    raw = document.get("weights") if isinstance(document, dict) else None
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a 'weights:' mapping")
    try:
        return check_weights(raw)
    except InvalidInput as exc:
        reasons = "; ".join(problem.message("en") for problem in exc.problems)
        raise ValueError(f"{path}: {reasons}") from None


def stored_weights(stored: Mapping[str, Any] | None) -> dict[str, float] | None:
    """A city's weights as stored (checked when set): None if it has none of its own, or if
    they no longer hold (an indicator this version does not know is left out)."""
    if stored is None:
        return None
    known = {key: value for key, value in stored.items() if key in INDICATOR_KEYS}
    try:
        return check_weights(known)
    except InvalidInput:
        return None


async def weights_of(engine: AsyncEngine, city_id: int, priorities: Path) -> Weights:
    """A city's weights (see cities_weights), on a connection of its own."""
    return (await weights_by_city(engine, [city_id], priorities))[city_id]


async def weights_by_city(
    engine: AsyncEngine, city_ids: Sequence[int], priorities: Path
) -> dict[int, Weights]:
    """Cities' weights (see cities_weights), on a connection of its own."""
    async with engine.connect() as connection:
        return await cities_weights(connection, city_ids, priorities)


async def cities_weights(
    connection: AsyncConnection, city_ids: Sequence[int], priorities: Path
) -> dict[int, Weights]:
    """The weights each city's scores use: its own, or else the common ones."""
    stored = await place_queries.cities_weights(connection, city_ids)
    common: Weights | None = None
    found: dict[int, Weights] = {}
    for city_id in city_ids:
        own = stored_weights(stored.get(city_id))
        if own is None:
            common = common or Weights(read_weights(priorities), "common")
            found[city_id] = common
        else:
            found[city_id] = Weights(own, "city")
    return found


def priority_score(
    shares: Mapping[str, float | None], weights: Mapping[str, float]
) -> float | None:
    """100 * sum(w_i * share_i) / sum(w_i) over the indicators with a share (None if none)."""
    numerator = 0.0
    denominator = 0.0
    for key, weight in weights.items():
        share = shares.get(key)
        if share is None:
            continue
        numerator += weight * share
        denominator += weight
    return 100.0 * numerator / denominator if denominator > 0 else None


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def _row(row: Mapping[str, Any]) -> dict[str, Any]:
    """One area's figures in the API's JSON shape."""
    households = int(row["households"] or 0)
    out: dict[str, Any] = {
        "id": row["id"],
        "code": row["code"],
        "name": row["name"],
        "households": households,
        "score": shown_score(row["score"]),  # as ranked (app/db/indicators.py)
        "shares": {key: _round(row[f"share_{key}"], 4) for key in INDICATOR_KEYS},
        "counts": {key: int(row[f"count_{key}"]) for key in INDICATOR_KEYS},
        "last_collected_at": row["last_collected_at"],
    }
    if row["kind"] == "settlement":
        out["ward_id"] = row["ward_id"]
        out["ward"] = row["ward"]
        out["households_estimate"] = row["households_estimate"]
    if row["kind"] in ("settlement", "ward"):
        out["rank_in_city"] = row["rank_in_city"]
    if row["kind"] == "settlement":
        out["rank_in_ward"] = row["rank_in_ward"]
    return out


def _definitions(weights: Mapping[str, float]) -> list[dict[str, Any]]:
    return [
        {
            "key": indicator.key,
            "question": indicator.rule.question,
            "deficient_answers": list(indicator.rule.values),
            "deficient_when": "not_in" if indicator.rule.negate else "in",
            "weight": weights[indicator.key],
            "label": indicator.label,
            "short": indicator.short,
        }
        for indicator in INDICATORS
    ]


async def _city_rows(
    engine: AsyncEngine,
    city_id: int,
    weights: Mapping[str, float],
    ward_id: int | None = None,
    surveys: Counted = "approved",
    household_form: str = HOUSEHOLD_FORM,
    waiting: SurveyScope = EVERY_SURVEY,
) -> list[dict[str, Any]]:
    async with engine.connect() as connection:
        return await queries.city_indicators(
            connection,
            city_id,
            [i.rule for i in INDICATORS],
            weights,
            ward_id,
            surveys,
            household_form,
            waiting,
        )


def may_read_city(reader: Principal | None, city: Mapping[str, Any]) -> bool:
    """Whole-city aggregates: the city's readers, or anyone once the city publishes them."""
    return bool(city.get("public_aggregates")) or (
        reader is not None and reader.can_read_city(city["id"])
    )


def may_read_ward(reader: Principal | None, ward: Mapping[str, Any]) -> bool:
    """A ward's aggregates: its leader, the city's readers, or anyone once published."""
    return bool(ward.get("public_aggregates")) or (
        reader is not None and reader.can_read_ward(ward["city_id"], ward["id"])
    )


def counted_for(reader: Principal | None, place: Mapping[str, Any], surveys: Counted) -> Counted:
    """Surveys not yet approved count only for those who may read the place's surveys."""
    if reader is None:
        return "approved"
    city_id = place.get("city_id", place.get("id"))
    ward_id = place.get("id") if "city_id" in place else None
    allowed = (
        reader.can_read_ward(city_id, ward_id)
        if ward_id is not None
        else reader.can_read_city(city_id)
    )
    return surveys if allowed else "approved"


def waiting_for(reader: Principal | None, city_id: int) -> SurveyScope:
    """Where surveys not yet approved may count in a city's figures for this reader: every
    place for the city's readers, else only the wards whose surveys they may read. A ward's
    report also sums its city (totals, ranks) and settlements reaching into other wards."""
    if reader is None:
        return SurveyScope()
    if reader.can_read_city(city_id):
        return EVERY_SURVEY
    return reader.waiting_scope()


def _data_date(rows: Sequence[Mapping[str, Any]]) -> str | None:
    """The local date (Vietnam, UTC+7) of the latest survey."""
    dates = [r["last_collected_at"] for r in rows if r["last_collected_at"] is not None]
    latest: datetime | None = max(dates) if dates else None
    return vietnam_day(latest).isoformat() if latest else None


async def city_report(
    engine: AsyncEngine,
    slug: str,
    priorities: Path,
    reader: Principal | None = SYSTEM,
    surveys: Counted = "approved",
    household_form: str = HOUSEHOLD_FORM,
) -> dict[str, Any]:
    """Indicators of a city: its totals, every ward and every settlement, ranked.

    Counts approved surveys of the household form, or with `surveys="all"` every such survey
    not rejected. NotFound for a reader who may not see the city's aggregates.
    """
    async with engine.connect() as connection:
        city = await place_queries.city_by_slug(connection, slug)
        if city is None:
            # Anonymous: signed out is all it is told, whether the city exists or not.
            raise Unauthorized() if reader is None else NotFound("unknown_city", city=slug)
        if not may_read_city(reader, city):
            raise Unauthorized() if reader is None else NotFound("unknown_city", city=slug)
        weights = (await cities_weights(connection, [city["id"]], priorities))[city["id"]]
    surveys = counted_for(reader, city, surveys)
    rows = await _city_rows(engine, city["id"], weights.values, None, surveys, household_form)
    shaped = shaped_rows(rows, reader, city["id"])
    totals = shaped["city"][0]
    return {
        "area": {"kind": "city", "id": city["id"], "slug": slug, "name": city["name"]},
        "surveys": surveys,
        "data_date": _data_date([totals]),
        "formula": "score = 100 * sum(w_i * share_i) / sum(w_i)",
        "indicators": _definitions(weights.values),
        "weights": weights.source,
        "totals": totals,
        "wards": shaped["ward"],
        "settlements": shaped["settlement"],
    }


def shaped_rows(
    rows: Sequence[Mapping[str, Any]], reader: Principal | None, city_id: int
) -> dict[str, list[dict[str, Any]]]:
    """A city's rows in the API's shape by kind, the small ones withheld where the reader
    sees them only because the city published them (app/services/small_areas.py)."""
    shaped: dict[str, list[dict[str, Any]]] = {"city": [], "ward": [], "settlement": []}
    for row in rows:
        shaped[row["kind"]].append(_row(row))
    if reader is not None and reader.can_read_city(city_id):
        return shaped

    def readable(ward_id: int | None) -> bool:
        return reader is not None and reader.can_read_area(city_id, ward_id)

    wards = {id(ward) for ward in shaped["ward"]}

    def published_only(row: dict[str, Any]) -> bool:
        if id(row) in wards:
            return not readable(row["id"])
        return not readable(row.get("ward_id"))  # the city's row has none: published only

    city = shaped["city"][0]
    below: dict[int, list[dict[str, Any]]] = {id(city): []}
    for ward in shaped["ward"]:
        below[id(ward)] = []
        below[id(city)].append(ward)
    ward_rows = {ward["id"]: ward for ward in shaped["ward"]}
    for settlement in shaped["settlement"]:
        parent = ward_rows.get(settlement["ward_id"], city)  # the outskirts: under the city
        below[id(parent)].append(settlement)
    withheld = withhold_small(city, lambda place: below.get(id(place), ()), published_only)
    if withheld:
        for kind in ("ward", "settlement"):
            rerank(shaped[kind], "rank_in_city", lambda _row: 0)
        rerank(shaped["settlement"], "rank_in_ward", lambda row: row["ward_id"])
    return shaped


async def ward_report(
    engine: AsyncEngine,
    ward_id: int,
    priorities: Path,
    with_city: bool = True,
    reader: Principal | None = SYSTEM,
    surveys: Counted = "approved",
    household_form: str = HOUSEHOLD_FORM,
) -> dict[str, Any]:
    """Indicators of a ward: its totals, the city's for comparison, its settlements ranked.

    Without `with_city` only the ward's surveys are read (faster on a big city): no
    `city_totals` and no `rank_in_city`. With `surveys="all"`, surveys not yet approved count
    only where the reader may read them (a ward leader: their ward), the city's row included.
    """
    async with engine.connect() as connection:
        ward = await place_queries.ward_by_id(connection, ward_id)
        if ward is None:
            raise Unauthorized() if reader is None else NotFound("ward_not_found", id=ward_id)
        if not may_read_ward(reader, ward):
            raise Unauthorized() if reader is None else NotFound("ward_not_found", id=ward_id)
        city_id = ward["city_id"]
        weights = (await cities_weights(connection, [city_id], priorities))[city_id]
    surveys = counted_for(reader, ward, surveys)
    in_ward = None if with_city else ward_id
    waiting = waiting_for(reader, city_id)
    rows = await _city_rows(
        engine, city_id, weights.values, in_ward, surveys, household_form, waiting
    )
    if not with_city:
        for row in rows:
            row["rank_in_city"] = None
    shaped = shaped_rows(rows, reader, city_id)
    totals = next(r for r in shaped["ward"] if r["id"] == ward_id)
    city_totals = shaped["city"][0] if with_city else None
    return {
        "area": {
            "kind": "ward",
            "id": ward_id,
            "code": ward["code"],
            "name": ward["name"],
            "city": ward["city"],
            "city_name": ward["city_name"],
        },
        "surveys": surveys,
        "data_date": _data_date([totals]),
        "formula": "score = 100 * sum(w_i * share_i) / sum(w_i)",
        "indicators": _definitions(weights.values),
        "weights": weights.source,
        "totals": totals,
        "city_totals": city_totals,
        "settlements": [r for r in shaped["settlement"] if r["ward_id"] == ward_id],
    }


def _percent(share: float | None) -> str:
    return percent_text(share, 1, no_data="")


def report_csv(report: Mapping[str, Any], language: str) -> bytes:
    """A report as CSV (UTF-8 with BOM, so Excel shows Vietnamese): totals, wards, settlements."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    header = [
        LABELS[key][language]
        for key in (
            "kind",
            "code",
            "name",
            "ward",
            "households",
            "score",
            "rank_in_ward",
            "rank_in_city",
        )
    ]
    header += [f"{i.label[language]} ({LABELS['share'][language]})" for i in INDICATORS]
    writer.writerow(header)

    def write(kind: str, row: Mapping[str, Any]) -> None:
        writer.writerow(
            [
                LABELS[kind][language],
                row["code"],
                row["name"],
                row.get("ward") or (row["name"] if kind == "ward" else ""),
                row["households"],
                "" if row["score"] is None else f"{row['score']:.1f}",
                row.get("rank_in_ward") or "",
                row.get("rank_in_city") or "",
                *[_percent(row["shares"][key]) for key in INDICATOR_KEYS],
            ]
        )

    write(str(report["area"]["kind"]), report["totals"])
    for ward in report.get("wards", []):
        write("ward", ward)
    for settlement in report["settlements"]:
        write("settlement", settlement)
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")
