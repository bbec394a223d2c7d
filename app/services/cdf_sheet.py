"""Use case: a savings group's statement printed as a PDF (app/geo/cdf_statement_print.py).

The figures are the statement's (app.services.cdf_books.statement), read with the same
access rules: whoever may read the group's statement may print it, members' names only for
those who may see them. The render runs in a worker thread inside one of the app's print
slots (shared with the printed maps), so that prints never take the server's memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from app.services import cdf_books, maps
from app.services.access import Principal

T = TypeVar("T")


async def _in_thread(function: Callable[..., T], *args: Any) -> T:
    """function(*args) in a worker thread; a cancelled caller still waits for it to end, so
    that the print slot is held as long as the render runs (as app.services.maps does)."""
    task = asyncio.ensure_future(asyncio.to_thread(function, *args))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise


async def statement_pdf(
    engine: AsyncEngine,
    user: Principal,
    group_id: int,
    language: str,
    as_of: date | None = None,
    slots: maps.PrintSlots | None = None,
) -> bytes:
    """The group's statement as PDF pages (NotFound when the person may not read it)."""
    from app.geo.cdf_statement_print import render_statement_pdf

    statement = await cdf_books.statement(engine, user, group_id, as_of)
    if slots is None:
        return await _in_thread(render_statement_pdf, statement, language)
    async with slots.slot(user.user_id):
        return await _in_thread(render_statement_pdf, statement, language)
