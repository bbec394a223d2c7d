"""Savings groups per settlement, for the maps: groups, members, savings, loans outstanding
and the principal at risk over 30 days, computed from the journal like the CDF report
(app/db/cdf_reports.py) but summed by the groups' settlements instead of the fund."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# The groups a reader may see (whole city, or these groups, or the groups in these wards),
# of one ward or the whole city; then the same sums as the report's ARREARS per loan, by
# group, and by settlement with a point inside it. Groups registered without a settlement
# (of the whole city only: they are in no ward) make one row with a NULL settlement, so that
# the rows sum to the report's figures.
SETTLEMENT_GROUPS = """
WITH grp AS (
  SELECT g.id, g.name, g.settlement_id
  FROM cdf_groups g JOIN cdf_funds f ON f.id = g.fund_id
  LEFT JOIN settlements s ON s.id = g.settlement_id
  WHERE f.city_id = :city AND g.founded_on <= (:as_of)::date
    AND (CAST(:ward AS integer) IS NULL OR s.ward_id = :ward)
    AND (:whole OR g.id = ANY(:ids) OR s.ward_id = ANY(:wards))
),
members AS (
  SELECT m.group_id, count(*) AS members FROM cdf_members m JOIN grp ON grp.id = m.group_id
  WHERE m.joined_on <= (:as_of)::date AND (m.left_on IS NULL OR m.left_on > (:as_of)::date)
  GROUP BY m.group_id
),
savings AS (
  SELECT a.group_id, -sum(l.amount) AS savings
  FROM cdf_accounts a JOIN grp ON grp.id = a.group_id
  JOIN cdf_lines l ON l.account_id = a.id JOIN cdf_entries e ON e.id = l.entry_id
  WHERE a.kind = 'savings' AND e.entry_date <= (:as_of)::date
  GROUP BY a.group_id
),
loans AS (
  SELECT lo.id, lo.group_id FROM cdf_loans lo JOIN grp ON grp.id = lo.group_id
  WHERE lo.status IN ('disbursed', 'closed') AND lo.disbursed_on <= (:as_of)::date
),
paid AS (
  SELECT l.loan_id, l.installment_seq AS seq,
         coalesce(sum(-l.amount) FILTER (WHERE l.component = 'principal'), 0) AS principal_paid,
         sum(-l.amount) AS paid
  FROM cdf_lines l JOIN loans lo ON lo.id = l.loan_id JOIN cdf_entries e ON e.id = l.entry_id
  WHERE l.installment_seq IS NOT NULL AND e.entry_date <= (:as_of)::date
  GROUP BY l.loan_id, l.installment_seq
),
per_loan AS (
  SELECT lo.group_id, i.loan_id,
         sum(i.principal_due - coalesce(p.principal_paid, 0)) AS outstanding,
         max(CASE WHEN i.due_on < (:as_of)::date
                       AND i.principal_due + i.interest_due - coalesce(p.paid, 0) > 0
                  THEN (:as_of)::date - i.due_on ELSE 0 END) AS days_late
  FROM cdf_installments i JOIN loans lo ON lo.id = i.loan_id
  LEFT JOIN paid p ON p.loan_id = i.loan_id AND p.seq = i.seq
  GROUP BY lo.group_id, i.loan_id
),
per_group AS (
  SELECT group_id, sum(outstanding) AS outstanding,
         coalesce(sum(outstanding) FILTER (WHERE days_late > 30), 0) AS at_risk_30
  FROM per_loan GROUP BY group_id
)
SELECT s.id AS settlement_id, s.name AS settlement, s.ward_id, w.name AS ward,
       ST_X(ST_PointOnSurface(s.geom)) AS lon, ST_Y(ST_PointOnSurface(s.geom)) AS lat,
       count(*) AS groups,
       array_agg(grp.name ORDER BY grp.name, grp.id) AS group_names,
       coalesce(sum(m.members), 0)::bigint AS members,
       coalesce(sum(sv.savings), 0)::bigint AS savings_balance,
       coalesce(sum(pg.outstanding), 0)::bigint AS loans_outstanding,
       coalesce(sum(pg.at_risk_30), 0)::bigint AS at_risk_30
FROM grp LEFT JOIN settlements s ON s.id = grp.settlement_id LEFT JOIN wards w ON w.id = s.ward_id
LEFT JOIN members m ON m.group_id = grp.id
LEFT JOIN savings sv ON sv.group_id = grp.id
LEFT JOIN per_group pg ON pg.group_id = grp.id
GROUP BY s.id, s.name, s.ward_id, w.name, s.geom
ORDER BY s.name, s.id
"""


async def settlement_groups(
    connection: AsyncConnection,
    city_id: int,
    ward_id: int | None,
    as_of: date,
    whole_city: bool,
    group_ids: Collection[int],
    ward_ids: Collection[int],
) -> list[dict[str, Any]]:
    """Per settlement of the city (or of one ward): the savings groups a reader may see,
    summed; settlements without such a group are left out; the city's groups without a
    settlement in one row of their own (settlement_id, lon and lat NULL)."""
    rows = await connection.execute(
        text(SETTLEMENT_GROUPS),
        {
            "city": city_id,
            "ward": ward_id,
            "as_of": as_of,
            "whole": whole_city,
            "ids": list(group_ids),
            "wards": list(ward_ids),
        },
    )
    return [dict(row._mapping) for row in rows]
