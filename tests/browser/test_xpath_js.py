"""static/collect/xpath.js in Chromium: the vendored openrosa-xpath-evaluator with what the app
adds (instance(), current(), jr:choice-name(), ODK's regex) gives ODK's answers. The verdicts
the phone shares with the server are in tests/forms/ (test_forms_cases.py)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser

from app.forms.definition import load_form
from app.forms.instance import DocumentNode
from app.forms.xpath import Ctx, Env, compile_expression, parse
from app.forms.xpath_values import as_string
from app.settings import REPO_ROOT

pytestmark = pytest.mark.browser

# A phone in Vietnam: its zone and its locale (format-date's %a and %b once followed the locale).
PHONE_LOCALE = "vi-VN"

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
    (r"regex('a-b', 'a\-b')", "name", "boolean", True),  # refused in u mode: spelt a\x2db
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
    context = browser.new_context(
        base_url=live_server, timezone_id="Asia/Ho_Chi_Minh", locale=PHONE_LOCALE
    )
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


# Read alike by the phone and the server (app/forms/xpath.py, as ODK Collect's JavaRosa reads
# them): negation of any operand, and dates read strictly (V8's Date parser reads " 12 " as
# 2001-12-01 and "T24:00:00" as the next day; the server reads neither).
ALIKE = [
    "-(1 div 0)",
    "--3",
    "- - 3",
    "-'5'",
    "-'2026-01-01'",
    "-/data/member[2]/age",
    "- /data/member[2]/age",
    "-(/data/member[2]/age)",
    "0 - -/data/member[2]/age",
    "2 * -/data/member[2]/age",
    "-/data/member[2]/age * 2 - 1",
    "-count(/data/member) + 1",
    "-sum(/data/member/age) mod 7",
    "1 div -(0)",
    "-true()",
    "-'abc'",
    "-/data/nothing",
    "-date('2020-01-01')",
    "/data/member[--2]/member_name",
    "/data/member[position() = -(-2)]/member_name",
    "concat(-/data/member[1]/age, ',', - /data/member[2]/age)",
    "/data/member[age > -1 * -5]/member_name",
    "-/data/member[age = -(-40)]/age",
    "date(' 12 ')",
    "date('12')",
    "date(' 2001-05-02')",
    "date('2001-05-02 ')",
    "date('2001-05-02\n')",
    "date('2026-01-01T24:00:00')",
    "date('5.')",
    "date('Tue May 02 2001')",
    "date('2001-05-02T10:00:00+0700')",
    "date('2001-05-02T10:00:00+07:00')",
    "date('2001-05-02T10:00:00+24:00')",
    "date('2001-05-02T23:59:59.9-23:59')",
    "date('2001-05-02T10:00:00.123456Z')",
    "date('2001-05-2_1')",
    "date('2001-5-2')",
    "date('2001-5-2T1:00')",
    "date('2001-05-02T01:00')",
    "date('2020-02-30')",
    "date('2020-02-30T10:00')",
    "date('2020-13-01')",
    "date('0099-01-01')",
    "format-date(' 12 ', '%Y')",
    "decimal-date-time('2001-05-02T10:00:00+0700')",
    "number('2026-01-01T24:00:00')",
    "'2026-01-01T24:00:00' > '2026-01-01'",
    "' 2001-05-02' < today()",
    "'2001-05-02 ' < today()",
    "date('5.') <= today()",
    # '|': each node once, in document order (the phone could not read it)
    "count(/data/member | /data/member[1])",
    "sum(/data/member/age | /data/member[2]/age)",
    "string(/data/member[2]/member_name | /data/member[1]/member_name)",
    "/data/member[2]/age | /data/head_name",
    "count(/data/member/age | /data/member/member_name | /data/head_name)",
    "(/data/member/age | /data/head_name)[2]",
    "(/data/member | /data/nothing)[2]/member_name",
    "count(/data/member[age > 10] | /data/member[age < 10])",
]

ALIKE_SCRIPT = """
async ([instance, expressions]) => {
  const xpath = await import("/static/collect/xpath.js");
  const doc = new DOMParser().parseFromString(instance, "application/xml");
  return expressions.map((expression) => {
    try {
      return xpath.evaluate(expression, doc.documentElement, "string", { primary: doc });
    } catch (error) {
      return `${error.name}: ${error.message}`;
    }
  });
}
"""


def server_strings(expressions: list[str]) -> list[str]:
    """Each expression's string value on the server over INSTANCE's roster, from /data."""
    form = load_form(REPO_ROOT / "tests" / "forms" / "household_roster.md")
    answers = {
        "head_name": "Anh",
        "member": [{"member_name": "Hoa", "age": 3}, {"member_name": "Lan", "age": 40}],
    }
    env = Env(DocumentNode(form.root, answers), form.compiled.instances, answers)
    root = env.doc.children(None)[0]
    context = Ctx(root, 1, 1, root, env)
    schema = form.compiled.schema
    return [as_string(compile_expression(parse(e), schema)(context)) for e in expressions]


def test_expressions_read_as_the_server_reads_them(browser: Browser, live_server: str) -> None:
    roster = (
        "<data><head_name>Anh</head_name><member><member_name>Hoa</member_name><age>3</age>"
        "</member><member><member_name>Lan</member_name><age>40</age></member></data>"
    )
    context = browser.new_context(
        base_url=live_server, timezone_id="Asia/Ho_Chi_Minh", locale=PHONE_LOCALE
    )
    try:
        page = context.new_page()
        page.goto("/collect")
        phone = page.evaluate(ALIKE_SCRIPT, [roster, ALIKE])
    finally:
        context.close()
    server = server_strings(ALIKE)
    wrong = [(e, s, p) for e, s, p in zip(ALIKE, server, phone, strict=True) if s != p]
    assert wrong == []


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

    context = browser.new_context(
        base_url=live_server, timezone_id="Asia/Ho_Chi_Minh", locale=PHONE_LOCALE
    )
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
