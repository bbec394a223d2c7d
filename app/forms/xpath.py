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
      | (?P<path>(?:/[A-Za-z_][\w.-]*)+)
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
        if kind == "path":  # an absolute path outside repeats: names are unique there
            return Node("ref", text.rsplit("/", 1)[1])
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


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return _boolean(left) == _boolean(right)
    if isinstance(left, int | float) or isinstance(right, int | float):
        return _number(left) == _number(right)
    return _string(left) == _string(right)


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "=": _equal,
    "!=": lambda left, right: not _equal(left, right),
    "<": lambda left, right: _number(left) < _number(right),
    "<=": lambda left, right: _number(left) <= _number(right),
    ">": lambda left, right: _number(left) > _number(right),
    ">=": lambda left, right: _number(left) >= _number(right),
}
# Each function takes its evaluated arguments; a missing one raises IndexError.
_FUNCTIONS: dict[str, Callable[[list[Any]], Any]] = {
    "not": lambda args: not _boolean(args[0]),
    "true": lambda args: True,
    "false": lambda args: False,
    "selected": lambda args: _string(args[1]) in _string(args[0]).split(),
    "count-selected": lambda args: float(len(_string(args[0]).split())),
    "string-length": lambda args: float(len(_string(args[0]))),
    "regex": lambda args: re.search(_string(args[1]), _string(args[0])) is not None,
    "number": lambda args: _number(args[0]),
    "string": lambda args: _string(args[0]),
    "if": lambda args: args[1] if _boolean(args[0]) else args[2],
    "contains": lambda args: _string(args[1]) in _string(args[0]),
    "starts-with": lambda args: _string(args[0]).startswith(_string(args[1])),
}
_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "div": lambda a, b: a / b if b else float("nan"),
    "mod": lambda a, b: a % b if b else float("nan"),
}

# A compiled expression: (answers, current answer) -> value.
Compiled = Callable[[Mapping[str, Any], Any], Any]


def _compile_call(name: str, args: list[Compiled]) -> Compiled:
    function = _FUNCTIONS[name]

    def call(answers: Mapping[str, Any], current: Any) -> Any:
        try:
            return function([arg(answers, current) for arg in args])
        except IndexError as exc:
            raise ExpressionError(f"{name}() needs more arguments") from exc

    return call


def compile_expression(node: Node) -> Compiled:
    """Turn a parsed expression into nested closures, evaluated without walking the tree.

    Forms are parsed once and their expressions run for every question of every survey, so
    the dispatch on node kinds happens here, once, instead of at each evaluation.
    """
    if node.kind in ("num", "str"):
        constant = node.value
        return lambda answers, current: constant
    if node.kind == "ref":
        name = node.value
        return lambda answers, current: answers.get(name)
    if node.kind == "dot":
        return lambda answers, current: current
    args = [compile_expression(arg) for arg in node.args]
    if node.kind == "call":
        return _compile_call(node.value, args)
    operator = node.value
    if operator == "neg":
        (operand,) = args
        return lambda answers, current: -_number(operand(answers, current))
    left, right = args
    if operator == "and":
        return lambda answers, current: (
            _boolean(left(answers, current)) and _boolean(right(answers, current))
        )
    if operator == "or":
        return lambda answers, current: (
            _boolean(left(answers, current)) or _boolean(right(answers, current))
        )
    if operator in _COMPARISONS:
        compare = _COMPARISONS[operator]
        return lambda answers, current: compare(left(answers, current), right(answers, current))
    arithmetic = _ARITHMETIC[operator]
    return lambda answers, current: arithmetic(
        _number(left(answers, current)), _number(right(answers, current))
    )


Predicate = Callable[[Mapping[str, Any], Any], bool]


def compile_predicate(node: Node) -> Predicate:
    """A compiled expression read as a boolean (XPath boolean() rules)."""
    compiled = compile_expression(node)
    return lambda answers, current: _boolean(compiled(answers, current))


def evaluate(node: Node, answers: Mapping[str, Any], current: Any = None) -> Any:
    """Evaluate a parsed expression against answers; `.` is the current answer."""
    return compile_expression(node)(answers, current)


def is_true(node: Node, answers: Mapping[str, Any], current: Any = None) -> bool:
    """Evaluate an expression as a boolean (XPath boolean() rules)."""
    return _boolean(evaluate(node, answers, current))
