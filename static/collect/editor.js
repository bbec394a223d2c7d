// The survey editor: one screen per top-level group, repeat or run of questions, with Back /
// Next (and Android's Back: a history entry per screen), field-list and nested groups on
// their parent's screen, repeats as a roster (add, remove with a confirmation), the answers
// written on the phone after every change (over the revision read, see db.js), and Finish,
// which puts the survey in the outbox with the content it will be sent with, every time.

import * as auth from "./auth.js";
import { localIso } from "./clock.js";
import * as db from "./db.js";
import { h } from "./dom.js";
import { confirmDialog } from "./account.js";
import { pick, t } from "./i18n.js";
import {
  addRepeatInstance, answerAt, applyDefaults, attachmentsOf, choicesAt, clearIrrelevant,
  evaluateForm, outputsAt, readonlyAt, registerWidgetTypes, removeRepeatInstance, screenTitle,
  screens, setAnswerAt, settle, shown,
} from "./form.js";
import { renderMarkdown } from "./markdown.js";
import { submissionBody, state as syncState, syncNow } from "./sync.js";
import * as widgets from "./widgets.js";

registerWidgetTypes(widgets.WIDGET_TYPES); // the question types widgets.js renders, if it says

const root = document.getElementById("app");
// What the editor uses of the app (app.js connects them once, before the first render).
let app = null;
let render = null;
let show = null;
let header = null;
let noteStorage = null;
let storageText = null;
let formOf = null;
let collector = null;
let editable = null;
let viewSurvey = null;
let noticeText = null;

/** Connect the editor to the app's state and screens. */
export function connectEditor(parts) {
  ({ app, render, show, header, noteStorage, storageText, formOf, collector, editable, viewSurvey, noticeText } = parts);
  window.addEventListener("popstate", (event) => onHistoryBack(event.state));
}

let starting = false;  // a double tap on "new survey" starts one survey, not two drafts

/** Start a new survey of `form` (its id is made now, on the phone). */
export async function startSurvey(form) {
  if (starting) return;
  if (!collector()) {
    show("settings");
    return;
  }
  starting = true;
  try {
    // A survey records its maker: none is started before the server has said who is signed
    // in (a sign-in whose /me got no answer). Asked once more now.
    let known = auth.userKnown();
    if (!known) known = await auth.ensureUser().catch(() => false);
    if (!known) {
      app.notice = () => t("user_unknown");
      render();
      return;
    }
    await startNew(form);
  } finally {
    starting = false;
  }
}

async function startNew(form) {
  const survey = {
    id: crypto.randomUUID(), // made when the survey starts: the server's idempotency key
    form_id: form.form_id,
    form_version: form.version,
    status: "draft",
    started_at: localIso(),
    collector: collector(),
    user_id: auth.user().id, // sent only with this person's token (known: startSurvey)
    user_name: auth.user()?.display_name || auth.user()?.username || "",
    answers: applyDefaults(form, {}),
    location: null,
    photos: [],
    uploaded: [],
    errors: [],
  };
  let stored;
  try {
    stored = await db.addSurvey(survey);
  } catch (error) {
    noteStorage(error);
    return;
  }
  noteStorage(null);
  edit(stored);
}

/** Show a survey in the editor, at the screen it was left on. */
export function edit(survey) {
  app.survey = survey;
  // Each opening marks its history entries: those an earlier opening left (Exit keeps them)
  // are told apart from this one's.
  app.opening = crypto.randomUUID();
  app.screen = survey.screen ?? 0;
  app.showErrors = new Set();
  app.view = "survey";
  app.notice = "";
  render();
  remember("push");
}

/** Open a survey from a list: in the editor when it may change, read-only otherwise. */
export async function openSurvey(opened) {
  // Read and changed in one transaction: a waiting survey becomes a draft only if no sync
  // (of any tab) has taken it for sending, otherwise it is shown as it was sent.
  let survey;
  try {
    survey = await db.reopenSurvey(opened.id);
  } catch (error) {
    noteStorage(error);
    return;
  }
  if (!survey) {
    render();
  } else if (editable(survey)) {
    edit(survey);
  } else {
    viewSurvey(survey);
  }
}

// The editor's writes go one after the other, each over the revision the previous one made.
let writes = Promise.resolve();

function queueWrite(write) {
  const result = writes.then(write);
  writes = result.catch(() => {});
  return result;
}

/** Write the editor's copy; resolves with "ok", "stale" (another tab changed it), "gone"
 * (another tab deleted it) or "failed". */
async function writeSurvey(survey) {
  try {
    survey.rev = await db.saveSurvey(survey);
    noteStorage(null);
    return "ok";
  } catch (error) {
    if (error instanceof db.StaleSurvey) {
      changedElsewhere(survey, error.current);
      return "stale";
    }
    if (error instanceof db.SurveyGone) {
      deletedElsewhere(survey);
      return "gone";
    }
    noteStorage(error);
    return "failed";
  }
}

function changedElsewhere(survey, current) {
  if (app.view !== "survey" || app.survey?.id !== survey.id) return;
  // Another tab changed it: carry on from its copy (or leave it, if it can't be edited now).
  app.survey = editable(current) && current.status !== "pending" ? current : null;
  app.view = app.survey ? "survey" : "home";
  app.notice = () => t("changed_elsewhere");
  render();
}

function deletedElsewhere(survey) {
  if (app.view !== "survey" || app.survey?.id !== survey.id) return;
  // Another tab deleted it: writing this copy would bring it back. Home, saying why.
  app.survey = null;
  app.view = "home";
  app.notice = () => t("deleted_elsewhere");
  render();
}

function saveDraft() {
  const survey = app.survey;
  if (!survey) return Promise.resolve("ok");
  survey.screen = app.screen;
  return queueWrite(() => writeSurvey(survey));
}

// ---------------------------------------------------------------- screens and history

// The evaluation of the survey on screen, made again after every answer (widgets read it
// through their context: choices, read-only).
let evaluation = null;

function evaluateNow(form) {
  const survey = app.survey;
  evaluation = evaluateForm(form, survey.answers, survey.location);
  return evaluation;
}

function screenVisible(screen, result) {
  if (screen.node) return Boolean(result.relevant[screen.node.name]) && shown(screen.node);
  return screen.nodes.some((node) => shown(node) && result.relevant[node.name]);
}

function visibleScreens(form, result) {
  return screens(form).map((screen, index) => ({ ...screen, index }))
    .filter((screen) => screenVisible(screen, result));
}

/**
 * Android's Back: each screen of the editor is a history entry ({collect: "survey", id,
 * screen}), so Back shows the previous screen; past the first one it leaves the survey
 * (saved) for the home screen instead of leaving the app. `depth` counts every entry of the
 * app above its first one (app.js: the outbox, a survey read-only... the survey may be
 * opened from), so that leaving passes them all, back to the home screen; `base` is the depth
 * below the survey's own entries.
 */
function remember(how) {
  if (app.view !== "survey" || !app.survey) return;
  const here = history.state;
  const own = here?.collect === "survey" && here.id === app.survey.id;
  const current = here?.collect ? here.depth ?? 0 : 0;
  const depth = how === "push" ? current + 1 : current || 1;
  const base = own ? here.base ?? 0 : depth - 1;
  const state = { collect: "survey", id: app.survey.id, screen: app.screen, depth, base, opening: app.opening };
  if (how === "push") history.pushState(state, "");
  else history.replaceState(state, "");
}

/**
 * A finished survey's screens leave the history (resolves once they have), so that Back on
 * the home screen leaves the app. Exit keeps them (a page reload may follow at once); Back on
 * the home screen then passes them all in one step (onHistoryBack).
 */
function forgetScreens() {
  const depth = history.state?.collect === "survey" ? history.state.depth : 0;
  if (!(depth > 0)) return Promise.resolve();
  return passEntries(depth);
}

/** Back to the app's first entry (`depth` entries down); resolves once there. */
export function passEntries(depth) {
  return new Promise((resolve) => {
    const done = () => {
      window.removeEventListener("popstate", done);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, 1000);
    window.addEventListener("popstate", done);
    history.go(-depth);
  });
}

function onHistoryBack(state) {
  const byButton = backByButton;
  backByButton = false;
  if (app.view !== "survey" && state?.collect === "survey" && state.depth > 0) {
    history.go(-state.depth); // screens of a survey left with Exit: passed in one step
    return;
  }
  if (app.view !== "survey" || !app.survey) return;
  const form = formOf(app.survey);
  if (state?.collect === "survey" && state.id === app.survey.id) {
    if (!form) return;
    const visible = visibleScreens(form, evaluateNow(form));
    const target = visible.filter((s) => s.index <= state.screen).at(-1) ?? visible[0];
    if (state.opening !== app.opening) {
      // An entry an earlier opening of this survey left (Exit keeps them): Back goes one
      // screen back from here, never to the screen that opening was on (and that entry
      // becomes this screen's).
      go(form, -1);
      return;
    }
    if (!target || target.index === app.screen) return;
    app.screen = target.index;
    app.notice = "";
    saveDraft();
    render();
    return;
  }
  if (byButton && form) {
    go(form, -1); // the on-screen Back button goes one screen back, never out of the survey
    return;
  }
  exitSurvey();
}

/** The editor's screen of the survey in hand. */
export function renderSurvey() {
  const survey = app.survey;
  const form = formOf(survey);
  if (!form) return [header(t("app_title")), h("main", { class: "content" }, h("p", { class: "error" }, t("forms_unavailable")))];
  const all = screens(form);
  const result = evaluateNow(form);
  const visible = visibleScreens(form, result);
  if (!visible.some((s) => s.index === app.screen)) app.screen = visible[0]?.index ?? 0;
  const screen = all[app.screen];
  const body = h("div", { class: "questions" }, screen ? screenBody(form, screen, result) : []);
  const place = placeOf(visible);
  const nav = h("nav", { class: "survey-nav" },
    h("button", {
      class: "secondary", id: "back", disabled: place.first,
      onclick: () => goBack(form),
    }, t("back")),
    forwardButton(form, place.last));
  const view = [
    header(screenTitle(form, screen, result)),
    h("main", { class: "content survey", dataset: { screen: screen?.key ?? "" } },
      h("p", { class: "muted small", id: "step" }, t("step", { n: place.n, total: place.total })),
      survey.correction ? h("p", { class: "notice", id: "correction-note" },
        survey.review?.comment ? t("review_comment", { comment: survey.review.comment }) : t("review_needs_correction")) : null,
      noticeText() ? h("p", { class: "error notice", id: "notice" }, noticeText()) : null,
      body,
      h("button", { class: "link", id: "exit-survey", onclick: () => exitSurvey() }, t("exit_survey"))),
    nav,
  ];
  queueMicrotask(() => refreshQuestions(form));
  return view;
}

/**
 * Where the screen shown stands among the screens that apply now: its number, how many there
 * are, and whether it is the first or the last. The screen shown counts even while an answer on
 * it makes it not apply (it is left on Next).
 */
function placeOf(visible) {
  const before = visible.filter((s) => s.index < app.screen).length;
  const after = visible.filter((s) => s.index > app.screen).length;
  return { n: before + 1, total: before + 1 + after, first: before === 0, last: after === 0 };
}

function forwardButton(form, last) {
  return last
    ? h("button", { class: "primary", id: "finish", onclick: () => finish(form) }, t("finish"))
    : h("button", { class: "primary", id: "next", onclick: () => go(form, 1) }, t("next"));
}

/** The step and the buttons follow the answers: a later screen may apply, or stop applying. */
function refreshNavigation(form, result) {
  const place = placeOf(visibleScreens(form, result));
  const step = root.querySelector("#step");
  if (step) step.textContent = t("step", { n: place.n, total: place.total });
  const back = root.querySelector("#back");
  if (back) back.disabled = place.first;
  const forward = root.querySelector("#next, #finish");
  if (forward && (forward.id === "finish") !== place.last) forward.replaceWith(forwardButton(form, place.last));
}

async function exitSurvey() {
  await workDone();
  if (!app.survey) return;
  const outcome = await saveDraft();
  if (outcome === "gone") return; // home already, saying why
  if (outcome === "failed") {
    // Leaving now would lose the answers not stored yet: stay, and say why.
    app.notice = storageText; // in the language shown, while the problem lasts
    render();
    return;
  }
  app.survey = null;
  show("home");
}

// ---------------------------------------------------------------- groups, repeats, questions

function childrenOf(result) {
  const children = new Map();
  for (const record of result.instance.records) {
    const list = children.get(record.parent ?? null) ?? [];
    list.push(record);
    children.set(record.parent ?? null, list);
  }
  return children;
}

function screenBody(form, screen, result) {
  const children = childrenOf(result);
  const top = (children.get(null) ?? []).filter((r) => screen.nodes.includes(r.node));
  if (screen.node?.kind === "group") {
    // The screen's own group: its title is the screen's, its questions are the screen.
    return (children.get(top[0]) ?? []).map((record) => block(form, record, children));
  }
  return top.map((record) => block(form, record, children));
}

function block(form, record, children) {
  if (record.kind === "question") return shown(record.node) ? questionBlock(form, record) : null;
  if (record.kind === "group") return groupBlock(form, record, children);
  if (record.kind === "repeat") return repeatBlock(form, record, children);
  return null;
}

function labelOf(record, which = "label") {
  const text = pick(record.node[which]);
  return renderMarkdown(text, outputsAt(evaluation, record.key, record.node));
}

function groupBlock(form, record, children) {
  return h("section", { class: "group", dataset: { key: record.key, name: record.node.name } },
    record.node.label ? h("h2", { class: "group-label", dataset: { labelFor: record.key } }, labelOf(record)) : null,
    (children.get(record) ?? []).map((child) => block(form, child, children)));
}

function repeatBlock(form, record, children) {
  const node = record.node;
  const fixed = Boolean(node.repeat_count);
  const count = record.instances.length;
  const title = pick(node.label) ? labelOf(record) : node.name;
  const roster = h("section", { class: "repeat", dataset: { key: record.key, name: node.name, count } },
    h("h2", { class: "repeat-label" }, title, " ",
      h("span", { class: "repeat-count muted", id: `count-${record.key}` }, t("repeat_count", { n: count }))));
  record.instances.forEach((instance, index) => {
    const item = h("section", { class: "repeat-instance", dataset: { key: instance.key, index: index + 1 } },
      h("div", { class: "repeat-instance-head" },
        h("h3", {}, t("repeat_item", { label: pick(node.label) ? labelText(record) : node.name, n: index + 1 })),
        fixed ? null : h("button", {
          class: "link danger remove-instance", type: "button",
          onclick: () => removeInstance(form, instance.key, index + 1, record),
        }, t("repeat_remove"))),
      (children.get(instance) ?? []).map((child) => block(form, child, children)));
    roster.append(item);
  });
  if (!fixed) {
    roster.append(h("button", {
      class: "secondary add-instance", type: "button", dataset: { repeat: record.key },
      onclick: () => addInstance(form, record.key),
    }, t("repeat_add", { label: pick(node.label) ? labelText(record) : node.name })));
  }
  return roster;
}

function labelText(record) {
  const holder = h("span", {}, labelOf(record));
  return holder.textContent;
}

function addInstance(form, key) {
  const survey = app.survey;
  const shownBefore = shownNow(form);
  const added = addRepeatInstance(form, survey.answers, survey.location, key);
  if (!added) return;
  settle(form, survey.answers, survey.location, shownBefore);
  saveDraft();
  render();
  queueMicrotask(() => {
    const item = root.querySelector(`section.repeat-instance[data-key="${CSS.escape(added)}"]`);
    item?.scrollIntoView({ block: "start" });
    item?.querySelector("input, select, textarea")?.focus({ preventScroll: true });
  });
}

async function removeInstance(form, key, n, record) {
  const label = pick(record.node.label) ? labelText(record) : record.node.name;
  if (!(await confirmDialog(t("repeat_confirm_remove", { label, n }), t("repeat_remove")))) return;
  const survey = app.survey;
  // The instances after the one removed move up: each takes the relevance before of the one
  // it was (`member[3]/age` is now `member[2]/age`); the others keep theirs, so that an answer
  // cleared while shown is not given its default again.
  const prefix = `${record.key}[`;
  const shownBefore = {};
  for (const [k, shown] of Object.entries(shownNow(form))) {
    const close = k.startsWith(prefix) ? k.indexOf("]", prefix.length) : -1;
    const index = close < 0 ? 0 : Number(k.slice(prefix.length, close));
    if (index < n) shownBefore[k] = shown;
    else if (index > n) shownBefore[`${prefix}${index - 1}${k.slice(close)}`] = shown;
  }
  if (app.survey !== survey || !removeRepeatInstance(form, survey.answers, survey.location, key)) return;
  // The errors shown were keyed by position: the instances after it moved up.
  app.showErrors = new Set([...app.showErrors].filter((k) => !k.startsWith(`${record.key}[`)));
  settle(form, survey.answers, survey.location, shownBefore);
  saveDraft();
  render();
}

function questionBlock(form, record) {
  const node = record.node;
  const key = record.key;
  const block = h("section", { class: "question", dataset: { name: key, key, type: node.type } });
  block.append(h("div", { class: "question-label", id: `label-${key}`, dataset: { labelFor: key } },
    labelOf(record), node.required ? h("span", { class: "required", "aria-hidden": "true" }, " *") : null));
  if (pick(node.hint)) block.append(h("div", { class: "hint", dataset: { hintFor: key } }, labelOf(record, "hint")));
  block.append(widget(form, record));
  block.append(h("p", { class: "error", dataset: { for: key }, role: "alert", hidden: true }));
  return block;
}

function onAnswer(form, key, value) {
  const survey = app.survey;
  const before = repeatShape(survey.answers);
  const shownBefore = shownNow(form);
  setAnswerAt(form, survey.answers, key, value);
  const { evaluation: settled, refilled } = settle(form, survey.answers, survey.location, shownBefore);
  app.notice = "";
  saveDraft();
  // A repeat_count that changed the roster needs the screen built again.
  if (repeatShape(survey.answers) !== before) {
    render();
    return;
  }
  evaluation = settled;
  // A question shown again with its default: its widget shows the answer it has now (the
  // others are left alone, the one being typed in keeps its focus).
  for (const refilledKey of refilled) {
    const record = settled.instance.records.find((r) => r.key === refilledKey);
    const current = root.querySelector(`section.question[data-key="${CSS.escape(refilledKey)}"] > [data-widget]`);
    if (record && current) current.replaceWith(widget(form, record));
  }
  refreshQuestions(form, settled);
}

/** The relevance of every node as the volunteer sees it now (before a change). */
function shownNow(form) {
  return (evaluation ?? evaluateNow(form)).relevant;
}

function repeatShape(answers) {
  const shape = (value) => (Array.isArray(value) ? `[${value.map((item) => shape(item)).join(",")}]`
    : value && typeof value === "object" ? Object.entries(value).filter(([, v]) => typeof v === "object").map(([k, v]) => `${k}${shape(v)}`).join(";") : "");
  return shape(answers);
}

/**
 * What a widget (widgets.js) may use: the answer and its setter, the choices that apply now,
 * the survey, and the editor's save / refresh / storage-problem hooks. Added for the form
 * model: `key` (the question's name on screen, `member[2]/age` inside a repeat: widgets get a
 * question whose `name` is this key, so that radio groups of repeat instances stay apart),
 * `question` (the model node), `readonly()` (its `readonly` expression now), `form`, and
 * `fileStem` (the key made safe for a file name: `member-2-photo`). Inside a repeat a widget
 * must read its answer with value(), never survey.answers[name].
 */
function widgetContext(form, record) {
  const key = record.key;
  // A late answer (a photo still being kept) goes to this survey or nowhere, never to another
  // (the same survey, reloaded after another tab changed it, is the same id).
  const owner = app.survey?.id;
  return {
    id: `q-${key}`,
    labelledBy: `label-${key}`,
    key,
    fileStem: key.replace(/\[(\d+)\]/g, "-$1").replace(/[^\w-]+/g, "-"),
    question: record.node,
    form,
    value: () => answerAt(form, app.survey.answers, key),
    choices: () => (evaluation ? choicesAt(evaluation, key) : []),
    readonly: () => (evaluation ? readonlyAt(evaluation, key) : false),
    survey: () => app.survey,
    active: () => app.view === "survey",
    save: saveDraft,
    refresh: () => refreshQuestions(form),
    answer: (value) => {
      if (app.survey && app.survey.id === owner) onAnswer(form, key, value);
    },
    track: trackWork,
    storageProblem: (error) => noteStorage(error),
  };
}

// Work a widget started that the survey must wait for (a photo being shrunk and kept on the
// phone, a recording): finishing or leaving waits for it, so no answer arrives once the survey
// is gone.
const pendingWork = new Set();

function trackWork(promise) {
  pendingWork.add(promise);
  promise.finally(() => pendingWork.delete(promise));
  return promise;
}

async function workDone() {
  // A recording still running is stopped and kept, then the survey goes on; one started
  // while earlier work was awaited (a photo being kept) is stopped on the next pass.
  widgets.stopRecordings();
  while (pendingWork.size) {
    await Promise.allSettled([...pendingWork]);
    widgets.stopRecordings();
  }
}

function widget(form, record) {
  const question = { ...record.node, name: record.key };
  const element = widgets.widgetFor(question, widgetContext(form, record));
  element.dataset.widget = "";
  if (record.node.choices) element.dataset.choices = choiceSignature(record.key);
  return element;
}

function choiceSignature(key) {
  return evaluation ? choicesAt(evaluation, key).map((c) => c.value).join(" ") : "";
}

function refreshQuestions(form, settled = null) {
  if (!app.survey || app.view !== "survey") return {};
  const result = settled ?? evaluateNow(form);
  evaluation = result;
  const { relevant, errors } = result;
  refreshNavigation(form, result);
  const records = new Map(result.instance.records.map((r) => [r.key, r]));
  for (const section of root.querySelectorAll("section.group[data-key], section.repeat[data-key], section.repeat-instance[data-key]")) {
    section.hidden = !relevant[section.dataset.key];
    const record = records.get(section.dataset.key);
    const title = section.querySelector(":scope > .group-label[data-label-for]");
    if (record?.node.outputs && title) title.replaceChildren(labelOf(record));
  }
  // One more instance only where the repeat's relevance holds for it (Collect's "add another?").
  for (const button of root.querySelectorAll("button.add-instance")) {
    button.hidden = !result.addable?.[button.dataset.repeat];
  }
  for (const block of root.querySelectorAll("section.question")) {
    const key = block.dataset.key;
    const record = records.get(key);
    block.hidden = !relevant[key];
    if (!relevant[key]) {
      for (const input of block.querySelectorAll("input, textarea")) {
        if (input.type === "radio" || input.type === "checkbox") input.checked = false;
        else if (input.type !== "file") input.value = "";
      }
    }
    if (record?.node.outputs) {
      const label = block.querySelector("[data-label-for]");
      label?.firstChild && label.replaceChildren(labelOf(record), ...[...label.querySelectorAll(".required")]);
      const hint = block.querySelector("[data-hint-for]");
      hint?.replaceChildren(labelOf(record, "hint"));
    }
    // A cascading select whose choices changed (its filter reads another answer): built again.
    const current = block.querySelector("[data-choices]");
    if (record && current && relevant[key] && current.dataset.choices !== choiceSignature(key)) {
      current.replaceWith(widget(form, record));
    }
    const error = block.querySelector(".error[data-for]");
    const message = app.showErrors.has(key) && relevant[key] ? errors[key] : undefined;
    error.textContent = message ?? "";
    error.hidden = !message;
    block.classList.toggle("invalid", Boolean(message));
  }
  return errors;
}

function keysOnScreen(form, screen, result) {
  const keys = [];
  const inside = (record) => {
    let top = record;
    while (top.parent) top = top.parent;
    return screen.nodes.includes(top.node);
  };
  for (const record of result.instance.records) {
    if (record.kind === "question" && inside(record)) keys.push(record.key);
  }
  return keys;
}

function screenOf(form, key, result) {
  let record = result.instance.records.find((r) => r.key === key);
  while (record?.parent) record = record.parent;
  return screens(form).findIndex((s) => s.nodes.includes(record?.node));
}

function go(form, direction) {
  const result = evaluateNow(form);
  const { relevant, errors } = result;
  const current = screens(form)[app.screen];
  if (direction > 0 && current) {
    const keys = keysOnScreen(form, current, result);
    for (const key of keys) app.showErrors.add(key);
    const wrong = keys.filter((key) => relevant[key] && errors[key]);
    if (wrong.length) {
      refreshQuestions(form);
      root.querySelector(`section.question[data-key="${CSS.escape(wrong[0])}"]`)?.scrollIntoView({ block: "center" });
      return;
    }
  }
  const visible = visibleScreens(form, result);
  const position = visible.findIndex((s) => s.index === app.screen);
  const target = visible[position + direction];
  if (!target) return;
  app.screen = target.index;
  app.notice = "";
  saveDraft();
  render();
  if (direction > 0) remember("push");
  else remember("replace");
}

let backByButton = false;  // the popstate that follows comes from the on-screen Back button

function goBack(form) {
  // The history entry of this screen goes too, so Android's Back and this button agree; but
  // only onto an entry of this survey (depth > 1). Below the first one is the page before
  // (the home screen, or another site in a tab opened on the app): this screen's entry then
  // shows the previous screen instead, and the button never leaves the app.
  const here = history.state;
  if (here?.collect === "survey" && here.id === app.survey?.id && here.screen === app.screen
    && here.depth - (here.base ?? 0) > 1) {
    const before = app.screen;
    backByButton = true;
    history.back();
    // If the previous entry is not this survey's (opened from a reload), popstate leaves the
    // survey: stay instead, one screen back.
    setTimeout(() => {
      if (app.view === "survey" && app.screen === before) go(form, -1);
    }, 300);
    return;
  }
  go(form, -1);
}

/** The notice after Finish: it follows the survey (waiting, being sent, sent, refused) and
 * the language until another screen is shown. */
function finishedNotice(id) {
  return (surveys) => {
    const survey = surveys.find((s) => s.id === id);
    if (survey?.status === "sent") return t("saved_sent");
    if (survey?.status === "failed") return t("saved_failed");
    if (survey?.status !== "pending") return "";
    return syncState.running ? t("saved_sending") : t("saved_pending");
  };
}

async function finish(form) {
  await workDone();
  const survey = app.survey;
  if (!survey) return;
  clearIrrelevant(form, survey.answers, survey.location);
  const finishedAt = localIso(); // the clock today() and now() read in this evaluation
  const result = evaluateNow(form);
  const { relevant, errors } = result;
  // Only what a volunteer can see and fix stops the survey here (a question's message); an
  // expression of the form that fails elsewhere is left to the server's verdict.
  const shownKeys = new Set(result.instance.records.filter((r) => r.kind === "question" && shown(r.node)).map((r) => r.key));
  const wrong = Object.keys(errors).filter((key) => relevant[key] !== false && shownKeys.has(key));
  if (wrong.length) {
    for (const key of Object.keys(errors)) app.showErrors.add(key);
    const index = screenOf(form, wrong[0], result);
    if (index >= 0) app.screen = index;
    app.notice = () => t("fix_errors");
    render();
    remember("push");
    return;
  }
  const outcome = await queueWrite(() => {
    const payload = result.normalised;
    // What it said when it was reopened from the outbox (its old answers) is of no use once
    // it is finished again, and must not outlive the clean-up of its answers.
    const { reopened: _reopened, ...current } = survey;
    // Finished again without a change: the last finish's time stays, so the body is the
    // same (a resend is the same survey) and the verdict given then stands.
    const unchanged = survey.payload !== undefined && JSON.stringify(survey.payload) === JSON.stringify(payload);
    const finished = {
      ...current,
      payload,
      photos: attachmentsOf(form, payload),
      // The time of the first finish: finishing again is the same survey, not a new one.
      collected_at: survey.collected_at ?? finishedAt,
      // The time of this finish, which the server's today() and now() read as the phone's
      // did (reopened after midnight, the day is the new one): sent when not collected_at.
      finished_at: unchanged ? survey.finished_at : finishedAt,
      collector: survey.correction ? survey.collector : collector() || survey.collector,
      status: "pending",
      errors: [],
    };
    finished.body = submissionBody(finished); // what is sent, as it is, every time
    return writeSurvey(finished);
  });
  if (outcome === "stale" || outcome === "gone") return;
  if (outcome === "failed") {
    app.notice = storageText; // in the language shown, while the problem lasts
    render();
    return;
  }
  db.notifyOtherTabs();
  app.survey = null;
  await forgetScreens();
  app.view = "home";
  app.notice = finishedNotice(survey.id);
  render();
  if (navigator.onLine) syncNow();
}
