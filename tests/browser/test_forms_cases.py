"""The shared table of cases (tests/forms/cases.yaml) run through the phone's form engine
(static/collect/form.js over the vendored openrosa-xpath-evaluator) in Chromium: every case
gets the verdict the table gives, which tests/unit/test_forms_corpus.py checks the server
gives too. Every form of the corpus that loads is also evaluated empty without an error of
the engine, and its screens are built."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
import yaml
from playwright.sync_api import Browser, Page

from app.forms.definition import FormLoadError, load_form
from app.settings import REPO_ROOT

pytestmark = pytest.mark.browser

CORPUS = REPO_ROOT / "tests" / "forms"
CASES: list[dict[str, Any]] = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))

VERDICTS = """
async ([models, cases, language]) => {
  const form = await import("/static/collect/form.js");
  const i18n = await import("/static/collect/i18n.js");
  i18n.setLanguage(language);  // the app's language: the screen's, never the expressions'
  return cases.map(([name, answers]) => {
    try {
      return form.problemsOf({ form_id: name, model: models[name] }, answers);
    } catch (error) {
      return [`crash: ${error.name}: ${error.message}`];
    }
  });
}
"""

EMPTY_FORMS = """
async (models) => {
  const form = await import("/static/collect/form.js");
  const out = {};
  for (const [name, model] of Object.entries(models)) {
    try {
      const definition = { form_id: name, model };
      const answers = form.applyDefaults(definition, {});
      const result = form.evaluateForm(definition, answers, null);
      const broken = Object.entries(result.errors)
        .filter(([, message]) => message.includes("biểu thức") || message.includes("expression"));
      out[name] = { screens: form.screens(definition).length, broken };
    } catch (error) {
      out[name] = { crash: `${error.name}: ${error.message}` };
    }
  }
  return out;
}
"""


@cache
def model(name: str) -> dict[str, Any]:
    return load_form(CORPUS / name).model


def corpus_models() -> dict[str, dict[str, Any]]:
    models = {}
    for path in sorted(CORPUS.glob("*.md")):
        if not path.read_text(encoding="utf-8").lstrip().startswith("|"):
            continue  # notes that other tests turn into workbooks
        try:
            models[path.name] = model(path.name)
        except FormLoadError:
            continue  # refused at load, named in tests/unit/test_forms_corpus.py
    return models


@pytest.fixture
def vietnam_page(browser: Browser, live_server: str) -> Any:
    """A page of the app on a phone in Vietnam (today() is Vietnam's day; the locale is vi-VN,
    which format-date's %a and %b once followed)."""
    context = browser.new_context(
        base_url=live_server, timezone_id="Asia/Ho_Chi_Minh", locale="vi-VN"
    )
    page = context.new_page()
    page.goto("/collect")
    yield page
    context.close()


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_phone_gives_every_case_the_tables_verdict(vietnam_page: Page, language: str) -> None:
    """Whatever the app's language: jr:choice-name() and a list's labels read by expressions
    are the form's default language on the phone, as on the server."""
    models = {case["form"]: model(case["form"]) for case in CASES}
    verdicts = vietnam_page.evaluate(
        VERDICTS, [models, [[case["form"], case["answers"]] for case in CASES], language]
    )
    disagreements = []
    for index, (case, phone) in enumerate(zip(CASES, verdicts, strict=True)):
        expected = [] if case.get("valid") else sorted(case.get("fields") or [case["field"]])
        if phone != expected:
            disagreements.append((index, case["form"], case.get("note", ""), expected, phone))
    assert disagreements == []
    assert len(CASES) >= 40


def test_every_form_of_the_corpus_is_evaluated_empty_without_an_engine_error(
    vietnam_page: Page,
) -> None:
    models = corpus_models()
    assert len(models) >= 10
    results = vietnam_page.evaluate(EMPTY_FORMS, models)
    wrong = {
        name: result
        for name, result in results.items()
        if "crash" in result or result["broken"] or result["screens"] < 1
    }
    assert wrong == {}


CLEARED = """
async (model) => {
  const form = await import("/static/collect/form.js");
  const definition = { form_id: "defaults_cleared", model };
  const answers = form.applyDefaults(definition, {});
  const filled = form.answersToSend(definition, answers);
  delete answers.n;  // the volunteer clears two of the defaults
  answers.street = "";
  return [filled, form.answersToSend(definition, answers)];
}
"""


def test_a_cleared_default_is_sent_empty_and_the_server_keeps_it_empty(
    vietnam_page: Page,
) -> None:
    from app.forms.validation import validate_answers

    filled, cleared = vietnam_page.evaluate(CLEARED, model("defaults_cleared.md"))
    assert filled == {"n": 5, "sm": "yes no", "street": "Lê Lợi"}
    assert cleared == {"n": "", "sm": "yes no", "street": ""}
    form = load_form(CORPUS / "defaults_cleared.md")
    assert validate_answers(form, cleared) == ({"sm": "yes no"}, [])


HALF_AN_EMOJI = """
async ([model, withoutToWellFormed]) => {
  const form = await import("/static/collect/form.js");
  const toWellFormed = String.prototype.toWellFormed;
  if (withoutToWellFormed) delete String.prototype.toWellFormed;  // an older phone
  try {
    const definition = { form_id: "calculate_substring", model };
    const answers = form.answersToSend(definition, { name: "😀abc" });
    return [answers, JSON.stringify(answers)];
  } finally {
    String.prototype.toWellFormed = toWellFormed;
  }
}
"""


@pytest.mark.parametrize("without_to_well_formed", [False, True])
def test_a_calculate_splitting_an_emoji_is_sent_as_the_server_computes_it(
    vietnam_page: Page, without_to_well_formed: bool
) -> None:
    """substring() counts UTF-16 units: the phone sent "\\ude00abc", a lone surrogate the
    server refuses (invalid_unicode), so the survey never left the phone."""
    from app.api.requests import parse_json
    from app.forms.validation import validate_answers
    from app.services.intake import item_problems

    definition = load_form(CORPUS / "calculate_substring.md")
    answers, body = vietnam_page.evaluate(HALF_AN_EMOJI, [definition.model, without_to_well_formed])
    assert answers == {"name": "😀abc", "rest": "\ufffdabc", "first": "\ufffd"}
    sent = parse_json(body.encode("utf-8"))
    assert item_problems(sent) == []
    assert validate_answers(definition, sent) == (sent, [])
    computed, _ = validate_answers(definition, {"name": "😀abc"})
    assert computed == sent  # what the server computes: a resend is the same survey


TYPED_NUMBERS = """
async (model) => {
  const form = await import("/static/collect/form.js");
  const definition = { form_id: "parity_phone_numbers", model };
  const typed = (answers) => {
    const draft = form.applyDefaults(definition, answers);
    const { evaluation } = form.settle(definition, draft, null);
    return [Object.keys(evaluation.errors), evaluation.normalised];
  };
  return [
    typed({ phone_num: "0905123456" }),
    typed({ amount: "2.0", why: "x" }),
    typed({ amount: "2,50", why: "x", seven: "x" }),
  ];
}
"""


def test_numbers_typed_on_the_phone_are_read_as_the_numbers_sent(vietnam_page: Page) -> None:
    """A volunteer's "0905123456" passed string-length(.) = 10 on the phone and was sent as
    905123456, which the server refused: the survey never left the outbox."""
    from app.forms.validation import validate_answers

    definition = load_form(CORPUS / "parity_phone_numbers.md")
    results = vietnam_page.evaluate(TYPED_NUMBERS, definition.model)
    assert results == [
        [["phone_num"], {"k": 7, "dd": 1.5}],
        [[], {"amount": 2, "k": 7, "dd": 1.5}],
        [[], {"amount": 2.5, "why": "x", "k": 7, "dd": 1.5}],
    ]
    for _errors, sent in results[1:]:
        assert validate_answers(definition, sent) == (sent, [])


REPEAT_INSTANCES = """
async (model) => {
  const form = await import("/static/collect/form.js");
  const definition = { form_id: "parity_phone_repeat", model };
  const typed = (answers) => {
    const { evaluation } = form.settle(definition, answers, null);
    const { relevant, addable, normalised } = evaluation;
    return [normalised, addable, ["r[2]", "r2[1]", "r2[2]"].map((key) => relevant[key])];
  };
  return [
    typed({ r: [{ s: "a" }, { s: "b" }, { s: "c" }], r2: [{ s2: "a" }, { s2: "b" }] }),
    typed({ r: [{ s: "a" }], r2: [{ s2: "a" }] }),
  ];
}
"""


def test_a_repeats_relevance_is_each_instances_and_the_survey_sent_is_accepted(
    vietnam_page: Page,
) -> None:
    """The phone read a repeat's relevance once, on an empty instance after the others, and
    applied it to all: count(../r2) < 3 with two instances dropped both, and position(.) != 2
    sent [a, c], whose second the server refused. Each instance is read in its place; one
    that does not apply is sent empty so that the others keep theirs."""
    from app.forms.validation import validate_answers

    definition = load_form(CORPUS / "parity_phone_repeat.md")
    (full, one) = vietnam_page.evaluate(REPEAT_INSTANCES, definition.model)
    sent, addable, relevant = full
    assert sent == {"r": [{"s": "a"}, {}, {"s": "c"}], "r2": [{"s2": "a"}, {"s2": "b"}]}
    assert (addable, relevant) == ({"r": True, "r2": False}, [False, True, True])
    assert validate_answers(definition, sent) == (
        {"r": [{"s": "a"}, {"s": "c"}], "r2": [{"s2": "a"}, {"s2": "b"}]},
        [],
    )
    # One of each: a second r would be r[2], which does not apply; a second r2 would.
    assert one[:2] == [{"r": [{"s": "a"}], "r2": [{"s2": "a"}]}, {"r": False, "r2": True}]


ONCE_IN_A_DRAFT = """
async (model) => {
  const form = await import("/static/collect/form.js");
  const definition = { form_id: "parity_phone_once", model };
  const draft = form.applyDefaults(definition, {});
  const first = form.evaluateForm(definition, draft, null);
  let shownBefore = first.relevant;
  const rounds = [[first.values.r, first.values.started, Boolean(first.relevant.treat), null]];
  for (let round = 0; round < 10; round += 1) {
    await new Promise((resolve) => setTimeout(resolve, 5));  // now() moves on
    if (shownBefore.treat && round === 0) form.setAnswerAt(definition, draft, "treat", "có");
    form.setAnswerAt(definition, draft, "other", `ghi chú ${round}`);
    const { evaluation } = form.settle(definition, draft, null, shownBefore);
    shownBefore = evaluation.relevant;
    const { r, started } = evaluation.values;
    rounds.push([r, started, Boolean(evaluation.relevant.treat), draft.treat ?? null]);
  }
  return [rounds, form.answersToSend(definition, draft, null)];
}
"""


def test_once_keeps_the_first_value_through_every_answer_of_a_draft(vietnam_page: Page) -> None:
    """r = once(random()) decides whether `treat` is asked. The phone kept no calculate in its
    draft, so once() read an empty node and drew again at every answer: treat came and went,
    and its answer was dropped whenever it went (once(now()) drifted too). ODK Collect keeps
    the first value; the draft holds it, and the server keeps the value sent."""
    from app.forms.validation import validate_answers

    definition = load_form(CORPUS / "parity_phone_once.md")
    rounds, sent = vietnam_page.evaluate(ONCE_IN_A_DRAFT, definition.model)
    r, started, shown, _ = rounds[0]
    assert r and started
    assert shown == (float(r) < 0.5)
    for round_r, round_started, round_shown, treat in rounds[1:]:
        assert (round_r, round_started, round_shown) == (r, started, shown)
        assert treat == ("có" if shown else None)
    assert (sent["r"], sent["started"]) == (r, started)
    assert ("treat" in sent) == shown
    assert validate_answers(definition, sent) == (sent, [])


DEFAULT_CHAIN = """
async (model) => {
  const form = await import("/static/collect/form.js");
  const definition = { form_id: "parity_phone_default_chain", model };
  const draft = form.applyDefaults(definition, {});
  const evaluation = form.evaluateForm(definition, draft, null);
  const sent = form.answersToSend(definition, draft, null);
  return [{ ...draft }, Object.keys(evaluation.errors), sent];
}
"""


def test_a_default_reads_the_defaults_before_it_as_on_the_server(vietnam_page: Page) -> None:
    """b = ${a} * 2 gave "NaN" on the phone (flagged), the server dropped it; Collect gives 6.
    A default that is no number (${unknown} * 2) leaves its question empty on both sides."""
    from app.forms.validation import validate_answers

    definition = load_form(CORPUS / "parity_phone_default_chain.md")
    draft, errors, sent = vietnam_page.evaluate(DEFAULT_CHAIN, definition.model)
    assert "e" not in draft and "f" not in draft
    assert errors == ["check"]
    # e and f have a default but no answer: sent empty, so that the server does not fill them.
    assert sent == {"a": 3, "b": 6, "c": "x3", "e": "", "f": "", "later": 8}
    server, _problems = validate_answers(definition, {})
    assert (
        server == validate_answers(definition, sent)[0] == {"a": 3, "b": 6, "c": "x3", "later": 8}
    )


UNICODE_CASCADE = """
async (model) => {
  const form = await import("/static/collect/form.js");
  const definition = { form_id: "parity_phone_unicode_columns", model };
  const evaluation = form.evaluateForm(definition, { tinh: "qn", huyen: "tk" }, null);
  const names = (key) => form.choicesAt(evaluation, key).map((choice) => choice.value);
  return [names("huyen"), names("xa"), Object.keys(evaluation.errors)];
}
"""


def test_a_column_named_in_vietnamese_filters_the_choices_on_the_phone(vietnam_page: Page) -> None:
    """The choices sheet's `tỉnh` column and the CSV's `huyện` column: the phone left out every
    column whose name was not ASCII, so the district was flagged and none was offered."""
    definition = load_form(CORPUS / "parity_phone_unicode_columns.md")
    huyen, xa, errors = vietnam_page.evaluate(UNICODE_CASCADE, definition.model)
    assert (huyen, xa, errors) == (["tk", "ha"], ["an_my", "an_son"], [])


def test_the_phone_refuses_a_boundary_of_more_points_than_the_server_takes(
    vietnam_page: Page,
) -> None:
    """app/geo/geoshape.py MAX_POINTS, told where the volunteer is (too long to be a case of
    the shared table)."""
    from app.geo.geoshape import MAX_POINTS

    verdicts = vietnam_page.evaluate(
        """async ([model, most]) => {
          const form = await import("/static/collect/form.js");
          const ring = (n) => Array.from({ length: n }, (_, i) => {
            const angle = (2 * Math.PI * i) / n;
            const lat = (15.57 + 0.002 * Math.sin(angle)).toFixed(7);
            return `${lat} ${(108.47 + 0.002 * Math.cos(angle)).toFixed(7)} 0 5`;
          }).join(";");
          const definition = { form_id: "boundary_walk.md", model };
          const errors = (n) => form.evaluateForm(
            definition, { settlement_name: "Xóm Bàu", boundary: ring(n) }, null).errors;
          return [errors(most).boundary ?? null, errors(most + 1).boundary ?? null];
        }""",
        [model("boundary_walk.md"), MAX_POINTS],
    )
    assert verdicts[0] is None
    assert verdicts[1] is not None and "20.000" in verdicts[1]
