"""Quality rules (forms/quality.yaml): answers that contradict each other, flagged for review.

Written like XLSForm expressions and compiled by the same evaluator as `relevant` and
`constraint`, so a rule means on the server what it would mean in a form. A rule of the usual
shapes (an answer against a literal, selected(), and/or) is also compiled to a plain test of
the answers (app.forms.direct), which gives the same verdict without an evaluation context.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from app.forms.direct import Test, compile_test
from app.forms.xpath import (
    Ast,
    Compiled,
    ExpressionError,
    Predicate,
    compile_expression,
    compile_predicate,
    flat_context,
    parse,
)
from app.forms.xpath_values import as_boolean


@dataclass(frozen=True)
class QualityRule:
    """One contradiction: a name, its expression (compiled) and its label in vi and en."""

    form_id: str
    name: str
    expression: str
    label: dict[str, str]
    predicate: Predicate
    compiled: Compiled  # the same expression over a context (see QualityRules.broken)
    test: Test | None = None  # the same again on the answers, for the usual shapes


@dataclass(frozen=True)
class QualityRules:
    """Every rule, by form."""

    by_form: Mapping[str, tuple[QualityRule, ...]]

    def broken(self, form_id: str, answers: Mapping[str, Any]) -> list[str]:
        """The names of the rules these answers match (an answer missing matches none)."""
        rules = self.by_form.get(form_id)
        if not rules:
            return []
        found = []
        context = None  # one for every rule needing it: a survey's answers, as given
        for rule in rules:
            try:
                if rule.test is not None:
                    matches = rule.test(answers)
                else:
                    context = context or flat_context(answers)
                    matches = as_boolean(rule.compiled(context))
            except (ExpressionError, ArithmeticError, TypeError, ValueError):
                continue
            if matches:
                found.append(rule.name)
        return found


NO_RULES = QualityRules({})


def _answer_named(ast: Ast) -> str | None:
    """The answer a rule's operand reads: `${name}`."""
    return ast[1] if ast[0] == "ref" else None


def load_quality_rules(path: Path) -> QualityRules:
    """Read and compile the rules; a broken file or rule is an error naming it (at start)."""
    if not path.is_file():
        return NO_RULES
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected form ids, each with a list of rules")
    by_form: dict[str, tuple[QualityRule, ...]] = {}
    for form_id, rules in data.items():
        compiled = []
        for index, rule in enumerate(rules or []):
            where = f"{path.name}: {form_id}, rule {index + 1}"
            if not isinstance(rule, dict) or not {"name", "when"} <= set(rule):
                raise ValueError(f"{where}: needs a name and a `when` expression")
            try:
                ast = parse(str(rule["when"]))
                predicate, compiled_rule = compile_predicate(ast), compile_expression(ast)
            except ExpressionError as exc:
                raise ValueError(f"{where} ({rule['name']}): {exc}") from exc
            label = rule.get("label") or {}
            compiled.append(
                QualityRule(
                    str(form_id),
                    str(rule["name"]),
                    str(rule["when"]),
                    {lang: str(label.get(lang) or rule["name"]) for lang in ("vi", "en")},
                    predicate,
                    compiled_rule,
                    compile_test(ast, _answer_named),
                )
            )
        by_form[str(form_id)] = tuple(compiled)
    return QualityRules(by_form)
