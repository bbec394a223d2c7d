"""The phone widgets' test forms: XLSForm markdown (tests/forms/*_phone.md) built into .xlsx.

The server reads forms as .xlsx files; the markdown keeps them readable in a review.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

FORMS = Path(__file__).resolve().parent / "forms"


def _tables(markdown: str) -> dict[str, list[list[str]]]:
    """Each `## sheet` heading's table, as rows of cells (the separator row dropped)."""
    sheets: dict[str, list[list[str]]] = {}
    sheet = None
    for line in markdown.splitlines():
        if line.startswith("## "):
            sheet = line[3:].strip()
            sheets[sheet] = []
        elif sheet and line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not all(set(cell) <= {"-", ":", " "} for cell in cells):
                sheets[sheet].append(cells)
    return sheets


def build_form(name: str, directory: Path) -> Path:
    """Write tests/forms/<name>.md as <directory>/<name>.xlsx; its path."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet, rows in _tables((FORMS / f"{name}.md").read_text(encoding="utf-8")).items():
        worksheet = workbook.create_sheet(sheet)
        for row in rows:
            worksheet.append([cell or None for cell in row])
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.xlsx"
    workbook.save(path)
    return path
