"""Helpers for the SQL text our queries build from trusted configuration (forms, priorities)."""

from __future__ import annotations


def sql_literal(text: str) -> str:
    """A SQL string literal (standard_conforming_strings: only quotes are doubled)."""
    return "'" + text.replace("'", "''") + "'"


CONCAT_ARGUMENTS = 90  # a PostgreSQL function takes at most 100 arguments


def concat_sql(parts: list[str]) -> str:
    """SQL: the texts `parts` joined by one call of concat() (a NULL counts as empty).

    Why not `a || b || c ...`: each `||` copies all the text built so far, so a row of n
    parts costs n²/2 copies: a KML Placemark or XLSX row of 45 values is ~135 parts, and the
    chain was most of PostgreSQL's time writing them; concat() copies each part once."""
    while len(parts) > CONCAT_ARGUMENTS:
        parts = [
            f"concat({', '.join(parts[i : i + CONCAT_ARGUMENTS])})"
            for i in range(0, len(parts), CONCAT_ARGUMENTS)
        ]
    return f"concat({', '.join(parts)})" if parts else "''"
