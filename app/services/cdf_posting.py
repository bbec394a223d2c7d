"""Posting to the journal exactly once: the idempotency contract every money movement keeps.

A record carries the id its client gave it (`client_id`, a UUID made on the phone or page):
- never seen: posted (`created`);
- seen with the same content: nothing posted again (`duplicate`, with the first entry's id),
  so an offline phone's resend after a lost answer is harmless;
- seen with different content: refused (`Conflict cdf_client_id_reused`), never merged.
Every caller holds the lock of the group (and of the loan) before it asks, so that two
treasurers posting at once queue instead of both reading the same balance.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import sqlalchemy.exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db import cdf_ledger as ledger
from app.errors import Conflict, InvalidInput, Problem


async def previous(
    connection: AsyncConnection, client_id: uuid.UUID, request_hash: str
) -> dict[str, Any] | None:
    """The outcome of an earlier post of this client id (duplicate), None when new;
    Conflict when the id was used for something else."""
    entry = await ledger.entry_by_client_id(connection, client_id)
    if entry is None:
        return None
    if entry["request_hash"] != request_hash:
        raise Conflict("cdf_client_id_reused", client_id=str(client_id))
    return {"outcome": "duplicate", "entry_id": entry["id"], "client_id": str(client_id)}


async def refuse_closed(
    connection: AsyncConnection, fund_id: int, day: date, field: str = "date"
) -> None:
    """A date in a closed period is refused (the database refuses it too)."""
    period = await ledger.closed_period_covering(connection, fund_id, day)
    if period is not None:
        raise InvalidInput(
            [
                Problem(
                    field,
                    "cdf_period_closed",
                    {"start": str(period["starts_on"]), "end": str(period["ends_on"])},
                )
            ]
        )


async def refuse_empty_fund(
    connection: AsyncConnection, fund_id: int, day: date, amount: int, code: str, field: str
) -> None:
    """Refuse to take `amount` out of the fund's cash on `day` when it would hold less than
    nothing on that day or any day after (a loan paid out of money the fund never had, or
    capital taken back after it was lent). The fund's lock is taken first and held to the
    commit, so two staff paying out at once cannot both spend the same cash."""
    await ledger.lock_fund(connection, fund_id)
    in_fund = await ledger.lowest_fund_cash_from(connection, fund_id, day)
    if amount > in_fund:
        raise InvalidInput(
            [Problem(field, code, {"cash": max(in_fund, 0), "date": day.isoformat()})]
        )


async def post_once(
    connection: AsyncConnection,
    *,
    fund_id: int,
    client_id: uuid.UUID,
    request_hash: str,
    entry_date: date,
    kind: str,
    lines: Sequence[ledger.Line],
    user_id: int | None,
    **tags: Any,
) -> dict[str, Any]:
    """Post an entry unless this client id was posted already (module docstring)."""
    earlier = await previous(connection, client_id, request_hash)
    if earlier is not None:
        return earlier
    # The fund's lock before the closed periods are read: a close holds it from before its
    # period is written to its commit, so a posting that waited for it reads that period
    # (the entry's lines take this lock anyway; a posting read the periods first and stored
    # an entry inside the period closed meanwhile).
    await ledger.lock_fund(connection, fund_id)
    await refuse_closed(connection, fund_id, entry_date)
    entry_id = await ledger.post(
        connection,
        fund_id=fund_id,
        client_id=client_id,
        request_hash=request_hash,
        entry_date=entry_date,
        kind=kind,
        lines=[line for line in lines if line.amount != 0],
        created_by=user_id,
        **tags,
    )
    if entry_id is None:  # posted by a transaction that committed meanwhile
        earlier = await previous(connection, client_id, request_hash)
        assert earlier is not None
        return earlier
    return {"outcome": "created", "entry_id": entry_id, "client_id": str(client_id)}


# The database's own refusals (migration 0006), as the messages a user can act on.
DATABASE_REFUSALS = {
    "cdf_period_closed": "cdf_period_closed_now",
    "cdf_unbalanced": "cdf_unbalanced",
    "cdf_posted_immutable": "cdf_posted_immutable",
}


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One use case's transaction; a rule the database enforces at commit (a period
    closed meanwhile) becomes a 4xx instead of a 500."""
    try:
        async with engine.begin() as connection:
            yield connection
    except sqlalchemy.exc.DBAPIError as exc:
        message = str(exc.orig) if exc.orig is not None else str(exc)
        for marker, code in DATABASE_REFUSALS.items():
            if marker in message:
                raise InvalidInput([Problem("", code)]) from exc
        raise
