"""A small evaluator for the XLSForm expression subset used in `relevant` and `constraint`.

Supported: `.`, `${name}`, numbers, 'strings', `= != < <= > >=`, `and`, `or`, `+ - * div mod`,
parentheses, and the functions `not`, `selected`, `count-selected`, `string-length`, `regex`,
`true`, `false`, `number`, `string`, `if`, `contains`, `starts-with`. The phone app
(static/collect/xpath.js) implements the same subset, so both sides agree on what an answer means.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>\d+(?:\.\d+)?|\.\d+)
      | (?P<string>'[^']*'|"[^"]*")
      | (?P<ref>\$\{[A-Za-z_][\w.-]*\})
      | (?P<op><=|>=|!=|=|<|>|\+|-|\*|\(|\)|,)
      | (?P<dot>\.(?![\w.]))
      | (?P<name>[A-Za-z_][\w-]*)
    )""",
    re.VERBOSE,
)

FUNCTIONS = frozenset(
    {
        "not",
        "selected",
        "count-selected",
        "string-length",
        "regex",
        "true",
        "false",
        "number",
        "string",
        "if",
        "contains",
        "starts-with",
    }
)


class ExpressionError(ValueError):
    """An expression outside the supported subset, or malformed."""


@dataclass(frozen=True)
class Node:
    kind: str  # num, str, ref, dot, op, call
    value: Any = None
    args: tuple[Node, ...] = ()


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExpressionError(f"cannot read the expression at: {text[pos:]!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
    return tokens


_BINARY_PRECEDENCE = {
    "or": 1,
    "and": 2,
    "=": 3,
    "!=": 3,
    "<": 4,
    "<=": 4,
    ">": 4,
    ">=": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "div": 6,
    "mod": 6,
}


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ExpressionError("the expression ends too early")
        self.pos += 1
        return token

    def expect(self, value: str) -> None:
        _kind, text = self.take()
        if text != value:
            raise ExpressionError(f"expected {value!r}, found {text!r}")

    def parse(self) -> Node:
        node = self.expression(0)
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return node

    def binary_operator(self) -> str | None:
        token = self.peek()
        if token is None:
            return None
        kind, text = token
        if (kind == "op" or kind == "name") and text in _BINARY_PRECEDENCE:
            return text
        return None

    def expression(self, min_precedence: int) -> Node:
        left = self.unary()
        while True:
            operator = self.binary_operator()
            if operator is None or _BINARY_PRECEDENCE[operator] <= min_precedence - 1:
                return left
            precedence = _BINARY_PRECEDENCE[operator]
            if precedence < min_precedence:
                return left
            self.take()
            right = self.expression(precedence + 1)
            left = Node("op", operator, (left, right))

    def unary(self) -> Node:
        kind, text = self.take()
        if kind == "op" and text == "-":
            return Node("op", "neg", (self.unary(),))
        if kind == "op" and text == "(":
            node = self.expression(0)
            self.expect(")")
            return node
        if kind == "number":
            return Node("num", float(text))
        if kind == "string":
            return Node("str", text[1:-1])
        if kind == "ref":
            return Node("ref", text[2:-1])
        if kind == "dot":
            return Node("dot")
        if kind == "name":
            if text not in FUNCTIONS:
                raise ExpressionError(f"the function or path {text!r} is not supported")
            self.expect("(")
            args: list[Node] = []
            if self.peek() != ("op", ")"):
                args.append(self.expression(0))
                while self.peek() == ("op", ","):
                    self.take()
                    args.append(self.expression(0))
            self.expect(")")
            return Node("call", text, tuple(args))
        raise ExpressionError(f"unexpected {text!r}")


def parse(text: str) -> Node:
    """Parse an expression, raising ExpressionError outside the supported subset."""
    return _Parser(text).parse()


def references(node: Node) -> set[str]:
    """Names of the questions an expression refers to with ${name}."""
    found = {node.value} if node.kind == "ref" else set()
    for arg in node.args:
        found |= references(arg)
    return found


def _number(value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return float("nan")


def _string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0 and value == value
    return _string(value) != ""


def _compare(operator: str, left: Any, right: Any) -> bool:
    if operator in ("=", "!="):
        if isinstance(left, bool) or isinstance(right, bool):
            equal = _boolean(left) == _boolean(right)
        elif isinstance(left, int | float) or isinstance(right, int | float):
            equal = _number(left) == _number(right)
        else:
            equal = _string(left) == _string(right)
        return equal if operator == "=" else not equal
    a, b = _number(left), _number(right)
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[operator]


def _call(name: str, args: list[Any]) -> Any:
    calls: dict[str, Callable[[], Any]] = {
        "not": lambda: not _boolean(args[0]),
        "true": lambda: True,
        "false": lambda: False,
        "selected": lambda: _string(args[1]) in _string(args[0]).split(),
        "count-selected": lambda: float(len(_string(args[0]).split())),
        "string-length": lambda: float(len(_string(args[0]))),
        "regex": lambda: re.search(_string(args[1]), _string(args[0])) is not None,
        "number": lambda: _number(args[0]),
        "string": lambda: _string(args[0]),
        "if": lambda: args[1] if _boolean(args[0]) else args[2],
        "contains": lambda: _string(args[1]) in _string(args[0]),
        "starts-with": lambda: _string(args[0]).startswith(_string(args[1])),
    }
    try:
        return calls[name]()
    except IndexError as exc:
        raise ExpressionError(f"{name}() needs more arguments") from exc


def evaluate(node: Node, answers: Mapping[str, Any], current: Any = None) -> Any:
    """Evaluate a parsed expression against answers; `.` is the current answer."""
    if node.kind == "num" or node.kind == "str":
        return node.value
    if node.kind == "ref":
        return answers.get(node.value)
    if node.kind == "dot":
        return current
    if node.kind == "call":
        return _call(node.value, [evaluate(arg, answers, current) for arg in node.args])
    operator = node.value
    if operator == "neg":
        return -_number(evaluate(node.args[0], answers, current))
    if operator == "and":
        return _boolean(evaluate(node.args[0], answers, current)) and _boolean(
            evaluate(node.args[1], answers, current)
        )
    if operator == "or":
        return _boolean(evaluate(node.args[0], answers, current)) or _boolean(
            evaluate(node.args[1], answers, current)
        )
    left = evaluate(node.args[0], answers, current)
    right = evaluate(node.args[1], answers, current)
    if operator in ("=", "!=", "<", "<=", ">", ">="):
        return _compare(operator, left, right)
    a, b = _number(left), _number(right)
    if operator == "+":
        return a + b
    if operator == "-":
        return a - b
    if operator == "*":
        return a * b
    if operator == "div":
        return a / b if b else float("nan")
    return a % b if b else float("nan")


def is_true(node: Node, answers: Mapping[str, Any], current: Any = None) -> bool:
    """Evaluate an expression as a boolean (XPath boolean() rules)."""
    return _boolean(evaluate(node, answers, current))
