"""Validate and normalise a submission's answers against its form definition."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from app.errors import Problem
from app.forms.answer_types import (
    COERCIONS,
    MAX_INTEGER,
    MAX_REPEATS,
    MAX_TEXT_LENGTH,
    META_KEYS,
    coerce_meta,
    coerce_text,
    is_empty,
    store_text,
)
from app.forms.compiled import CompiledForm, CompiledNode
from app.forms.definition import FormDefinition, Question
from app.forms.direct import Test, compile_test
from app.forms.instance import DocumentNode, ElementNode, LeafNode, XNode
from app.forms.relevance_text import not_relevant
from app.forms.xpath import Ast, Compiled, Ctx, Env, _Compiler, parse
from app.forms.xpath_values import JS_SPACE, as_boolean, as_number, as_string
from app.i18n import translate

_NOTHING: Mapping[str, Any] = {}
# A text this long is within MAX_TEXT_LENGTH however the phone counts it (UTF-16 units).
SURELY_SHORT_TEXT = MAX_TEXT_LENGTH // 2
_SELECTS = frozenset({"select_one", "select_multiple", "rank"})


def _members(nodes: list[CompiledNode]) -> Iterator[CompiledNode]:
    """The questions and repeats of one answers object (groups are transparent)."""
    for compiled in nodes:
        if compiled.node.kind == "group":
            yield from _members(compiled.children)
        else:
            yield compiled


def _instances(
    compiled: CompiledNode, parent: ElementNode, out: dict[str, Any], raw: Mapping[str, Any]
) -> Iterator[tuple[ElementNode, dict[str, Any], Mapping[str, Any]]]:
    """Each instance of a repeat: its element, its answers as normalised and as sent (nothing
    when it was not sent as an object)."""
    node = compiled.node
    sent = raw.get(node.name)
    sent_items = sent if type(sent) is list else []
    for index, item in enumerate(out.get(node.name) or [], 1):
        sent_item = sent_items[index - 1] if index <= len(sent_items) else _NOTHING
        yield (
            ElementNode(node, item, parent, index),
            item,
            sent_item if type(sent_item) is dict else _NOTHING,
        )


# Why an expression could not be evaluated, by the kind of error, in Vietnamese: the error's
# own text (Python's, or the XPath functions') is English and goes in the English message only.
_FAILURES_VI: tuple[tuple[type[Exception], str], ...] = (
    (ArithmeticError, "một phép tính vượt quá giới hạn của số"),
    (ValueError, "một giá trị không dùng được ở đó"),
    (TypeError, "một hàm nhận giá trị không đúng kiểu"),
    (LookupError, "một giá trị được tham chiếu không có"),
)


def expression_failed(where: str, error: Exception) -> Problem:
    """The problem of an expression that failed on this survey's answers, in each language."""
    english = str(error)[:200]
    vietnamese = next(
        (text for kind, text in _FAILURES_VI if isinstance(error, kind)), "lỗi khi tính"
    )
    return Problem(
        where,
        "expression_failed",
        {"error": english},
        texts={
            "en": translate("expression_failed", "en", error=english),
            "vi": translate("expression_failed", "vi", error=vietnamese),
        },
    )


class _Run:
    """One survey's checking: the answers as sent, the normalised ones, the problems."""

    __slots__ = ("_env", "answers", "form", "now", "problems", "texts")

    def __init__(self, form: FormDefinition, answers: dict[str, Any], now: datetime | None) -> None:
        self.form = form
        self.answers = answers  # the normalised answers, as they are filled
        self.now = now
        self.problems: list[Problem] = []
        self._env: Env | None = None
        # Texts read as typed by every expression, stored trimmed once all have read them:
        # (the answers object, the name, the text as read).
        self.texts: list[tuple[dict[str, Any], str, str]] = []

    def keep(self, out: dict[str, Any], name: str, coerce: Any, value: Any) -> None:
        """An answer as its coercion gave it; a text is also stored trimmed later."""
        out[name] = value
        if coerce is coerce_text:
            self.texts.append((out, name, value))

    def store_texts(self) -> None:
        """Every text answer as stored: trimmed (answer_types.store_text)."""
        for out, name, text in self.texts:
            if out.get(name) is text:
                stored = store_text(text)
                if stored:
                    out[name] = stored
                else:  # blank to Python's strip() (\x1c-\x1f, \x85): stored as no answer
                    del out[name]

    @property
    def env(self) -> Env:
        """What expressions see, made on first use: a flat plan of direct tests needs none."""
        env = self._env
        if env is None:
            env = self._env = Env(
                doc=DocumentNode(self.form.root, self.answers),
                instances=self.form.compiled.instances,
                answers=self.answers,
                now=self.now,
            )
        return env

    def flat(
        self,
        steps: list[tuple[Any, ...]],
        raw: dict[str, Any],
        out: dict[str, Any],
        prefix: str,
        given: Mapping[str, Any],
    ) -> None:
        """One pass in form order, for forms where it sees what pass 1 to 3 would (fast)."""
        problems = self.problems
        for name, kind, question, choices, relevant, constraint, required, coerce in steps:
            if name in given:
                out[name] = given[name]
                continue
            value = raw.get(name)
            if relevant is not None and not self.passes(relevant, question, out, prefix + name):
                if not is_empty(value):
                    problems.append(not_relevant(self.form, prefix + name, question.relevant))
                continue
            # The usual answers, already in their normal form: what their coercion gives.
            if (
                kind == "select_one"
                and constraint is None
                and type(value) is str
                and value in choices
            ):
                out[name] = value
                continue
            if (
                kind == "integer" and type(value) is int and -MAX_INTEGER <= value <= MAX_INTEGER
            ) or (
                kind == "decimal"
                and type(value) is float
                and math.isfinite(value)
                and abs(value) <= MAX_INTEGER
            ):
                out[name] = value
            elif (
                kind == "text"
                and type(value) is str
                and 0 < len(value) <= SURELY_SHORT_TEXT
                and value.strip(JS_SPACE)  # not blank to the phone's trim()
            ):
                out[name] = value
                if value[0].isspace() or value[-1].isspace():
                    self.texts.append((out, name, value))
            else:
                if kind == "note":
                    continue
                if is_empty(value):
                    if required is True or (
                        required is not None and self.passes(required, question, out, prefix + name)
                    ):
                        problems.append(
                            Problem(
                                prefix + name, "required", texts=_own(question.required_message)
                            )
                        )
                    continue
                coerced, problem = coerce(question, value, prefix + name)
                if problem is not None:
                    problems.append(problem)
                    continue
                self.keep(out, name, coerce, coerced)
            if constraint is not None and not self.passes(constraint, question, out, prefix + name):
                del out[name]
                problems.append(
                    Problem(
                        prefix + name,
                        "constraint",
                        {"constraint": question.constraint},
                        texts=_own(question.constraint_message),
                    )
                )

    def passes(
        self,
        expression: tuple[Compiled, Test | None],
        question: Question,
        out: dict[str, Any],
        where: str,
    ) -> bool:
        """An expression of a question of the flat plan, read as a boolean: by its direct
        test when it has one (app.forms.direct), else as `holds` does."""
        compiled, test = expression
        if test is None:
            return self.holds(compiled, LeafNode(question, out, None), where)
        try:
            return test(out)
        except (ValueError, ArithmeticError, TypeError, KeyError, IndexError) as exc:
            self.problems.append(expression_failed(where, exc))
            return False

    def coerce(
        self, nodes: list[CompiledNode], raw: dict[str, Any], out: dict[str, Any], prefix: str
    ) -> None:
        """Types and shapes of every answer of one answers object (pass 1)."""
        for compiled in _members(nodes):
            node = compiled.node
            name = node.name
            value = raw.get(name)
            if value is None:
                continue
            if node.kind == "repeat":
                self.coerce_repeat(compiled, value, out, prefix + name)
                continue
            kind = node.type  # type: ignore[union-attr]
            if kind == "note":
                continue
            if kind == "select_one" and type(value) is str and value in node.choice_values:  # type: ignore[union-attr]
                out[name] = value  # the usual case, already in its normal form
                continue
            if kind == "integer" and type(value) is int and abs(value) <= MAX_INTEGER:
                out[name] = value
                continue
            if is_empty(value):
                continue
            coerce = COERCIONS.get(kind, coerce_text)
            coerced, problem = coerce(node, value, prefix + name)  # type: ignore[arg-type]
            if problem is not None:
                self.problems.append(problem)
            else:
                self.keep(out, name, coerce, coerced)

    def coerce_repeat(
        self, compiled: CompiledNode, value: Any, out: dict[str, Any], where: str
    ) -> None:
        if type(value) is not list:
            self.problems.append(Problem(where, "wrong_type", {"expected": "list"}))
            return
        if len(value) > MAX_REPEATS:
            self.problems.append(Problem(where, "too_many_repeats", {"max": MAX_REPEATS}))
            return
        instances: list[dict[str, Any]] = []
        for index, item in enumerate(value, 1):
            inner_where = f"{where}[{index}]"
            if type(item) is not dict:
                self.problems.append(Problem(inner_where, "wrong_type", {"expected": "object"}))
                instances.append({})
                continue
            known = {member.node.name for member in _members(compiled.children)}
            for key in item:
                if key not in known:
                    self.problems.append(
                        Problem(
                            f"{inner_where}.{key}",
                            "unknown_question",
                            {"form": self.form.form_id, "name": key},
                        )
                    )
            inner: dict[str, Any] = {}
            self.coerce(compiled.children, item, inner, inner_where + ".")
            instances.append(inner)
        out[compiled.node.name] = instances

    def fill_defaults(
        self,
        nodes: list[CompiledNode],
        parent: ElementNode,
        out: dict[str, Any],
        raw: Mapping[str, Any],
    ) -> None:
        """The defaults of the questions the survey does not name, as the phone fills them
        when it makes a survey or a repeat instance (fillDefaults): once, relevant or not
        (what is not relevant is cleared by settle), in form order, each reading the answers
        and the defaults filled before it (b = ${a} * 2 reads a's, as ODK Collect fills
        them); then those of each repeat instance. A default its type does not take (NaN
        for an integer) leaves its question empty.

        Never one sent empty: the phone (and ODK Collect) filled it when the survey was
        created, and the volunteer cleared it."""
        repeats: list[CompiledNode] = []

        def visit(children: list[CompiledNode], element: ElementNode) -> None:
            for compiled in children:
                node = compiled.node
                if node.kind == "group":
                    visit(compiled.children, ElementNode(node, out, element, 1))
                elif node.kind == "repeat":
                    repeats.append(compiled)
                elif (
                    compiled.default is not None
                    and compiled.calculate is None
                    and node.name not in out
                    and node.name not in raw
                ):
                    text = self.computed(compiled, LeafNode(node, out, element))
                    if text == "":
                        continue
                    coerce = COERCIONS.get(node.type, coerce_text)  # type: ignore[union-attr]
                    coerced, problem = coerce(node, text, "")  # type: ignore[arg-type]
                    if problem is None:
                        self.keep(out, node.name, coerce, coerced)

        visit(nodes, parent)
        for compiled in repeats:
            if compiled.has_calculations:
                for element, item, sent_item in _instances(compiled, parent, out, raw):
                    self.fill_defaults(compiled.children, element, item, sent_item)

    def settle(
        self,
        nodes: list[CompiledNode],
        parent: ElementNode,
        out: dict[str, Any],
        raw: Mapping[str, Any],
        shown: bool,
    ) -> bool:
        """One round of pass 2, which the phone repeats until nothing changes: relevance top
        down; what the server filled (a default, a calculation) cleared where it is not
        relevant (a calculate in a hidden group is empty to every expression, also to a
        question before it); the calculations the survey does not hold computed where
        relevant. Whether anything changed.

        An answer sent where it is not relevant is kept for pass 3, which refuses it; a
        calculate the survey holds is taken as sent."""
        changed = False
        for compiled in nodes:
            node = compiled.node
            if node.kind == "group":
                element = ElementNode(node, out, parent, 1)
                relevant = shown and self.quietly_holds(compiled.relevant, element)
                changed |= self.settle(compiled.children, element, out, raw, relevant)
                continue
            if node.kind == "repeat":
                if shown and compiled.repeat_count is not None:
                    changed |= self.make_instances(compiled, parent, out, raw)
                for element, item, sent_item in _instances(compiled, parent, out, raw):
                    relevant = shown and self.quietly_holds(compiled.relevant, element)
                    changed |= self.settle(compiled.children, element, item, sent_item, relevant)
                continue
            if not is_empty(raw.get(node.name)):
                continue  # as sent: pass 3 checks it, a calculate is taken as it is
            leaf = LeafNode(node, out, parent)
            if not (shown and self.quietly_holds(compiled.relevant, leaf)):
                changed |= out.pop(node.name, None) is not None
                continue
            if compiled.calculate is None:
                continue
            text = self.computed(compiled, leaf)
            if text == "":
                changed |= out.pop(node.name, None) is not None
            elif out.get(node.name) != text:
                out[node.name] = text
                self.texts.append((out, node.name, text))
                changed = True
        return changed

    def make_instances(
        self,
        compiled: CompiledNode,
        parent: ElementNode,
        out: dict[str, Any],
        raw: Mapping[str, Any],
    ) -> bool:
        """A repeat with a repeat_count holds that many instances, as the phone and ODK
        Collect make them: those the survey does not send are empty, with their defaults
        (count(), sum() and position() see them, pass 3 checks them: a required question in
        one is named). One made here beyond a count that fell since is taken away again;
        one sent beyond the count is refused in pass 3 (check_repeat_count). Whether the
        instances changed."""
        node = compiled.node
        name = node.name
        sent = raw.get(name)
        if sent is not None and name not in out:
            return False  # not a list, or too long: refused in pass 1
        try:
            count = self.repeat_count(compiled, parent)
        except (ValueError, ArithmeticError, TypeError, KeyError, IndexError):
            return False  # reported in pass 3
        items = out.get(name)
        if items is None:
            items = []
        given = len(sent) if type(sent) is list else 0
        changed = False
        if len(items) > max(count, given):
            del items[max(count, given) :]
            changed = True
        while len(items) < count:
            item: dict[str, Any] = {}
            items.append(item)
            if compiled.has_calculations:
                element = ElementNode(node, item, parent, len(items))
                self.fill_defaults(compiled.children, element, item, _NOTHING)
            changed = True
        if items or name in out:
            out[name] = items
        return changed

    def repeat_count(self, compiled: CompiledNode, parent: ElementNode) -> int:
        """The instances a repeat_count asks for, as the phone reads it (at most MAX_REPEATS,
        0 when it is no number)."""
        assert compiled.repeat_count is not None
        # Read from the repeat itself, as XForms' jr:count is: pyxform writes a count inside a
        # repeat relative to it (`${people}` of the same house is `../people`).
        context = ElementNode(compiled.node, {}, parent, 1)
        count = as_number(compiled.repeat_count(Ctx(context, 1, 1, context, self.env)))
        return min(MAX_REPEATS, max(0, math.floor(count))) if math.isfinite(count) else 0

    def computed(self, compiled: CompiledNode, leaf: LeafNode) -> str:
        """A question's calculation, or else its default, as text ("" when it fails)."""
        expression = compiled.calculate or compiled.default
        if expression is None:
            return ""
        try:
            return as_string(expression(Ctx(leaf, 1, 1, leaf, self.env)))
        except (ValueError, ArithmeticError, TypeError, KeyError, IndexError):
            return ""

    def quietly_holds(self, expression: Compiled | None, node: XNode) -> bool:
        """A relevance read during pass 2: true without one, and true (as on the phone) when
        it fails, which pass 3 reports once."""
        if expression is None:
            return True
        try:
            return as_boolean(expression(Ctx(node, 1, 1, node, self.env)))
        except (ValueError, ArithmeticError, TypeError, KeyError, IndexError):
            return True

    def holds(self, expression: Compiled, node: XNode, where: str) -> bool:
        """An expression read as a boolean; one that fails to evaluate is a problem."""
        try:
            return as_boolean(expression(Ctx(node, 1, 1, node, self.env)))
        except (ValueError, ArithmeticError, TypeError, KeyError, IndexError) as exc:
            self.problems.append(expression_failed(where, exc))
            return False

    def check(
        self,
        nodes: list[CompiledNode],
        parent: ElementNode,
        raw: dict[str, Any],
        out: dict[str, Any],
        prefix: str,
        shown: bool,
    ) -> None:
        """Relevance, required, choices and constraints in form order (pass 3)."""
        for compiled in nodes:
            node = compiled.node
            name = node.name
            if node.kind == "group":
                element = ElementNode(node, out, parent, 1)
                relevant = shown and (
                    compiled.relevant is None
                    or self.holds(compiled.relevant, element, prefix + name)
                )
                self.check(compiled.children, element, raw, out, prefix, relevant)
                continue
            if node.kind == "repeat":
                self.check_repeat(compiled, parent, raw, out, prefix, shown)
                continue
            where = prefix + name
            leaf = LeafNode(node, out, parent)
            relevant = shown and (
                compiled.relevant is None or self.holds(compiled.relevant, leaf, where)
            )
            if not relevant:
                if not is_empty(raw.get(name)):
                    # Hidden by its own condition, or (not shown) by its group's: named apart.
                    condition = node.relevant if shown else None
                    self.problems.append(not_relevant(self.form, where, condition))
                out.pop(name, None)
                continue
            value = out.get(name)
            if value is None:
                if not is_empty(raw.get(name)) or node.type == "note":  # type: ignore[union-attr]
                    continue  # a wrong type, reported in pass 1
                if compiled.always_required or (
                    compiled.required is not None and self.holds(compiled.required, leaf, where)
                ):
                    self.problems.append(
                        Problem(where, "required", texts=_own(node.required_message))  # type: ignore[union-attr]
                    )
                continue
            if compiled.choice_filter is not None and not self.offered(compiled, leaf, value):
                self.problems.append(Problem(where, "choice_not_offered", {"value": value}))
                continue
            if compiled.constraint is not None and not self.holds(compiled.constraint, leaf, where):
                self.problems.append(
                    Problem(
                        where,
                        "constraint",
                        {"constraint": node.constraint},  # type: ignore[union-attr]
                        texts=_own(node.constraint_message),  # type: ignore[union-attr]
                    )
                )

    def check_repeat(
        self,
        compiled: CompiledNode,
        parent: ElementNode,
        raw: dict[str, Any],
        out: dict[str, Any],
        prefix: str,
        shown: bool,
    ) -> None:
        node = compiled.node
        name = node.name
        instances = out.get(name) or []
        raw_items = raw.get(name)
        raw_items = raw_items if type(raw_items) is list else []
        if not shown:
            if any(_answered(item) for item in raw_items):
                self.problems.append(not_relevant(self.form, prefix + name, None))
            out.pop(name, None)
            return
        if compiled.repeat_count is not None:
            self.check_repeat_count(compiled, parent, len(instances), prefix + name)
        if not instances:
            return
        kept = []
        for index, item in enumerate(instances, 1):
            element = ElementNode(node, item, parent, index)
            where = f"{prefix}{name}[{index}]"
            raw_item = raw_items[index - 1] if index - 1 < len(raw_items) else {}
            if type(raw_item) is not dict:
                raw_item = {}  # reported as wrong_type in pass 1
            relevant = compiled.relevant is None or self.holds(compiled.relevant, element, where)
            if not relevant:
                if _answered(raw_item):
                    self.problems.append(not_relevant(self.form, where, node.relevant))
                continue
            self.check(compiled.children, element, raw_item, item, where + ".", True)
            kept.append(item)
        if len(kept) != len(instances):  # instances that do not apply are dropped, as on the phone
            if kept:
                out[name] = kept
            else:
                del out[name]

    def check_repeat_count(
        self, compiled: CompiledNode, parent: ElementNode, given: int, where: str
    ) -> None:
        """No more instances than the repeat_count says (the phone cannot add any beyond it);
        those it says and the survey left out were made empty (make_instances)."""
        try:
            allowed = self.repeat_count(compiled, parent)
        except (ValueError, ArithmeticError, TypeError, KeyError, IndexError) as exc:
            self.problems.append(expression_failed(where, exc))
            return
        if given > allowed:
            self.problems.append(Problem(where, "too_many_repeats", {"max": allowed}))

    def offered(self, compiled: CompiledNode, leaf: LeafNode, value: Any) -> bool:
        """Whether every chosen name passes the choice filter with this question as current()."""
        question = compiled.node
        document = self.env.instances.get(question.list_name or "")  # type: ignore[union-attr]
        if document is None or compiled.choice_filter is None:
            return True
        items = document.children(None)[0].children("item")
        size = len(items)
        wanted = set(str(value).split()) if question.type != "select_one" else {value}  # type: ignore[union-attr]
        found = set()
        for position, item in enumerate(items, 1):
            names = item.children("name")
            if not names or names[0].text() not in wanted:
                continue
            try:
                passes = as_boolean(
                    compiled.choice_filter(Ctx(item, position, size, leaf, self.env))
                )
            except (ValueError, ArithmeticError, TypeError, KeyError, IndexError):
                passes = False
            if passes:
                found.add(names[0].text())
        return found == wanted


def _flat_steps(compiled: CompiledForm) -> list[tuple[Any, ...]]:
    """The flat plan as tuples (name, type, question, choices, relevant, constraint, required,
    coercion): fewer lookups per question on the ingest path. An expression is held as
    (compiled, direct test or None); `required` is True when always required."""
    compiler = _Compiler(compiled.schema)
    steps = []
    for node in compiled.flat or ():
        question: Question = node.node  # type: ignore[assignment]
        name = question.name
        required: Any = (
            True
            if node.always_required
            else _expression(node.required, question.required_expression, name, compiler)
        )
        steps.append(
            (
                name,
                question.type,
                question,
                question.choice_values,
                _expression(node.relevant, question.relevant, name, compiler),
                _expression(node.constraint, question.constraint, name, compiler),
                required,
                COERCIONS.get(question.type, coerce_text),
            )
        )
    compiled.flat_steps = steps
    return steps


def _expression(
    function: Compiled | None, text: str | None, own_name: str, compiler: _Compiler
) -> tuple[Compiled, Test | None] | None:
    """A question's expression as (compiled, direct test of the answers when its shape has
    one, `.` being its own answer)."""
    if function is None or not text:
        return None

    def answer_named(ast: Ast) -> str | None:
        if ast == ("path", ".", [("self", None, [])]):
            return own_name
        if ast[0] == "path" and ast[1] == "/":
            leaf = compiler.static_leaf(ast[2])
            return None if leaf is None else str(leaf.name)
        return ast[1] if ast[0] == "ref" else None

    return function, compile_test(parse(text), answer_named)


def _answered(item: Any) -> bool:
    """Whether a repeat instance as sent holds any answer."""
    return type(item) is dict and any(not is_empty(value) for value in item.values())


def _own(texts: dict[str, str]) -> dict[str, str]:
    """The form's own message by language; one written without a language serves every one."""
    if "default" in texts:
        return {"vi": texts["default"], "en": texts["default"], **texts}
    return texts


def validate_answers(
    form: FormDefinition,
    answers: dict[str, Any],
    prefix: str = "answers.",
    given: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> tuple[dict[str, Any], list[Problem]]:
    """Check types, choices, required, relevance and constraints; return (normalised, problems).

    The evaluation of docs/forms-engine.md: every answer is first read as its type (pass 1),
    missing calculations and defaults are computed (pass 2), then relevance (inherited from
    groups and repeats), required, choice filters and constraints are checked in form order
    over the whole survey, as the phone does (pass 3). Repeats are lists of objects; a problem
    inside one names it as `answers.member[2].age` (positions from 1). `given` holds values
    known to be valid (the survey's own location for the form's geopoint). `now` is the time
    today() and now() read: the survey's collection time, so that a survey sent days later
    gets the verdict it had on the phone (the server's clock when None).
    """
    compiled = form.compiled
    normalised: dict[str, Any] = {}
    run = _Run(form, normalised, now)
    problems = run.problems
    top = compiled.top_level
    meta = False
    # The usual survey answers only the form's questions: one set operation tells.
    for name in () if top.issuperset(answers) else answers:
        if name not in top:
            if name in META_KEYS:
                meta = True
            else:
                problems.append(
                    Problem(
                        f"{prefix}{name}", "unknown_question", {"form": form.form_id, "name": name}
                    )
                )
    # A key named like ODK metadata that is no question of the form; a question of the form
    # named so (a `text` named `start` or `end`, an `integer` named `deviceid`: ordinary names
    # to pyxform and Collect) is read as its own type below.
    for name in META_KEYS.intersection(answers).difference(top) if meta else ():
        value, problem = coerce_meta(name, answers[name], prefix + name)
        if problem is not None:
            problems.append(problem)
        elif value is not None:
            normalised[name] = value
    if compiled.flat is not None:
        # No relative path in a flat plan: questions need no parent element.
        steps = compiled.flat_steps or _flat_steps(compiled)
        run.flat(steps, answers, normalised, prefix, given or _NOTHING)
        run.store_texts()
        return normalised, problems
    if given:
        answers = {**answers, **given}
    root = ElementNode(form.root, normalised, run.env.doc, 1)
    run.coerce(compiled.children, answers, normalised, prefix)
    if compiled.has_calculations:
        run.fill_defaults(compiled.children, root, normalised, answers)
    if compiled.has_calculations or compiled.has_repeat_counts:
        # As the phone settles a survey: until nothing changes (a form's calculations read
        # no circle, so this ends; the phone stops after 25 rounds too). One round is
        # enough for a form whose expressions read nothing after them (settle_rounds).
        # Each repeat_count makes its repeat's instances there (make_instances).
        for _ in range(compiled.settle_rounds):
            if not run.settle(compiled.children, root, normalised, answers, True):
                break
    run.check(compiled.children, root, answers, normalised, prefix, True)
    run.store_texts()
    return normalised, problems
