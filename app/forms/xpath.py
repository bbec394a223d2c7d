"""XPath 1.0 with ODK's functions, compiled once per form to Python closures.

Semantics are those of openrosa-xpath-evaluator 3.x, the engine the phone runs (see
docs/forms-engine.md for why the server has its own compiler and how tests/forms/cases.yaml
holds the two equal). Parsing and every check happen when a form loads: an expression that
uses a function, axis or syntax this module cannot evaluate raises ExpressionError then, never
while a survey is checked. A compiled expression is a closure over an evaluation context
(`Ctx`): the context node, its position, `current()` and the per-survey environment.

Why not a library: elementpath (XPath 2.0) errors where XPath 1.0 gives NaN and took 17 µs per
expression on a shared context; this compiler takes about 1 µs per expression of the household
form (`. >= 1 and . <= 30`, `/data/g/savings_group = 'yes'`, a regex) including its context,
which keeps validation of a household survey at ~10 µs (docs/forms-engine.md). The rule it
imposes: held to the phone's evaluator by tests/unit/test_xpath_orxe.py (results recorded from
openrosa-xpath-evaluator itself) and tests/forms/cases.yaml (run on both sides).

`${name}` stays readable for forms/quality.yaml: it is the answer named `name` at the top level.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.forms.instance import DocumentNode, ElementNode, LeafNode, ValueNode, XNode
from app.forms.problems import CodedError
from app.forms.xpath_operators import RELATIONS, arithmetic, compare
from app.forms.xpath_values import (
    DATE_STRING,
    answer_number,
    as_boolean,
    as_number,
    as_string,
    as_text,
    date_string_to_days,
)


class ExpressionError(CodedError):
    """An expression outside what the server evaluates, or malformed: a message code of
    app/i18n.py (`form_expression_*`, `form_function_*`...) with its params."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
      | (?P<string>'[^']*'|"[^"]*")
      | (?P<ref>\$\{[^}\s]*\})
      | (?P<op>//|/|\.\.|\.|::|\(|\)|\[|\]|@|,|\||\+|-|!=|<=|>=|=|<|>|\*|\$)
      | (?P<name>(?:[^\W\d]|_)[\w.\-]*(?::(?:[^\W\d]|_)[\w.\-]*)?)
    )""",
    re.VERBOSE,
)
_OPERATOR_NAMES = frozenset({"and", "or", "div", "mod"})
_NODE_TYPES = frozenset({"node", "text", "comment", "processing-instruction"})
_AXES = frozenset({"child", "self", "parent"})


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    end = len(text.rstrip())
    while pos < end:
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExpressionError("form_expression_unreadable", rest=text[pos:].strip())
        pos = match.end()
        kind = match.lastgroup or ""
        value = match.group(kind)
        previous = tokens[-1] if tokens else None
        # XPath 1.0, 3.7: after a token that ends an operand, `*` and these names are operators.
        ends_operand = previous is not None and not (
            (previous[0] == "op" and previous[1] in ("@", "::", "(", "[", ","))
            or previous[0] == "operator"
        )
        if ends_operand and (value == "*" or (kind == "name" and value in _OPERATOR_NAMES)):
            kind = "operator"
        elif kind == "op" and value in ("|", "+", "-", "=", "!=", "<", "<=", ">", ">=", "/", "//"):
            kind = "operator" if value not in ("/", "//") else "op"
        if kind == "op" and value == "$":
            raise ExpressionError("form_expression_variable")
        tokens.append((kind, value))
    return tokens


# AST: tuples. ("num", v) ("str", v) ("ref", name) ("call", name, args) ("neg", e)
# ("op", operator, left, right) ("path", start, steps) with start "/" | "." | an AST,
# a step (axis, name or None, predicates); ("filter", ast, predicates).
Ast = tuple[Any, ...]

_PRECEDENCE = {
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
    "|": 8,
}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ExpressionError("form_expression_ends_early")
        self.pos += 1
        return token

    def expect(self, value: str) -> None:
        _kind, text = self.take()
        if text != value:
            raise ExpressionError("form_expression_expected", wanted=value, found=text)

    def parse(self) -> Ast:
        if not self.tokens:
            raise ExpressionError("form_expression_empty")
        node = self.binary(0)
        if self.peek() is not None:
            raise ExpressionError("form_expression_unexpected", token=self.peek()[1])  # type: ignore[index]
        return node

    def binary(self, min_precedence: int) -> Ast:
        left = self.unary()
        while True:
            token = self.peek()
            if token is None or token[0] != "operator":
                return left
            precedence = _PRECEDENCE[token[1]]
            if precedence < min_precedence:
                return left
            self.take()
            right = self.binary(precedence + 1)
            left = ("op", token[1], left, right)

    def unary(self) -> Ast:
        token = self.peek()
        if token == ("operator", "-") or token == ("op", "-"):
            self.take()
            return ("neg", self.unary())
        return self.union()

    def union(self) -> Ast:
        return self.path()

    def path(self) -> Ast:
        token = self.peek()
        if token is None:
            raise ExpressionError("form_expression_ends_early")
        kind, text = token
        if kind == "op" and text in ("/", "//"):
            self.take()
            if text == "//":
                raise ExpressionError("form_expression_descendant")
            nxt = self.peek()
            if nxt is None or not (nxt[0] == "name" or nxt[1] in (".", "..", "*", "@")):
                return ("path", "/", [])
            return ("path", "/", self.steps())
        if kind == "name" or (kind == "op" and text in (".", "..", "@")) or text == "*":
            nxt = self.peek(1)
            is_call = kind == "name" and nxt == ("op", "(") and text not in _NODE_TYPES
            if not is_call:
                return ("path", ".", self.steps())
        primary = self.primary()
        predicates = self.predicates()
        if predicates:
            primary = ("filter", primary, predicates)
        token = self.peek()
        if token is not None and token[0] == "op" and token[1] in ("/", "//"):
            self.take()
            if token[1] == "//":
                raise ExpressionError("form_expression_descendant")
            return ("path", primary, self.steps())
        return primary

    def steps(self) -> list[tuple[str, str | None, list[Ast]]]:
        steps = [self.step()]
        while self.peek() in (("op", "/"), ("op", "//")):
            if self.take()[1] == "//":
                raise ExpressionError("form_expression_descendant")
            steps.append(self.step())
        return steps

    def step(self) -> tuple[str, str | None, list[Ast]]:
        kind, text = self.take()
        if text == ".":
            return ("self", None, [])
        if text == "..":
            return ("parent", None, [])
        if text == "@":
            raise ExpressionError("form_expression_attribute")
        axis = "child"
        if kind == "name" and self.peek() == ("op", "::"):
            self.take()
            if text not in _AXES:
                raise ExpressionError("form_expression_axis", axis=text)
            axis = text
            kind, text = self.take()
        name: str | None
        if text == "*":
            name = None
        elif kind == "name" and text in _NODE_TYPES and self.peek() == ("op", "("):
            if text != "node":
                raise ExpressionError("form_expression_node_test", test=text)
            self.take()
            self.expect(")")
            name = None
        elif kind == "name":
            if ":" in text:
                raise ExpressionError("form_expression_namespace", name=text)
            name = text
        else:
            raise ExpressionError("form_expression_unexpected", token=text)
        return (axis, name, self.predicates())

    def predicates(self) -> list[Ast]:
        found = []
        while self.peek() == ("op", "["):
            self.take()
            found.append(self.binary(0))
            self.expect("]")
        return found

    def primary(self) -> Ast:
        kind, text = self.take()
        if kind == "op" and text == "(":
            node = self.binary(0)
            self.expect(")")
            return node
        if kind == "number":
            return ("num", float(text))
        if kind == "string":
            return ("str", text[1:-1])
        if kind == "ref":
            return ("ref", text[2:-1])
        if kind == "name":
            self.expect("(")
            args: list[Ast] = []
            if self.peek() != ("op", ")"):
                args.append(self.binary(0))
                while self.peek() == ("op", ","):
                    self.take()
                    args.append(self.binary(0))
            self.expect(")")
            return ("call", text, args)
        raise ExpressionError("form_expression_unexpected", token=text)


def parse(text: str) -> Ast:
    """Parse an expression, raising ExpressionError for what the server does not evaluate."""
    return _Parser(text).parse()


def references(node: Ast) -> set[str]:
    """Names of the questions an expression refers to with ${name}."""
    if node[0] == "ref":
        return {node[1]}
    found: set[str] = set()
    for part in node[1:]:
        if isinstance(part, tuple):
            found |= references(part)
        elif isinstance(part, list):
            for item in part:
                if isinstance(item, tuple) and item and isinstance(item[0], str):
                    if item[0] in _AXES:
                        for predicate in item[2]:
                            found |= references(predicate)
                    else:
                        found |= references(item)
    return found


def function_names(node: Ast) -> set[str]:
    """Every function an expression calls."""
    found: set[str] = {node[1]} if node[0] == "call" else set()
    for part in node[1:]:
        items = part if isinstance(part, list) else [part]
        for item in items:
            if isinstance(item, tuple) and item:
                if item[0] in _AXES:
                    for predicate in item[2]:
                        found |= function_names(predicate)
                elif isinstance(item[0], str):
                    found |= function_names(item)
    return found


# --- evaluation --------------------------------------------------------------------------


class Env:
    """What one evaluation run sees: the survey's document and answers, the form's lists."""

    __slots__ = ("answers", "doc", "instances", "now")

    def __init__(
        self,
        doc: XNode,
        instances: Mapping[str, XNode] | None = None,
        answers: Mapping[str, Any] | None = None,
        now: datetime | None = None,
    ) -> None:
        self.doc = doc
        self.instances = instances or {}
        self.answers = answers if answers is not None else {}  # `${name}`, static paths
        self.now = now  # what today() and now() read: the survey's time when known


class Ctx:
    """The evaluation context: node, position and size, current() and the environment."""

    __slots__ = ("current", "env", "node", "position", "size")

    def __init__(self, node: XNode, position: int, size: int, current: XNode, env: Env) -> None:
        self.node = node
        self.position = position
        self.size = size
        self.current = current
        self.env = env


Compiled = Callable[[Ctx], Any]


@dataclass(frozen=True)
class Schema:
    """What the compiler knows of a form: its root group, choice labels, language, the
    names of its secondary instances (None: not known, as for the quality rules) and the path
    of the node whose expression is compiled (`here`, from which jr:choice-name() reads a
    relative path such as pyxform's ' ../dist ' inside a repeat; None: not known)."""

    root: Any = None
    choice_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # path ->
    language: str = "default"
    instances: frozenset[str] | None = None
    here: str | None = None


NO_SCHEMA = Schema()


def _nodes_from(ast: Ast) -> bool:
    """Whether an expression gives a node-set (checked when a form loads)."""
    if ast[0] in ("path", "filter"):
        return True
    if ast[0] == "op" and ast[1] == "|":
        return True
    return ast[0] == "call" and ast[1] in ("current", "instance", "indexed-repeat")


def _gives_boolean(ast: Ast) -> bool:
    """Whether an expression always gives a Python bool (comparisons, and, or, not...)."""
    if ast[0] == "op":
        return ast[1] in ("or", "and", "=", "!=", "<", "<=", ">", ">=")
    return ast[0] == "call" and ast[1] in (
        "not",
        "true",
        "false",
        "boolean",
        "selected",
        "regex",
        "contains",
        "starts-with",
        "ends-with",
        "boolean-from-string",
        "checklist",
        "weighted-checklist",
    )


def _unique(nodes: list[XNode]) -> list[XNode]:
    seen: set[Any] = set()
    found = []
    for node in nodes:
        key = (
            (id(node.schema), id(node.scope), node.position)
            if isinstance(node, ElementNode)
            else (id(node.schema), id(node.scope))
            if isinstance(node, LeafNode)
            else id(node)
        )
        if key not in seen:
            seen.add(key)
            found.append(node)
    return found


def _order_key(node: XNode, root: Any) -> tuple[int, ...] | None:
    """Where a node of the survey's instance stands in document order (None: elsewhere)."""
    if isinstance(node, DocumentNode):
        return ()
    parent = getattr(node, "parent", None)
    if isinstance(node, ElementNode):
        if isinstance(parent, DocumentNode):
            return (0, 1)
        if not isinstance(parent, ElementNode):
            return None
        above = _order_key(parent, root)
        if above is None:
            return None
        return (*above, parent.schema.children.index(node.schema), node.position)
    if isinstance(node, LeafNode):
        if isinstance(parent, ElementNode):
            above = _order_key(parent, root)
            return None if above is None else (*above, parent.schema.children.index(node.schema), 1)
        if parent is None and root is not None:
            # A question outside repeats read by its path (static_leaf): its groups from the root.
            key = [0, 1]
            group = root
            for name in node.schema.path.split("/")[2:]:
                child = group.by_name.get(name)
                if child is None:
                    return None
                key += [group.children.index(child), 1]
                group = child
            return tuple(key)
    return None


def _union(left: list[XNode], right: list[XNode], c: Ctx) -> list[XNode]:
    """XPath's `|`: each node once, in document order (nodes of a secondary instance, or of
    the flat answers of quality rules, stay in the order joined)."""
    nodes = _unique(left + right)
    if len(nodes) < 2:
        return nodes
    root = c.env.doc.root if isinstance(c.env.doc, DocumentNode) else None
    keys = [_order_key(node, root) for node in nodes]
    if any(key is None for key in keys):
        return nodes
    order = sorted(range(len(nodes)), key=lambda i: keys[i])  # type: ignore[arg-type,return-value]
    return [nodes[i] for i in order]


def _filter(nodes: list[XNode], predicates: list[Compiled], c: Ctx) -> list[XNode]:
    for predicate in predicates:
        size = len(nodes)
        kept = []
        for position, node in enumerate(nodes, 1):
            value = predicate(Ctx(node, position, size, c.current, c.env))
            if (value == position) if type(value) is float else as_boolean(value):
                kept.append(node)
        nodes = kept
    return nodes


class _Compiler:
    def __init__(self, schema: Schema) -> None:
        self.schema = schema

    def compile(self, ast: Ast) -> Compiled:
        kind = ast[0]
        if kind in ("num", "str"):
            constant = ast[1]
            return lambda c: constant
        if kind == "ref":
            name = ast[1]
            return lambda c: [ValueNode(name, c.env.answers.get(name))]
        if kind == "neg":
            operand = self.compile(ast[1])
            return lambda c: -as_number(operand(c))
        if kind == "op":
            return self.operator(ast)
        if kind == "call":
            from app.forms.xpath_functions import compile_call

            return compile_call(self, ast[1], ast[2])
        if kind == "filter":
            base = self.compile(ast[1])
            if not _nodes_from(ast[1]):
                raise ExpressionError("form_expression_predicate")
            predicates = [self.compile(p) for p in ast[2]]
            return lambda c: _filter(base(c), predicates, c)
        return self.path(ast)

    def single_text(self, ast: Ast) -> Callable[[Ctx], str] | None:
        """For `.` or a path to one question outside repeats: a getter of its text."""
        if ast == ("path", ".", [("self", None, [])]):
            return lambda c: c.node.text()
        if ast[0] == "path" and ast[1] == "/":
            leaf = self.static_leaf(ast[2])
            if leaf is not None:
                name = leaf.name
                return lambda c: as_text(c.env.answers.get(name))
        return None

    def single_number(self, ast: Ast) -> Callable[[Ctx], float]:
        """asNumber of `.` or of a path to one question outside repeats."""
        if ast == ("path", ".", [("self", None, [])]):
            return lambda c: c.node.number()
        name = self.static_leaf(ast[2]).name
        return lambda c: answer_number(c.env.answers.get(name))

    def node_versus_constant(self, ast: Ast) -> Compiled | None:
        """A comparison of one node with a literal, compiled to what _compare would do."""
        operator, left, right = ast[1], ast[2], ast[3]
        text_of = self.single_text(left)
        constant, node_ast = right, left
        if text_of is None or constant[0] not in ("num", "str"):
            text_of = self.single_text(right)
            constant, node_ast = left, right
            if text_of is None or constant[0] not in ("num", "str") or operator not in ("=", "!="):
                return None  # a literal on the left of < is left to the general case
        get = text_of
        value = constant[1]
        is_date = constant[0] == "str" and DATE_STRING.match(value) is not None
        number = as_number(value)
        number_of = self.single_number(node_ast)
        if operator in RELATIONS:
            test = RELATIONS[operator]
            return lambda c: test(number_of(c), number)
        equal = operator == "="
        if constant[0] == "num" or is_date:
            return lambda c: (number_of(c) == number) is equal

        def text_equals(c: Ctx) -> bool:
            text = get(c)
            if DATE_STRING.match(text):
                return (date_string_to_days(text) == number) is equal
            return (text == value) is equal

        return text_equals

    def operator(self, ast: Ast) -> Compiled:
        if ast[1] in ("=", "!=", "<", "<=", ">", ">="):
            special = self.node_versus_constant(ast)
            if special is not None:
                return special
        operator, left, right = ast[1], self.compile(ast[2]), self.compile(ast[3])
        if _gives_boolean(ast[2]) and _gives_boolean(ast[3]):
            if operator == "or":
                return lambda c: left(c) or right(c)
            if operator == "and":
                return lambda c: left(c) and right(c)
        if operator == "or":
            return lambda c: as_boolean(left(c)) or as_boolean(right(c))
        if operator == "and":
            return lambda c: as_boolean(left(c)) and as_boolean(right(c))
        if operator in ("=", "!=", "<", "<=", ">", ">="):
            return lambda c: compare(operator, left(c), right(c))
        if operator == "|":
            if not (_nodes_from(ast[2]) and _nodes_from(ast[3])):
                raise ExpressionError("form_expression_union")
            return lambda c: _union(left(c), right(c), c)
        return lambda c: arithmetic(operator, left(c), right(c))

    def static_leaf(self, steps: list[tuple[str, str | None, list[Ast]]]) -> Any:
        """The question an absolute path names when no repeat or predicate is on the way."""
        root = self.schema.root
        if root is None or not steps or steps[0][:2] != ("child", root.name):
            return None
        node = root
        for axis, name, predicates in steps:
            if predicates or axis != "child" or name is None:
                return None
        for _axis, name, _predicates in steps[1:]:
            if node.kind == "question":
                return None
            node = node.by_name.get(name)
            if node is None or node.kind == "repeat":
                return None
        return node if node.kind == "question" else None

    def path(self, ast: Ast) -> Compiled:
        start, steps = ast[1], ast[2]
        if start == "/":
            leaf = self.static_leaf(steps)
            if leaf is not None:
                return lambda c: [LeafNode(leaf, c.env.doc.answers, None)]  # type: ignore[attr-defined]
            begin: Compiled = lambda c: [c.env.doc]  # noqa: E731
        elif start == ".":
            if steps == [("self", None, [])]:
                return lambda c: [c.node]
            begin = lambda c: [c.node]  # noqa: E731
        else:
            if not _nodes_from(start):
                raise ExpressionError("form_expression_path_base")
            begin = self.compile(start)
        compiled_steps = [
            (axis, name, [self.compile(p) for p in predicates]) for axis, name, predicates in steps
        ]

        def run(c: Ctx) -> list[XNode]:
            nodes = begin(c)
            for axis, name, predicates in compiled_steps:
                found: list[XNode] = []
                for node in nodes:
                    if axis == "child":
                        candidates = node.children(name)
                    elif axis == "parent":
                        parent = node.parent
                        candidates = (
                            [parent]
                            if parent is not None and (name is None or parent.name == name)
                            else []
                        )
                    else:
                        candidates = [node] if name is None or node.name == name else []
                    if predicates:
                        candidates = _filter(candidates, predicates, c)
                    found.extend(candidates)
                nodes = _unique(found) if axis == "parent" and len(nodes) > 1 else found
            return nodes

        return run


def compile_expression(ast: Ast, schema: Schema = NO_SCHEMA) -> Compiled:
    """Compile a parsed expression to a closure over a Ctx (ExpressionError if it cannot)."""
    return _Compiler(schema).compile(ast)


# --- the flat view: quality rules and tests --------------------------------------------------

Predicate = Callable[[Mapping[str, Any], Any], bool]


def _flat_env(answers: Mapping[str, Any]) -> Env:
    return Env(doc=DocumentNode(_NoRoot, dict(answers)), answers=answers)


class _NoRoot:
    name = "data"
    children: tuple[Any, ...] = ()
    by_name: dict[str, Any] = {}  # noqa: RUF012


def _flat(compiled: Compiled, answers: Mapping[str, Any], current: Any) -> Any:
    env = _flat_env(answers)
    node = ValueNode("current", current)
    return compiled(Ctx(node, 1, 1, node, env))


def flat_context(answers: Mapping[str, Any], current: Any = None) -> Ctx:
    """The context of an evaluation over flat answers; one serves any number of expressions
    (evaluation never changes it)."""
    node = ValueNode("current", current)
    return Ctx(node, 1, 1, node, _flat_env(answers))


def compile_predicate(ast: Ast) -> Predicate:
    """An expression over flat answers (`${name}`, `.` the given value) read as a boolean."""
    compiled = compile_expression(ast)
    return lambda answers, current: as_boolean(_flat(compiled, answers, current))


def evaluate(ast: Ast, answers: Mapping[str, Any], current: Any = None) -> Any:
    """Evaluate over flat answers; a node-set result is given as its first node's text."""
    value = _flat(compile_expression(ast), answers, current)
    return as_string(value) if type(value) is list else value


def is_true(ast: Ast, answers: Mapping[str, Any], current: Any = None) -> bool:
    """Evaluate an expression as a boolean (XPath boolean() rules)."""
    return as_boolean(_flat(compile_expression(ast), answers, current))
