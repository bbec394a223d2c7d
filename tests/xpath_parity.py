"""Expressions the phone and the server once answered differently (found by fuzzing both), with
the phone's answer: string() of the result as Chromium gives it through static/collect/xpath.js
(IEEE doubles, UTF-16, JavaScript's Date), or ERROR when the phone's evaluation fails.

tests/unit/test_xpath_parity.py holds the server to these rows; tests/browser/test_xpath_js.py
runs them in Chromium. The sign of a zero shows through `1 div x` (-Infinity for -0).
"""

from __future__ import annotations

ERROR = "error"

ROWS: list[tuple[str, str]] = [
    # substring-after/-before with an empty separator (XPath 1.0: all, nothing)
    ("substring-after('abc', '')", "abc"),
    ("substring-before('abc', '')", ""),
    ("substring-after('abc', 'b')", "c"),
    ("substring-before('abc', 'b')", "a"),
    ("substring-after('a😀b', '😀')", "b"),
    # translate() over UTF-16 units (half an emoji is U+FFFD, as the phone sends it)
    ("translate('x', 'x', '😀')", "\ufffd"),
    ("string-length(translate('x', 'x', '😀'))", "1"),
    ("translate('😀', '😀', 'ab')", "ab"),
    ("string-length(translate('a😀', 'a', ''))", "2"),
    ("translate('a😀b', '😀', 'xy')", "axyb"),
    ("translate('abcabc', 'ab', 'B')", "BcBc"),
]
