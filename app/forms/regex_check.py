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
_CLASS_ESCAPES = {"d": "0-9", "w": "A-Za-z0-9_", "s": _SPACE_CLASS, "t": "\\t", "n": "\\n"}
_CLASS_ESCAPES |= {"r": "\\r", "f": "\\f"}
_QUANTIFIER = re.compile(r"\{(\d+)(,(\d*))?\}")


class PatternError(ValueError):
    """A pattern the phone and the server would read differently, or not at all."""


def _refuse(pattern: str, what: str) -> PatternError:
    return PatternError(
        f"regex pattern '{pattern}': {what} is read differently by the phone (JavaScript), "
        "ODK Collect (Java) and the server, or not at all"
    )


def _escape(pattern: str, i: int, in_class: bool, seen: set[str]) -> tuple[str, int]:
    """Translate the escape at pattern[i] == '\\'; return (translation, next index)."""
    if i + 1 >= len(pattern):
        raise _refuse(pattern, "a trailing '\\'")
    ch = pattern[i + 1]
    table = _CLASS_ESCAPES if in_class else _ESCAPES
    if ch in table:
        return table[ch], i + 2
    if ch in "pP":
        seen.add("property")
        match = re.match(r"\{([A-Za-z_]+)\}", pattern[i + 2 :])
        if not match or match.group(1) not in _CATEGORIES:
            name = match.group(1) if match else pattern[i + 2 : i + 8]
            raise _refuse(pattern, f"the class \\{ch}{{{name}}} (only Unicode categories)")
        return pattern[i : i + 3 + len(match.group(0)) - 1], i + 2 + len(match.group(0))
    if ch == "u":
        if re.match(r"[0-9A-Fa-f]{4}", pattern[i + 2 : i + 6]):
            return pattern[i : i + 6], i + 6
        raise _refuse(pattern, "'\\u' without 4 hexadecimal digits")
    if ch == "x":
        if re.match(r"[0-9A-Fa-f]{2}", pattern[i + 2 : i + 4]):
            return pattern[i : i + 4], i + 4
        raise _refuse(pattern, "'\\x' without 2 hexadecimal digits")
    if ch.isdigit() and not in_class and ch != "0":
        if i + 2 < len(pattern) and pattern[i + 2].isdigit():
            raise _refuse(pattern, "a back-reference past \\9")
        return "\\" + ch, i + 2
    if ch == "k" and not in_class:
        match = re.match(r"<([A-Za-z_]\w*)>", pattern[i + 2 :])
        if match:
            return f"(?P={match.group(1)})", i + 2 + len(match.group(0))
    if ch in _SYNTAX or (in_class and ch == "-"):
        return "\\" + ch, i + 2
    if not ch.isalnum() and ch.isprintable() and ord(ch) < 128:
        # `\-`, `\#`, `\'`: a literal in Java and in JavaScript without the `u` flag, which
        # the phone falls back to for such a pattern (so no `\p{..}` may stand beside it).
        seen.add("loose")
        return "\\" + ch, i + 2
    raise _refuse(pattern, f"the escape '\\{ch}'")


def translate(pattern: str) -> str:
    """The server's spelling of a JavaScript (`u` flag) pattern, or PatternError."""
    out: list[str] = []
    seen: set[str] = set()
    i = 0
    n = len(pattern)
    in_class = False
    while i < n:
        ch = pattern[i]
        if in_class:
            if ch == "\\":
                text, i = _escape(pattern, i, True, seen)
                out.append(text)
                continue
            if ch == "[":
                raise _refuse(pattern, "'[' inside a [...] class (a nested class in Java)")
            if ch == "&" and pattern[i : i + 2] == "&&":
                raise _refuse(pattern, "'&&' inside a [...] class (an intersection in Java)")
            if ch == "]":
                in_class = False
            out.append(ch)
            i += 1
            continue
        if ch == "\\":
            text, i = _escape(pattern, i, False, seen)
            out.append(text)
        elif ch == "[":
            start = i + 2 if pattern[i + 1 : i + 2] == "^" else i + 1
            if pattern[start : start + 1] == "]" or start >= n:
                raise _refuse(pattern, "an empty class '[]'")
            out.append(pattern[i:start])
            in_class = True
            i = start
        elif ch == "(":
            if pattern.startswith("(?", i):
                head = pattern[i : i + 3]
                if head in ("(?:", "(?=", "(?!"):
                    out.append(head)
                    i += 3
                    continue
                named = re.match(r"\(\?<([A-Za-z_]\w*)>", pattern[i:])
                if named:
                    out.append(named.group(0))
                    i += len(named.group(0))
                    continue
                what = {
                    "(?>": "an atomic group '(?>'",
                    "(?<": "a lookbehind '(?<=' or '(?<!'",
                }.get(head, f"the inline flag or group '{head}'")
                raise _refuse(pattern, what)
            out.append(ch)
            i += 1
        elif ch in "*+?{":
            if ch == "{":
                match = _QUANTIFIER.match(pattern, i)
                if not match:
                    raise _refuse(pattern, "a '{' that is not a quantifier {n,m}")
                out.append(match.group(0))
                i = match.end()
            else:
                out.append(ch)
                i += 1
            if pattern[i : i + 1] == "+":
                raise _refuse(pattern, "a possessive quantifier ('*+', '++', '?+', '{n}+')")
            if pattern[i : i + 1] == "?":
                out.append("?")
                i += 1
                if pattern[i : i + 1] == "+":
                    raise _refuse(pattern, "a quantifier followed by '+'")
        elif ch in "}]":
            raise _refuse(pattern, f"a lone '{ch}'")
        elif ch == ".":
            out.append("[^\\n\\r\\u2028\\u2029]")
            i += 1
        elif ch == "$":
            out.append("(?!(?s:.))")
            i += 1
        else:
            out.append(ch)
            i += 1
    if in_class:
        raise _refuse(pattern, "a '[' class that is not closed")
    if {"loose", "property"} <= seen:
        raise _refuse(pattern, "a \\p{..} class beside an escaped punctuation mark")
    return "".join(out)


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> Any:
    """The compiled pattern (cached: forms share their patterns), or PatternError."""
    translated = translate(pattern)
    try:
        return regex.compile(translated, regex.V0)
    except regex.error as exc:
        raise PatternError(f"regex pattern '{pattern}' cannot be read: {exc}") from exc
