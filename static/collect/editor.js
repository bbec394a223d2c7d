// The survey editor: one screen per question group with Back / Next, the answers written on
// the phone after every change (over the revision read, see db.js), and Finish, which puts
// the survey in the outbox with the content it will be sent with, every time.

import * as auth from "./auth.js";
import { localIso } from "./clock.js";
import * as db from "./db.js";
import { h } from "./dom.js";
import { pick, t } from "./i18n.js";
import {
  answersToSend, clearIrrelevant, evaluateForm, groupLabel, screens,
} from "./form.js";
import { submissionBody, syncNow } from "./sync.js";
import { widgetFor } from "./widgets.js";

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

/** Connect the editor to the app's state and screens. */
export function connectEditor(parts) {
  ({ app, render, show, header, noteStorage, storageText, formOf, collector, editable, viewSurvey } = parts);
}

/** Start a new survey of `form` (its id is made now, on the phone). */
export async function startSurvey(form) {
  if (!collector()) {
    show("settings");
    return;
  }
  const survey = {
    id: crypto.randomUUID(), // made when the survey starts: the server's idempotency key
    form_id: form.form_id,
    form_version: form.version,
    status: "draft",
    started_at: localIso(),
    collector: collector(),
    user_id: auth.user()?.id ?? null, // sent only with this person's token
    user_name: auth.user()?.display_name || auth.user()?.username || "",
    answers: {},
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
  app.screen = survey.screen ?? 0;
  app.showErrors = new Set();
  app.view = "survey";
  app.notice = "";
  render();
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

/** Write the editor's copy; resolves with "ok", "stale" (another tab changed it) or "failed". */
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
    noteStorage(error);
    return "failed";
  }
}

function changedElsewhere(survey, current) {
  if (app.view !== "survey" || app.survey?.id !== survey.id) return;
  // Another tab changed it: carry on from its copy (or leave it, if it can't be edited now).
  app.survey = editable(current) && current.status !== "pending" ? current : null;
  app.view = app.survey ? "survey" : "home";
  app.notice = t("changed_elsewhere");
  render();
}

function saveDraft() {
  const survey = app.survey;
  if (!survey) return Promise.resolve("ok");
  survey.screen = app.screen;
  return queueWrite(() => writeSurvey(survey));
}

function visibleScreens(form, relevant) {
  return screens(form).map((screen, index) => ({ ...screen, index }))
    .filter((screen) => screen.questions.some((q) => relevant[q.name]));
}

/** The editor's screen of the survey in hand. */
export function renderSurvey() {
  const survey = app.survey;
  const form = formOf(survey);
  if (!form) return [header(t("app_title")), h("main", { class: "content" }, h("p", { class: "error" }, t("forms_unavailable")))];
  const all = screens(form);
  const { relevant } = evaluateForm(form, survey.answers, survey.location);
  const visible = visibleScreens(form, relevant);
  if (!visible.some((s) => s.index === app.screen)) app.screen = visible[0]?.index ?? 0;
  const position = visible.findIndex((s) => s.index === app.screen);
  const screen = all[app.screen];
  const body = h("div", { class: "questions" }, screen.questions.map((q) => questionBlock(form, q)));
  const isLast = position === visible.length - 1;
  const nav = h("nav", { class: "survey-nav" },
    h("button", {
      class: "secondary", id: "back", disabled: position === 0,
      onclick: () => go(form, -1),
    }, t("back")),
    isLast
      ? h("button", { class: "primary", id: "finish", onclick: () => finish(form) }, t("finish"))
      : h("button", { class: "primary", id: "next", onclick: () => go(form, 1) }, t("next")));
  const view = [
    header(groupLabel(form, screen.key) || pick(form.title)),
    h("main", { class: "content survey", dataset: { screen: screen.key } },
      h("p", { class: "muted small", id: "step" }, t("step", { n: position + 1, total: visible.length })),
      survey.correction ? h("p", { class: "notice", id: "correction-note" },
        survey.review?.comment ? t("review_comment", { comment: survey.review.comment }) : t("review_needs_correction")) : null,
      app.notice ? h("p", { class: "error notice", id: "notice" }, app.notice) : null,
      body,
      h("button", { class: "link", id: "exit-survey", onclick: () => exitSurvey() }, t("exit_survey"))),
    nav,
  ];
  queueMicrotask(() => refreshQuestions(form));
  return view;
}

async function exitSurvey() {
  const outcome = await saveDraft();
  if (outcome === "failed") {
    // Leaving now would lose the answers not stored yet: stay, and say why.
    app.notice = storageText();
    render();
    return;
  }
  app.survey = null;
  show("home");
}

function questionBlock(form, question) {
  const block = h("section", { class: "question", dataset: { name: question.name, type: question.type } });
  const label = pick(question.label);
  block.append(h("div", { class: "question-label", id: `label-${question.name}` },
    label, question.required ? h("span", { class: "required", "aria-hidden": "true" }, " *") : null));
  const hint = pick(question.hint);
  if (hint) block.append(h("p", { class: "hint" }, hint));
  block.append(widget(form, question));
  block.append(h("p", { class: "error", dataset: { for: question.name }, role: "alert", hidden: true }));
  return block;
}

function onAnswer(form, question, value) {
  const survey = app.survey;
  if (value === "" || value === null || value === undefined) delete survey.answers[question.name];
  else survey.answers[question.name] = value;
  clearIrrelevant(form, survey.answers, survey.location);
  app.notice = "";
  refreshQuestions(form);
  saveDraft();
}

/**
 * What a widget (widgets.js) may use: the answer and its setter, the choices that apply now,
 * the survey, and the editor's save / refresh / storage-problem hooks.
 */
function widgetContext(form, question) {
  return {
    id: `q-${question.name}`,
    labelledBy: `label-${question.name}`,
    value: () => app.survey.answers[question.name],
    choices: () => question.choices,
    survey: () => app.survey,
    active: () => app.view === "survey",
    save: saveDraft,
    refresh: () => refreshQuestions(form),
    answer: (value) => onAnswer(form, question, value),
    storageProblem: (error) => noteStorage(error),
  };
}

function widget(form, question) {
  return widgetFor(question, widgetContext(form, question));
}

function refreshQuestions(form) {
  const survey = app.survey;
  const { relevant, errors } = evaluateForm(form, survey.answers, survey.location);
  for (const block of root.querySelectorAll("section.question")) {
    const name = block.dataset.name;
    block.hidden = !relevant[name];
    if (!relevant[name]) {
      for (const input of block.querySelectorAll("input")) {
        if (input.type === "radio" || input.type === "checkbox") input.checked = false;
        else if (input.type !== "file") input.value = "";
      }
    }
    const error = block.querySelector(".error[data-for]");
    const message = app.showErrors.has(name) && relevant[name] ? errors[name] : undefined;
    error.textContent = message ?? "";
    error.hidden = !message;
    block.classList.toggle("invalid", Boolean(message));
  }
  return errors;
}

function go(form, direction) {
  const survey = app.survey;
  const { relevant, errors } = evaluateForm(form, survey.answers, survey.location);
  const current = screens(form)[app.screen];
  if (direction > 0) {
    for (const q of current.questions) app.showErrors.add(q.name);
    const wrong = current.questions.filter((q) => relevant[q.name] && errors[q.name]);
    if (wrong.length) {
      refreshQuestions(form);
      root.querySelector(`section.question[data-name="${wrong[0].name}"]`)?.scrollIntoView({ block: "center" });
      return;
    }
  }
  const visible = visibleScreens(form, relevant);
  const position = visible.findIndex((s) => s.index === app.screen);
  const target = visible[position + direction];
  if (!target) return;
  app.screen = target.index;
  app.notice = "";
  saveDraft();
  render();
}

async function finish(form) {
  const survey = app.survey;
  clearIrrelevant(form, survey.answers, survey.location);
  const { relevant, errors } = evaluateForm(form, survey.answers, survey.location);
  const wrong = form.questions.filter((q) => relevant[q.name] && errors[q.name]);
  if (wrong.length) {
    for (const q of form.questions) app.showErrors.add(q.name);
    const all = screens(form);
    app.screen = all.findIndex((s) => s.questions.some((q) => q.name === wrong[0].name));
    app.notice = t("fix_errors");
    render();
    return;
  }
  const outcome = await queueWrite(() => {
    const payload = answersToSend(form, survey.answers, survey.location);
    const finished = {
      ...survey,
      payload,
      photos: form.questions.filter((q) => q.type === "image" && payload[q.name]).map((q) => payload[q.name]),
      // The time of the first finish: finishing again is the same survey, not a new one.
      collected_at: survey.collected_at ?? localIso(),
      collector: survey.correction ? survey.collector : collector() || survey.collector,
      status: "pending",
      errors: [],
    };
    finished.body = submissionBody(finished); // what is sent, as it is, every time
    return writeSurvey(finished);
  });
  if (outcome === "stale") return;
  if (outcome === "failed") {
    app.notice = storageText();
    render();
    return;
  }
  db.notifyOtherTabs();
  app.survey = null;
  app.view = "home";
  app.notice = t("saved_pending");
  render();
  if (navigator.onLine) syncNow();
}
