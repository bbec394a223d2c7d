"""Hostile values every name, answer and file field is tested with (not only friendly ones).

Each one has broken something somewhere: template engines that re-parse their output
(folium/branca, Jinja), HTML without escaping, matplotlib's mathtext, spreadsheet formulas,
PostgreSQL text (NUL), UTF-8 encoders (lone surrogates), and file names.
"""

from __future__ import annotations

# Runs code when a template engine parses it (Jinja: `{{ }}`, `{% %}`).
TEMPLATE_CODE = "W {{ cycler.__init__.__globals__.os.popen('id').read() }}"
TEMPLATE_BLOCK = "{% for x in range(3) %}loop{% endfor %} {# comment"
# Breaks out of <title>, an attribute or a script when not escaped.
HTML_TITLE = "</title><script>alert(1)</script>"
HTML_SCRIPT = "</script><script>alert(2)</script><!--"
HTML_ATTRIBUTE = "\"'><img src=x onerror=alert(3)>"
# matplotlib mathtext: an unknown command fails the figure; paired dollars eat the text.
MATHTEXT = "Khu $\\undefinedcmd$ A"
DOLLARS = "Hẻm $5 và $10"
# A spreadsheet runs these as formulas when a cell starts with = + - @ (or tab/CR).
FORMULAS = ('=HYPERLINK("http://x.invalid","a")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1")
# Format strings and JavaScript template literals.
FORMAT = "{0.__class__} %s %(x)s ${alert(4)} `x`"
# Right-to-left override, zero-width joiner, combining marks (Vietnamese decomposed).
UNICODE = "Phu\u0301o\u031b\u0300ng \u202eevil\u202c \u200d"

NAMES = (
    TEMPLATE_CODE,
    TEMPLATE_BLOCK,
    HTML_TITLE,
    HTML_SCRIPT,
    HTML_ATTRIBUTE,
    MATHTEXT,
    DOLLARS,
    FORMAT,
    UNICODE,
    *FORMULAS,
)
"""Names a city, ward, settlement, collector or free-text answer may carry."""

# Values that cannot be stored as PostgreSQL text or written as UTF-8.
NUL = "a\x00b"
LONE_SURROGATE = "a\ud800b"
