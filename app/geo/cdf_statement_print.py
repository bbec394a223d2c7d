"""A savings group's statement as a printable PDF (A4 portrait, as many pages as it takes),
with matplotlib: pure, takes the statement of app.services.cdf_books.statement, returns bytes.

The pages: the group (settlement, ward, city, the day of the figures), its balances, each
member's savings and loans, then each loan's schedule with what is paid, what remains and
what is overdue. Numbers and days are written as the statement's language writes them:
1.234.567 đồng, 1,2 %/tháng and 07/12/2026 in Vietnamese, 1,234,567, 1.2 %/month and
7 Dec 2026 in English. Text uses DejaVu Sans, which has every Vietnamese diacritic, and the
fallback fonts of app.geo.print_layout.FONT for other scripts (a right-to-left name is
isolated in its sentence); every text (names above all) is drawn literally, never read as
mathtext or markup. Members' names appear only when the statement carries them (the reader
may see them: app.services.cdf_access).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.geo.print_layout import FONT, check_print_fonts, isolated
from app.i18n import date_text, number_text
from app.vietnam import today_in_vietnam

PAGE_INCHES = (8.27, 11.69)  # A4 portrait
TOP = 0.945
FIRST_TOP = 0.915
BOTTOM = 0.055
LINE = 0.0155  # one table row, in page heights
LEFT = 0.06
RIGHT = 0.94
NAME_LIMIT = 44

LABELS: dict[str, dict[str, str]] = {
    "title": {"vi": "Sao kê nhóm tiết kiệm", "en": "Savings group statement"},
    "place": {
        "vi": "Khu dân cư: {settlement} · Phường: {ward} · {city}",
        "en": "Settlement: {settlement} · Ward: {ward} · {city}",
    },
    "as_of": {
        "vi": "Số liệu đến ngày {day} · In ngày {printed}",
        "en": "Figures as of {day} · Printed {printed}",
    },
    "page": {"vi": "Trang {n}/{total}", "en": "Page {n} of {total}"},
    "balances": {"vi": "Số dư (đồng)", "en": "Balances (đồng)"},
    "cash": {"vi": "Tiền mặt của nhóm", "en": "Group cash"},
    "savings": {"vi": "Tiết kiệm của thành viên", "en": "Members' savings"},
    "mutual_aid": {"vi": "Quỹ tương trợ", "en": "Mutual-aid fund"},
    "fines": {"vi": "Tiền phạt", "en": "Fines"},
    "cash_over_short": {"vi": "Thừa/thiếu quỹ", "en": "Cash over/short"},
    "loans_outstanding": {"vi": "Dư nợ gốc", "en": "Loans outstanding (principal)"},
    "members": {"vi": "Thành viên", "en": "Members"},
    "code": {"vi": "Mã", "en": "Code"},
    "name": {"vi": "Họ tên", "en": "Name"},
    "member_savings": {"vi": "Tiết kiệm", "en": "Savings"},
    "member_loans": {"vi": "Khoản vay", "en": "Loans"},
    "member_outstanding": {"vi": "Dư nợ gốc", "en": "Outstanding"},
    "left": {"vi": "đã rời nhóm", "en": "left"},
    "loans": {"vi": "Khoản vay và lịch trả nợ", "en": "Loans and their schedules"},
    "no_loans": {"vi": "Nhóm chưa có khoản vay.", "en": "The group has no loans."},
    "loan_head": {
        "vi": "Khoản vay #{id} · {borrower} · gốc {principal} đ · lãi {rate} · {method} · {status}",
        "en": "Loan #{id} · {borrower} · principal {principal} đ · rate {rate} · {method}"
        " · {status}",
    },
    "whole_group": {"vi": "cả nhóm", "en": "whole group"},
    "rate_month": {"vi": "{rate} %/tháng", "en": "{rate} %/month"},
    "rate_year": {"vi": "{rate} %/năm", "en": "{rate} %/year"},
    "flat": {"vi": "dư nợ ban đầu", "en": "flat"},
    "declining": {"vi": "dư nợ giảm dần", "en": "declining balance"},
    "status.applied": {"vi": "chờ duyệt", "en": "applied"},
    "status.approved": {"vi": "đã duyệt", "en": "approved"},
    "status.rejected": {"vi": "từ chối", "en": "rejected"},
    "status.disbursed": {"vi": "đang vay", "en": "disbursed"},
    "status.closed": {"vi": "đã tất toán", "en": "closed"},
    "seq": {"vi": "Kỳ", "en": "No."},
    "due_on": {"vi": "Ngày đến hạn", "en": "Due"},
    "principal_due": {"vi": "Gốc", "en": "Principal"},
    "interest_due": {"vi": "Lãi", "en": "Interest"},
    "paid": {"vi": "Đã trả", "en": "Paid"},
    "remaining": {"vi": "Còn lại", "en": "Remaining"},
    "overdue": {"vi": "Quá hạn", "en": "Overdue"},
    "loan_totals": {
        "vi": "Dư nợ gốc {principal} đ · lãi còn {interest} đ · quá hạn {overdue} đ ({days} ngày)",
        "en": "Outstanding principal {principal} đ · interest {interest} đ"
        " · overdue {overdue} đ ({days} days)",
    },
    "not_disbursed": {
        "vi": "Chưa giải ngân: chưa có lịch trả nợ.",
        "en": "Not paid out: no schedule yet.",
    },
}


def label(key: str, language: str, **params: Any) -> str:
    """A text of the statement in the language (Vietnamese when unknown)."""
    texts = LABELS[key]
    return texts.get(language, texts["vi"]).format(**params)


def money(amount: int | None, language: str) -> str:
    """Whole đồng as the language writes them: 1234567 -> '1.234.567' (vi), '1,234,567' (en)."""
    return number_text(int(amount or 0), language)


def rate_text(rate_bp: int, language: str) -> str:
    """A rate in basis points as a percent figure, with the decimals it has: 120 -> '1,2'
    (vi), '1.2' (en); 100 -> '1'; 125 -> '1,25'."""
    decimals = 0 if rate_bp % 100 == 0 else 1 if rate_bp % 10 == 0 else 2
    return number_text(rate_bp / 100, language, decimals)


def _short(text: str, limit: int = NAME_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clean(text: Any) -> str:
    """A data text as one printable line: no control characters (a NUL breaks the PDF's
    text), no lone surrogates (they cannot be encoded)."""
    value = str(text if text is not None else "")
    value = value.encode("utf-8", "replace").decode("utf-8")
    return "".join(c if c.isprintable() else " " for c in value)


@dataclass
class Cell:
    """One text on a row: x in page widths, alignment, boldness."""

    x: float
    text: str
    align: str = "left"
    bold: bool = False
    colour: str = "#000000"


@dataclass
class Row:
    """One line of the flow; `keep` rows before it stay on its page (a heading and its table)."""

    cells: list[Cell] = field(default_factory=list)
    size: float = 8.0
    gap: float = 1.0  # in lines
    rule: bool = False
    keep: int = 0


def _rows(statement: dict[str, Any], language: str) -> Iterator[Row]:
    """The statement as rows of text, top to bottom."""
    balances = statement.get("balances", {})
    yield Row([Cell(LEFT, label("balances", language), bold=True)], size=10, gap=1.6, keep=1)
    for key in ("cash", "savings", "mutual_aid", "fines", "cash_over_short", "loans_outstanding"):
        yield Row(
            [
                Cell(LEFT + 0.02, label(key, language)),
                Cell(0.62, money(balances.get(key), language), "right"),
            ]
        )
    members = statement.get("members", [])
    names = {m["id"]: _clean(m.get("name", "")) for m in members if "name" in m}
    shown_names = bool(names)
    yield Row([Cell(LEFT, label("members", language), bold=True)], size=10, gap=2.0, keep=1)
    header = [Cell(LEFT + 0.02, label("code", language), bold=True)]
    if shown_names:
        header.append(Cell(0.2, label("name", language), bold=True))
    header += [
        Cell(0.68, label("member_savings", language), "right", True),
        Cell(0.78, label("member_loans", language), "right", True),
        Cell(RIGHT, label("member_outstanding", language), "right", True),
    ]
    yield Row(header, rule=True, keep=1)
    for member in members:
        cells = [Cell(LEFT + 0.02, _short(_clean(member.get("code")), 16))]
        if shown_names:
            name = names.get(member["id"], "")
            if member.get("left_on"):
                name = f"{name} ({label('left', language)})"
            cells.append(Cell(0.2, _short(name)))
        cells += [
            Cell(0.68, money(member.get("savings"), language), "right"),
            Cell(0.78, str(len(member.get("loans", []))), "right"),
            Cell(RIGHT, money(member.get("loan_outstanding"), language), "right"),
        ]
        yield Row(cells)
    loans = statement.get("loans", [])
    yield Row([Cell(LEFT, label("loans", language), bold=True)], size=10, gap=2.0, keep=1)
    if not loans:
        yield Row([Cell(LEFT + 0.02, label("no_loans", language))])
    for loan in loans:
        yield from _loan_rows(loan, names, language)


def _loan_rows(loan: dict[str, Any], names: dict[int, str], language: str) -> Iterator[Row]:
    member_id = loan.get("member_id")
    if member_id is None:
        borrower = label("whole_group", language)
    else:
        borrower = _clean(loan.get("member_code"))
        if names.get(member_id):
            borrower = f"{borrower} {_short(names[member_id], 24)}"
    rate = rate_text(int(loan.get("rate_bp") or 0), language)
    head = label(
        "loan_head",
        language,
        id=loan["id"],
        borrower=borrower,
        principal=money(loan.get("principal"), language),
        rate=label(f"rate_{loan.get('rate_period', 'month')}", language, rate=rate),
        method=label(loan.get("method", "flat"), language),
        status=label(f"status.{loan.get('status', 'applied')}", language),
    )
    yield Row([Cell(LEFT, head, bold=True)], size=8.5, gap=1.8, keep=1)
    schedule = loan.get("schedule")
    if not schedule:
        yield Row([Cell(LEFT + 0.02, label("not_disbursed", language))])
        return
    yield Row(
        [
            Cell(LEFT + 0.02, label("seq", language), bold=True),
            Cell(0.13, label("due_on", language), bold=True),
            Cell(0.38, label("principal_due", language), "right", True),
            Cell(0.50, label("interest_due", language), "right", True),
            Cell(0.64, label("paid", language), "right", True),
            Cell(0.78, label("remaining", language), "right", True),
            Cell(RIGHT, label("overdue", language), "right", True),
        ],
        rule=True,
        keep=2,
    )
    for row in schedule.get("installments", []):
        paid = int(row["principal_paid"]) + int(row["interest_paid"])
        late = bool(row.get("overdue"))
        colour = "#b3261e" if late else "#000000"
        yield Row(
            [
                Cell(LEFT + 0.02, str(row["seq"])),
                Cell(0.13, date_text(row["due_on"], language)),
                Cell(0.38, money(row["principal_due"], language), "right"),
                Cell(0.50, money(row["interest_due"], language), "right"),
                Cell(0.64, money(paid, language), "right"),
                Cell(0.78, money(row.get("remaining"), language), "right", colour=colour),
                Cell(RIGHT, label("overdue", language) if late else "", "right", late, colour),
            ]
        )
    yield Row(
        [
            Cell(
                LEFT + 0.02,
                label(
                    "loan_totals",
                    language,
                    principal=money(schedule.get("principal_outstanding"), language),
                    interest=money(schedule.get("interest_outstanding"), language),
                    overdue=money(schedule.get("overdue_amount"), language),
                    days=number_text(int(schedule.get("days_overdue") or 0), language),
                ),
            )
        ],
        gap=1.2,
    )


def _pages(rows: list[Row]) -> list[list[tuple[float, Row]]]:
    """Rows placed on pages: (y, row) each, a heading never alone at a page's foot (the
    first page starts lower, under the group's name and place)."""
    pages: list[list[tuple[float, Row]]] = [[]]
    y = FIRST_TOP
    index = 0
    while index < len(rows):
        row = rows[index]
        step = LINE * row.gap
        need = step + LINE * sum(r.gap for r in rows[index + 1 : index + 1 + row.keep])
        if y - need < BOTTOM and pages[-1]:
            pages.append([])
            y = TOP
            step = LINE
        y -= step
        pages[-1].append((y, row))
        index += 1
    return pages


def render_statement_pdf(
    statement: dict[str, Any], language: str = "vi", printed_on: date | None = None
) -> bytes:
    """The statement as a PDF of A4 pages."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    group = statement.get("group", {})
    group_name = _clean(group.get("name"))
    title = f"{label('title', language)}: {isolated(group_name)}"
    place = label(
        "place",
        language,
        settlement=isolated(_clean(group.get("settlement") or "—")),
        ward=isolated(_clean(group.get("ward") or "—")),
        city=isolated(_clean(group.get("city_name") or group.get("city") or "")),
    )
    when = label(
        "as_of",
        language,
        day=date_text(statement["as_of"], language) if statement.get("as_of") else "—",
        printed=date_text(printed_on or today_in_vietnam(), language),
    )
    pages = _pages(list(_rows(statement, language)))
    heads = (title, place, when)
    buffer = io.BytesIO()
    metadata = {"Title": title, "Creator": "cdfmap"}
    check_print_fonts()
    with (
        matplotlib.rc_context({"font.family": FONT, "pdf.fonttype": 3, "text.parse_math": False}),
        PdfPages(buffer, metadata=metadata) as pdf,
    ):
        for number, placed in enumerate(pages, start=1):
            figure = Figure(figsize=PAGE_INCHES)
            _draw_page(figure, placed, heads, (number, len(pages)), language)
            pdf.savefig(figure)
    return buffer.getvalue()


def _draw_page(
    figure: Any,
    placed: list[tuple[float, Row]],
    heads: tuple[str, str, str],
    numbers: tuple[int, int],
    language: str,
) -> None:
    """One page: the heading (in full on the first), its rows, the page number."""
    from matplotlib.lines import Line2D

    title, place, when = heads
    number, total = numbers
    cells: list[tuple[float, float, str, str, float, bool, str]] = []
    if number == 1:
        cells.append((LEFT, 0.962, _short(title, 80), "left", 13.0, True, "#000000"))
        cells.append((LEFT, 0.945, _short(place, 110), "left", 8.0, False, "#000000"))
        cells.append((LEFT, 0.932, when, "left", 8.0, False, "#000000"))
    else:
        cells.append((LEFT, 0.967, _short(title, 90), "left", 9.0, False, "#000000"))
    page = label("page", language, n=number, total=total)
    cells.append((RIGHT, 0.025, page, "right", 7.0, False, "#000000"))
    for top, row in placed:
        for cell in row.cells:
            if cell.text:
                cells.append((cell.x, top, cell.text, cell.align, row.size, cell.bold, cell.colour))
        if row.rule:
            figure.add_artist(
                Line2D([LEFT, RIGHT], [top - 0.004] * 2, linewidth=0.5, color="#777777")
            )
    figure.add_artist(_texts_artist(cells))


def _texts_artist(cells: list[tuple[float, float, str, str, float, bool, str]]) -> Any:
    """One artist that draws every text of a page straight through the renderer: a page
    holds hundreds of short texts, and a matplotlib Text each (its own layout, font lookup
    and bounding box) cost most of the time of a statement. Texts are drawn literally
    (never mathtext); x, y in page widths and heights, y the baseline."""
    from matplotlib.artist import Artist
    from matplotlib.font_manager import FontProperties

    class Texts(Artist):
        def draw(self, renderer: Any) -> None:
            figure = self.get_figure(root=True)
            assert figure is not None
            box = figure.bbox
            fonts = {
                (size, bold): FontProperties(
                    family=FONT, size=size, weight="bold" if bold else "normal"
                )
                for _x, _y, _t, _a, size, bold, _c in cells
            }
            widths: dict[tuple[str, float, bool], float] = {}
            gc = renderer.new_gc()
            try:
                for x, y, text, align, size, bold, colour in cells:
                    font = fonts[size, bold]
                    left = box.x0 + x * box.width
                    if align == "right":
                        key = (text, size, bold)
                        if key not in widths:
                            widths[key] = renderer.get_text_width_height_descent(
                                text, font, ismath=False
                            )[0]
                        left -= widths[key]
                    gc.set_foreground(colour)
                    renderer.draw_text(gc, left, box.y0 + y * box.height, text, font, 0.0)
            finally:
                gc.restore()

    return Texts()
