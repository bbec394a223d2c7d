"""The server's evaluator against openrosa-xpath-evaluator 3.1.0, the phone's engine.

Each row's expected string and boolean were produced by openrosa-xpath-evaluator 3.1.0 itself
(node with jsdom, TZ=Asia/Ho_Chi_Minh) over the instance below: the roster of
tests/forms/household_roster.md with three members. (context path, expression, string, boolean)
"""

from __future__ import annotations

from typing import Any

import pytest

from app.forms.definition import load_form
from app.forms.instance import DocumentNode
from app.forms.xpath import Ctx, Env, compile_expression, parse
from app.forms.xpath_values import as_boolean, as_string
from app.settings import REPO_ROOT

FORM = load_form(REPO_ROOT / "tests" / "forms" / "household_roster.md")
ANSWERS: dict[str, Any] = {
    "head_name": "Nguyễn Thị Hoa",
    "member_count": 3,
    "member": [
        {"member_name": "Hoa", "age": 40, "sex": "female", "disability": "no"},
        {"member_name": "Lan", "age": 19, "sex": "female", "disability": "yes"},
        {"member_name": "Bảo 😀", "age": 3, "sex": "male"},
    ],
    "adults": "2",
    "total_age": "",
    "summary": "2020-02-03",
}
ROWS: list[tuple[str, str, str, bool]] = [
    ("", "1 + 2 * 3", "7", True),
    ("", "7 mod -3", "1", True),
    ("", "-7 mod 3", "-1", True),
    ("", "1 div 0", "Infinity", True),
    ("", "0 div 0", "NaN", False),
    ("", "-1 div 0", "-Infinity", True),
    ("", "string(1 div 3)", "0.3333333333333333", True),
    ("", "string(0.1 + 0.2)", "0.30000000000000004", True),
    ("", "string(100000 * 100000 * 100000 * 100000 * 100000)", "1e+25", True),
    ("", "string(0.000001)", "0.000001", True),
    ("", "string(0.0000001)", "1e-7", True),
    ("", "number('1e3')", "1000", True),
    ("", "number(' 12 ')", "12", True),
    ("", "'0x10' + 0", "16", True),
    ("", "number('')", "NaN", False),
    ("", "number('abc')", "NaN", False),
    ("", "'3' + '4'", "7", True),
    ("", "'4' = '4.0'", "false", False),
    ("", "4 = '4.0'", "true", True),
    ("", "true() = 'no'", "true", True),
    ("", "false() = ''", "true", True),
    ("", "'10' > '9'", "true", True),
    ("", "'abc' < 1", "false", False),
    ("", "/data/head_name", "Nguyễn Thị Hoa", True),
    ("", "/data/member_count > 2", "true", True),
    ("", "/data/member_count = '3'", "true", True),
    ("", "/data/member_count = '3.0'", "false", False),
    ("", "/data/member/age > 30", "true", True),
    ("", "/data/member/age = 19", "true", True),
    ("", "/data/member/age != 19", "true", True),
    ("", "count(/data/member)", "3", True),
    ("", "count(/data/member[age >= 18])", "2", True),
    ("", "sum(/data/member/age)", "62", True),
    ("", "sum(/data/member/disability)", "NaN", False),
    ("", "concat(/data/member/member_name, '-')", "HoaLanBảo 😀-", True),
    ("", "concat('a', 1, true(), 1.5)", "a1true1.5", True),
    ("", "join(', ', /data/member/member_name)", "Hoa, Lan, Bảo 😀", True),
    ("", "string-length('Bảo 😀')", "6", True),
    ("", "substr('Nguyễn', 1, 3)", "gu", True),
    ("", "substr('Nguyễn', -2)", "ễn", True),
    ("", "substring('12345', 1.5, 2.6)", "234", True),
    ("", "substring('12345', -42, 1 div 0)", "12345", True),
    ("", "translate('abcabc', 'ab', 'B')", "BcBc", True),
    ("", "normalize-space('  a   b  ')", "a b", True),
    ("", "contains(/data/head_name, 'Thị')", "true", True),
    ("", "starts-with(/data/head_name, 'Ng')", "true", True),
    ("", "ends-with(/data/head_name, 'Hoa')", "true", True),
    ("", "substring-before('a-b-c', '-')", "a", True),
    ("", "substring-after('a-b-c', '-')", "b-c", True),
    ("", "selected('a b c', 'b')", "true", True),
    ("", "selected('a b c', ' b ')", "true", True),
    ("", "selected('a  b', '')", "true", True),
    ("", "count-selected('a  b c ')", "3", True),
    ("", "selected-at('a b c', 1)", "b", True),
    ("", "selected-at('a b c', 5)", "", False),
    ("", "coalesce(/data/total_age, 'none')", "none", True),
    ("", "coalesce('', '')", "", False),
    ("", "if(/data/member_count > 2, 'many', 'few')", "many", True),
    ("", "int(3.7)", "3", True),
    ("", "int(-3.7)", "-3", True),
    ("", "round(2.5)", "3", True),
    ("", "round(-2.5)", "-3", True),
    ("", "round(1.2345, 2)", "1.23", True),
    ("", "round(1234, -2)", "1200", True),
    ("", "abs(-3)", "3", True),
    ("", "pow(2, 10)", "1024", True),
    ("", "min(/data/member/age)", "3", True),
    ("", "max(/data/member/age, 100)", "100", True),
    ("", "min(1, 'a')", "NaN", False),
    ("", "boolean-from-string('true')", "true", True),
    ("", "boolean-from-string('1')", "true", True),
    ("", "boolean-from-string(1)", "true", True),
    ("", "boolean-from-string('yes')", "false", False),
    ("", "not(/data/total_age)", "false", False),
    ("", "not(/data/nothing)", "true", True),
    ("", "/data/total_age = ''", "true", True),
    ("", "/data/nothing = ''", "false", False),
    ("", "date('2020-02-03')", "2020-02-03", True),
    ("", "date('2020-02-30')", "2020-03-01T07:00:00.000+07:00", True),
    ("", "date('')", "", False),
    ("", "date(18000)", "2019-04-14T07:00:00.000+07:00", True),
    ("", "date('18000')", "2019-04-14T07:00:00.000+07:00", True),
    ("", "string(date('2020-02-03'))", "2020-02-03", True),
    ("", "number(date('2020-02-03'))", "18294.708333333332", True),
    ("", "decimal-date-time('2020-02-03')", "18294.708333333332", True),
    ("", "decimal-date-time('2020-02-03T12:00:00.000+07:00')", "18295.208333333332", True),
    ("", "decimal-date-time('2020-02-03T12:00:00Z')", "18295.5", True),
    ("", "format-date('2020-02-03', '%Y/%m/%d %e %n %y')", "2020/02/03 3 2 20", True),
    ("", "format-date('2020-02-03T14:05:06.007+07:00', '%H:%M:%S.%3 %h')", "14:05:06.007 14", True),
    ("", "format-date('', '%Y')", "", False),
    ("", "'2020-02-03' < '2020-10-01'", "true", True),
    ("", "'2020-02-03' = '2020-2-3'", "true", True),
    ("", "'2020-02-03' + 1", "18295.708333333332", True),
    ("", "'2020-02-03' - '2020-01-01'", "33", True),
    ("", "date('2020-02-03') + 1", "18295.708333333332", True),
    ("", "date('2020-02-03') > '2020-01-01'", "true", True),
    ("", "date('2020-02-03') = '2020-02-03'", "true", True),
    ("", "/data/summary >= '2000-01-01'", "true", True),
    ("", "/data/summary = '2020-02-03'", "true", True),
    ("", "/data/summary < date('2021-01-01')", "true", True),
    ("", "today() > '2020-01-01'", "true", True),
    ("", "today() = today()", "true", True),
    ("/data/member[2]", "position(..)", "1", True),
    ("/data/member[3]/age", "../member_name", "Bảo 😀", True),
    ("/data/member[3]/age", "position(..)", "3", True),
    ("/data/member[3]/age", ". + 1", "4", True),
    ("/data/member[3]/age", "count(../../member)", "3", True),
    ("", "string(/data/member)", "Hoa40femaleno", True),
    ("", "/data/member_count * 1.5", "4.5", True),
    ("", "/data/member_count div 4", "0.75", True),
    ("", "digest('abc', 'SHA-256')", "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=", True),
    ("", "digest('abc', 'md5', 'hex')", "900150983cd24fb0d6963f7d28e17f72", True),
    ("", "checklist(1, 2, true(), false(), 'x')", "true", True),
    ("", "weighted-checklist(2, -1, true(), 1, true(), 1.5)", "true", True),
    ("", "last()", "1", True),
    ("", "position()", "1", True),
    ("", "exp10(2)", "100", True),
    ("", "log10(1000)", "3", True),
    ("", "sqrt(-1)", "NaN", False),
    ("", "floor(-1.5)", "-2", True),
    ("", "ceiling(-1.5)", "-1", True),
    ("", "number(true())", "1", True),
    ("", "string(-0)", "0", True),
    ("", "round(-2.5)", "-3", True),
    ("", "round(-0.4)", "0", False),
    ("", "date('2020-02-30')", "2020-03-01T07:00:00.000+07:00", True),
    ("", "date('2020-13-01')", "Invalid Date", False),
    ("", "date('2020-02-03T10:00')", "2020-02-03T10:00:00.000+07:00", True),
    ("", "date('2020-02-03T10:00:00')", "2020-02-03T10:00:00.000+07:00", True),
    ("", "string(date('2020-02-03T10:00:00Z'))", "2020-02-03T17:00:00.000+07:00", True),
    ("", "decimal-date-time('2020-02-03T10:00')", "18295.125", True),
    ("", "format-date(date('2020-02-03T23:30:00Z'), '%Y-%m-%d %H')", "2020-02-04 06", True),
    ("/data/member/age", ". > 30", "true", True),
    ("/data/member/age", ". = '40'", "true", True),
    ("/data/member/age", ". + '2020-01-01'", "18301.708333333332", True),
    ("/data/summary", ". - 1", "18293.708333333332", True),
    ("/data/summary", ". >= '2020-2-3'", "true", True),
    ("/data/summary", ". = date('2020-02-03')", "true", True),
    ("/data/summary", "date(.) + 0", "18294.708333333332", True),
    ("/data/summary", "int(decimal-date-time(.))", "18294", True),
    ("/data/summary", "format-date(., '%d/%m/%Y')", "03/02/2020", True),
    ("", "'1990-05-01' <= today()", "true", True),
    ("", "'3000-01-01' <= today()", "false", False),
    ("", "concat('', 1 div 3)", "0.3333333333333333", True),
    ("", "concat('', 2 div 3 * 3)", "2", True),
    ("", "concat('', 123456789012345680000)", "123456789012345680000", True),
    ("", "concat('', 0.1 * 3)", "0.30000000000000004", True),
    ("", "concat('', 1e21)", "1e+21", True),
    ("", "concat('', 5e-7)", "5e-7", True),
    ("", "number('  -3.5e2 ')", "-350", True),
    ("", "number('+5')", "5", True),
    ("", "number('.5')", "0.5", True),
    ("", "number('5.')", "5", True),
    ("", "number('1_000')", "NaN", False),
    ("", "number('Infinity')", "Infinity", True),
    ("", "number('inf')", "NaN", False),
    ("", "'2020-02-03abc' < 1", "false", False),
    ("", "'2020-02-03 10:00' > '2020-02-03'", "false", False),
    ("", "string-length('')", "0", False),
    ("", "normalize-space('a\\tb')", "a\\tb", True),
    ("", "translate('Việt', 'ệ', 'e')", "Viet", True),
    ("", "max()", "NaN", False),
    ("", "min()", "NaN", False),
    ("", "sum(/data/nothing)", "0", False),
    ("", "count(/data/nothing)", "0", False),
    ("", "/data/member/member_name = /data/head_name", "false", False),
    ("", "/data/member/age = /data/member_count", "true", True),
    ("", "/data/member/age < /data/member_count", "false", False),
    ("", "/data/member/sex = 'male'", "true", True),
    ("", "/data/member/sex != 'male'", "true", True),
    (
        "",
        "area('15.571 108.474 0 5;15.572 108.475 0 5;15.573 108.474 0 5;15.571 108.474 0 5')",
        "11937.03",
        True,
    ),
    ("", "area('15.571 108.474;15.572 108.475')", "0", False),
    ("", "area('91 108.474;15.572 108.475;15 100')", "NaN", False),
    ("", "distance('15.571 108.474 0 5;15.572 108.475 0 5;15.573 108.474 0 5')", "309.13", True),
    ("", "distance('15.571 108.474', '15.572 108.475')", "154.57", True),
    ("", "distance('15.571 108.474 0 -1;15.572 108.475')", "NaN", False),
    ("", "distance('15.571 108.474 abc;15.572 108.475')", "NaN", False),
    ("", "distance('15.571 108.474')", "0", False),
    ("", "area('')", "NaN", False),
    ("", "distance('1 2;1 2')", "0", False),
]


def evaluate(context: str, expression: str) -> Any:
    """Evaluate as validation does: over the answers, from a context node."""
    schema = FORM.compiled.schema
    env = Env(DocumentNode(FORM.root, ANSWERS), FORM.compiled.instances, ANSWERS)
    root = env.doc.children(None)[0]
    start = Ctx(root, 1, 1, root, env)
    node = compile_expression(parse(context), schema)(start)[0] if context else root
    return compile_expression(parse(expression), schema)(Ctx(node, 1, 1, node, env))


@pytest.mark.parametrize(("context", "expression", "text", "truth"), ROWS)
def test_same_as_the_phone(context: str, expression: str, text: str, truth: bool) -> None:
    value = evaluate(context, expression)
    assert (as_string(value), as_boolean(value)) == (text, truth)


def test_the_table_covers_the_functions_the_forms_use() -> None:
    assert len(ROWS) >= 150
    used = " ".join(expression for _context, expression, _text, _truth in ROWS)
    for name in ("count(", "sum(", "position(..)", "date(", "format-date(", "selected(", "round("):
        assert name in used
