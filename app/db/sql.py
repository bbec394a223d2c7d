"""Helpers for the SQL text our queries build from trusted configuration (forms, priorities)."""

from __future__ import annotations


def sql_literal(text: str) -> str:
    """A SQL string literal (standard_conforming_strings: only quotes are doubled)."""
    return "'" + text.replace("'", "''") + "'"
