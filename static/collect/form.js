// The form logic: relevance, types, required and constraints, as app/forms/validation.py
// checks them on the server, plus the grouping of questions into screens.

import { ExpressionError, check } from "./xpath.js";
import { pick, t } from "./i18n.js";

export const SUPPORTED_TYPES = new Set([
  "text", "integer", "decimal", "select_one", "select_multiple", "geopoint", "image", "date",
  "note",
]);
const MAX_TEXT_LENGTH = 2000;
const INTEGER = /^[+-]?\d+$/;

/** True when the app can render every question of a form. */
export function renderable(form) {
  return form.questions.every((q) => SUPPORTED_TYPES.has(q.type));
}

/** The screens of a form: one per question group, in form order. */
export function screens(form) {
  const result = [];
  for (const question of form.questions) {
    const key = question.group ?? "";
    let screen = result.at(-1);
    if (!screen || screen.key !== key) {
      screen = { key, questions: [] };
      result.push(screen);
    }
    screen.questions.push(question);
  }
  return result;
}

/** The title of a group (pyxform keeps group labels in the source). */
export function groupLabel(form, key) {
  const find = (children) => {
    for (const child of children ?? []) {
      if (child.type === "group" && child.name === key) return child.label;
      const found = find(child.children);
      if (found) return found;
    }
    return null;
  };
  const label = find(form.source?.children);
  if (!label) return "";
  if (typeof label === "string") return label;
  // pyxform labels are keyed "Tiếng Việt (vi)"; reduce them to codes.
  const byCode = {};
  for (const [name, text] of Object.entries(label)) {
    const code = /\(([^()]+)\)\s*$/.exec(name);
    byCode[code ? code[1].trim() : name] = text;
  }
  return pick(byCode);
}

function isEmpty(value) {
  return value === undefined || value === null || (typeof value === "string" && value.trim() === "");
}

/** The geopoint text the server builds from a location: "lat lon altitude accuracy". */
export function geopointText(location) {
  if (!location) return "";
  return `${location.lat} ${location.lon} ${location.altitude_m || 0} ${location.accuracy_m || 0}`;
}

function coerce(question, raw) {
  const text = typeof raw === "string" ? raw.trim() : raw;
  switch (question.type) {
    case "integer":
      if (typeof text === "number" && Number.isInteger(text)) return { value: text };
      return INTEGER.test(String(text)) ? { value: parseInt(String(text), 10) } : { error: "not_integer" };
    case "decimal": {
      const number = typeof text === "number" ? text : Number(String(text).replace(",", "."));
      return Number.isFinite(number) ? { value: number } : { error: "not_number" };
    }
    case "select_multiple":
      return { value: [...new Set(String(text).split(/\s+/).filter(Boolean))].join(" ") };
    case "date":
      return /^\d{4}-\d{2}-\d{2}$/.test(String(text)) ? { value: String(text) } : { error: "invalid_date" };
    default:
      if (String(text).length > MAX_TEXT_LENGTH) return { error: "text_too_long" };
      return { value: String(text) };
  }
}

function message(question, code) {
  if (code === "required") return pick(question.required_message) || t("required");
  if (code === "constraint") return pick(question.constraint_message) || t("constraint");
  return t(code, { max: MAX_TEXT_LENGTH });
}

/**
 * Walk the form in order as the server does: which questions are relevant, the normalised
 * answers (what will be sent), and an error message per question that is wrong.
 */
export function evaluateForm(form, answers, location) {
  const relevant = {};
  const normalised = {};
  const errors = {};
  for (const question of form.questions) {
    let isRelevant = true;
    try {
      isRelevant = !question.relevant || check(question.relevant, normalised);
    } catch (error) {
      if (!(error instanceof ExpressionError)) throw error;
      errors[question.name] = t("expression_error", { detail: error.message });
    }
    relevant[question.name] = isRelevant;
    if (!isRelevant || question.type === "note") continue;
    const value = question.type === "geopoint" ? geopointText(location) : answers[question.name];
    if (isEmpty(value)) {
      if (question.required) {
        errors[question.name] = question.type === "geopoint" ? t("gps_missing") : message(question, "required");
      }
      continue;
    }
    const { value: coerced, error } = coerce(question, value);
    if (error) {
      errors[question.name] = message(question, error);
      continue;
    }
    if (question.constraint) {
      let passes = true;
      try {
        passes = check(question.constraint, normalised, coerced);
      } catch (problem) {
        if (!(problem instanceof ExpressionError)) throw problem;
        errors[question.name] = t("expression_error", { detail: problem.message });
        continue;
      }
      if (!passes) {
        errors[question.name] = message(question, "constraint");
        continue;
      }
    }
    normalised[question.name] = coerced;
  }
  return { relevant, normalised, errors };
}

/** The answers to send: relevant, valid, non-empty, without the geopoint (sent as location). */
export function answersToSend(form, answers, location) {
  const { normalised } = evaluateForm(form, answers, location);
  for (const question of form.questions) {
    if (question.type === "geopoint") delete normalised[question.name];
  }
  return normalised;
}

/** Drop the answers of questions that are not relevant any more; true when any was dropped. */
export function clearIrrelevant(form, answers, location) {
  let changed = false;
  for (;;) {
    const { relevant } = evaluateForm(form, answers, location);
    const stale = form.questions.filter((q) => !relevant[q.name] && !isEmpty(answers[q.name]));
    if (stale.length === 0) return changed;
    for (const question of stale) delete answers[question.name];
    changed = true;
  }
}
