"""regex() patterns: only what the phone, ODK Collect and the server read the same way.

The phone runs `regex()` with JavaScript's RegExp (the `u` flag, so `\\p{Lu}` works), ODK
Collect with java.util.regex, the server with the `regex` module. A pattern is translated to
the server's syntax with JavaScript's meaning (`\\d` is ASCII, `.` stops at line ends, `$` is the
end of the text) and refused, naming the construct, when the readers part ways: possessive
quantifiers, atomic groups, inline flags, lookbehind, `\\A \\Z \\z \\G \\Q \\b`, Java's
`\\p{javaLowerCase}` or POSIX classes, nested or intersected classes, lone braces.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import regex

from app.forms.problems import CodedError
from app.forms.xpath_values import JS_SPACE

_CATEGORIES = frozenset(
    [
        "L",
        "Lu",
        "Ll",
        "Lt",
        "Lm",
        "Lo",
        "M",
        "Mn",
        "Mc",
        "Me",
        "N",
        "Nd",
        "Nl",
        "No",
        "P",
        "Pc",
        "Pd",
        "Ps",
        "Pe",
        "Pi",
        "Pf",
        "Po",
        "S",
        "Sm",
        "Sc",
        "Sk",
        "So",
        "Z",
        "Zs",
        "Zl",
        "Zp",
        "C",
        "Cc",
        "Cf",
        "Co",
        "Cs",
    ]
)
_SYNTAX = set("^$\\.*+?()[]{}|/")
_SPACE_CLASS = "".join(f"\\u{ord(ch):04x}" for ch in JS_SPACE)
_ESCAPES = {
    "d": "[0-9]",
    "D": "[^0-9]",
    "w": "[A-Za-z0-9_]",
    "W": "[^A-Za-z0-9_]",
    "s": f"[{_SPACE_CLASS}]",
    "S": f"[^{_SPACE_CLASS}]",
    "t": "\\t",
    "n": "\\n",
    "r": "\\r",
    "f": "\\f",
}
_CLASS_ESCAPES = {"t": "\\t", "n": "\\n", "r": "\\r", "f": "\\f"}
# Class escapes inside a class: those of a set, and those of its complement (`[\s\S]`).
_SET_ESCAPES = {"d": "0-9", "w": "A-Za-z0-9_", "s": _SPACE_CLASS}
_COMPLEMENT_ESCAPES = {"D": "0-9", "W": "A-Za-z0-9_", "S": _SPACE_CLASS}
_QUANTIFIER = re.compile(r"\{(\d+)(,(\d*))?\}")
# Counted repeats cost the server's compiler memory in proportion to their counts multiplied
# through the groups they are nested in (`(a{1000}){1000}`: 281 MB; one more level: the OOM
# killer). A count ({n}, {n,m}: m, {n,}: n) times those of its enclosing repeats stays within
# _MAX_REPEAT, and those products added up over the pattern within _MAX_SIZE. Real forms'
# patterns (`^[0-9]{10}$`, `(\d{3}-){2}\d{4}`) come nowhere near.
_MAX_REPEAT = 1000
_MAX_SIZE = 10000

# The translation, a piece at a time: (text, index of the author's pattern it comes from), so
# that an error of the translated pattern names the author's position.
Pieces = list[tuple[str, int]]


class PatternError(CodedError):
    """A pattern the phone and the server would read differently, or not at all."""


def _refuse(pattern: str, construct: str, written: str = "") -> PatternError:
    """`construct`: one of app.i18n's REGEX_CONSTRUCTS; `written`: it as the pattern has it."""
    shown = {"written": written} if written else {}
    return PatternError("form_regex_refused", pattern=pattern, construct=construct, **shown)


def _escape(pattern: str, i: int, in_class: bool) -> tuple[str, int]:
    """Translate the escape at pattern[i] == '\\'; return (translation, next index)."""
    if i + 1 >= len(pattern):
        raise _refuse(pattern, "trailing_backslash")
    ch = pattern[i + 1]
    table = _CLASS_ESCAPES if in_class else _ESCAPES
    if ch in table:
        return table[ch], i + 2
    if ch in "pP":
        match = re.match(r"\{([A-Za-z_]+)\}", pattern[i + 2 :])
        if not match or match.group(1) not in _CATEGORIES:
            # As written: `\p{Script=Latin}`, `\pL`, `\p{IsLatin}`
            shown = re.match(r"\{[^}]*\}?|.?", pattern[i + 2 :], re.S)
            written = shown.group(0) if shown else ""
            raise _refuse(pattern, "class_name", f"\\{ch}{written}")
        return pattern[i : i + 3 + len(match.group(0)) - 1], i + 2 + len(match.group(0))
    if ch == "u":
        if re.match(r"[0-9A-Fa-f]{4}", pattern[i + 2 : i + 6]):
            return pattern[i : i + 6], i + 6
        raise _refuse(pattern, "unicode_escape")
    if ch == "x":
        if re.match(r"[0-9A-Fa-f]{2}", pattern[i + 2 : i + 4]):
            return pattern[i : i + 4], i + 4
        raise _refuse(pattern, "hex_escape")
    if ch.isdigit() and not in_class and ch != "0":
        if i + 2 < len(pattern) and pattern[i + 2].isdigit():
            raise _refuse(pattern, "back_reference")
        return "\\" + ch, i + 2
    if ch == "k" and not in_class:
        match = re.match(r"<([A-Za-z_]\w*)>", pattern[i + 2 :])
        if match:
            return f"(?P={match.group(1)})", i + 2 + len(match.group(0))
    if ch in _SYNTAX or (in_class and ch == "-"):
        return "\\" + ch, i + 2
    if not ch.isalnum() and ch.isprintable() and ord(ch) < 128:
        # `\-`, `\#`, `\'`: a literal in Java and in JavaScript, where the phone spells it so
        # that the `u` flag reads it (static/collect/xpath.js, unicodeSpelling).
        return "\\" + ch, i + 2
    raise _refuse(pattern, "escape", f"\\{ch}")


def _class(pattern: str, i: int) -> tuple[Pieces, int]:
    r"""Translate the class `[...]` at pattern[i]; return (pieces, next index).

    A `-` after a class escape (`[\w-.]`, the common email pattern) is a `-` in Java and
    JavaScript. `\D \W \S` in a class (`[\s\S]`, `[^\d\W]`) are complements, which the server's
    classes cannot hold: the class becomes an alternation, or lookaheads when negated."""
    n = len(pattern)
    negated = pattern[i + 1 : i + 2] == "^"
    j = i + 2 if negated else i + 1
    if pattern[j : j + 1] == "]" or j >= n:
        raise _refuse(pattern, "empty_class")
    items: Pieces = []
    complements: list[str] = []
    after_set = False  # the last item was a class escape (\w, \p{L}...)
    while True:
        if j >= n:
            raise _refuse(pattern, "unclosed_class")
        ch = pattern[j]
        if ch == "]":
            j += 1
            break
        if ch == "[":
            raise _refuse(pattern, "nested_class")
        if ch == "&" and pattern[j : j + 2] == "&&":
            raise _refuse(pattern, "intersection")
        if ch == "-" and pattern[j + 1 : j + 2] != "]" and (items or complements):
            if after_set:
                items.append(("\\-", j))
                j += 1
                after_set = False
                continue
            if pattern[j + 1 : j + 2] == "\\" and pattern[j + 2 : j + 3] in "dDwWsSpP":
                raise _refuse(pattern, "range_to_class")
        if ch == "\\":
            letter = pattern[j + 1 : j + 2]
            if letter and letter in _COMPLEMENT_ESCAPES:
                complements.append(_COMPLEMENT_ESCAPES[letter])
                j += 2
                after_set = True
                continue
            if letter and letter in _SET_ESCAPES:
                items.append((_SET_ESCAPES[letter], j))
                j += 2
                after_set = True
                continue
            text, end = _escape(pattern, j, True)
            items.append((text, j))
            j = end
            after_set = letter in ("p", "P")
            continue
        items.append((ch, j))
        j += 1
        after_set = False
    if not complements:
        return [("[^" if negated else "[", i), *items, ("]", j - 1)], j
    if items and items[0][0].startswith("^"):
        items[0] = ("\\" + items[0][0], items[0][1])
    if not negated:  # any of the items, or outside a complement
        pieces: Pieces = [("(?:", i)]
        if items:
            pieces += [("[", i), *items, ("]|", j - 1)]
        pieces += [
            (f"[^{c}]" + ("|" if k < len(complements) - 1 else ""), i)
            for k, c in enumerate(complements)
        ]
        return [*pieces, (")", j - 1)], j
    pieces = [("(?:", i)]  # none of the items, and inside every complement
    if items:
        pieces += [("(?![", i), *items, ("])", j - 1)]
    pieces += [(f"(?=[{c}])", i) for c in complements[:-1]]
    return [*pieces, (f"[{complements[-1]}])", j - 1)], j


def _too_large(pattern: str, limit: int) -> PatternError:
    return PatternError("form_regex_too_large", pattern=pattern, limit=limit)


def _count(match: re.Match[str]) -> int:
    """The most times a {n}, {n,m} or {n,} quantifier repeats (n for {n,}), capped past the
    limit so that a count of thousands of digits is no int to build."""
    digits = [d.lstrip("0") or "0" for d in (match.group(1), match.group(3) or "")]
    return max(int(d) if len(d) <= 7 else _MAX_REPEAT + 1 for d in digits)


def _pieces(pattern: str) -> Pieces:
    """The server's spelling of a JavaScript (`u` flag) pattern, or PatternError."""
    out: Pieces = []
    # For each open group, the counted repeats in it: their counts multiplied through the
    # groups nested between; `last`: those of the item a quantifier would repeat.
    groups: list[list[int]] = [[]]
    last: list[int] = []
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        start = i
        if ch not in "*+?{)":  # a new item: the one before can no longer be repeated
            groups[-1] += last
            last = []
        if ch == "\\":
            text, i = _escape(pattern, i, False)
            out.append((text, start))
        elif ch == "[":
            pieces, i = _class(pattern, i)
            out.extend(pieces)
        elif ch == "(":
            if pattern.startswith("(?", i):
                head = pattern[i : i + 3]
                if head in ("(?:", "(?=", "(?!"):
                    groups.append([])
                    out.append((head, start))
                    i += 3
                    continue
                named = re.match(r"\(\?<([A-Za-z_]\w*)>", pattern[i:])
                if named:
                    groups.append([])
                    out.append((named.group(0), start))
                    i += len(named.group(0))
                    continue
                what = {"(?>": "atomic_group", "(?<": "lookbehind"}.get(head, "inline_flag")
                raise _refuse(pattern, what, head)
            groups.append([])
            out.append((ch, start))
            i += 1
        elif ch in "*+?{":
            if ch == "{":
                match = _QUANTIFIER.match(pattern, i)
                if not match:
                    raise _refuse(pattern, "lone_brace")
                count = _count(match)
                last = [size * count for size in last] + [count]
                if max(last) > _MAX_REPEAT:
                    raise _too_large(pattern, _MAX_REPEAT)
                out.append((match.group(0), start))
                i = match.end()
            else:
                out.append((ch, start))
                i += 1
            if pattern[i : i + 1] == "+":
                raise _refuse(pattern, "possessive")
            if pattern[i : i + 1] == "?":
                out.append(("?", i))
                i += 1
                if pattern[i : i + 1] == "+":
                    raise _refuse(pattern, "quantifier_plus")
        elif ch in "}]":
            raise _refuse(pattern, "lone", ch)
        elif ch == ")" and len(groups) > 1:  # the group, as the item a quantifier repeats
            last = groups.pop() + last
            out.append((ch, start))
            i += 1
        elif ch == ".":
            out.append(("[^\\n\\r\\u2028\\u2029]", start))
            i += 1
        elif ch == "$":
            out.append(("(?!(?s:.))", start))
            i += 1
        else:
            out.append((ch, start))
            i += 1
    if sum(last) + sum(sum(sizes) for sizes in groups) > _MAX_SIZE:
        raise _too_large(pattern, _MAX_SIZE)
    return out


def translate(pattern: str) -> str:
    """The server's spelling of a JavaScript (`u` flag) pattern, or PatternError."""
    return "".join(text for text, _ in _pieces(pattern))


def _author_position(pattern: str, pieces: Pieces, position: int) -> int:
    """The index in the author's pattern of `position` in its translation."""
    at = 0
    for text, source in pieces:
        if position < at + len(text):
            verbatim = pattern[source : source + len(text)] == text
            return source + (position - at if verbatim else 0)
        at += len(text)
    return len(pattern)


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> Any:
    """The compiled pattern (cached: forms share their patterns), or PatternError."""
    pieces = _pieces(pattern)
    try:
        return regex.compile("".join(text for text, _ in pieces), regex.V0)
    except regex.error as exc:
        if exc.pos is None:
            raise PatternError("form_regex_unreadable", pattern=pattern, error=exc.msg) from exc
        position = _author_position(pattern, pieces, exc.pos)
        raise PatternError(
            "form_regex_unreadable_at", pattern=pattern, error=exc.msg, position=position
        ) from exc
    except (ValueError, OverflowError, RecursionError) as exc:  # a count past int's digits
        raise PatternError("form_regex_unreadable", pattern=pattern, error=str(exc)) from exc
    except MemoryError as exc:  # past what _pieces bounds, under a memory limit
        raise _too_large(pattern, _MAX_SIZE) from exc
