"""The CDF's journal: entries, their lines, balances, meetings and closed periods.

The database keeps the books honest (migration 0006): lines of an entry sum to zero, posted
rows never change, closed periods refuse entries. These queries only post and read.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class Line:
    """One line of an entry: debit positive, credit negative, in đồng."""

    account_id: int
    amount: int
    loan_id: int | None = None
    installment_seq: int | None = None
    component: str | None = None


async def entry_by_client_id(
    connection: AsyncConnection, client_id: uuid.UUID
) -> dict[str, Any] | None:
    """An entry by the id its client gave it (with the hash of the request that posted it)."""
    row = (
        await connection.execute(
            text(
                "SELECT id, fund_id, client_id, request_hash, entry_date, kind, group_id, "
                "member_id, loan_id, meeting_id, reverses_id FROM cdf_entries "
                "WHERE client_id = :id"
            ),
            {"id": client_id},
        )
    ).first()
    return dict(row._mapping) if row else None


async def entry_by_id(
    connection: AsyncConnection, entry_id: int, lock: bool = False
) -> dict[str, Any] | None:
    """An entry with its lines and, when it was reversed, the reversal's id; with `lock`,
    its row locked first (FOR UPDATE: never changed, but a reversal of it waits for another)
    and then read by a statement of its own, which sees what the other committed."""
    if lock:
        await connection.execute(
            text("SELECT 1 FROM cdf_entries WHERE id = :id FOR UPDATE"), {"id": entry_id}
        )
    row = (
        await connection.execute(
            text(
                """
SELECT e.id, e.fund_id, e.client_id, e.entry_date, e.kind, e.memo, e.group_id, e.member_id,
       e.loan_id, e.meeting_id, e.reverses_id,
       (SELECT r.id FROM cdf_entries r WHERE r.reverses_id = e.id) AS reversed_by,
       (SELECT json_agg(json_build_object('account_id', l.account_id, 'amount', l.amount,
                'loan_id', l.loan_id, 'installment_seq', l.installment_seq,
                'component', l.component) ORDER BY l.id)
          FROM cdf_lines l WHERE l.entry_id = e.id) AS lines
FROM cdf_entries e WHERE e.id = :id
"""
            ),
            {"id": entry_id},
        )
    ).first()
    return dict(row._mapping) if row else None


async def closed_period_covering(
    connection: AsyncConnection, fund_id: int, day: date
) -> dict[str, Any] | None:
    """The closed period a date lies in, or None."""
    row = (
        await connection.execute(
            text(
                "SELECT starts_on, ends_on FROM cdf_periods WHERE fund_id = :fund "
                "AND :day BETWEEN starts_on AND ends_on LIMIT 1"
            ),
            {"fund": fund_id, "day": day},
        )
    ).first()
    return dict(row._mapping) if row else None


async def closed_periods(connection: AsyncConnection, fund_id: int) -> list[dict[str, Any]]:
    """The fund's closed periods, earliest first, with who closed each and when."""
    rows = await connection.execute(
        text(
            "SELECT p.id, p.starts_on, p.ends_on, p.closed_at, u.username AS closed_by "
            "FROM cdf_periods p LEFT JOIN users u ON u.id = p.closed_by "
            "WHERE p.fund_id = :fund ORDER BY p.starts_on, p.id"
        ),
        {"fund": fund_id},
    )
    return [dict(row._mapping) for row in rows]


async def period_overlapping(
    connection: AsyncConnection, fund_id: int, starts_on: date, ends_on: date
) -> dict[str, Any] | None:
    """A closed period sharing a day with starts_on..ends_on: the same period if it is
    closed already, else the earliest other."""
    row = (
        await connection.execute(
            text(
                "SELECT id, starts_on, ends_on FROM cdf_periods WHERE fund_id = :fund "
                "AND starts_on <= :end AND ends_on >= :start "
                "ORDER BY (starts_on = :start AND ends_on = :end) DESC, starts_on, id LIMIT 1"
            ),
            {"fund": fund_id, "start": starts_on, "end": ends_on},
        )
    ).first()
    return dict(row._mapping) if row else None


async def close_period(
    connection: AsyncConnection, fund_id: int, starts_on: date, ends_on: date, user_id: int
) -> int:
    """Close a period of the fund's books."""
    period_id = (
        await connection.execute(
            text(
                "INSERT INTO cdf_periods (fund_id, starts_on, ends_on, closed_by) "
                "VALUES (:fund, :start, :end, :user) RETURNING id"
            ),
            {"fund": fund_id, "start": starts_on, "end": ends_on, "user": user_id},
        )
    ).scalar_one()
    return int(period_id)


async def post(
    connection: AsyncConnection,
    *,
    fund_id: int,
    client_id: uuid.UUID,
    request_hash: str,
    entry_date: date,
    kind: str,
    lines: Sequence[Line],
    created_by: int | None,
    memo: str = "",
    group_id: int | None = None,
    member_id: int | None = None,
    loan_id: int | None = None,
    meeting_id: uuid.UUID | None = None,
    reverses_id: int | None = None,
) -> int | None:
    """Post an entry and its lines; None when its client id was posted already."""
    entry_id = (
        await connection.execute(
            text(
                "INSERT INTO cdf_entries (fund_id, client_id, request_hash, entry_date, kind, "
                "memo, group_id, member_id, loan_id, meeting_id, reverses_id, created_by) "
                "VALUES (:fund, :client, :hash, :day, :kind, :memo, :group, :member, :loan, "
                ":meeting, :reverses, :by) ON CONFLICT (client_id) DO NOTHING RETURNING id"
            ),
            {
                "fund": fund_id,
                "client": client_id,
                "hash": request_hash,
                "day": entry_date,
                "kind": kind,
                "memo": memo,
                "group": group_id,
                "member": member_id,
                "loan": loan_id,
                "meeting": meeting_id,
                "reverses": reverses_id,
                "by": created_by,
            },
        )
    ).scalar()
    if entry_id is None:
        return None
    await connection.execute(
        text(
            "INSERT INTO cdf_lines (entry_id, account_id, amount, loan_id, installment_seq, "
            "component) SELECT :entry, * FROM unnest(CAST(:accounts AS integer[]), "
            "CAST(:amounts AS bigint[]), CAST(:loans AS integer[]), CAST(:seqs AS integer[]), "
            "CAST(:components AS text[]))"
        ),
        {
            "entry": entry_id,
            "accounts": [line.account_id for line in lines],
            "amounts": [line.amount for line in lines],
            "loans": [line.loan_id for line in lines],
            "seqs": [line.installment_seq for line in lines],
            "components": [line.component for line in lines],
        },
    )
    return int(entry_id)


def _extreme_from(rows: Any, day: date, lowest: bool) -> int:
    """The lowest (or highest) running balance of day sums (`day`, `amount`, in day order)
    at the end of `day` or of any day after it."""
    running, on_day, later = 0, 0, []
    for row in rows:
        running += int(row.amount)
        if row.day <= day:
            on_day = running
        else:
            later.append(running)
    return min([on_day, *later]) if lowest else max([on_day, *later])


async def lowest_balance_from(
    connection: AsyncConnection, account_id: int, day: date, debit_normal: bool = False
) -> int:
    """An account's lowest balance (debits minus credits) at the end of `day` or of any day
    after it: what an entry dated `day` may take from it without leaving one day of the
    books below zero (the highest, for a credit-normal account like savings; the lowest, for
    a debit-normal one like cash)."""
    rows = await connection.execute(
        text(
            "SELECT e.entry_date AS day, sum(l.amount)::bigint AS amount FROM cdf_lines l "
            "JOIN cdf_entries e ON e.id = l.entry_id WHERE l.account_id = :id "
            "GROUP BY e.entry_date ORDER BY e.entry_date"
        ),
        {"id": account_id},
    )
    return _extreme_from(rows, day, lowest=debit_normal)


async def lock_fund(connection: AsyncConnection, fund_id: int) -> None:
    """Hold the fund's posting lock until commit: the advisory lock every line of the fund
    takes anyway (cdf_summary_lock, migration 0011), taken earlier, so that what the fund
    may still pay out is read and spent by one transaction at a time. Taken after the
    group's and the loan's row locks, as the lines take it: one order, no deadlock."""
    await connection.execute(
        text("SELECT cdf_summary_lock(CAST(ARRAY[:fund] AS integer[]))"), {"fund": fund_id}
    )


async def lowest_fund_cash_from(connection: AsyncConnection, fund_id: int, day: date) -> int:
    """The fund's lowest cash at the end of `day` or of any day after it (as
    lowest_balance_from), from the day sums the database keeps (cdf_sum_balances): the
    fund's cash has a line for every loan paid out and every remittance of every group."""
    rows = await connection.execute(
        text(
            "SELECT day, amount FROM cdf_sum_balances WHERE fund_id = :fund "
            "AND kind = 'fund_cash' AND source = '' ORDER BY day"
        ),
        {"fund": fund_id},
    )
    return _extreme_from(rows, day, lowest=True)


# Lines of entries dated on or before :as_of (every line when it is NULL).
AS_OF_LINES = (
    "(cdf_lines l JOIN cdf_entries e ON e.id = l.entry_id"
    " AND (CAST(:as_of AS date) IS NULL OR e.entry_date <= CAST(:as_of AS date)))"
)


async def balance(connection: AsyncConnection, account_id: int, as_of: date | None = None) -> int:
    """An account's balance (debits minus credits) from the journal (entries dated up to
    `as_of`; all of them without it)."""
    if as_of is None:
        sql = "SELECT coalesce(sum(amount), 0) FROM cdf_lines WHERE account_id = :id"
    else:
        sql = f"SELECT coalesce(sum(l.amount), 0) FROM {AS_OF_LINES} WHERE l.account_id = :id"
    total = (await connection.execute(text(sql), {"id": account_id, "as_of": as_of})).scalar_one()
    return int(total)


async def group_balances(
    connection: AsyncConnection, group_id: int, as_of: date | None = None
) -> dict[str, int]:
    """A group's balances by account kind (debits minus credits), from the journal (up to
    `as_of`)."""
    rows = await connection.execute(
        text(
            "SELECT a.kind, coalesce(sum(l.amount), 0)::bigint AS total FROM cdf_accounts a "
            f"LEFT JOIN {AS_OF_LINES} ON l.account_id = a.id WHERE a.group_id = :group "
            "GROUP BY a.kind"
        ),
        {"group": group_id, "as_of": as_of},
    )
    return {row.kind: int(row.total) for row in rows}


async def group_entries(
    connection: AsyncConnection, group_id: int, limit: int = 200, as_of: date | None = None
) -> list[dict[str, Any]]:
    """A group's latest entries (reversals visible, each pointing to what it reverses)."""
    rows = await connection.execute(
        text(
            """
SELECT e.id, e.entry_date, e.kind, e.memo, e.member_id, e.loan_id, e.meeting_id,
       e.reverses_id,
       (SELECT r.id FROM cdf_entries r WHERE r.reverses_id = e.id
          AND (CAST(:as_of AS date) IS NULL OR r.entry_date <= CAST(:as_of AS date)))
         AS reversed_by,
       coalesce((SELECT sum(l.amount) FILTER (WHERE l.amount > 0) FROM cdf_lines l
                 WHERE l.entry_id = e.id), 0)::bigint AS amount
FROM cdf_entries e WHERE e.group_id = :group
  AND (CAST(:as_of AS date) IS NULL OR e.entry_date <= CAST(:as_of AS date))
ORDER BY e.entry_date DESC, e.id DESC LIMIT :limit
"""
        ),
        {"group": group_id, "limit": limit, "as_of": as_of},
    )
    return [dict(row._mapping) for row in rows]


# --- meetings -------------------------------------------------------------------------------


async def open_meeting(
    connection: AsyncConnection, meeting_id: uuid.UUID, group_id: int, held_on: date, user: int
) -> bool:
    """Open a meeting; False when that id was opened already."""
    created = await connection.execute(
        text(
            "INSERT INTO cdf_meetings (id, group_id, held_on, opened_by) "
            "VALUES (:id, :group, :day, :user) ON CONFLICT (id) DO NOTHING RETURNING id"
        ),
        {"id": meeting_id, "group": group_id, "day": held_on, "user": user},
    )
    return created.first() is not None


MEETING_COLUMNS = (
    "id, group_id, held_on, status, attendance, cash_counted, cash_in_ledger, "
    "note, opened_by, closed_by, opened_at, closed_at"
)


async def meeting_by_id(
    connection: AsyncConnection, meeting_id: uuid.UUID, lock: bool = False
) -> dict[str, Any] | None:
    """A meeting."""
    row = (
        await connection.execute(
            text(
                f"SELECT {MEETING_COLUMNS} FROM cdf_meetings "
                "WHERE id = :id" + (" FOR UPDATE" if lock else "")
            ),
            {"id": meeting_id},
        )
    ).first()
    return dict(row._mapping) if row else None


async def open_meeting_of_day(
    connection: AsyncConnection, group_id: int, held_on: date
) -> dict[str, Any] | None:
    """The group's meeting of that day still open (the first opened), None when none is."""
    row = (
        await connection.execute(
            text(
                f"SELECT {MEETING_COLUMNS} FROM cdf_meetings WHERE group_id = :group "
                "AND held_on = :day AND status = 'open' ORDER BY opened_at, id LIMIT 1"
            ),
            {"group": group_id, "day": held_on},
        )
    ).first()
    return dict(row._mapping) if row else None


async def meeting_record_ids(connection: AsyncConnection, meeting_id: uuid.UUID) -> list[str]:
    """The client ids of the entries posted at a meeting (every phone's), oldest first."""
    rows = await connection.execute(
        text("SELECT client_id FROM cdf_entries WHERE meeting_id = :id ORDER BY id"),
        {"id": meeting_id},
    )
    return [str(row.client_id) for row in rows]


async def meeting_cash(connection: AsyncConnection, meeting_id: uuid.UUID, group_id: int) -> int:
    """The group's cash moved by the entries posted at a meeting (every phone's)."""
    found = await connection.execute(
        text(
            "SELECT coalesce(sum(l.amount), 0)::bigint FROM cdf_entries e "
            "JOIN cdf_lines l ON l.entry_id = e.id "
            "JOIN cdf_accounts a ON a.id = l.account_id AND a.kind = 'group_cash' "
            "AND a.group_id = :group WHERE e.meeting_id = :id"
        ),
        {"id": meeting_id, "group": group_id},
    )
    return int(found.scalar_one())


async def close_meeting(
    connection: AsyncConnection,
    meeting_id: uuid.UUID,
    *,
    attendance: int | None,
    cash_counted: int,
    cash_in_ledger: int,
    note: str,
    user: int,
) -> None:
    """Record a meeting's close: cash counted against the ledger's cash."""
    await connection.execute(
        text(
            "UPDATE cdf_meetings SET status = 'closed', attendance = :attendance, "
            "cash_counted = :counted, cash_in_ledger = :ledger, note = :note, closed_by = :user, "
            "closed_at = now() WHERE id = :id"
        ),
        {
            "id": meeting_id,
            "attendance": attendance,
            "counted": cash_counted,
            "ledger": cash_in_ledger,
            "note": note,
            "user": user,
        },
    )


async def meetings_of(
    connection: AsyncConnection, group_id: int, as_of: date | None = None
) -> list[dict[str, Any]]:
    """A group's meetings (held on or before `as_of`), latest first."""
    rows = await connection.execute(
        text(
            "SELECT id, held_on, status, attendance, cash_counted, cash_in_ledger, note "
            "FROM cdf_meetings WHERE group_id = :group"
            " AND (CAST(:as_of AS date) IS NULL OR held_on <= CAST(:as_of AS date))"
            " ORDER BY held_on DESC LIMIT 100"
        ),
        {"group": group_id, "as_of": as_of},
    )
    return [dict(row._mapping) for row in rows]
