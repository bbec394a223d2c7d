"""static/collect/xpath.js in Chromium agrees with app/forms/xpath.py on every shared case."""

from __future__ import annotations

import math
from typing import Any

from playwright.sync_api import Page

from tests.unit.test_xpath import CASES, NAN, expected_outcome, outcome, same

EVALUATE_ALL = """
async (cases) => {
  const xpath = await import("/static/collect/xpath.js");
  return cases.map(([expression, answers, current]) => {
    try {
      const value = xpath.evaluate(xpath.parse(expression), answers, current);
      if (value === null || value === undefined) return {kind: "null", value: null};
      if (typeof value === "boolean") return {kind: "boolean", value};
      if (typeof value === "number") {
        return {kind: "number", value: Number.isNaN(value) ? "NaN" : value};
      }
      return {kind: "string", value: String(value)};
    } catch (error) {
      if (error instanceof xpath.ExpressionError) return {kind: "error", value: null};
      return {kind: "crash", value: String(error)};
    }
  });
}
"""


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return NAN
    return value


def test_js_and_python_evaluators_agree(desktop: Page) -> None:
    desktop.goto("/collect")
    cases = [
        [expression, answers, _json_safe(current)] for expression, answers, current, _ in CASES
    ]
    results = desktop.evaluate(EVALUATE_ALL, cases)
    disagreements = []
    for (expression, answers, current, expected), js in zip(CASES, results, strict=True):
        python = outcome(expression, answers, current)
        if not (same(js, python) and same(js, expected_outcome(expected))):
            disagreements.append((expression, current, {"js": js, "python": python}))
    assert disagreements == []
