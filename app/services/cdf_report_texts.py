"""The texts of the CDF report in Vietnamese and English: the page's (app.services.
cdf_report_page) and the headers of the report's CSV (app.services.cdf_reports.report_csv),
so that both name a figure the same way.
"""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, dict[str, str]] = {
    "title_city": {"vi": "Báo cáo Quỹ CDF: {city}", "en": "CDF report: {city}"},
    "title_national": {"vi": "Báo cáo Quỹ CDF toàn quốc", "en": "National CDF report"},
    "as_of": {
        "vi": "Số liệu đến ngày {day}; kỳ trả nợ đúng hạn từ {start}",
        "en": "Figures as of {day}; on-time period from {start}",
    },
    "figures": {"vi": "Số liệu chính", "en": "Key figures"},
    "figure": {"vi": "Chỉ tiêu", "en": "Figure"},
    "value": {"vi": "Giá trị", "en": "Value"},
    "savings_balance": {"vi": "Số dư tiết kiệm", "en": "Savings balance"},
    "members": {"vi": "Thành viên", "en": "Members"},
    "groups": {"vi": "Nhóm tiết kiệm", "en": "Savings groups"},
    "active_loans": {"vi": "Khoản vay đang hoạt động", "en": "Active loans"},
    "loans_outstanding": {"vi": "Dư nợ gốc", "en": "Loans outstanding"},
    "par1": {"vi": "PAR1 (quá hạn từ 1 ngày)", "en": "PAR1 (1+ days late)"},
    "par30": {"vi": "PAR30 (quá hạn trên 30 ngày)", "en": "PAR30 (over 30 days late)"},
    "par60": {"vi": "PAR60 (quá hạn trên 60 ngày)", "en": "PAR60 (over 60 days late)"},
    "par90": {"vi": "PAR90 (quá hạn trên 90 ngày)", "en": "PAR90 (over 90 days late)"},
    "on_time_repayment_rate": {"vi": "Tỷ lệ trả nợ đúng hạn", "en": "On-time repayment rate"},
    "collection_rate": {"vi": "Tỷ lệ thu nợ (cộng dồn)", "en": "Collection rate (cumulative)"},
    "capital_total": {"vi": "Tổng vốn đã nhận", "en": "Capital received"},
    "lent_to_date": {"vi": "Tổng đã cho vay", "en": "Lent to date"},
    "times_revolved": {"vi": "Số vòng quay vốn", "en": "Times revolved"},
    "loan_fund_utilisation": {"vi": "Dư nợ / tiết kiệm", "en": "Loans outstanding / savings"},
    "fund_cash": {"vi": "Tiền mặt của Quỹ", "en": "Fund cash"},
    "interest_income": {"vi": "Thu lãi", "en": "Interest income"},
    "mutual_aid_balance": {"vi": "Quỹ tương trợ", "en": "Mutual-aid funds"},
    "chart_par": {"vi": "Danh mục có rủi ro (PAR)", "en": "Portfolio at risk (PAR)"},
    "chart_rates": {
        "vi": "Trả đúng hạn và thu nợ cộng dồn: đọc cả hai",
        "en": "On time and cumulative collection: read both",
    },
    "chart_aging": {
        "vi": "Nợ gốc quá hạn theo số ngày (đồng)",
        "en": "Overdue principal by days late (đồng)",
    },
    "chart_capital": {"vi": "Vốn theo nguồn (đồng)", "en": "Capital by source (đồng)"},
    "chart_cities": {
        "vi": "Tiết kiệm và dư nợ theo thành phố (đồng)",
        "en": "Savings and loans outstanding by city (đồng)",
    },
    "aging.1_30": {"vi": "1–30 ngày", "en": "1–30 days"},
    "aging.31_60": {"vi": "31–60 ngày", "en": "31–60 days"},
    "aging.61_90": {"vi": "61–90 ngày", "en": "61–90 days"},
    "aging.over_90": {"vi": "trên 90 ngày", "en": "over 90 days"},
    "source.seed_grant": {"vi": "Vốn hạt giống", "en": "Seed grant"},
    "source.city_budget": {"vi": "Ngân sách thành phố", "en": "City budget"},
    "source.donor": {"vi": "Nhà tài trợ", "en": "Donors"},
    "source.interest_earned": {"vi": "Lãi thu được", "en": "Interest earned"},
    "source.other": {"vi": "Nguồn khác", "en": "Other"},
    "cities": {"vi": "Các thành phố", "en": "Cities"},
    "city": {"vi": "Thành phố", "en": "City"},
    "total": {"vi": "Tổng", "en": "Total"},
    "savings_short": {"vi": "Tiết kiệm", "en": "Savings"},
    "loans_short": {"vi": "Dư nợ", "en": "Outstanding"},
    "no_data": {"vi": "Chưa có số liệu.", "en": "No figures yet."},
    "csv": {"vi": "Tải CSV", "en": "Download CSV"},
    "groups_title": {"vi": "Các nhóm tiết kiệm", "en": "Savings groups"},
    "group": {"vi": "Nhóm", "en": "Group"},
    "settlement": {"vi": "Khu dân cư", "en": "Settlement"},
    "ward": {"vi": "Phường", "en": "Ward"},
    "statement": {"vi": "Sao kê", "en": "Statement"},
    "statement_pdf": {"vi": "PDF", "en": "PDF"},
    "json": {"vi": "Dữ liệu JSON", "en": "JSON data"},
    "formulas": {
        "vi": "PAR = dư nợ gốc của các khoản vay có kỳ quá hạn ÷ tổng dư nợ gốc. Tỷ lệ trả "
        "đúng hạn = số tiền trả đúng hạn ÷ số tiền đến hạn trong kỳ. Vòng quay vốn = tổng "
        "đã cho vay ÷ tổng vốn đã nhận.",
        "en": "PAR = outstanding principal of loans with a late installment ÷ all "
        "outstanding principal. On-time rate = paid on time ÷ fell due in the period. "
        "Times revolved = lent to date ÷ capital received.",
    },
    "forbidden_title": {"vi": "Không có quyền xem", "en": "Not allowed"},
    "forbidden": {
        "vi": "Tài khoản của bạn không được xem báo cáo này.",
        "en": "Your account may not see this report.",
    },
    "times": {"vi": "{value} lần", "en": "{value} times"},
    "growth_title": {"vi": "Tăng trưởng quỹ trong kỳ", "en": "Fund growth in the period"},
    "growth_period": {
        "vi": "Đầu kỳ: cuối ngày {opening}; cuối kỳ: ngày {day}",
        "en": "Opening: end of {opening}; closing: {day}",
    },
    "opening": {"vi": "Đầu kỳ", "en": "Opening"},
    "closing": {"vi": "Cuối kỳ", "en": "Closing"},
    "growth": {"vi": "Tăng trưởng", "en": "Growth"},
    "growth.capital": {"vi": "Vốn đã nhận", "en": "Capital received"},
    "growth.fund_equity": {
        "vi": "Vốn của Quỹ (vốn nhận + lãi thu)",
        "en": "Fund equity (capital + interest earned)",
    },
    "growth.savings": {"vi": "Tiết kiệm của thành viên", "en": "Members' savings"},
    "growth.loans_outstanding": {
        "vi": "Dư nợ (quỹ quay vòng vốn)",
        "en": "Loans outstanding (revolving fund)",
    },
    "growth.source": {"vi": "Vốn: {source}", "en": "Capital: {source}"},
    "chart_growth": {"vi": "Tăng trưởng trong kỳ", "en": "Growth in the period"},
    "growth_hint": {
        "vi": "Tăng trưởng = (cuối kỳ − đầu kỳ) ÷ đầu kỳ, cùng kỳ với tỷ lệ trả đúng hạn "
        "(mặc định 12 tháng). “—” khi đầu kỳ bằng 0.",
        "en": "Growth = (closing − opening) ÷ opening, over the same period as the on-time "
        "rate (12 months by default). “—” when the opening is 0.",
    },
    # Columns of the report's CSV that the page does not show by these names.
    "csv.money": {"vi": "{label} (đồng)", "en": "{label} (đồng)"},
    "csv.at_risk": {"vi": "Dư nợ có rủi ro {par}", "en": "Principal at risk {par}"},
    "csv.due_in_period": {"vi": "Số tiền đến hạn trong kỳ", "en": "Fell due in the period"},
    "csv.paid_on_time_in_period": {
        "vi": "Số tiền trả đúng hạn trong kỳ",
        "en": "Paid on time in the period",
    },
    "csv.due_to_date": {"vi": "Số tiền đến hạn cộng dồn", "en": "Fell due to date"},
    "csv.collected_to_date": {"vi": "Số tiền đã thu cộng dồn", "en": "Collected to date"},
    "csv.aging": {"vi": "Nợ gốc quá hạn {days}", "en": "Overdue principal {days}"},
    "csv.growth": {"vi": "{figure} — {column}", "en": "{figure} — {column}"},
}
GROWTH_KEYS = ("capital", "fund_equity", "savings", "loans_outstanding")
MONEY_KEYS = (
    "savings_balance",
    "loans_outstanding",
    "capital_total",
    "lent_to_date",
    "fund_cash",
    "interest_income",
    "mutual_aid_balance",
)
# Amounts of the CSV the page leaves out (the figures behind its rates).
CSV_AMOUNTS = ("due_in_period", "paid_on_time_in_period", "due_to_date", "collected_to_date")


def text(key: str, language: str, **params: Any) -> str:
    """A text of the report in the language (Vietnamese when unknown)."""
    texts = TEXTS[key]
    return texts.get(language, texts["vi"]).format(**params)


def _money(label: str, language: str) -> str:
    return text("csv.money", language, label=label)


def _growth_figure(path: list[str], language: str) -> str | None:
    """The balance a fund_growth column is about: growth.capital or a source's capital."""
    if len(path) == 1 and path[0] in GROWTH_KEYS:
        return text(f"growth.{path[0]}", language)
    if len(path) == 2 and path[0] == "capital_by_source" and f"source.{path[1]}" in TEXTS:
        return text("growth.source", language, source=text(f"source.{path[1]}", language))
    return None


def column_label(name: str, language: str) -> str:
    """The header of a column of the report's CSV (`name` as the report's keys flatten:
    par30, aging.1_30, fund_growth.savings.opening...); the name itself if it has no text."""
    head, _, rest = name.partition(".")
    if not rest:
        if name in MONEY_KEYS:
            return _money(text(name, language), language)
        if name in CSV_AMOUNTS:
            return _money(text(f"csv.{name}", language), language)
        return text(name, language) if name in TEXTS else name
    if head == "portfolio_at_risk" and rest.startswith("over_"):
        par = "PAR" + rest.removeprefix("over_")
        return _money(text("csv.at_risk", language, par=par), language)
    if head == "aging" and f"aging.{rest}" in TEXTS:
        days = text(f"aging.{rest}", language)
        return _money(text("csv.aging", language, days=days), language)
    if head == "capital_by_source" and f"source.{rest}" in TEXTS:
        source = text(f"source.{rest}", language)
        return _money(text("growth.source", language, source=source), language)
    if head == "fund_growth":
        *path, column = rest.split(".")
        figure = _growth_figure(path, language)
        if figure is not None and column in ("opening", "closing", "growth"):
            label = text("csv.growth", language, figure=figure, column=text(column, language))
            return label if column == "growth" else _money(label, language)
    return name
