"""A CDF's figures (app/services/cdf_reports.py says what each means): balances by account
kind, and per-installment arrears and repayment, per fund.

They are read from the sums the database keeps as entries are posted (migration 0011):
balances for any day; arrears and repayment for a day on or after the funds' latest entry
(the usual "as of today"). An earlier day's arrears are worked out from the journal
(`ARREARS`), as are all figures in the tests that check the sums against the journal."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# Balances by kind and source, per fund, from every line dated up to the day.
BALANCES = """
SELECT a.fund_id, a.kind, a.source, sum(l.amount)::bigint AS total
FROM cdf_lines l JOIN cdf_accounts a ON a.id = l.account_id
JOIN cdf_entries e ON e.id = l.entry_id
WHERE a.fund_id = ANY(:funds) AND e.entry_date <= (:as_of)::date
GROUP BY a.fund_id, a.kind, a.source
"""

# Disbursed principal, ever, per fund (times revolved).
LENT = """
SELECT a.fund_id, coalesce(sum(l.amount), 0)::bigint AS lent
FROM cdf_lines l JOIN cdf_accounts a ON a.id = l.account_id
JOIN cdf_entries e ON e.id = l.entry_id
WHERE a.fund_id = ANY(:funds) AND a.kind = 'loans_receivable' AND e.kind = 'disbursement'
  AND e.entry_date <= (:as_of)::date
GROUP BY a.fund_id
"""

COUNTS = """
SELECT g.fund_id, count(DISTINCT g.id) AS groups,
       count(m.id) FILTER (WHERE m.joined_on <= (:as_of)::date
                            AND (m.left_on IS NULL OR m.left_on > (:as_of)::date)) AS members
FROM cdf_groups g LEFT JOIN cdf_members m ON m.group_id = g.id
WHERE g.fund_id = ANY(:funds) AND g.founded_on <= (:as_of)::date
GROUP BY g.fund_id
"""

# Every installment of every loan paid out by the day, with what the journal says was paid on
# it by then, and on time (by its due date, by entries not reversed); then per loan (its
# outstanding principal, days since its oldest unpaid installment fell due) and per fund.
ARREARS = """
WITH loans AS (
  SELECT id, fund_id FROM cdf_loans
  WHERE fund_id = ANY(:funds) AND status IN ('disbursed', 'closed')
    AND disbursed_on <= (:as_of)::date
),
paid AS (
  SELECT l.loan_id, l.installment_seq AS seq,
         coalesce(sum(-l.amount) FILTER (WHERE l.component = 'principal'), 0) AS principal_paid,
         sum(-l.amount) AS paid,
         coalesce(sum(-l.amount) FILTER (
           WHERE e.entry_date <= i.due_on AND e.kind <> 'reversal' AND r.id IS NULL), 0)
           AS paid_on_time
  FROM cdf_lines l
  JOIN loans lo ON lo.id = l.loan_id
  JOIN cdf_entries e ON e.id = l.entry_id
  JOIN cdf_installments i ON i.loan_id = l.loan_id AND i.seq = l.installment_seq
  LEFT JOIN cdf_entries r ON r.reverses_id = e.id AND r.entry_date <= (:as_of)::date
  WHERE l.installment_seq IS NOT NULL AND e.entry_date <= (:as_of)::date
  GROUP BY l.loan_id, l.installment_seq
),
inst AS (
  SELECT lo.fund_id, i.loan_id, i.due_on, i.principal_due + i.interest_due AS due,
         i.principal_due - coalesce(p.principal_paid, 0) AS principal_left,
         coalesce(p.paid, 0) AS paid, coalesce(p.paid_on_time, 0) AS paid_on_time,
         CASE WHEN i.due_on < (:as_of)::date
                   AND i.principal_due + i.interest_due - coalesce(p.paid, 0) > 0
              THEN (:as_of)::date - i.due_on ELSE 0 END AS days_late
  FROM cdf_installments i JOIN loans lo ON lo.id = i.loan_id
  LEFT JOIN paid p ON p.loan_id = i.loan_id AND p.seq = i.seq
),
per_loan AS (
  SELECT fund_id, loan_id, sum(principal_left) AS outstanding, max(days_late) AS days_late
  FROM inst GROUP BY fund_id, loan_id
),
loan_totals AS (
  SELECT fund_id,
         count(*) FILTER (WHERE outstanding > 0) AS active_loans,
         coalesce(sum(outstanding), 0) AS outstanding,
         coalesce(sum(outstanding) FILTER (WHERE days_late >= 1), 0) AS at_risk_1,
         coalesce(sum(outstanding) FILTER (WHERE days_late > 30), 0) AS at_risk_30,
         coalesce(sum(outstanding) FILTER (WHERE days_late > 60), 0) AS at_risk_60,
         coalesce(sum(outstanding) FILTER (WHERE days_late > 90), 0) AS at_risk_90
  FROM per_loan GROUP BY fund_id
),
inst_totals AS (
  SELECT fund_id,
    coalesce(sum(due) FILTER (WHERE due_on BETWEEN (:start)::date AND (:as_of)::date), 0)
      AS due_in_period,
    coalesce(sum(least(paid_on_time, due))
               FILTER (WHERE due_on BETWEEN (:start)::date AND (:as_of)::date), 0)
      AS on_time_in_period,
    coalesce(sum(due) FILTER (WHERE due_on <= (:as_of)::date), 0) AS due_to_date,
    coalesce(sum(least(paid, due)) FILTER (WHERE due_on <= (:as_of)::date), 0)
      AS collected_to_date,
    coalesce(sum(principal_left) FILTER (WHERE days_late BETWEEN 1 AND 30), 0) AS aging_1_30,
    coalesce(sum(principal_left) FILTER (WHERE days_late BETWEEN 31 AND 60), 0) AS aging_31_60,
    coalesce(sum(principal_left) FILTER (WHERE days_late BETWEEN 61 AND 90), 0) AS aging_61_90,
    coalesce(sum(principal_left) FILTER (WHERE days_late > 90), 0) AS aging_over_90
  FROM inst GROUP BY fund_id
)
SELECT coalesce(lt.fund_id, it.fund_id) AS fund_id, lt.active_loans, lt.outstanding,
       lt.at_risk_1, lt.at_risk_30, lt.at_risk_60, lt.at_risk_90, it.due_in_period,
       it.on_time_in_period, it.due_to_date, it.collected_to_date, it.aging_1_30,
       it.aging_31_60, it.aging_61_90, it.aging_over_90
FROM loan_totals lt FULL JOIN inst_totals it ON it.fund_id = lt.fund_id
"""


# The same figures from the sums kept by the database (migration 0011).
SUMMARY_BALANCES = """
SELECT fund_id, kind, nullif(source, '') AS source, sum(amount)::bigint AS total
FROM cdf_sum_balances WHERE fund_id = ANY(:funds) AND day <= (:as_of)::date
GROUP BY fund_id, kind, source
"""

SUMMARY_LENT = """
SELECT fund_id, sum(lent)::bigint AS lent FROM cdf_sum_balances
WHERE fund_id = ANY(:funds) AND kind = 'loans_receivable' AND day <= (:as_of)::date
GROUP BY fund_id
"""

# Valid for a day on or after every entry of the funds (see `latest_entry`).
SUMMARY_ARREARS = """
WITH loan_totals AS (
  SELECT fund_id,
         count(*) FILTER (WHERE outstanding > 0) AS active_loans,
         coalesce(sum(outstanding), 0) AS outstanding,
         coalesce(sum(outstanding) FILTER (WHERE (:as_of)::date - oldest_unpaid_due >= 1), 0)
           AS at_risk_1,
         coalesce(sum(outstanding) FILTER (WHERE (:as_of)::date - oldest_unpaid_due > 30), 0)
           AS at_risk_30,
         coalesce(sum(outstanding) FILTER (WHERE (:as_of)::date - oldest_unpaid_due > 60), 0)
           AS at_risk_60,
         coalesce(sum(outstanding) FILTER (WHERE (:as_of)::date - oldest_unpaid_due > 90), 0)
           AS at_risk_90
  FROM cdf_sum_loans WHERE fund_id = ANY(:funds) GROUP BY fund_id
),
inst_totals AS (
  SELECT fund_id,
    coalesce(sum(due) FILTER (WHERE due_on BETWEEN (:start)::date AND (:as_of)::date), 0)
      AS due_in_period,
    coalesce(sum(on_time) FILTER (WHERE due_on BETWEEN (:start)::date AND (:as_of)::date), 0)
      AS on_time_in_period,
    coalesce(sum(due) FILTER (WHERE due_on <= (:as_of)::date), 0) AS due_to_date,
    coalesce(sum(collected) FILTER (WHERE due_on <= (:as_of)::date), 0) AS collected_to_date,
    coalesce(sum(principal_unpaid) FILTER (
      WHERE (:as_of)::date - due_on BETWEEN 1 AND 30), 0) AS aging_1_30,
    coalesce(sum(principal_unpaid) FILTER (
      WHERE (:as_of)::date - due_on BETWEEN 31 AND 60), 0) AS aging_31_60,
    coalesce(sum(principal_unpaid) FILTER (
      WHERE (:as_of)::date - due_on BETWEEN 61 AND 90), 0) AS aging_61_90,
    coalesce(sum(principal_unpaid) FILTER (WHERE (:as_of)::date - due_on > 90), 0)
      AS aging_over_90
  FROM cdf_sum_due_days WHERE fund_id = ANY(:funds) GROUP BY fund_id
)
SELECT coalesce(lt.fund_id, it.fund_id) AS fund_id, lt.active_loans, lt.outstanding,
       lt.at_risk_1, lt.at_risk_30, lt.at_risk_60, lt.at_risk_90, it.due_in_period,
       it.on_time_in_period, it.due_to_date, it.collected_to_date, it.aging_1_30,
       it.aging_31_60, it.aging_61_90, it.aging_over_90
FROM loan_totals lt FULL JOIN inst_totals it ON it.fund_id = lt.fund_id
"""

# The funds' latest entry date: one look in the (fund_id, entry_date) index per fund.
LATEST_ENTRY = """
SELECT max(d) FROM unnest(CAST(:funds AS integer[])) f,
  LATERAL (SELECT max(entry_date) AS d FROM cdf_entries WHERE fund_id = f) x
"""

JOURNAL = {"balances": BALANCES, "lent": LENT, "counts": COUNTS, "arrears": ARREARS}


async def funds(
    connection: AsyncConnection, city_ids: Sequence[int] | None
) -> list[dict[str, Any]]:
    """Funds with their city (every fund when `city_ids` is None)."""
    where = "" if city_ids is None else "WHERE f.city_id = ANY(:cities)"
    rows = await connection.execute(
        text(
            "SELECT f.id AS fund_id, f.name, c.id AS city_id, c.slug AS city, c.name AS city_name "
            f"FROM cdf_funds f JOIN cities c ON c.id = f.city_id {where} ORDER BY c.slug"
        ),
        {"cities": list(city_ids or [])},
    )
    return [dict(row._mapping) for row in rows]


async def latest_entry(connection: AsyncConnection, fund_ids: Sequence[int]) -> date | None:
    """The date of the funds' latest entry (None when they have none)."""
    day = (await connection.execute(text(LATEST_ENTRY), {"funds": list(fund_ids)})).scalar_one()
    return day if isinstance(day, date) else None


async def figures(
    connection: AsyncConnection,
    fund_ids: Sequence[int],
    as_of: date,
    start: date,
    journal: bool = False,
) -> dict[str, list[dict[str, Any]]]:
    """The raw sums of every fund: balances (also at the end of the day before `start`),
    lent, counts and arrears; from the kept sums
    (see the module), or all from the journal with `journal`. Run it in one snapshot
    (REPEATABLE READ) for figures that agree with each other."""
    params = {"funds": list(fund_ids), "as_of": as_of, "start": start}
    queries = dict(JOURNAL)
    if not journal:
        queries.update(balances=SUMMARY_BALANCES, lent=SUMMARY_LENT)
        latest = await latest_entry(connection, fund_ids)
        if latest is None or as_of >= latest:
            queries["arrears"] = SUMMARY_ARREARS
    # The balances at the end of the day before the period (fund growth).
    queries["opening"] = queries["balances"]
    opening = {**params, "as_of": start - timedelta(days=1)}
    out = {}
    for name, sql in queries.items():
        rows = await connection.execute(text(sql), opening if name == "opening" else params)
        out[name] = [dict(row._mapping) for row in rows]
    return out
