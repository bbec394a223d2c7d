"""Queries on a CDF's register: funds, savings groups, members, loan products, loans and their
schedules, and the accounts of the journal (app/db/cdf_ledger.py posts to them)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.cdf_ledger import AS_OF_LINES


def _rows(result: Any) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in result]


def _one(result: Any) -> dict[str, Any] | None:
    row = result.first()
    return dict(row._mapping) if row else None


async def city_by_slug(connection: AsyncConnection, slug: str) -> dict[str, Any] | None:
    """A city (id, slug, name) with its fund's id, or None."""
    return _one(
        await connection.execute(
            text(
                "SELECT c.id, c.slug, c.name, f.id AS fund_id FROM cities c "
                "LEFT JOIN cdf_funds f ON f.city_id = c.id WHERE c.slug = :slug"
            ),
            {"slug": slug},
        )
    )


async def ensure_fund(connection: AsyncConnection, city_id: int, name: str) -> int:
    """The city's fund, created on first use."""
    await connection.execute(
        text(
            "INSERT INTO cdf_funds (city_id, name) VALUES (:city, :name) "
            "ON CONFLICT (city_id) DO NOTHING"
        ),
        {"city": city_id, "name": name},
    )
    fund_id = (
        await connection.execute(
            text("SELECT id FROM cdf_funds WHERE city_id = :city"), {"city": city_id}
        )
    ).scalar_one()
    return int(fund_id)


async def account(
    connection: AsyncConnection,
    fund_id: int,
    kind: str,
    group_id: int | None = None,
    member_id: int | None = None,
    source: str | None = None,
) -> int:
    """The id of an account of the journal, opened on first use."""
    params = {"fund": fund_id, "kind": kind, "group": group_id, "member": member_id, "src": source}
    found = (
        await connection.execute(
            text(
                "SELECT id FROM cdf_accounts WHERE fund_id = :fund AND kind = :kind "
                "AND coalesce(group_id, 0) = coalesce(CAST(:group AS integer), 0) "
                "AND coalesce(member_id, 0) = coalesce(CAST(:member AS integer), 0) "
                "AND coalesce(source, '') = coalesce(CAST(:src AS text), '')"
            ),
            params,
        )
    ).scalar()
    if found is not None:
        return int(found)
    await connection.execute(
        text(
            "INSERT INTO cdf_accounts (fund_id, kind, group_id, member_id, source) "
            "VALUES (:fund, :kind, :group, :member, :src) ON CONFLICT DO NOTHING"
        ),
        params,
    )
    return await account(connection, fund_id, kind, group_id, member_id, source)


# --- groups ---------------------------------------------------------------------------------

_GROUP = """
SELECT g.id, g.fund_id, f.city_id, c.slug AS city, c.name AS city_name, g.settlement_id,
       s.name AS settlement, s.ward_id, w.name AS ward, g.name, g.founded_on,
       g.meeting_frequency, g.share_value, g.rules, g.created_at
FROM cdf_groups g JOIN cdf_funds f ON f.id = g.fund_id JOIN cities c ON c.id = f.city_id
LEFT JOIN settlements s ON s.id = g.settlement_id LEFT JOIN wards w ON w.id = s.ward_id
"""


async def settlement_in_city(connection: AsyncConnection, city_id: int, settlement_id: int) -> bool:
    """Whether the settlement is one of the city's."""
    found = await connection.execute(
        text("SELECT 1 FROM settlements WHERE id = :id AND city_id = :city"),
        {"id": settlement_id, "city": city_id},
    )
    return found.first() is not None


async def insert_group(
    connection: AsyncConnection, fund_id: int, values: dict[str, Any]
) -> int | None:
    """A new savings group's id, or None when its client id was stored already."""
    group_id = (
        await connection.execute(
            text(
                "INSERT INTO cdf_groups (fund_id, settlement_id, name, founded_on, "
                "meeting_frequency, share_value, rules, created_by, client_id, request_hash) "
                "VALUES (:fund, :settlement_id, :name, :founded_on, :meeting_frequency, "
                ":share_value, :rules, :created_by, :client_id, :request_hash) "
                "ON CONFLICT (client_id) DO NOTHING RETURNING id"
            ),
            {"fund": fund_id, **values},
        )
    ).scalar()
    return None if group_id is None else int(group_id)


async def group_by_client_id(
    connection: AsyncConnection, client_id: uuid.UUID
) -> dict[str, Any] | None:
    """The group stored under a client's id (its id and request hash), or None."""
    return _one(
        await connection.execute(
            text("SELECT id, request_hash FROM cdf_groups WHERE client_id = :id"),
            {"id": client_id},
        )
    )


async def group_by_id(
    connection: AsyncConnection, group_id: int, lock: bool = False
) -> dict[str, Any] | None:
    """A group with its city, settlement and ward; `lock` holds it until commit (every
    posting for the group locks it first: two treasurers queue, nothing is lost)."""
    if lock:
        await connection.execute(
            text("SELECT 1 FROM cdf_groups WHERE id = :id FOR UPDATE"), {"id": group_id}
        )
    return _one(await connection.execute(text(_GROUP + "WHERE g.id = :id"), {"id": group_id}))


async def list_groups(
    connection: AsyncConnection,
    fund_id: int,
    whole_city: bool,
    group_ids: Collection[int],
    ward_ids: Collection[int],
) -> list[dict[str, Any]]:
    """The fund's groups a reader may see, with members and savings (from the journal)."""
    where = "" if whole_city else "AND (g.id = ANY(:ids) OR s.ward_id = ANY(:wards))"
    return _rows(
        await connection.execute(
            text(
                f"""
SELECT g.id, g.name, g.settlement_id, s.name AS settlement, s.ward_id, w.name AS ward,
       g.founded_on, g.meeting_frequency, g.share_value,
       (SELECT count(*) FROM cdf_members m WHERE m.group_id = g.id AND m.left_on IS NULL)
         AS members,
       coalesce((SELECT -sum(l.amount) FROM cdf_accounts a JOIN cdf_lines l
                   ON l.account_id = a.id
                 WHERE a.group_id = g.id AND a.kind = 'savings'), 0)::bigint AS savings_balance
FROM cdf_groups g LEFT JOIN settlements s ON s.id = g.settlement_id
LEFT JOIN wards w ON w.id = s.ward_id
WHERE g.fund_id = :fund {where} ORDER BY g.name, g.id
"""
            ),
            {"fund": fund_id, "ids": list(group_ids), "wards": list(ward_ids)},
        )
    )


# --- members --------------------------------------------------------------------------------


async def insert_member(connection: AsyncConnection, values: dict[str, Any]) -> int | None:
    """A new member's id, or None when the group already has that member code."""
    member_id = (
        await connection.execute(
            text(
                "INSERT INTO cdf_members (group_id, code, name, household_survey_id, joined_on) "
                "VALUES (:group_id, :code, :name, :household_survey_id, :joined_on) "
                "ON CONFLICT (group_id, code) DO NOTHING RETURNING id"
            ),
            values,
        )
    ).scalar()
    return int(member_id) if member_id is not None else None


async def survey_in_city(connection: AsyncConnection, survey_id: uuid.UUID, city_id: int) -> bool:
    """Whether a household survey of this city exists (only its id is ever kept)."""
    found = await connection.execute(
        text("SELECT 1 FROM household_surveys WHERE id = :id AND city_id = :city"),
        {"id": survey_id, "city": city_id},
    )
    return found.first() is not None


async def member_by_id(connection: AsyncConnection, member_id: int) -> dict[str, Any] | None:
    """A member with their group's id."""
    return _one(
        await connection.execute(
            text(
                "SELECT id, group_id, code, name, household_survey_id, joined_on, left_on "
                "FROM cdf_members WHERE id = :id"
            ),
            {"id": member_id},
        )
    )


async def member_by_code(
    connection: AsyncConnection, group_id: int, code: str
) -> dict[str, Any] | None:
    """The group's member with this code (codes are unique in a group), or None."""
    return _one(
        await connection.execute(
            text(
                "SELECT id, group_id, code, name, household_survey_id, joined_on, left_on "
                "FROM cdf_members WHERE group_id = :group AND code = :code"
            ),
            {"group": group_id, "code": code},
        )
    )


async def members_of(
    connection: AsyncConnection, group_id: int, as_of: date | None = None
) -> list[dict[str, Any]]:
    """A group's members with their savings balance (from the journal, up to `as_of`)."""
    return _rows(
        await connection.execute(
            text(
                f"""
SELECT m.id, m.code, m.name, m.household_survey_id, m.joined_on, m.left_on,
       coalesce((SELECT -sum(l.amount) FROM cdf_accounts a JOIN {AS_OF_LINES}
                   ON l.account_id = a.id
                 WHERE a.member_id = m.id AND a.kind = 'savings'), 0)::bigint AS savings
FROM cdf_members m WHERE m.group_id = :group ORDER BY m.code, m.id
"""
            ),
            {"group": group_id, "as_of": as_of},
        )
    )


# --- products and loans ---------------------------------------------------------------------

PRODUCT_COLUMNS = (
    "code",
    "name",
    "kind",
    "rate_bp",
    "rate_period",
    "term_installments",
    "frequency",
    "method",
    "min_savings_bp",
    "max_principal",
)


async def insert_product(
    connection: AsyncConnection, fund_id: int, values: dict[str, Any]
) -> int | None:
    """A new loan product's id, or None when the fund has that code already."""
    names = ", ".join(PRODUCT_COLUMNS)
    binds = ", ".join(f":{name}" for name in PRODUCT_COLUMNS)
    product_id = (
        await connection.execute(
            text(
                f"INSERT INTO cdf_loan_products (fund_id, {names}) VALUES (:fund, {binds}) "
                "ON CONFLICT (fund_id, code) DO NOTHING RETURNING id"
            ),
            {"fund": fund_id, **{name: values.get(name) for name in PRODUCT_COLUMNS}},
        )
    ).scalar()
    return int(product_id) if product_id is not None else None


async def products_of(connection: AsyncConnection, fund_id: int) -> list[dict[str, Any]]:
    """The fund's loan products."""
    return _rows(
        await connection.execute(
            text(
                f"SELECT id, {', '.join(PRODUCT_COLUMNS)} FROM cdf_loan_products "
                "WHERE fund_id = :fund ORDER BY code"
            ),
            {"fund": fund_id},
        )
    )


async def product_by_code(
    connection: AsyncConnection, fund_id: int, code: str
) -> dict[str, Any] | None:
    """The fund's loan product with this code (codes are unique in a fund), or None."""
    return _one(
        await connection.execute(
            text(
                f"SELECT id, {', '.join(PRODUCT_COLUMNS)} FROM cdf_loan_products "
                "WHERE fund_id = :fund AND code = :code"
            ),
            {"fund": fund_id, "code": code},
        )
    )


async def product_by_id(connection: AsyncConnection, product_id: int) -> dict[str, Any] | None:
    """A loan product with its fund."""
    return _one(
        await connection.execute(
            text(
                f"SELECT id, fund_id, {', '.join(PRODUCT_COLUMNS)} FROM cdf_loan_products "
                "WHERE id = :id"
            ),
            {"id": product_id},
        )
    )


_LOAN = """
SELECT l.id, l.client_id, l.fund_id, f.city_id, l.group_id, l.member_id, m.code AS member_code,
       l.product_id, p.code AS product, l.principal, l.rate_bp, l.rate_period,
       l.term_installments, l.frequency, l.method, l.min_savings_bp, l.purpose, l.status,
       l.applied_on,
       l.applied_by, l.approved_by, l.approved_at, l.disbursed_on, l.disbursed_by
FROM cdf_loans l JOIN cdf_funds f ON f.id = l.fund_id
JOIN cdf_loan_products p ON p.id = l.product_id LEFT JOIN cdf_members m ON m.id = l.member_id
"""


async def insert_loan(connection: AsyncConnection, values: dict[str, Any]) -> int | None:
    """A loan application's id, or None when its client id was used already."""
    loan_id = (
        await connection.execute(
            text(
                "INSERT INTO cdf_loans (client_id, fund_id, group_id, member_id, product_id, "
                "principal, rate_bp, rate_period, term_installments, frequency, method, "
                "min_savings_bp, purpose, applied_on, applied_by) VALUES (:client_id, :fund_id, "
                ":group_id, :member_id, :product_id, :principal, :rate_bp, :rate_period, "
                ":term_installments, :frequency, :method, :min_savings_bp, :purpose, "
                ":applied_on, :applied_by) "
                "ON CONFLICT (client_id) DO NOTHING RETURNING id"
            ),
            values,
        )
    ).scalar()
    return int(loan_id) if loan_id is not None else None


async def loan_by_id(
    connection: AsyncConnection, loan_id: int, lock: bool = False
) -> dict[str, Any] | None:
    """A loan; `lock` holds it until commit (repayments of one loan queue)."""
    if lock:
        await connection.execute(
            text("SELECT 1 FROM cdf_loans WHERE id = :id FOR UPDATE"), {"id": loan_id}
        )
    return _one(await connection.execute(text(_LOAN + "WHERE l.id = :id"), {"id": loan_id}))


async def loan_by_client_id(
    connection: AsyncConnection, client_id: uuid.UUID
) -> dict[str, Any] | None:
    """A loan by the id its client gave it."""
    return _one(
        await connection.execute(text(_LOAN + "WHERE l.client_id = :id"), {"id": client_id})
    )


async def loans_of_fund(
    connection: AsyncConnection,
    fund_id: int,
    group_ids: Collection[int] | None,
    status: str | None,
) -> list[dict[str, Any]]:
    """The fund's loans (those of some groups when `group_ids` is given)."""
    where = "WHERE l.fund_id = :fund"
    if group_ids is not None:
        where += " AND l.group_id = ANY(:groups)"
    if status:
        where += " AND l.status = :status"
    return _rows(
        await connection.execute(
            text(_LOAN + where + " ORDER BY l.id"),
            {"fund": fund_id, "groups": list(group_ids or []), "status": status},
        )
    )


async def loans_of_group(connection: AsyncConnection, group_id: int) -> list[dict[str, Any]]:
    """A group's loans."""
    return _rows(
        await connection.execute(
            text(_LOAN + "WHERE l.group_id = :group ORDER BY l.id"), {"group": group_id}
        )
    )


async def payouts_from(
    connection: AsyncConnection, group_id: int, day: date
) -> list[dict[str, Any]]:
    """The group's loans paid out on `day` or after (repaid ones too), in payout order, each
    with its own savings share (min_savings_bp, copied from its product when applied for)
    and the group's savings at the end of its payout day (from the journal as it stands)."""
    return _rows(
        await connection.execute(
            text(
                """
SELECT l.id, l.principal, l.disbursed_on, l.min_savings_bp,
       coalesce((SELECT -sum(s.amount) FROM cdf_lines s
                   JOIN cdf_entries e ON e.id = s.entry_id AND e.entry_date <= l.disbursed_on
                   JOIN cdf_accounts a ON a.id = s.account_id
                 WHERE a.group_id = l.group_id AND a.kind = 'savings'), 0)::bigint AS saved
FROM cdf_loans l
WHERE l.group_id = :group AND l.disbursed_on >= :day ORDER BY l.disbursed_on, l.id
"""
            ),
            {"group": group_id, "day": day},
        )
    )


async def savings_accounts_among(
    connection: AsyncConnection, account_ids: Collection[int]
) -> set[int]:
    """Which of these accounts are members' savings."""
    rows = await connection.execute(
        text("SELECT id FROM cdf_accounts WHERE id = ANY(:ids) AND kind = 'savings'"),
        {"ids": list(account_ids)},
    )
    return {int(row.id) for row in rows}


async def set_loan(connection: AsyncConnection, loan_id: int, **values: Any) -> None:
    """Set some of status, approved_by, approved_at, disbursed_on, disbursed_by."""
    allowed = {"status", "approved_by", "approved_at", "disbursed_on", "disbursed_by"}
    assert set(values) <= allowed, values
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    await connection.execute(
        text(f"UPDATE cdf_loans SET {assignments} WHERE id = :id"), {**values, "id": loan_id}
    )


async def insert_installments(
    connection: AsyncConnection, loan_id: int, rows: Sequence[tuple[int, date, int, int]]
) -> None:
    """A loan's schedule: (seq, due_on, principal, interest) each."""
    await connection.execute(
        text(
            "INSERT INTO cdf_installments (loan_id, seq, due_on, principal_due, interest_due) "
            "SELECT :loan, * FROM unnest(CAST(:seqs AS integer[]), CAST(:dues AS date[]), "
            "CAST(:principals AS bigint[]), CAST(:interests AS bigint[]))"
        ),
        {
            "loan": loan_id,
            "seqs": [r[0] for r in rows],
            "dues": [r[1] for r in rows],
            "principals": [r[2] for r in rows],
            "interests": [r[3] for r in rows],
        },
    )


async def installments(
    connection: AsyncConnection, loan_id: int, as_of: date | None = None
) -> list[dict[str, Any]]:
    """A loan's schedule with what the journal says was paid on each installment (up to
    `as_of`)."""
    return _rows(
        await connection.execute(
            text(
                f"""
SELECT i.seq, i.due_on, i.principal_due, i.interest_due,
       coalesce(-sum(l.amount) FILTER (WHERE l.component = 'principal'
                                        AND a.kind = 'loans_receivable'), 0)::bigint
         AS principal_paid,
       coalesce(-sum(l.amount) FILTER (WHERE l.component = 'interest'
                                        AND a.kind = 'interest_income'), 0)::bigint
         AS interest_paid
FROM cdf_installments i
LEFT JOIN {AS_OF_LINES} ON l.loan_id = i.loan_id AND l.installment_seq = i.seq
LEFT JOIN cdf_accounts a ON a.id = l.account_id
WHERE i.loan_id = :loan GROUP BY i.loan_id, i.seq ORDER BY i.seq
"""
            ),
            {"loan": loan_id, "as_of": as_of},
        )
    )


# --- treasurers -----------------------------------------------------------------------------


async def user_exists(connection: AsyncConnection, user_id: int) -> bool:
    """Whether an active person has that id."""
    found = await connection.execute(
        text("SELECT 1 FROM users WHERE id = :id AND is_active"), {"id": user_id}
    )
    return found.first() is not None


async def grant_treasurer(
    connection: AsyncConnection, user_id: int, city_id: int, group_id: int, granted_by: int
) -> bool:
    """Make a person the treasurer of a group; False when they are already."""
    created = await connection.execute(
        text(
            "INSERT INTO role_grants (user_id, role, city_id, cdf_group_id, granted_by) "
            "VALUES (:user, 'treasurer', :city, :group, :by) ON CONFLICT DO NOTHING RETURNING id"
        ),
        {"user": user_id, "city": city_id, "group": group_id, "by": granted_by},
    )
    return created.first() is not None


async def revoke_treasurer(connection: AsyncConnection, user_id: int, group_id: int) -> bool:
    """Take a group's treasurer role away; False when the person did not hold it."""
    deleted = await connection.execute(
        text(
            "DELETE FROM role_grants WHERE user_id = :user AND role = 'treasurer' "
            "AND cdf_group_id = :group RETURNING id"
        ),
        {"user": user_id, "group": group_id},
    )
    return deleted.first() is not None


async def treasurers_of(connection: AsyncConnection, group_id: int) -> list[dict[str, Any]]:
    """A group's treasurers (id, username, display name)."""
    return _rows(
        await connection.execute(
            text(
                "SELECT u.id, u.username, u.display_name FROM role_grants g "
                "JOIN users u ON u.id = g.user_id WHERE g.role = 'treasurer' "
                "AND g.cdf_group_id = :group ORDER BY u.username"
            ),
            {"group": group_id},
        )
    )
