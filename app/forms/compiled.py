"""A form's expressions compiled once, when it loads: what validation runs for every survey.

Every expression of the form model is parsed and compiled here; one that the server cannot
evaluate is a load error naming the sheet, row and column, so that no survey ever meets it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from app.forms.instance import XNode, secondary_instance
from app.forms.problems import FormProblem, form_problem
from app.forms.xpath import (
    Compiled,
    ExpressionError,
    Schema,
    _Compiler,
    compile_expression,
    function_names,
    parse,
)

if TYPE_CHECKING:
    from app.forms.definition import FormDefinition, Group, Question

TRUE_TEXT = "true()"
# Rounds of relevance and calculations at most, as on the phone (static/collect/form.js,
# evaluateForm): a form whose expressions read forward may need several.
SETTLE_ROUNDS = 25


@dataclass(eq=False)
class CompiledNode:
    """A question, group or repeat with its compiled expressions and compiled children."""

    node: Group | Question
    relevant: Compiled | None = None
    required: Compiled | None = None
    always_required: bool = False
    constraint: Compiled | None = None
    calculate: Compiled | None = None
    default: Compiled | None = None
    choice_filter: Compiled | None = None
    repeat_count: Compiled | None = None
    children: list[CompiledNode] = field(default_factory=list)
    has_calculations: bool = False  # itself or a node below has a calculate or a default


@dataclass(eq=False)
class CompiledForm:
    """The compiled tree, the secondary instances and the problems found compiling."""

    children: list[CompiledNode]
    instances: dict[str, XNode]
    schema: Schema
    problems: list[FormProblem]
    has_calculations: bool
    has_repeat_counts: bool = False  # a repeat_count anywhere: validation makes its instances
    top_level: frozenset[str] = frozenset()  # names an answers object may hold at the top
    # The questions in form order when one pass in that order sees what the whole-survey
    # evaluation sees (no repeat, calculation, default, group relevance or choice filter, and
    # every expression reads only itself and questions before it): the ingest fast path.
    flat: list[CompiledNode] | None = None
    flat_reads: frozenset[str] = frozenset()  # the questions the flat plan's expressions read
    flat_steps: list[tuple[Any, ...]] | None = None  # made by validation.py on first use
    # Rounds of relevance and calculations a survey may need (settle_rounds).
    settle_rounds: int = 1


_COLUMNS = ("relevant", "constraint", "calculate", "default", "choice_filter")


# digest() needs node-forge, which the phone's bundle leaves out: it fails there. A calculate
# with it is sent empty and the server computes it; anywhere else the phone's verdict would
# differ from the server's, so the form is refused.
DIGEST_ONLY_IN = "calculate"


def _compile_text(
    text: str, schema: Schema, row: int, column: str, problems: list[FormProblem]
) -> Compiled | None:
    try:
        ast = parse(text)
        compiled = compile_expression(ast, schema)
        if column != DIGEST_ONLY_IN and "digest" in function_names(ast):
            raise ExpressionError("form_digest_outside_calculate")
        return compiled
    except RecursionError:
        problems.append(form_problem("form_expression_too_deep", "survey", row, column))
        return None
    except ExpressionError as exc:
        problems.append(
            form_problem(exc.code, "survey", row, column, expression=text.strip(), **exc.params)
        )
        return None


def compile_form(form: FormDefinition) -> CompiledForm:
    """Compile every expression of a form; problems name the sheet, row and column."""
    language = form.expression_language
    choice_labels: dict[str, dict[str, str]] = {}
    for question in form.all_questions:
        if question.choices:
            # Names may repeat (allow_choice_duplicates, a choices file): the first one's
            # label, as JavaRosa's jr:choice-name and the phone (static/collect/form.js) read.
            table: dict[str, str] = {}
            for c in question.choices:
                table.setdefault(c.value, c.label.get(language) or next(iter(c.label.values()), ""))
            choice_labels[question.path] = table
            choice_labels.setdefault(question.name, table)
    schema = Schema(form.root, choice_labels, language, frozenset(form.instances))
    problems: list[FormProblem] = []

    def build(node: Group | Question) -> CompiledNode:
        compiled = CompiledNode(node)
        here = replace(schema, here=node.path)  # jr:choice-name() reads relative paths from it
        for column in _COLUMNS:
            text = getattr(node, column, None)
            if text:
                setattr(compiled, column, _compile_text(text, here, node.row, column, problems))
        required = getattr(node, "required_expression", None)
        if required:
            if required.strip() == TRUE_TEXT:
                compiled.always_required = True
            else:
                compiled.required = _compile_text(required, here, node.row, "required", problems)
        repeat_count = getattr(node, "repeat_count", None)
        if repeat_count:
            compiled.repeat_count = _compile_text(
                repeat_count, here, node.row, "repeat_count", problems
            )
        for output in getattr(node, "outputs", {}).values():
            _compile_text(output, here, node.row, "label", problems)
        compiled.children = [build(child) for child in getattr(node, "children", ())]
        compiled.has_calculations = (
            compiled.calculate is not None
            or compiled.default is not None
            or any(child.has_calculations for child in compiled.children)
        )
        return compiled

    children = [build(child) for child in form.root.children]
    if not problems:
        problems.extend(calculation_cycles(form))
        problems.extend(digest_readers(form))
    instances = {
        name: secondary_instance(items, language) for name, items in form.instances.items()
    }
    plan = None if problems else _flat_plan(form, children, schema)
    return CompiledForm(
        children=children,
        instances=instances,
        schema=schema,
        problems=problems,
        has_calculations=any(child.has_calculations for child in children),
        has_repeat_counts=any(getattr(node, "repeat_count", None) for node in form.root.walk()),
        top_level=frozenset(_names(children)),
        flat=None if plan is None else plan[0],
        flat_reads=frozenset() if plan is None else plan[1],
        settle_rounds=SETTLE_ROUNDS if problems else settle_rounds(form),
    )


def _read_paths(ast: Any, here: str, found: set[tuple[str, bool]]) -> bool:
    """The node paths an expression of the node at `here` reads, each with whether it is read
    by an absolute path (a path from the node itself, `../x` or `.`, or from current(), stays
    in its own repeat instance); False when it reads something not resolved here (a path from
    a function's result, another axis)."""
    if not isinstance(ast, tuple) or not ast:
        return True
    if ast[0] in ("ref", "filter"):
        return False
    if ast[0] == "path":
        base, steps = ast[1], ast[2]
        if base == "/":
            parts: list[str] = []
        elif base == "." or base == ("call", "current", []):
            parts = here.strip("/").split("/")
        else:
            _read_paths(base, here, found)
            return False
        for step in steps:
            axis, name = step[0], step[1]
            if axis == "parent" and parts:
                parts.pop()
            elif axis == "child" and isinstance(name, str):
                parts.append(name)
            elif axis != "self":
                return False
            for predicate in step[2]:  # read from the step's node
                if not _read_paths(predicate, "/" + "/".join(parts), found):
                    return False
        found.add(("/" + "/".join(parts), base == "/"))
        return True
    resolved = True
    for part in ast[1:]:
        if isinstance(part, tuple):
            resolved = _read_paths(part, here, found) and resolved
        elif isinstance(part, list):
            for item in part:
                resolved = _read_paths(item, here, found) and resolved
    return resolved


def settle_rounds(form: FormDefinition) -> int:
    """1 when one round of relevance and calculations in form order is already what the
    phone's rounds settle on: no relevance, calculation or repeat_count (which makes the
    instances of its repeat, validation.py) reads itself, a node after it (a
    group's relevance its own questions), or, by an absolute path, another instance of its
    own repeat; else the phone's 25."""
    nodes = list(form.root.walk())
    order = {node.path: index for index, node in enumerate(nodes)}
    repeats = [node.path + "/" for node in nodes if node.kind == "repeat"]
    for node in nodes:
        for column in ("relevant", "calculate", "repeat_count"):
            text = getattr(node, column, None)
            if not text:
                continue
            found: set[tuple[str, bool]] = set()
            try:
                if not _read_paths(parse(text), node.path, found):
                    return SETTLE_ROUNDS
            except (ExpressionError, RecursionError):
                return SETTLE_ROUNDS
            for path, absolute in found:
                if order.get(path, len(nodes)) >= order[node.path]:
                    return SETTLE_ROUNDS
                if absolute and any(
                    node.path.startswith(r) and path.startswith(r) for r in repeats
                ):
                    return SETTLE_ROUNDS
    return 1


def calculation_cycles(form: FormDefinition) -> list[FormProblem]:
    """Calculations that read each other in a circle: ODK Collect refuses such a form ("cycle
    detected"), and no order of evaluation gives them a value."""
    calculates: dict[str, Question] = {
        node.path: node  # type: ignore[misc]
        for node in form.root.walk()
        if node.kind not in ("group", "repeat") and getattr(node, "calculate", None)
    }
    reads: dict[str, list[str]] = {}
    for path, question in calculates.items():
        found: set[tuple[str, bool]] = set()
        try:
            _read_paths(parse(question.calculate or ""), path, found)
        except (ExpressionError, RecursionError):
            continue  # reported by the compiler
        # Not itself: `once(.)`, `coalesce(., ...)` read their own value, which XForms leaves
        # out of a node's dependencies (Collect loads such forms).
        reads[path] = sorted({p for p, _ in found if p in calculates and p != path})
    problems: list[FormProblem] = []
    state: dict[str, int] = {}  # 1: on the current walk, 2: done
    reported: set[frozenset[str]] = set()

    def visit(path: str, trail: list[str]) -> None:
        state[path] = 1
        trail.append(path)
        for target in reads.get(path, ()):
            if state.get(target) == 1:
                circle = trail[trail.index(target) :]
                if frozenset(circle) not in reported:
                    reported.add(frozenset(circle))
                    names = " -> ".join(calculates[p].name for p in [*circle, target])
                    problems.append(
                        form_problem(
                            "form_calculation_cycle",
                            "survey",
                            column="calculation",
                            rows=[calculates[p].row for p in circle],
                            names=names,
                        )
                    )
            elif target not in state:
                visit(target, trail)
        trail.pop()
        state[path] = 2

    for path in calculates:
        if path not in state:
            visit(path, [])
    return problems


# The conditions read after calculations (a default is filled before them, on both sides).
_CHECKED_COLUMNS = {
    "relevant": "relevant",
    "constraint": "constraint",
    "required_expression": "required",
    "choice_filter": "choice_filter",
    "repeat_count": "repeat_count",
}


def digest_readers(form: FormDefinition) -> list[FormProblem]:
    """Conditions that read a calculate computed with digest(): the phone sees it empty (it
    cannot compute it), the server sees the digest, so their verdicts would differ."""
    digests: dict[str, str] = {}
    for node in form.root.walk():
        calculate = getattr(node, "calculate", None)
        try:
            if calculate and "digest" in function_names(parse(calculate)):
                digests[node.path] = node.name
        except (ExpressionError, RecursionError):
            continue  # reported by the compiler
    if not digests:
        return []
    problems: list[FormProblem] = []
    for node in form.root.walk():
        for attribute, column in _CHECKED_COLUMNS.items():
            text = getattr(node, attribute, None)
            if not text:
                continue
            found: set[tuple[str, bool]] = set()
            try:
                _read_paths(parse(text), node.path, found)
            except (ExpressionError, RecursionError):
                continue
            read = sorted({digests[path] for path, _ in found if path in digests})
            if read:
                names = ", ".join(f"${{{name}}}" for name in read)
                problems.append(
                    form_problem(
                        "form_digest_reader",
                        "survey",
                        node.row,
                        column,
                        names=names,
                        expression=text.strip(),
                    )
                )
    return problems


def _references(ast: Any, compiler: _Compiler, found: set[str]) -> bool:
    """Collect the questions an expression reads; False when it reads anything else."""
    if not isinstance(ast, tuple) or not ast:
        return True
    kind = ast[0]
    if kind == "path":
        if ast[1] == "." and ast[2] == [("self", None, [])]:
            return True
        leaf = compiler.static_leaf(ast[2]) if ast[1] == "/" else None
        if leaf is None:
            return False
        found.add(leaf.name)
        return True
    if kind in ("ref", "filter"):
        return False
    if kind == "call":
        if ast[1] == "instance":
            return False
        return all(_references(arg, compiler, found) for arg in ast[2])
    return all(_references(part, compiler, found) for part in ast[1:] if isinstance(part, tuple))


def _flat_plan(
    form: FormDefinition, children: list[CompiledNode], schema: Schema
) -> tuple[list[CompiledNode], frozenset[str]] | None:
    """The questions in form order and those their expressions read, when a flat pass sees
    what the whole-survey evaluation sees."""
    compiler = _Compiler(schema)
    order: list[CompiledNode] = []

    def walk(nodes: list[CompiledNode]) -> bool:
        for compiled in nodes:
            node = compiled.node
            if node.kind == "repeat" or (node.kind == "group" and node.relevant):
                return False
            if node.kind == "group":
                if not walk(compiled.children):
                    return False
                continue
            if compiled.calculate or compiled.default or compiled.choice_filter:
                return False
            order.append(compiled)
        return True

    if not walk(children):
        return None
    seen: set[str] = set()
    reads: set[str] = set()
    for compiled in order:
        question = compiled.node
        for column in ("relevant", "constraint", "required_expression"):
            text = getattr(question, column, None)
            if not text or text.strip() == TRUE_TEXT:
                continue
            found: set[str] = set()
            if not _references(parse(text), compiler, found) or not found <= seen:
                return None
            reads |= found
        seen.add(question.name)
    return order, frozenset(reads)


def _names(nodes: list[CompiledNode]) -> list[str]:
    """Names held by one answers object: questions and repeats, through groups."""
    found = []
    for compiled in nodes:
        if compiled.node.kind == "group":
            found.extend(_names(compiled.children))
        else:
            found.append(compiled.node.name)
    return found
