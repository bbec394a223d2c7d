"""Group statement PDF benchmark: a savings group the size of the sample's largest (24
members, 30 loans of 6-24 monthly installments, 10 A4 pages), rendered in this process.

Measured, best of 5 (wall and CPU seconds: the machine is shared, CPU time is what a quiet
machine would take):
  app:      app.geo.cdf_statement_print.render_statement_pdf
  baseline: the same rows on the same pages drawn as one matplotlib Text per cell (how
            the statement was drawn before 2026-12-03)
Usage: python -m bench.cdf_statement [--quick]
"""

from __future__ import annotations

import argparse
import io
import random
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from app.geo import cdf_statement_print as printer

NAMES = ("Nguyễn Thị Hồng", "Trần Văn Đức", "Lê Thị Ánh", "Phạm Minh Hưởng", "Võ Thị Phúc")


def sample_statement(seed: int = 7) -> dict[str, Any]:
    """A statement shaped as app.services.cdf_books.statement returns it."""
    rng = random.Random(seed)
    members = [
        {
            "id": n,
            "code": f"TV-{n + 1:02}",
            "name": f"{NAMES[n % len(NAMES)]} {n + 1}",
            "savings": 20_000 * rng.randint(30, 150),
            "loans": [],
            "loan_outstanding": 0,
        }
        for n in range(24)
    ]
    loans = []
    for k in range(30):
        term = rng.choice((6, 12, 24))
        principal = 1_000_000 * rng.randint(1, 15)
        start = date(2024, 1, 5) + timedelta(days=30 * rng.randint(0, 24))
        paid_to = rng.randint(0, term)
        rows = []
        for seq in range(1, term + 1):
            due = principal // term + (principal % term if seq == term else 0)
            interest = principal * 12 // 1000
            paid = seq <= paid_to
            rows.append(
                {
                    "seq": seq,
                    "due_on": start + timedelta(days=30 * seq),
                    "principal_due": due,
                    "interest_due": interest,
                    "principal_paid": due if paid else 0,
                    "interest_paid": interest if paid else 0,
                    "remaining": 0 if paid else due + interest,
                    "overdue": not paid and seq <= paid_to + 2,
                }
            )
        member = members[k % len(members)]
        member["loans"].append(k)
        loans.append(
            {
                "id": 100 + k,
                "member_id": member["id"],
                "member_code": member["code"],
                "principal": principal,
                "rate_bp": 120,
                "rate_period": "month",
                "method": rng.choice(("flat", "declining")),
                "status": "closed" if paid_to == term else "disbursed",
                "schedule": {
                    "installments": rows,
                    "principal_outstanding": sum(r["remaining"] for r in rows),
                    "interest_outstanding": 0,
                    "overdue_amount": 0,
                    "days_overdue": 0,
                },
            }
        )
    return {
        "group": {"name": "Nhóm Hòa Thuận Đông", "settlement": "Kiệt 62", "ward": "An Mỹ"},
        "as_of": date(2026, 12, 3),
        "balances": {"cash": 38_700_000, "savings": 34_140_000, "loans_outstanding": 42_958_348},
        "members": members,
        "loans": loans,
    }


def one_text_per_cell(statement: dict[str, Any], language: str = "vi") -> bytes:
    """The baseline: the statement's rows and pages, each cell a matplotlib Text."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    pages = printer._pages(list(printer._rows(statement, language)))
    buffer = io.BytesIO()
    with (
        matplotlib.rc_context({"font.family": printer.FONT, "pdf.fonttype": 3}),
        PdfPages(buffer) as pdf,
    ):
        for number, placed in enumerate(pages, start=1):
            figure = Figure(figsize=printer.PAGE_INCHES)
            figure.text(printer.LEFT, 0.975, f"Trang {number}", fontsize=9, va="top")
            for top, row in placed:
                for cell in row.cells:
                    text = figure.text(
                        cell.x,
                        top,
                        cell.text,
                        fontsize=row.size,
                        ha=cell.align,
                        va="baseline",
                        fontweight="bold" if cell.bold else "normal",
                        color=cell.colour,
                    )
                    text.set_parse_math(False)
            pdf.savefig(figure)
    return buffer.getvalue()


def best(render: Callable[[], bytes], runs: int) -> tuple[float, float, int]:
    """Best wall and CPU seconds of `runs` renders, and the PDF's size."""
    wall = cpu = float("inf")
    size = 0
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        size = len(render())
        wall = min(wall, time.perf_counter() - began)
        cpu = min(cpu, time.process_time() - began_cpu)
    return wall, cpu, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one run each, for the test suite")
    args = parser.parse_args()
    statement = sample_statement()
    printer.render_statement_pdf(statement)  # imports and the font cache, not measured
    runs = 1 if args.quick else 5
    pages = len(printer._pages(list(printer._rows(statement, "vi"))))
    app = best(lambda: printer.render_statement_pdf(statement), runs)
    base = best(lambda: one_text_per_cell(statement), runs)
    print(f"statement: {len(statement['members'])} members, {len(statement['loans'])} loans")
    print(f"statement pdf app: {app[0]:.2f} s wall, {app[1]:.2f} s cpu, {pages} pages")
    print(f"statement pdf baseline (a Text per cell): {base[0]:.2f} s wall, {base[1]:.2f} s cpu")
    print(f"statement pdf ratio (cpu): {app[1] / base[1]:.2f}")


if __name__ == "__main__":
    main()
