"""Text cells that a spreadsheet shows as text, never runs as a formula.

Excel, LibreOffice and Google Sheets evaluate a cell that starts with `=`, `+`, `-` or `@`
(and, after a tab or carriage return, what follows), so a name such as
`=HYPERLINK("http://evil", "Hoa")` in a CSV becomes a live link or a command. As OWASP
recommends (CSV Injection), such a cell is prefixed with a single quote, which the
spreadsheet shows as text; every CSV the server writes goes through `csv_writer`, which also
quotes every text cell.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value to write in a spreadsheet cell: text that starts a formula gets a `'`."""
    if type(value) is str and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Writer(Protocol):
    def writerow(self, row: Iterable[Any], /) -> Any: ...


class SafeWriter:
    """A csv.writer whose text cells cannot run as formulas."""

    def __init__(self, writer: _Writer) -> None:
        self._writer = writer

    def writerow(self, row: Iterable[Any]) -> None:
        """Write one row, each text cell made safe."""
        self._writer.writerow([safe_cell(value) for value in row])


def csv_writer(buffer: Any) -> SafeWriter:
    """A CSV writer for Excel (CRLF line ends, text quoted) that neutralises formulas."""
    return SafeWriter(csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_NONNUMERIC))
