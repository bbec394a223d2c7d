// The form engine over the form model (docs/forms-engine.md, the contract with the server):
// an XML instance built from the model and the survey's answers, evaluated with the vendored
// openrosa-xpath-evaluator (xpath.js) with each question's node as context, as Enketo does:
// defaults, calculates, relevance inherited from groups and repeats, required and constraint
// expressions, choice filters, repeat counts and ${name} outputs. The answers sent are the
// contract's format (repeats as lists); tests/forms/ holds the verdicts the server shares.
//
// A survey's draft keeps `answers` in the same shape, with the text as typed; every check
// rebuilds the instance from it (a household form is evaluated in a few milliseconds).

import { ExpressionError, evaluate } from "./xpath.js";
import { pick, t } from "./i18n.js";
import { XML_NAME, plainText } from "./markdown.js";
import { geopointText, locationQuestion, modelOf, questionsOf, walk } from "./model.js";

export {
  SUPPORTED_TYPES, attachmentsOf, findQuestion, firstTextAnswer, geopointText, isLocationQuestion,
  modelOf, questionsOf, readableRows, registerWidgetTypes, renderable, screens, shown,
} from "./model.js";

// A typed answer's bound, and a calculate's (the form's own value: a join over a repeat is
// legitimately longer), as the server's (app/forms/answer_types.py).
const MAX_TEXT_LENGTH = 2000;
const MAX_CALCULATE_LENGTH = 65536;
const longest = (node) => (node.type === "calculate" ? MAX_CALCULATE_LENGTH : MAX_TEXT_LENGTH);
// The most instances of one repeat a survey holds, a repeat_count's too: the server's
// MAX_REPEATS (tests/unit/test_phone_limits.py checks they are equal).
const MAX_REPEATS = 500;
const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIME = /^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-]\d\d:?\d\d)?$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?$/;
// A file question's answer is the name of the file sent beside the survey (the server's rule).
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const FILE_QUESTIONS = new Set(["image", "audio", "file", "video"]);
const POINT = /^-?\d+(\.\d+)?\s+-?\d+(\.\d+)?(\s+-?\d+(\.\d+)?){0,2}$/;
const NUMBER_TYPES = new Set(["integer", "decimal", "range"]);
const LIST_TYPES = new Set(["select_multiple", "rank"]);

// ---------------------------------------------------------------- secondary instances

const instanceDocuments = new WeakMap();

/**
 * A label as expressions read it (jr:choice-name(), a list's label column): in the language
 * the server evaluates in (the model's `expression_language`: the form's default language),
 * whatever language the screen shows, so that a verdict never depends on the app's language.
 * A label missing in that language is the first the choice has, as on the server.
 */
function expressionLabel(model, labels) {
  if (labels === null || labels === undefined) return "";
  if (typeof labels !== "object") return String(labels);
  const language = model.expression_language ?? model.default_language;
  return labels[language] || (Object.values(labels)[0] ?? "");
}

// A column of a choice list or CSV is an element of its item when its name is an XML name, as
// on the server: `tỉnh` is read by a choice_filter (`tỉnh = ${tinh}`) like `province`.
const COLUMN_NAME = new RegExp(`^${XML_NAME}$`, "u");

function secondaryInstances(model) {
  let documents = instanceDocuments.get(model);
  if (documents) return documents;
  documents = {};
  for (const [name, items] of Object.entries(model.instances ?? {})) {
    const document_ = document.implementation.createDocument(null, "root", null);
    for (const item of items) {
      const element = document_.createElement("item");
      for (const [key, value] of Object.entries(item)) {
        if (!COLUMN_NAME.test(key)) continue;
        let child;
        try {
          child = document_.createElement(key);
        } catch {
          continue;  // a name XML refuses (no expression can name it either)
        }
        child.textContent = typeof value === "object" && value !== null ? expressionLabel(model, value) : String(value ?? "");
        element.append(child);
      }
      element.choice = item; // the model's item, for the widgets
      document_.documentElement.append(element);
    }
    documents[name] = document_;
  }
  instanceDocuments.set(model, documents);
  return documents;
}

// ---------------------------------------------------------------- the instance

function isEmpty(value) {
  return value === undefined || value === null || (typeof value === "string" && value.trim() === "")
    || (Array.isArray(value) && value.length === 0);
}

function rawText(node, value, strict = false) {
  if (isEmpty(value)) return "";
  if (Array.isArray(value)) return value.join(" ");
  const text = String(value);
  if (NUMBER_TYPES.has(node.type)) {
    // Read as the number sent and stored ("+5" is 5, "1.50" is 1.5), as the server reads it.
    const { value: number } = coerce(node, value, strict);
    return number === undefined ? text.trim().replace(",", ".") : String(number);
  }
  return text;
}

/**
 * The XML instance of a survey: a record per group, repeat instance and question, in form
 * order, each with its element, its answers object (`scope`: the survey's answers, or one
 * repeat instance of them) and its key on screen (`member[2]/age`).
 */
function buildInstance(form, answers, location, received = false) {
  const model = modelOf(form);
  const doc = document.implementation.createDocument(null, model.root || "data", null);
  const records = [];
  const where = received ? null : locationQuestion(model);
  const fill = (element, children, scope, prefix, parent) => {
    for (const node of children ?? []) {
      if (node.kind === "group") {
        const child = doc.createElement(node.name);
        element.append(child);
        const record = { node, element: child, scope, key: `${prefix}${node.name}`, parent, kind: "group" };
        records.push(record);
        fill(child, node.children, scope, prefix, record);
      } else if (node.kind === "repeat") {
        const list = Array.isArray(scope[node.name]) ? scope[node.name] : [];
        const repeat = { node, element, scope, key: `${prefix}${node.name}`, parent, kind: "repeat", instances: [] };
        records.push(repeat);
        list.forEach((item, index) => {
          const child = doc.createElement(node.name);
          element.append(child);
          const key = `${prefix}${node.name}[${index + 1}]`;
          const record = { node, element: child, scope: item, key, parent: repeat, kind: "instance", index, list };
          repeat.instances.push(record);
          records.push(record);
          fill(child, node.children, item, `${key}/`, record);
        });
      } else {
        const child = doc.createElement(node.name);
        const value = node === where ? geopointText(location) : scope[node.name];
        child.textContent = rawText(node, value, received);
        element.append(child);
        const key = `${prefix}${node.name}`;
        records.push({ node, element: child, scope, key, parent, kind: "question", typed: child.textContent });
      }
    }
  };
  fill(doc.documentElement, model.children, answers ?? {}, "", null);
  return { doc, records, model, instances: secondaryInstances(model), where };
}

function environment(instance) {
  return {
    instances: instance.instances,
    primary: instance.doc,
    choiceName: (value, path, current) => choiceLabel(instance, value, path, current),
  };
}

const questionPaths = new WeakMap();

function questionAt(model, path) {
  let paths = questionPaths.get(model);
  if (!paths) {
    paths = new Map();
    for (const [node] of walk(model.children)) if (node.kind === "question") paths.set(node.path, node);
    questionPaths.set(model, paths);
  }
  return paths.get(path);
}

/** The instance path of an element of the survey (`/data/m/dname`, without indexes). */
function elementPath(element) {
  const names = [];
  for (let node = element; node?.nodeType === Node.ELEMENT_NODE; node = node.parentNode) names.unshift(node.nodeName);
  return `/${names.join("/")}`;
}

/**
 * The question jr:choice-name() names, as JavaRosa reads its path: from the node whose
 * expression it is (`here`) when relative (pyxform writes ' ../dist ' inside a repeat:
 * /data/m/dist from /data/m/dname; `current()/..` too), indexes left out. The server reads it
 * alike (app/forms/xpath_functions.py, choice_name_path).
 */
function choicePath(path, here) {
  let text = path.replace(/\[[^\]]*\]/g, "").trim();
  const parts = [];
  if (!text.startsWith("/")) {
    parts.push(...here.split("/").filter(Boolean));
    text = text.replace(/^current\(\s*\)/, "");
  }
  for (let step of text.split("/")) {
    step = step.trim();
    if (step.startsWith("child::")) step = step.slice("child::".length);
    if (step === "" || step === "." || step === "self::node()") continue;
    if (step === ".." || step === "parent::node()") parts.pop();
    else parts.push(step);
  }
  return `/${parts.join("/")}`;
}

function choiceLabel(instance, value, path, current) {
  const here = current?.ownerDocument === instance.doc ? elementPath(current) : "/";
  const node = questionAt(instance.model, choicePath(path, here));
  const item = (instance.model.instances?.[node?.choices] ?? []).find((c) => c.name === value);
  return item ? expressionLabel(instance.model, item.label) : "";
}

function run(instance, expression, record, as) {
  return evaluate(expression, record.element, as, environment(instance));
}

// ---------------------------------------------------------------- evaluation

function validDate(text) {
  const match = DATE.exec(text);
  if (!match) return false;
  const [year, month, day] = text.split("-").map(Number);
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function geometryError(node, text) {
  const points = [];
  for (const chunk of text.trim().replace(/;+$/, "").split(";")) {
    const parts = chunk.trim().split(/\s+/).filter(Boolean);
    if (!parts.length) continue;
    if (parts.length < 2 || parts.length > 4 || !parts.every((p) => DECIMAL.test(p))) return "invalid_location";
    const numbers = parts.map(Number);
    if (!numbers.every(Number.isFinite)) return "invalid_location";  // 1e999, as the server
    const [lat, lon] = numbers;
    if (!(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180)) return "invalid_location";
    points.push([lat, lon]);
  }
  if (node.type === "geopoint") return points.length === 1 ? null : "invalid_location";
  if (points.length > MAX_POINTS) return "geo_too_many_points";
  if (node.type === "geoshape") return shapeError(points);
  return points.length < 2 ? "invalid_location" : null;
}

// A boundary as the server reads it (app/geo/geoshape.py): closed on its first point, with at
// least 3 different corners, not all on one line. Told here, where the volunteer can walk it
// again, not once the survey has left the place.
const MIN_CORNERS = 3;
// As the server (app/geo/geoshape.py MAX_POINTS): 40 km walked at the widget's step of 2 m.
const MAX_POINTS = 20000;
const ON_LINE_TOLERANCE = 1e-9;

function shapeError(points) {
  const ring = points.map(([lat, lon]) => [lon, lat]);
  const [first, last] = [ring[0], ring[ring.length - 1]];
  if (ring.length && (first[0] !== last[0] || first[1] !== last[1])) ring.push(first);
  if (new Set(ring.map(([x, y]) => `${x} ${y}`)).size < MIN_CORNERS) return "geoshape_too_few";
  return onOneLine(ring) ? "geoshape_no_area" : null;
}

function onOneLine(ring) {
  const [x0, y0] = ring[0];
  let [x1, y1] = ring[0];
  let farthest = -1;
  for (const [x, y] of ring) {
    const distance = (x - x0) ** 2 + (y - y0) ** 2;
    if (distance > farthest) [farthest, x1, y1] = [distance, x, y];
  }
  const [dx, dy] = [x1 - x0, y1 - y0];
  const length = Math.hypot(dx, dy);
  return ring.every(([x, y]) => Math.abs(dx * (y - y0) - dy * (x - x0)) <= ON_LINE_TOLERANCE * length * length);
}

function rangeError(node, number) {
  const parameters = node.parameters ?? {};
  const start = Number(parameters.start ?? 1);
  const end = Number(parameters.end ?? 10);
  const step = Number(parameters.step ?? 1);
  if (![start, end, step].every(Number.isFinite)) return "not_number";
  const steps = step ? (number - start) / step : 0;
  const inside = number >= Math.min(start, end) && number <= Math.max(start, end);
  return inside && Math.abs(steps - Math.round(steps)) <= 1e-9 ? null : "out_of_range";
}

// `strict`: answers as received (the verdict the server gives); otherwise text as typed on
// the phone, where a decimal comma is a decimal point.
function coerce(node, raw, strict = false) {
  const text = typeof raw === "string" ? raw.trim() : raw;
  switch (node.type) {
    case "integer":
      if (typeof text === "number" && Number.isInteger(text)) return { value: text };
      if (typeof text === "boolean" || !INTEGER.test(String(text))) return { error: "not_integer" };
      return Math.abs(Number(text)) > 2 ** 53 ? { error: "number_too_large" } : { value: parseInt(String(text), 10) };
    case "decimal":
    case "range": {
      const string = strict ? String(text) : String(text).replace(",", ".");
      const number = typeof text === "number" ? text : typeof text === "string" && DECIMAL.test(string) ? Number(string) : NaN;
      if (!Number.isFinite(number)) return { error: "not_number" };
      if (Math.abs(number) > 2 ** 53) return { error: "number_too_large" };
      if (node.type === "range") {
        const error = rangeError(node, number);
        if (error) return { error };
      }
      return { value: number };
    }
    case "select_multiple":
    case "rank": {
      // Received, a list holds one choice name an item (a text or a number), as the server reads it.
      const named = (v) => (typeof v === "string" || (typeof v === "number" && Number.isFinite(v))) && /^\S+$/.test(String(v).trim());
      if (strict && Array.isArray(text) && !text.every(named)) return { error: "not_a_choice" };
      const items = Array.isArray(text) ? text.map((v) => String(v).trim()) : String(text).split(/\s+/).filter(Boolean);
      if (node.type === "rank" && new Set(items).size !== items.length) return { error: "rank_repeated" };
      return { value: [...new Set(items)].join(" ") };
    }
    case "date":
      return validDate(String(text)) ? { value: String(text) } : { error: "invalid_date" };
    case "datetime":
      return DATETIME.test(String(text)) && validDate(String(text).slice(0, 10)) ? { value: String(text) } : { error: "invalid_date" };
    case "time":
      return typeof text === "string" && TIME.test(text) ? { value: text } : { error: "invalid_time" };
    case "geopoint":
    case "geotrace":
    case "geoshape": {
      if (typeof text !== "string") return { error: "invalid_location" };
      const error = geometryError(node, text);
      return error ? { error } : { value: text.split(/\s+/).join(" ") };
    }
    case "acknowledge":
      return text === "OK" ? { value: "OK" } : { error: "not_a_choice" };
    default:
      if (typeof text !== "string" && (typeof text !== "number" || !Number.isFinite(text))) return { error: "not_text" };
      if (String(text).length > longest(node)) return { error: "text_too_long" };
      if (FILE_QUESTIONS.has(node.type) && (!FILE_NAME.test(String(text).trim()) || String(text).includes(".."))) {
        return { error: "invalid_file_name" };
      }
      return { value: typeof raw === "string" ? raw : String(raw) };
  }
}

function message(node, code) {
  if (code === "required") return pick(node.required_message) || t("required");
  if (code === "constraint") return pick(node.constraint_message) || t("constraint");
  return t(code, { max: longest(node) });
}

/** The choices of a select question for one record: its list, through its choice_filter. */
function choicesFor(instance, record) {
  const node = record.node;
  const documentOf = instance.instances[node.choices];
  if (!documentOf) return [];
  const items = [...documentOf.documentElement.children];
  const kept = node.choice_filter
    ? items.filter((item) => evaluate(node.choice_filter, item, "boolean", { ...environment(instance), current: record.element }))
    : items;
  return kept.map((item) => ({ ...item.choice, value: String(item.choice.name), label: item.choice.label }));
}

// A repeat's relevance is each instance's, read with that instance as context (as JavaRosa
// and the server read it: `position(.) != 2`, `count(../r) < 3`); whether one more may be
// added (the "add" button, Collect's "add another?") is asked of an empty one after them.
function relevantSelf(instance, record, errors) {
  const expression = record.node.relevant;
  if (!expression) return true;
  try {
    if (record.kind === "repeat") {
      const template = record.element.ownerDocument.createElement(record.node.name);
      const last = record.instances.at(-1)?.element;
      if (last) last.after(template); // its position(.) is theirs plus one
      else record.element.append(template);
      try {
        return evaluate(expression, template, "boolean", environment(instance));
      } finally {
        template.remove();
      }
    }
    return run(instance, expression, record, "boolean");
  } catch (error) {
    if (!(error instanceof ExpressionError)) throw error;
    errors[record.key] = t("expression_error", { detail: error.message });
    return true;
  }
}

/**
 * Evaluate a survey as the server will: which groups, instances and questions are relevant,
 * the error of each wrong question (by key), the repeat counts a `repeat_count` asks for,
 * and the answers to send (`normalised`, the contract's format). `filled`: the keys of the
 * answers filled as the server fills defaults (answers as received), not typed.
 */
export function evaluateForm(form, answers, location, { received = false, filled = null } = {}) {
  const instance = buildInstance(form, answers, location, received);
  const { records } = instance;
  const relevant = {};
  const errors = {};
  // Relevance top-down and calculates, in rounds until nothing changes (calculates depend on
  // each other and on relevance: a form's dependencies are acyclic, so this settles), as the
  // server settles a survey (app/forms/validation.py, settle): an answer typed is empty to
  // every expression while its question is hidden (it is not sent) and is read again once a
  // later round shows it (a relevance reading a calculation placed after it); a calculation
  // is made again where it applies; a default the server fills is gone once hidden.
  for (let pass = 0; pass < 25; pass += 1) {
    let changed = false;
    for (const record of records) {
      const parentRelevant = record.parent ? relevant[record.parent.key] : true;
      const isRelevant = parentRelevant && (record.kind === "repeat" || relevantSelf(instance, record, errors));
      relevant[record.key] = isRelevant;
      if (record.kind !== "question") continue;
      let text = record.typed;
      if (!isRelevant) {
        text = "";
        if (filled?.has(record.key)) record.typed = "";
      } else if (record.node.calculate) {
        try {
          text = run(instance, record.node.calculate, record, "string");
        } catch (error) {
          if (!(error instanceof ExpressionError)) throw error;
          // Nothing the volunteer can fix: the calculate is sent empty and the server, which
          // recomputes a calculate sent without a value, fills it (digest() is one: the phone
          // leaves out node-forge, which it needs).
          console.warn(`calculate ${record.key}: ${error.message}`);
          text = "";
        }
      }
      if (text !== record.element.textContent) {
        record.element.textContent = text;
        changed = true;
      }
    }
    if (!changed) break;
  }
  const repeatCounts = {};
  for (const record of records) {
    if (record.kind !== "repeat" || !record.node.repeat_count || !relevant[record.key]) continue;
    // Read from the repeat itself, as XForms' jr:count is: pyxform writes a count inside a
    // repeat relative to it (`${people}` of the same house is `../people`).
    let context = record.instances[0]?.element;
    const temporary = context ? null : record.element.ownerDocument.createElement(record.node.name);
    if (temporary) {
      record.element.append(temporary);
      context = temporary;
    }
    try {
      const count = evaluate(record.node.repeat_count, context, "number", environment(instance));
      repeatCounts[record.key] = Number.isFinite(count) ? Math.max(0, Math.min(MAX_REPEATS, Math.floor(count))) : 0;
    } catch (error) {
      if (!(error instanceof ExpressionError)) throw error;
      errors[record.key] = t("expression_error", { detail: error.message });
    } finally {
      temporary?.remove();
    }
  }
  // A repeat is shown while one of its instances applies or one more may be added.
  const addable = {};
  for (const record of records) {
    if (record.kind !== "repeat" || !relevant[record.key]) continue;
    addable[record.key] = relevantSelf(instance, record, errors);
    relevant[record.key] = addable[record.key] || record.instances.some((i) => relevant[i.key]);
  }
  const values = {};
  for (const record of records) {
    if (record.kind !== "question" || !relevant[record.key] || errors[record.key]) continue;
    const node = record.node;
    if (node.type === "note") continue;
    const text = record.element.textContent;
    values[record.key] = text;
    const sent = received && !node.calculate ? record.scope[node.name] : text;
    try {
      if (isEmpty(text) && !(Array.isArray(sent) && sent.length)) {
        if (node.required && run(instance, node.required, record, "boolean")) {
          errors[record.key] = node === instance.where ? t("gps_missing") : message(node, "required");
        }
        continue;
      }
      const { error } = coerce(node, sent, received);
      if (error) {
        errors[record.key] = message(node, error);
        continue;
      }
      if (node.choices && !node.calculate) {
        const allowed = new Set(choicesFor(instance, record).map((c) => c.value));
        const chosen = LIST_TYPES.has(node.type) ? text.split(/\s+/).filter(Boolean) : [text.trim()];
        if (!chosen.every((name) => allowed.has(name))) {
          errors[record.key] = message(node, "not_a_choice");
          continue;
        }
        if (node.type === "rank" && !node.choice_filter && new Set(chosen).size !== allowed.size) {
          errors[record.key] = message(node, "rank_incomplete");  // every choice, in order
          continue;
        }
      }
      if (node.constraint && !run(instance, node.constraint, record, "boolean")) {
        errors[record.key] = message(node, "constraint");
      }
    } catch (error) {
      if (!(error instanceof ExpressionError)) throw error;
      errors[record.key] = t("expression_error", { detail: error.message });
    }
  }
  return {
    instance, relevant, errors, values, repeatCounts, addable,
    normalised: payloadOf(instance, relevant, errors),
  };
}

/**
 * The survey's name by the form's `instance_name` setting (pyxform's `${name}` expression, as
 * ODK Collect names its instances), evaluated over the answers; "" when the form has none,
 * it names nothing answered, or it cannot be evaluated here.
 */
export function instanceName(form, answers, location) {
  const expression = form.source?.instance_name;
  if (typeof expression !== "string" || !expression.trim()) return "";
  const paths = new Map();
  for (const question of questionsOf(form)) if (!paths.has(question.name)) paths.set(question.name, question.path);
  let unknown = false;
  const xpath = expression.replace(/\$\{([^}]+)\}/g, (_, name) => {
    unknown ||= !paths.has(name.trim());
    return paths.get(name.trim()) ?? "";
  });
  if (unknown) return "";
  try {
    const { instance } = evaluateForm(form, answers, location);
    const name = evaluate(xpath, instance.doc.documentElement, "string", environment(instance));
    // The separators a concat() puts between answers not given yet: " - " says nothing.
    return /[\p{L}\p{N}]/u.test(name) ? name.replace(/^[\s,;:|·/–—-]+|[\s,;:|·/–—-]+$/gu, "") : "";
  } catch (error) {
    console.warn("instance_name not evaluated", error);
    return "";
  }
}

function fieldOf(key) {
  return `answers.${key.replaceAll("/", ".")}`;
}

/**
 * The fields the server would refuse in answers as received (sent by any client), named as it
 * names them (`answers.member[2].age`): what the phone checks, plus answers to questions that
 * do not apply, names the form does not have and repeats that are not lists. Missing answers
 * with a default take it first, as the server does, and so do the instances a repeat_count asks
 * for beyond those sent. tests/forms/cases.yaml holds the verdicts.
 */
export function problemsOf(form, answers) {
  const model = modelOf(form);
  const problems = new Set();
  const refused = new Set();  // repeats sent as something other than a list
  const copy = structuredClone(answers ?? {});
  const shape = (children, scope, prefix) => {
    const names = new Set();
    const visit = (nodes) => {
      for (const node of nodes ?? []) {
        if (node.kind === "group") {
          visit(node.children);
          continue;
        }
        names.add(node.name);
        if (node.kind !== "repeat" || !(node.name in scope)) continue;
        const list = scope[node.name];
        if (!Array.isArray(list)) {
          problems.add(`${prefix}${node.name}`);
          refused.add(`${prefix}${node.name}`);
          delete scope[node.name];
          continue;
        }
        list.forEach((item, index) => {
          const key = `${prefix}${node.name}[${index + 1}]`;
          if (!item || typeof item !== "object" || Array.isArray(item)) {
            problems.add(key);
            list[index] = {};
          } else {
            shape(node.children, item, `${key}/`);
          }
        });
      }
    };
    visit(children);
    for (const name of Object.keys(scope)) if (!names.has(name)) problems.add(`${prefix}${name}`);
  };
  shape(model.children, copy, "");
  const sent = structuredClone(copy);
  const fillMissing = (children, scope) => {
    fillDefaults(form, copy, null, scope, true);
    for (const [node] of walk(children)) {
      if (node.kind === "repeat" && Array.isArray(scope[node.name])) {
        for (const item of scope[node.name]) fillMissing(node.children, item);
      }
    }
  };
  fillMissing(model.children, copy);
  const sentRecords = buildInstance(form, sent, null, true).records;
  const wasSent = new Map(sentRecords.map((r) => [r.key, r]));
  // The defaults filled here are the server's (fill_defaults), not the survey's answers.
  const filledIn = (answers) => new Set(buildInstance(form, answers, null, true).records
    .filter((r) => r.kind === "question" && !isEmpty(r.scope[r.node.name])
      && isEmpty(wasSent.get(r.key)?.scope[r.node.name]))
    .map((r) => r.key));
  let evaluation = evaluateForm(form, copy, null, { received: true, filled: filledIn(copy) });
  // A repeat with a repeat_count holds that many instances, as the phone makes them and ODK
  // Collect does: those not sent are empty, with their defaults (count() and sum() see them,
  // their required questions are named), as the server makes them (validation.py,
  // make_instances); one made beyond a count that fell since is taken away again.
  const given = (key) => wasSent.get(key)?.instances?.length ?? 0;
  for (let round = 0; round < 25; round += 1) {
    let changed = false;
    for (const record of evaluation.instance.records) {
      if (record.kind !== "repeat" || !(record.key in evaluation.repeatCounts) || refused.has(record.key)) continue;
      const wanted = evaluation.repeatCounts[record.key];
      const list = Array.isArray(record.scope[record.node.name]) ? record.scope[record.node.name] : [];
      const most = Math.max(wanted, given(record.key));
      if (list.length <= most && list.length >= wanted) continue;
      if (list.length > most) list.length = most;
      record.scope[record.node.name] = list;
      const defaults = [...walk(record.node.children)].some(([node]) => hasDefault(node));
      while (list.length < wanted) {
        const item = {};
        list.push(item);
        if (defaults) fillDefaults(form, copy, null, item, true);
      }
      changed = true;
    }
    if (!changed) break;
    evaluation = evaluateForm(form, copy, null, { received: true, filled: filledIn(copy) });
  }
  for (const record of evaluation.instance.records) {
    if (record.kind !== "repeat" || !(record.key in evaluation.repeatCounts)) continue;
    // More than the count: the phone never holds them (the server refuses the repeat).
    if (given(record.key) > evaluation.repeatCounts[record.key]) problems.add(record.key);
  }
  const { instance, relevant, errors } = evaluation;
  const hidden = new Set();
  for (const record of instance.records) {
    if (record.parent && hidden.has(record.parent.key)) {
      hidden.add(record.key);
      continue;
    }
    const original = wasSent.get(record.key);
    if (!relevant[record.key] && original) {
      if (record.kind === "instance") {
        // An instance holding an answer; an empty one is dropped, as the server does.
        if (Object.values(original.scope).some((value) => !isEmpty(value))) problems.add(record.key);
        hidden.add(record.key);
      } else if (record.kind === "question" && !record.node.calculate && !isEmpty(original.scope[record.node.name])) {
        problems.add(record.key);
      }
    }
  }
  for (const [key, _] of Object.entries(errors)) {
    const record = instance.records.find((r) => r.key === key);
    if (record && !record.node.calculate && !hidden.has(key)) problems.add(key);
  }
  return [...problems].map(fieldOf).sort();
}

// A calculate's text with each lone surrogate as U+FFFD, as the server computes it: XPath
// counts UTF-16 units, so substring() of a text starting with an emoji splits it, and the
// server refuses a survey holding half of one (invalid_unicode), for ever.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const wellFormed = (text) =>
  typeof text.toWellFormed === "function" ? text.toWellFormed() : text.replace(LONE_SURROGATE, "\ufffd");

function payloadOf(instance, relevant, errors) {
  const payload = {};
  const scopes = new Map([[null, payload]]);
  const target = (record) => {
    let holder = record.parent;
    while (holder && holder.kind === "group") holder = holder.parent;
    return scopes.get(holder ?? null);
  };
  for (const record of instance.records) {
    if (record.kind === "instance" && !relevant[record.key]) {
      // Sent empty (the server drops it), so that the instances after it keep their place:
      // the server reads position(..) and count() of the instances sent.
      target(record.parent)?.[record.node.name]?.push({});
      continue;
    }
    if (!relevant[record.key]) continue;
    if (record.kind === "repeat") {
      if (record.instances.some((i) => relevant[i.key])) target(record)[record.node.name] = [];
    } else if (record.kind === "instance") {
      const item = {};
      target(record.parent)[record.node.name].push(item);
      scopes.set(record, item);
    } else if (record.kind === "question") {
      const node = record.node;
      if (node.type === "note" || node === instance.where || errors[record.key]) continue;
      const text = record.element.textContent;
      if (isEmpty(text)) {
        // Cleared by the volunteer: sent empty, so that the server does not fill its default
        // again (a question the survey does not name takes its default there).
        if (hasDefault(node)) target(record)[node.name] = "";
        continue;
      }
      const { value } = node.calculate ? { value: wellFormed(text) } : coerce(node, text);
      if (value !== undefined) target(record)[node.name] = value;
    }
  }
  return payload;
}

/** The answers to send: relevant, valid, non-empty, without the location (sent apart). */
export function answersToSend(form, answers, location) {
  return evaluateForm(form, answers, location).normalised;
}

/**
 * Drop the answers of questions that are not relevant any more, and make repeats with a
 * `repeat_count` as long as it says; true when anything changed.
 */
export function clearIrrelevant(form, answers, location) {
  return settle(form, answers, location).changed;
}

/**
 * clearIrrelevant, returning also the evaluation of the answers as they are left and the keys
 * of the questions given their default again (`refilled`). `shownBefore`: the relevance before
 * the change (an evaluation's `relevant`); a question with a default that was hidden then and
 * applies now, with no answer (its answer was dropped while hidden), takes its default again,
 * as the server fills the default of a question a survey does not name: a member added as an
 * adult and then made a child gets the school's default, not "required". A question the
 * volunteer cleared while it was shown stays empty.
 */
export function settle(form, answers, location, shownBefore = null) {
  let changed = false;
  const refilled = new Set();
  for (let pass = 0; pass < 25; pass += 1) {
    const evaluation = evaluateForm(form, answers, location);
    const { instance, relevant, repeatCounts } = evaluation;
    let stale = false;
    for (const record of instance.records) {
      if (record.kind === "question" && !relevant[record.key] && !isEmpty(record.scope[record.node.name])) {
        delete record.scope[record.node.name];
        stale = true;
      }
      if (shownBefore && record.kind === "question" && relevant[record.key] && !shownBefore[record.key]
        && !refilled.has(record.key) && hasDefault(record.node) && !(record.node.name in record.scope)) {
        refilled.add(record.key);
        const value = defaultOf(instance, record);
        if (value !== null) {
          record.scope[record.node.name] = value;
          stale = true;
        }
      }
      if (record.kind === "repeat" && record.key in repeatCounts) {
        const list = Array.isArray(record.scope[record.node.name]) ? record.scope[record.node.name] : [];
        const wanted = repeatCounts[record.key];
        if (list.length !== wanted) {
          while (list.length > wanted) list.pop();
          while (list.length < wanted) list.push(newRepeatItem(form, answers, location, record, list));
          record.scope[record.node.name] = list;
          stale = true;
        }
      }
    }
    if (keepCalculations(evaluation)) stale = true;
    if (!stale) return { changed, evaluation, refilled };
    changed = true;
  }
  return { changed, evaluation: evaluateForm(form, answers, location), refilled };
}

/**
 * Keep each calculation's value in the draft's answers, as ODK Collect keeps it in its
 * instance: once() reads its own earlier value there, so once(random()) and once(now()) hold
 * through every answer (drawn again at each, a relevance reading them came and went and
 * dropped what was typed). A calculation that does not apply, or gives nothing, holds none.
 * The value sent is the same (payloadOf); the server keeps a calculation as sent. True when
 * the answers changed.
 */
function keepCalculations(evaluation) {
  let changed = false;
  for (const record of evaluation.instance.records) {
    if (record.kind !== "question" || !record.node.calculate) continue;
    const { scope, node: { name } } = record;
    const text = evaluation.relevant[record.key] && !evaluation.errors[record.key] ? record.element.textContent : "";
    if (text === "" ? name in scope : scope[name] !== text) {
      if (text === "") delete scope[name];
      else scope[name] = text;
      changed = true;
    }
  }
  return changed;
}

// ---------------------------------------------------------------- defaults and repeats

function hasExpression(text) {
  return /[()/$'"]/.test(text) || /^\s*\./.test(text);
}

function hasDefault(node) {
  return !node.calculate && node.default !== undefined && node.default !== null && node.default !== "";
}

// Defaults are filled in form order, each seeing those filled before it (b = ${a} * 2 reads
// a's default), as ODK Collect fills them and the server does (validation.py, fill_defaults).
function fillDefaults(form, answers, location, scope, missingOnly = false) {
  const instance = buildInstance(form, answers, location, missingOnly);
  for (const record of instance.records) {
    if (record.kind !== "question" || record.scope !== scope) continue;
    const node = record.node;
    if (!hasDefault(node)) continue;
    if (missingOnly ? node.name in scope : !isEmpty(scope[node.name])) continue;
    const value = defaultOf(instance, record);
    if (value === null) continue;
    scope[node.name] = value;
    record.element.textContent = rawText(node, value, missingOnly);
  }
}

/**
 * The default of the question `record` over `instance`, as the answer to keep; null when it
 * gives none its type takes (`${unknown} * 2` is NaN: the question stays empty, as the
 * server leaves it, rather than holding "NaN").
 */
function defaultOf(instance, record) {
  const node = record.node;
  let value = String(node.default);
  if (hasExpression(value)) {
    try {
      value = run(instance, value, record, "string");
    } catch (error) {
      if (!(error instanceof ExpressionError)) throw error;
      return null;
    }
  }
  if (value === "" || coerce(node, value, true).error) return null;
  if (node.choices && !node.calculate) {
    // A name the list does not hold is no answer the server takes (answer_types, _select_one).
    const names = new Set((instance.model.instances?.[node.choices] ?? []).map((c) => String(c.name)));
    if (!value.split(/\s+/).filter(Boolean).every((name) => names.has(name))) return null;
  }
  return value;
}

/** Fill the defaults of a new survey's questions (outside repeats) and its calculations. */
export function applyDefaults(form, answers, location = null) {
  fillDefaults(form, answers, location, answers);
  // Drawn when the survey starts, as in ODK Collect: once(now()) is the start, not the first answer.
  keepCalculations(evaluateForm(form, answers, location));
  return answers;
}

function newRepeatItem(form, answers, location, repeatRecord, list) {
  const item = {};
  const had = repeatRecord.scope[repeatRecord.node.name];
  repeatRecord.scope[repeatRecord.node.name] = [...list, item];
  fillDefaults(form, answers, location, item);
  repeatRecord.scope[repeatRecord.node.name] = had;
  return item;
}

/** Add an instance to the repeat `key` (e.g. `member`, `member[1]/child`); returns its key. */
export function addRepeatInstance(form, answers, location, key) {
  const { instance } = evaluateForm(form, answers, location);
  const record = instance.records.find((r) => r.kind === "repeat" && r.key === key);
  if (!record) return null;
  const list = Array.isArray(record.scope[record.node.name]) ? record.scope[record.node.name] : [];
  list.push(newRepeatItem(form, answers, location, record, list));
  record.scope[record.node.name] = list;
  return `${key}[${list.length}]`;
}

/** Remove the repeat instance `key` (e.g. `member[2]`). */
export function removeRepeatInstance(form, answers, location, key) {
  const { instance } = evaluateForm(form, answers, location);
  const record = instance.records.find((r) => r.kind === "instance" && r.key === key);
  if (!record) return false;
  record.list.splice(record.index, 1);
  return true;
}

// ---------------------------------------------------------------- what the editor shows

/** The answer of the question at `key` in the draft's answers (and its scope object). */
export function answerAt(form, answers, key) {
  const { scope, name } = scopeOf(form, answers, key);
  return scope?.[name];
}

/** Set (or, with an empty value, remove) the answer at `key`. */
export function setAnswerAt(form, answers, key, value) {
  const { scope, name } = scopeOf(form, answers, key);
  if (!scope) return;
  if (isEmpty(value)) delete scope[name];
  else scope[name] = value;
}

/**
 * The geopoint answers placed by hand (`marks`: survey.manual_points, true by widget id
 * `q-<key>`, widgets.js) among `answers`, by key as the server takes them (`manual_points`):
 * each must still be a point without an accuracy, so that a mark left on a point the GPS
 * measured since (or on another one, a repeat's instance removed before it) names nothing.
 */
export function handPlacedPoints(answers, marks) {
  const keys = [];
  for (const [id, manual] of Object.entries(marks ?? {})) {
    const key = id.replace(/^q-/, "");
    const value = manual && answers ? answerAt(null, answers, key) : null;
    if (typeof value === "string" && value.trim().split(/\s+/).length === 2) keys.push(key);
  }
  return keys.sort();
}

function scopeOf(form, answers, key) {
  // `member[2]/child[1]/age`: walk the repeat lists; groups are not in the answers.
  const parts = key.split("/");
  const name = parts.pop();
  let scope = answers;
  for (const part of parts) {
    const match = /^(.+)\[(\d+)\]$/.exec(part);
    if (!match) continue;
    scope = scope?.[match[1]]?.[Number(match[2]) - 1];
  }
  return { scope, name };
}

/** The choices that apply now to the question at `key` ({value, label, ...}). */
export function choicesAt(evaluation, key) {
  const record = evaluation.instance.records.find((r) => r.key === key);
  if (!record?.node.choices) return [];
  try {
    return choicesFor(evaluation.instance, record);
  } catch (error) {
    if (!(error instanceof ExpressionError)) throw error;
    return [];
  }
}

/** The values of a node's `${name}` outputs, evaluated for the record at `key`. */
export function outputsAt(evaluation, key, node) {
  const values = {};
  if (!node.outputs) return values;
  const record = evaluation.instance.records.find((r) => r.key === key);
  for (const [name, expression] of Object.entries(node.outputs)) {
    try {
      values[name] = record ? run(evaluation.instance, expression, record, "string") : "";
    } catch (error) {
      if (!(error instanceof ExpressionError)) throw error;
      values[name] = "";
    }
  }
  return values;
}

/** The question is read-only now (its `readonly` expression, or a calculate). */
export function readonlyAt(evaluation, key) {
  const record = evaluation.instance.records.find((r) => r.key === key);
  if (!record?.node.readonly) return false;
  try {
    return run(evaluation.instance, record.node.readonly, record, "boolean");
  } catch {
    return false;
  }
}

/** The title of a screen: its group's label, or the form's title. */
export function screenTitle(form, screen, evaluation) {
  if (!screen?.node?.label) return pick(form.title);
  const values = evaluation ? outputsAt(evaluation, screen.node.name, screen.node) : {};
  return plainText(pick(screen.node.label), values) || pick(form.title);
}
