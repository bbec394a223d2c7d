// The form model (docs/forms-engine.md) as the phone reads it: the question types it renders,
// a form kept on a phone from before the model read as one, the screens, the location
// question, and a sent survey's answers as rows to read. form.js evaluates surveys over it.

import { pick, t } from "./i18n.js";
import { plainText } from "./markdown.js";

// Question types the phone renders with its own widgets; widgets.js may add more
// (registerWidgetTypes) as it learns them, and a form shows only when every type is known.
const BASE_TYPES = [
  "text", "integer", "decimal", "select_one", "select_multiple", "geopoint", "image", "date",
  "note", "calculate", "hidden",
];
export const SUPPORTED_TYPES = new Set(BASE_TYPES);
const VALUE_TYPES_WITHOUT_WIDGET = new Set(["calculate", "hidden"]);
const FILE_TYPES = new Set(["image", "audio", "file", "video"]);

/** Types widgets.js renders beyond the base ones (called by editor.js with widgets' list). */
export function registerWidgetTypes(types) {
  for (const type of types ?? []) SUPPORTED_TYPES.add(type);
}

// ---------------------------------------------------------------- the model

const legacyModels = new WeakMap();

/**
 * The form model: served as `model` (docs/forms-engine.md); a form kept on a phone from before
 * the model (flat `questions` with `${name}` expressions and inline choices) is read as one.
 */
export function modelOf(form) {
  if (form.model) return form.model;
  let model = legacyModels.get(form);
  if (!model) {
    model = legacyModel(form);
    legacyModels.set(form, model);
  }
  return model;
}

function legacyModel(form) {
  const root = "data";
  const paths = {};
  for (const q of form.questions ?? []) paths[q.name] = q.group ? `/${root}/${q.group}/${q.name}` : `/${root}/${q.name}`;
  const expression = (text) => (text ? text.replace(/\$\{([^}]+)\}/g, (_, name) => paths[name] ?? `/${root}/${name}`) : undefined);
  const instances = {};
  const children = [];
  for (const q of form.questions ?? []) {
    const node = {
      kind: "question", name: q.name, path: paths[q.name], type: q.type, label: q.label, hint: q.hint,
      required: q.required ? "true()" : undefined, required_message: q.required_message,
      relevant: expression(q.relevant), constraint: expression(q.constraint),
      constraint_message: q.constraint_message, appearance: q.appearance, parameters: q.parameters,
      personal: q.personal,
    };
    if (q.choices?.length) {
      instances[q.name] = q.choices.map((c) => ({ name: c.value, label: c.label }));
      node.choices = q.name;
    }
    let parent = children;
    if (q.group) {
      let group = children.at(-1);
      if (!group || group.kind !== "group" || group.name !== q.group) {
        group = { kind: "group", name: q.group, path: `/${root}/${q.group}`, label: legacyGroupLabel(form, q.group), children: [] };
        children.push(group);
      }
      parent = group.children;
    }
    parent.push(node);
  }
  return { root, languages: form.languages ?? [], default_language: form.default_language, instances, children };
}

function legacyGroupLabel(form, key) {
  const find = (children) => {
    for (const child of children ?? []) {
      if (child.type === "group" && child.name === key) return child.label;
      const found = find(child.children);
      if (found) return found;
    }
    return null;
  };
  const label = find(form.source?.children);
  if (!label || typeof label === "string") return label ? { default: label } : undefined;
  const byCode = {}; // pyxform keeps "Tiếng Việt (vi)": reduce to codes
  for (const [name, text] of Object.entries(label)) {
    const code = /\(([^()]+)\)\s*$/.exec(name);
    byCode[code ? code[1].trim() : name] = text;
  }
  return byCode;
}

export function* walk(children, parent = null) {
  for (const node of children ?? []) {
    yield [node, parent];
    if (node.children) yield* walk(node.children, node);
  }
}

/** Every question of the form (in form order, inside groups and repeats). */
export function questionsOf(form) {
  return [...walk(modelOf(form).children)].map(([node]) => node).filter((n) => n.kind === "question");
}

/** The question named `name` (the first, when repeats reuse a name). */
export function findQuestion(form, name) {
  return questionsOf(form).find((q) => q.name === name);
}

/** True when the app can render every question of a form. */
export function renderable(form) {
  try {
    return questionsOf(form).every((q) => SUPPORTED_TYPES.has(q.type));
  } catch {
    return false;
  }
}

/** Shown to the volunteer: not calculated, not hidden. */
export function shown(node) {
  return node.kind !== "question" || !VALUE_TYPES_WITHOUT_WIDGET.has(node.type);
}

// The first geopoint outside repeats is the survey's location (sent as `location`, its answer
// filled in by the server), as before the model.
export function locationQuestion(model) {
  const find = (children) => {
    for (const node of children ?? []) {
      if (node.kind === "question" && node.type === "geopoint") return node;
      if (node.kind === "group") {
        const found = find(node.children);
        if (found) return found;
      }
    }
    return null;
  };
  return find(model.children);
}

/** True for the question whose answer is the survey's GPS location. */
export function isLocationQuestion(form, node) {
  return locationQuestion(modelOf(form)) === node;
}

/** The geopoint text the server builds from a location: "lat lon altitude accuracy". */
export function geopointText(location) {
  if (!location) return "";
  return `${location.lat} ${location.lon} ${location.altitude_m || 0} ${location.accuracy_m || 0}`;
}

/**
 * The screens of a form: consecutive top-level questions share one, each top-level group or
 * repeat is one (nested groups and repeats on their parent's screen).
 */
export function screens(form) {
  const result = [];
  for (const node of modelOf(form).children ?? []) {
    if (node.kind === "question") {
      const last = result.at(-1);
      if (last && !last.node) last.nodes.push(node);
      else result.push({ key: `q:${node.name}`, node: null, nodes: [node] });
    } else {
      result.push({ key: node.name, node, nodes: [node] });
    }
  }
  return result;
}

/**
 * The first text answered outside repeats, for naming a survey in its maker's own lists:
 * one of a question not marked personal first (a settlement's name before its leader's),
 * else a personal one (the maker collected it); "" when none is answered.
 */
export function firstTextAnswer(form, answers) {
  const texts = [];
  const visit = (children) => {
    for (const node of children ?? []) {
      if (node.kind === "group") visit(node.children);
      else if (node.kind === "question" && node.type === "text" && typeof answers?.[node.name] === "string") {
        const text = answers[node.name].trim();
        if (text) texts.push([node.personal, text]);
      }
    }
  };
  visit(modelOf(form).children);
  return (texts.find(([personal]) => !personal) ?? texts[0])?.[1] ?? "";
}

/** The attachments named by a payload (image, audio, file answers, in repeats too). */
export function attachmentsOf(form, payload) {
  const files = [];
  const visit = (children, scope) => {
    for (const node of children ?? []) {
      if (node.kind === "group") visit(node.children, scope);
      else if (node.kind === "repeat") for (const item of scope?.[node.name] ?? []) visit(node.children, item);
      else if (FILE_TYPES.has(node.type) && scope?.[node.name]) files.push(scope[node.name]);
    }
  };
  visit(modelOf(form).children, payload);
  return files;
}

/** Rows of a sent survey for reading: [label, answer text, depth] in form order. */
export function readableRows(form, answers) {
  const model = modelOf(form);
  const where = locationQuestion(model);
  const rows = [];
  const visit = (children, scope, depth) => {
    for (const node of children ?? []) {
      if (node.kind === "group") visit(node.children, scope, depth);
      else if (node.kind === "repeat") {
        (scope?.[node.name] ?? []).forEach((item, index) => {
          rows.push([`${plainText(pick(node.label)) || node.name} ${index + 1}`, "", depth]);
          visit(node.children, item, depth + 1);
        });
      } else if (node.type !== "note" && node !== where && scope && node.name in scope) {
        rows.push([plainText(pick(node.label)) || node.name, answerText(model, node, scope[node.name]), depth]);
      }
    }
  };
  visit(model.children, answers, 0);
  return rows;
}

function answerText(model, node, value) {
  if (value === undefined || value === null || value === "") return t("no_answer");
  if (FILE_TYPES.has(node.type)) return t("photo_attached");
  if (node.choices) {
    const items = model.instances?.[node.choices] ?? [];
    return String(value).split(/\s+/).filter(Boolean)
      .map((name) => pick(items.find((c) => String(c.name) === name)?.label) || name).join(", ");
  }
  return String(value);
}
