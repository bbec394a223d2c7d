"""Use case: the savings groups as a layer of the ward and city maps (and the printed ward
map): per settlement, its groups, members, savings balance, loans outstanding and PAR30.

The same access rules as the groups' list (app.services.cdf_access.readable_groups_filter):
the city's CDF readers (its CDF staff, admins and planners; national admins) see every group,
a ward's leader the groups of their ward, a treasurer their own group; anyone else, and a
public map, none (no layer at all). Group names are shown as they were typed: the web page
sets them as text only (static/maps/cdfmap.js), never through a template.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import cdf_map as queries
from app.geo import cdf_groups
from app.i18n import number_text, percent_text, translate
from app.services import cdf_access as cdf
from app.services.access import Principal
from app.text import isolated
from app.vietnam import today_in_vietnam

POPUP_KEYS = (
    "settlement",
    "group_names",
    "groups",
    "members",
    "savings",
    "loans_outstanding",
    "par30_text",
)


def _par_text(at_risk: int, outstanding: int, language: str) -> str:
    if outstanding <= 0:
        return translate("cdf_groups.no_loans", language)
    return f"{percent_text(at_risk / outstanding, 1, language)} %"


def popup_fields(language: str) -> list[tuple[str, str]]:
    """(property, label) pairs shown in a settlement's groups popup."""
    return [(key, translate(f"cdf_groups.{key}", language)) for key in POPUP_KEYS]


def _unplaced(row: dict[str, Any], language: str) -> dict[str, Any]:
    """The groups without a settlement: on no circle, their figures said in the legend."""
    groups, members = int(row["groups"]), int(row["members"])
    savings = int(row["savings_balance"])
    return {
        "groups": groups,
        "members": members,
        "savings_balance": savings,
        "loans_outstanding_amount": int(row["loans_outstanding"]),
        "at_risk_30": int(row["at_risk_30"]),
        "text": translate(
            "cdf_groups.unplaced",
            language,
            groups=groups,
            members=members,
            savings=number_text(savings, language),
        ),
    }


async def map_groups(
    engine: AsyncEngine,
    reader: Principal | None,
    city_id: int,
    ward_id: int | None,
    language: str,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The settlements with savings groups this reader may see, with their figures and the
    texts of their popups (none on a public map); and the figures of the groups registered
    without a settlement (city maps only; None when there are none): the circles and these
    sum to the CDF report."""
    if reader is None:
        return [], None
    whole, group_ids, ward_ids = cdf.readable_groups_filter(reader, city_id)
    if not (whole or group_ids or ward_ids):
        return [], None
    async with engine.connect() as connection:
        rows = await queries.settlement_groups(
            connection, city_id, ward_id, today_in_vietnam(), whole, group_ids, ward_ids
        )
    shown, unplaced = [], None
    for row in rows:
        if row["settlement_id"] is None:
            unplaced = _unplaced(row, language)
            continue
        members, outstanding, at_risk = (
            int(row["members"]),
            int(row["loans_outstanding"]),
            int(row["at_risk_30"]),
        )
        par = cdf_groups.par_class(at_risk, outstanding)
        shown.append(
            {
                "settlement_id": row["settlement_id"],
                "name": row["settlement"],
                "settlement": row["settlement"],
                "ward": row["ward"] or "",
                "lon": float(row["lon"]),
                "lat": float(row["lat"]),
                # Isolated: a name written right to left would reorder its neighbours.
                "group_names": " · ".join(isolated(name) for name in row["group_names"]),
                "groups": int(row["groups"]),
                "members": members,
                "savings_balance": int(row["savings_balance"]),
                "savings": number_text(int(row["savings_balance"]), language),
                "loans_outstanding_amount": outstanding,
                "loans_outstanding": number_text(outstanding, language),
                "at_risk_30": at_risk,
                "par30": round(at_risk / outstanding, 4) if outstanding else None,
                "par30_text": _par_text(at_risk, outstanding, language),
                "par_class": par,
                "colour": cdf_groups.PAR_COLOUR[par],
                "radius": cdf_groups.radius(members),
            }
        )
    return shown, unplaced


def map_layer(
    groups: list[dict[str, Any]], unplaced: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """The web map's groups layer: a FeatureCollection of points (None when there is none),
    with the groups without a settlement as its `unplaced` member."""
    if not groups and unplaced is None:
        return None
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [group["lon"], group["lat"]]},
            "properties": {k: v for k, v in group.items() if k not in ("lon", "lat")},
        }
        for group in groups
    ]
    layer: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if unplaced is not None:
        layer["unplaced"] = unplaced
    return layer
