"""regex() patterns: the server matches as the phone's RegExp (the `u` flag) does; patterns
that Java (ODK Collect), JavaScript and the server read differently are refused at load.

MATCHES was recorded with node's RegExp(pattern, 'u').test(subject) over SUBJECTS.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from app.forms.regex_check import PatternError, compile_pattern
from app.i18n import REGEX_CONSTRUCTS, translate

SUBJECTS = [
    "Anh",
    "anh",
    "Ánh",
    "DN-012",
    "DN-12",
    "0905123456",
    "١٢٣",
    "abc\n",
    "a\rc",
    "a\nc",
    "abc",
    " ",
    "\xa0",
    "\u2003",
    "ab",
    "aa",
    "x-1-2",
    "Việt",
    "color",
    "colour",
    "a😀c",
    "xxy",
    "á",
    "A",
    "-",
    "/",
    ".",
    "é",
]
MATCHES: list[tuple[str, list[str]]] = [
    ("^\\p{Lu}", ["Anh", "Ánh", "DN-012", "DN-12", "Việt", "A"]),
    ("^[A-Z]{2}-\\d{3}$", ["DN-012"]),
    ("^0[0-9]{9,10}$", ["0905123456"]),
    ("\\d+", ["DN-012", "DN-12", "0905123456", "x-1-2"]),
    ("^\\w+$", ["Anh", "anh", "0905123456", "abc", "ab", "aa", "color", "colour", "xxy", "A"]),
    ("^\\s*$", [" ", "\xa0", "\u2003"]),
    ("a.c", ["abc\n", "abc", "a😀c"]),
    ("abc$", ["abc"]),
    ("^(?:ab)+$", ["ab"]),
    ("^(a|b)\\1$", ["aa"]),
    ("^(?<x>a)\\k<x>$", ["aa"]),
    ("[\\d-]+", ["DN-012", "DN-12", "0905123456", "x-1-2", "-"]),
    (
        "[^\\s]+",
        [
            "Anh",
            "anh",
            "Ánh",
            "DN-012",
            "DN-12",
            "0905123456",
            "١٢٣",
            "abc\n",
            "a\rc",
            "a\nc",
            "abc",
            "ab",
            "aa",
            "x-1-2",
            "Việt",
            "color",
            "colour",
            "a😀c",
            "xxy",
            "á",
            "A",
            "-",
            "/",
            ".",
            "é",
        ],
    ),
    (
        "^\\p{L}+$",
        ["Anh", "anh", "Ánh", "abc", "ab", "aa", "Việt", "color", "colour", "xxy", "á", "A", "é"],
    ),
    (
        "^[\\p{Lu}\\p{Ll}]+$",
        ["Anh", "anh", "Ánh", "abc", "ab", "aa", "Việt", "color", "colour", "xxy", "á", "A", "é"],
    ),
    ("colou?r", ["color", "colour"]),
    ("^.{3}$", ["Anh", "anh", "Ánh", "١٢٣", "abc", "a😀c", "xxy"]),
    ("x*?y", ["xxy"]),
    ("(?=a)a", ["anh", "abc\n", "a\rc", "a\nc", "abc", "ab", "aa", "a😀c"]),
    ("(?!b)a", ["anh", "abc\n", "a\rc", "a\nc", "abc", "ab", "aa", "a😀c"]),
    ("^\\u00e1$", ["á"]),
    ("^\\x41$", ["A"]),
    ("^[\\-a]$", ["-"]),
    ("\\/", ["/"]),
    ("^\\.$", ["."]),
    ("^[.]$", ["."]),
    # Class escapes of complements in a class, and a `-` after a class escape (the phone spells
    # `[\\w-\\.]` as `[\\w\\-\\.]` for the u flag; recorded so)
    ("^[\\s\\S]$", [" ", "\xa0", "\u2003", "á", "A", "-", "/", ".", "é"]),
    (
        "^[\\S]+$",
        [
            "Anh",
            "anh",
            "Ánh",
            "DN-012",
            "DN-12",
            "0905123456",
            "١٢٣",
            "abc",
            "ab",
            "aa",
            "x-1-2",
            "Việt",
            "color",
            "colour",
            "a😀c",
            "xxy",
            "á",
            "A",
            "-",
            "/",
            ".",
            "é",
        ],
    ),
    ("^[\\d\\W]$", [" ", "\xa0", "\u2003", "á", "-", "/", ".", "é"]),
    ("^[^\\d\\W]+$", ["Anh", "anh", "abc", "ab", "aa", "color", "colour", "xxy", "A"]),
    (
        "^[\\w-\\.]+$",
        [
            "Anh",
            "anh",
            "DN-012",
            "DN-12",
            "0905123456",
            "abc",
            "ab",
            "aa",
            "x-1-2",
            "color",
            "colour",
            "xxy",
            "A",
            "-",
            ".",
        ],
    ),
    ("^[\\W\\-]+$", ["١٢٣", " ", "\xa0", "\u2003", "á", "-", "/", ".", "é"]),
    ("^[a\\S]$", ["á", "A", "-", "/", ".", "é"]),
    ("^[^a\\S]+$", [" ", "\xa0", "\u2003"]),
    ("^[\\S^]$", ["á", "A", "-", "/", ".", "é"]),
]
REFUSED = [
    r"^[A-Z]++$",  # possessive quantifier (Java)
    r"(?>a|ab)c",  # atomic group (Java)
    r"(?i)abc",  # inline flag (Java, Python)
    r"(?<=a)b",  # lookbehind (bounded in Java)
    r"\Aabc\z",  # Java anchors
    r"abc\Z",
    r"\p{javaLowerCase}+",  # Java's own classes
    r"\p{Alpha}+",  # POSIX class in Java
    r"[[:alpha:]]+",  # POSIX bracket (a nested class in Java)
    r"[a-z&&[^aeiou]]",  # class intersection (Java)
    r"\bword\b",  # word boundaries differ around accented letters
    r"a{,3}",  # not a quantifier in JavaScript
    r"a}",  # a lone brace
    r"\Qa.b\E",  # Java quoting
    r"\h+",  # Java's horizontal space
    r"\e",  # escapes of letters that mean nothing in JavaScript
    r"[]",  # empty class
    r"[a-\w]",  # a range ending on a class escape
]
# Escaped punctuation outside a class: a literal in Java and in JavaScript without the `u`
# flag (the phone's reading of such a pattern); recorded with node's RegExp(pattern).
LITERAL_ESCAPES = [
    (r"^\d+\-\d+$", "12-34", True),
    (r"^\d+\-\d+$", "1234", False),
    (r"^a\#b$", "a#b", True),
    (r"^\'x$", "'x", True),
    (r"^\p{Lu}[a-z\-]*$", "Ab-c", True),  # `\-` in a class is fine with the u flag
    # Beside \p{..}: the phone spells `\-` as `\x2d` and keeps the u flag (it read such a
    # pattern without it, where \p{Lu} meant p{Lu}, and `.` half an emoji)
    (r"^\p{Lu}\-", "Á-", True),
    (r"^\p{Lu}\-", "á-", False),
    (r"^\#.{1,2}$", "#😀😀", True),
]


@pytest.mark.parametrize(("pattern", "matching"), MATCHES)
def test_the_server_matches_as_the_phone(pattern: str, matching: list[str]) -> None:
    compiled = compile_pattern(pattern)
    assert [s for s in SUBJECTS if compiled.search(s)] == matching


@pytest.mark.parametrize("pattern", REFUSED)
def test_patterns_read_differently_are_refused(pattern: str) -> None:
    with pytest.raises(PatternError) as caught:
        compile_pattern(pattern)
    assert pattern in str(caught.value) or "regex pattern" in str(caught.value)


# Refused for the other constructs REFUSED does not reach, or not compiled at all.
REFUSED_TOO = [
    "abc\\",  # a trailing backslash
    "a{" + "9" * 5000 + "}",  # a count past Python's int digits: too large, never an int
    "(?:x{50}){50}",  # too large: counts multiplied through nested groups
    "a{1000}" * 11,  # too large: counts added up
    r"\u12",
    r"\x1",
    r"(a)\12",  # a back-reference past \9
    r"[abc",
    r"a*?+",
    r"a]",
    r"^\w+(a",  # the server's own reader refuses it
]


@pytest.mark.parametrize("pattern", REFUSED + REFUSED_TOO)
def test_a_refused_pattern_is_said_in_vietnamese_and_english(pattern: str) -> None:
    with pytest.raises(PatternError) as caught:
        compile_pattern(pattern)
    code, params = caught.value.code, caught.value.params
    assert params["pattern"] == pattern
    vi, en = (translate(code, language, **params) for language in ("vi", "en"))
    assert en == str(caught.value)
    assert vi.startswith(("mẫu regex '", "không đọc được mẫu regex '")), vi
    assert f"'{pattern}'" in vi and f"'{pattern}'" in en
    construct = params.get("construct")
    if construct is not None:  # the construct's own words, as written in the pattern
        label = f"form_regex.{construct}"
        assert translate(label, "vi", **params) in vi and translate(label, "en", **params) in en
        assert params.get("written", "") in vi


def test_every_refused_construct_is_reached_by_a_pattern() -> None:
    reached = set()
    for pattern in REFUSED + REFUSED_TOO:
        with pytest.raises(PatternError) as caught:
            compile_pattern(pattern)
        reached.add(caught.value.params.get("construct"))
    assert set(REGEX_CONSTRUCTS) <= reached


@pytest.mark.parametrize(("pattern", "subject", "matches"), LITERAL_ESCAPES)
def test_escaped_punctuation_is_a_literal(pattern: str, subject: str, matches: bool) -> None:
    assert (compile_pattern(pattern).search(subject) is not None) is matches


@pytest.mark.parametrize(
    ("pattern", "position"),
    [(r"^\d+[z-a]", 8), (r"^\s*\w+[z-a]$", 11), (r"^\w+(a", 6)],
)
def test_a_refusal_names_the_position_in_the_authors_pattern(pattern: str, position: int) -> None:
    """Not in the server's translation (`\\d` is `[0-9]` there): "bad character range at
    position 15" named a place the author never wrote."""
    with pytest.raises(PatternError, match=rf"at position {position}$"):
        compile_pattern(pattern)


@pytest.mark.parametrize(
    ("pattern", "written"),
    [
        (r"^\p{Script=Latin}+$", r"'\p{Script=Latin}'"),
        (r"^\pL+$", r"'\pL'"),
        (r"^\P{IsLatin}$", r"'\P{IsLatin}'"),
        (r"^\p{Lu", r"'\p{Lu'"),
        ("^a\\p", r"'\p'"),
    ],
)
def test_a_refused_class_is_named_as_written(pattern: str, written: str) -> None:
    """`\\p{Script=Latin}` was named `\\p{{Scrip}`: six characters cut, braces doubled."""
    with pytest.raises(PatternError) as caught:
        compile_pattern(pattern)
    assert f"the class {written} (only Unicode general categories" in str(caught.value)


# Counted repeats multiplied through nested groups: the server's compiler needed 281 MB for
# `(a{1000}){1000}` and 23 GB (the OOM killer) for three levels.
TOO_LARGE = [
    "(a{1000}){1000}",
    "((a{10}){10}){100}",
    "(?:x{50}){50}",
    "((a{1000}){1000}){1000}",
    "(?<n>a{3000}){1000}",
    "^(?=(a{2,}){2000,})",
    "a{1001}",
    "(ab){5,1001}",
    "a{0000000000000000001001}",
    "[a-z]{1000}" * 11,
    "((a{1000}){1000}",  # unclosed: still counted
]
# Real forms' patterns, and patterns at the limits.
NOT_TOO_LARGE = [
    r"^[0-9]{10}$",
    r"^\d{4}-\d{2}$",
    r"(\d{3}-){2}\d{4}",
    r"^0[0-9]{9,10}$",
    r"^\p{Lu}\p{Ll}{1,30}( \p{Lu}\p{Ll}{1,30}){0,5}$",
    r"^.{0,255}$",
    "a{1000}",
    "(a{10}){100}",
    "(a{2}(b{3}){4}){5}",
    "a{1000}" * 9 + "b{500}",
    "(a{1000})*",
]


def test_a_pattern_too_large_to_compile_is_refused_quickly_and_without_the_memory() -> None:
    """In a process limited to 256 MB more than it has: before the bound, compiling ran out."""
    script = textwrap.dedent(
        """
        import json, resource, sys, time
        from app.forms.regex_check import PatternError, compile_pattern
        status = open("/proc/self/status").read()
        size = int(status.split("VmSize:")[1].split()[0]) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size + 256 * 2**20, resource.RLIM_INFINITY))
        said = {}
        for pattern in json.loads(sys.argv[1]):
            start = time.monotonic()
            try:
                compile_pattern(pattern)
                said[pattern] = ["compiled"]
            except PatternError as exc:
                said[pattern] = [exc.code, exc.params.get("limit")]
            except MemoryError:
                said[pattern] = ["MemoryError"]
            said[pattern].append(time.monotonic() - start < 0.2)
        print(json.dumps(said))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(TOO_LARGE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    said = json.loads(done.stdout)
    limits = {"[a-z]{1000}" * 11: 10000}
    assert said == {p: ["form_regex_too_large", limits.get(p, 1000), True] for p in TOO_LARGE}


@pytest.mark.parametrize("pattern", NOT_TOO_LARGE)
def test_patterns_within_the_bound_compile(pattern: str) -> None:
    assert compile_pattern(pattern) is not None


def test_a_pattern_too_large_is_said_with_its_limit() -> None:
    with pytest.raises(PatternError) as caught:
        compile_pattern("(?:x{50}){50}")
    assert caught.value.code == "form_regex_too_large"
    assert translate(caught.value.code, "vi", **caught.value.params) == (
        "mẫu regex '(?:x{50}){50}' lặp quá nhiều: các số lần lặp ('{n}', '{n,m}') nhân qua "
        "các nhóm lồng nhau rồi cộng lại vượt quá 1000 (máy chủ không dựng được mẫu lớn như vậy)"
    )
