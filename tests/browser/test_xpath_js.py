"""static/collect/xpath.js in Chromium: the vendored openrosa-xpath-evaluator with what the app
adds (instance(), current(), jr:choice-name(), ODK's regex) gives ODK's answers. The verdicts
the phone shares with the server are in tests/forms/ (test_forms_cases.py)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

INSTANCE = (
    "<data><name>Anh</name><born>2001-05-02</born><prov>b</prov>"
    "<member><age>3</age><sex>f</sex></member><member><age>40</age><sex>m</sex></member></data>"
)
PROVINCES = (
    "<root><item><name>a</name><province>p1</province></item>"
    "<item><name>b</name><province>p2</province></item></root>"
)
# (expression, context: "name" | "born" | "member2" | "item2", result kind, expected)
CASES: list[tuple[str, str, str, Any]] = [
    (r"regex(., '^\p{Lu}')", "name", "boolean", True),  # Java regex: \p{Lu} works
    (r"regex('anh', '^\p{Lu}')", "name", "boolean", False),
    (r"regex('Ánh', '^\p{Lu}\p{Ll}+$')", "name", "boolean", True),
    (r"regex('0905-123', '^[0-9\-]+$')", "name", "boolean", True),
    (r"regex('a-b', 'a\-b')", "name", "boolean", True),  # refused in u mode, read without it
    ("regex('0905123456', '^0[0-9]{9,10}$')", "name", "boolean", True),
    (". >= '2000-01-01'", "born", "boolean", True),  # defect 5: dates compare as dates
    (". < '2001-05-02'", "born", "boolean", False),
    (". < date('2001-05-03')", "born", "boolean", True),
    (". <= today()", "born", "boolean", True),
    ("today() > '2026-01-01'", "name", "boolean", True),
    ("format-date(/data/born, '%d/%m/%Y')", "name", "string", "02/05/2001"),
    ("count(/data/member)", "name", "number", 2),
    ("sum(/data/member/age)", "name", "number", 43),
    ("count(/data/member[age < 18])", "name", "number", 1),
    ("position(..)", "member2", "number", 2),
    ("../sex", "member2", "string", "m"),
    ("instance('prov')/root/item[name = current()/../prov]/province", "name", "string", "p2"),
    ("jr:choice-name(/data/prov, ' /data/prov ')", "name", "string", "B (b /data/prov)"),
    ("concat(., ' ', ../prov)", "name", "string", "Anh b"),
    ("coalesce(/data/nothing, 'z')", "name", "string", "z"),
    ("if(selected('a b', 'b'), 'yes', 'no')", "name", "string", "yes"),
    ("count-selected('a b c')", "name", "number", 3),
    ("'x' >= 1", "name", "boolean", False),  # XPath 1.0: NaN compares false, no error
    ("string-length(.)", "name", "number", 3),
    # A choice filter: an item of a list as context, the survey's answers by absolute path.
    ("name = /data/prov", "item2", "boolean", True),
    ("name = /data/prov and current()/../prov = 'b'", "item2", "boolean", True),
    ("count(/data/member) = 2 and '/data/x' = concat('/data', '/x')", "item2", "boolean", True),
]

EVALUATE = """
async ([instance, provinces, cases]) => {
  const xpath = await import("/static/collect/xpath.js");
  const parse = (text) => new DOMParser().parseFromString(text, "application/xml");
  const doc = parse(instance);
  const lists = parse(provinces);
  const contexts = {
    item2: lists.querySelectorAll("item")[1],
    name: doc.querySelector("name"),
    born: doc.querySelector("born"),
    member2: doc.querySelectorAll("member")[1].querySelector("age"),
  };
  const env = {
    instances: { prov: lists },
    primary: doc,
    choiceName: (value, path) => `${value.toUpperCase()} (${value} ${path})`,
  };
  const results = cases.map(([expression, context, kind]) => {
    try {
      const current = context === "item2" ? contexts.name : undefined;
      return xpath.evaluate(expression, contexts[context], kind, { ...env, current });
    } catch (error) {
      return `${error.name}: ${error.message}`;
    }
  });
  let refused = "";
  try {
    xpath.evaluate("nofunction(1)", contexts.name, "boolean", env);
  } catch (error) {
    refused = error.name;
  }
  const offset = new Date().getTimezoneOffset();
  const now = xpath.evaluate("now()", contexts.name, "string", env);
  return { results, refused, offset, now };
}
"""


def test_odk_expressions_in_chromium(browser: Browser, live_server: str) -> None:
    context = browser.new_context(base_url=live_server, timezone_id="Asia/Ho_Chi_Minh")
    try:
        page = context.new_page()
        page.goto("/collect")
        answer = page.evaluate(EVALUATE, [INSTANCE, PROVINCES, [list(c[:3]) for c in CASES]])
    finally:
        context.close()
    wrong = [
        (expression, expected, got)
        for (expression, _, _, expected), got in zip(CASES, answer["results"], strict=True)
        if got != expected
    ]
    assert wrong == []
    assert answer["refused"] == "ExpressionError"  # an unknown function is an error, not false
    assert answer["offset"] == -420  # the phone's zone: today() and now() are Vietnam's
    assert answer["now"].endswith("+07:00")


PARITY = """
async (rows) => {
  const xpath = await import("/static/collect/xpath.js");
  const doc = new DOMParser().parseFromString("<data/>", "application/xml");
  return rows.map((expression) => {
    try {
      // Half an emoji is sent as U+FFFD (form.js, wellFormed): compared as it is sent.
      const value = xpath.evaluate(expression, doc.documentElement, "string", { primary: doc });
      return value.toWellFormed();
    } catch (error) {
      return error instanceof xpath.ExpressionError ? "error" : `crash: ${error}`;
    }
  });
}
"""


def test_the_rows_the_server_is_held_to_are_the_phones(browser: Browser, live_server: str) -> None:
    """tests/xpath_parity.py, where the two engines once differed: Chromium gives each row's
    answer (tests/unit/test_xpath_parity.py holds the server to the same rows)."""
    from tests.xpath_parity import ROWS

    context = browser.new_context(base_url=live_server, timezone_id="Asia/Ho_Chi_Minh")
    try:
        page = context.new_page()
        page.goto("/collect")
        answers = page.evaluate(PARITY, [expression for expression, _ in ROWS])
    finally:
        context.close()
    wrong = [
        (expression, expected, got)
        for (expression, expected), got in zip(ROWS, answers, strict=True)
        if got != expected
    ]
    assert wrong == []
