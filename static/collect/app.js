// The phone survey app: screens, the form renderer, GPS, photos; offline-first.

import * as db from "./db.js";
import { h } from "./dom.js";
import { language, pick, setLanguage, t } from "./i18n.js";
import {
  answersToSend, clearIrrelevant, evaluateForm, groupLabel, renderable, screens,
} from "./form.js";
import { idle as syncIdle, onSync, state as syncState, syncNow } from "./sync.js";
import { gpsWidget, photoWidget, releaseGps } from "./widgets.js";

const COLLECTOR_KEY = "cdfmap.collect.collector";
const root = document.getElementById("app");
const app = { forms: [], versions: {}, view: "home", survey: null, screen: 0, showErrors: new Set(), notice: "" };

function collector() {
  try {
    return localStorage.getItem(COLLECTOR_KEY) || "";
  } catch {
    return "";
  }
}

function localIso(date = new Date()) {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, "0");
  const local = new Date(date.getTime() + offset * 60000).toISOString().slice(0, 19);
  return `${local}${sign}${pad(offset / 60)}:${pad(offset % 60)}`;
}

function shortTime(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(language() === "vi" ? "vi-VN" : "en-GB", {
    day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit",
  });
}

function formOf(survey) {
  // A draft keeps the form version it was started with, even after the form was updated.
  return app.versions[`${survey.form_id}@${survey.form_version}`]
    ?? app.forms.find((f) => f.form_id === survey.form_id);
}

// ---------------------------------------------------------------- forms (cached for offline)

async function fetchJson(url) {
  const response = await fetch(url, { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

async function loadForms() {
  try {
    const listing = await fetchJson("/api/v1/forms");
    const forms = [];
    for (const summary of listing.forms) {
      const form = await fetchJson(`/api/v1/forms/${encodeURIComponent(summary.form_id)}`);
      if (renderable(form)) forms.push(form);
    }
    await db.setValue("forms", forms);
    const versions = (await db.getValue("form-versions")) ?? {};
    for (const form of forms) versions[`${form.form_id}@${form.version}`] = form;
    await db.setValue("form-versions", versions);
    return forms;
  } catch {
    return (await db.getValue("forms")) ?? [];
  }
}

async function loadVersions(forms) {
  const versions = (await db.getValue("form-versions")) ?? {};
  for (const form of forms) versions[`${form.form_id}@${form.version}`] = form;
  return versions;
}

// ---------------------------------------------------------------- chrome

function header(title) {
  return h(
    "header", { class: "bar" },
    h("button", { class: "link", id: "home-button", "aria-label": t("home"), onclick: () => show("home") }, "⌂"),
    h("h1", {}, title),
    h("button", {
      class: "link", id: "lang-toggle",
      onclick: () => { setLanguage(language() === "vi" ? "en" : "vi"); render(); },
    }, t("language_button")),
  );
}

function networkLine() {
  const online = navigator.onLine;
  return h("p", { class: online ? "net online" : "net offline", id: "network" },
    online ? t("online") : t("offline"),
    document.documentElement.dataset.offlineReady === "yes" ? ` · ${t("offline_ready")}` : "");
}

function show(view) {
  app.view = view;
  app.notice = "";
  render();
}

function render() {
  releaseGps(); // the GPS widget, if on the new screen, starts its own watch
  document.title = t("app_title");
  const views = { home: renderHome, outbox: renderOutbox, settings: renderSettings, survey: renderSurvey };
  root.replaceChildren(...(views[app.view] ?? renderHome)().flat());
  root.dataset.view = app.view;
  window.scrollTo(0, 0);
}

// ---------------------------------------------------------------- home, outbox, settings

function statusBadge(status) {
  return h("span", { class: `badge ${status}` }, t(`status_${status}`));
}

function surveyTitle(survey) {
  return survey.answers?.head_name || t("untitled");
}

function renderHome() {
  const list = h("ul", { class: "surveys", id: "my-surveys" }, h("li", { class: "muted" }, "…"));
  db.allSurveys().then((surveys) => {
    surveys.sort((a, b) => String(b.started_at).localeCompare(String(a.started_at)));
    list.replaceChildren(...(surveys.length ? surveys.map(surveyCard) : [h("li", { class: "muted" }, t("no_surveys"))]));
  });
  const starts = app.forms.length
    ? app.forms.map((form) => h("button", {
      class: "primary big", id: app.forms.length === 1 ? "new-survey" : `new-${form.form_id}`,
      onclick: () => startSurvey(form),
    }, app.forms.length === 1 ? t("new_survey") : `${t("new_survey")}: ${pick(form.title)}`))
    : [h("p", { class: "error" }, t("forms_unavailable"))];
  return [
    header(t("app_title")),
    h("main", { class: "content" },
      networkLine(),
      app.notice ? h("p", { class: "notice", id: "notice" }, app.notice) : null,
      ...starts,
      h("div", { class: "row" },
        h("button", { class: "secondary", id: "outbox-button", onclick: () => show("outbox") }, t("outbox")),
        h("button", { class: "secondary", id: "settings-button", onclick: () => show("settings") }, t("settings"))),
      h("h2", {}, t("my_surveys")),
      list),
  ];
}

function surveyCard(survey) {
  const editable = ["draft", "failed", "pending"].includes(survey.status);
  return h("li", { class: "survey-card", dataset: { id: survey.id, status: survey.status } },
    h("div", { class: "card-head" }, h("strong", {}, surveyTitle(survey)), statusBadge(survey.status)),
    h("div", { class: "muted small" },
      survey.collected_at ? t("finished", { time: shortTime(survey.collected_at) }) : t("started", { time: shortTime(survey.started_at) })),
    editable ? h("button", { class: "secondary edit", onclick: () => openSurvey(survey) }, t("edit")) : null,
    survey.status === "draft" ? h("button", {
      class: "link danger", onclick: async () => {
        if (!window.confirm(t("confirm_delete"))) return;
        await db.deleteSurvey(survey);
        render();
      },
    }, t("delete_draft")) : null);
}

function syncMessage(last) {
  if (!last) return "";
  if (last.error === "network") return t("sync_network_error", { s: last.retryIn });
  if (last.error === "server") return t("sync_server_error", { status: last.status, s: last.retryIn });
  if (last.sent === 0 && last.failed === 0) return t("sync_nothing");
  const done = t("sync_done", { n: last.sent });
  return last.failed ? `${done} ${t("count_failed", { n: last.failed })}.` : done;
}

function errorText(survey, error) {
  // "answers.household_size" -> the question's label, as the volunteer saw it.
  const name = String(error.field ?? "").replace(/^answers\./, "");
  const question = formOf(survey)?.questions.find((q) => q.name === name);
  const where = question ? pick(question.label) : error.field;
  return where ? `${where}: ${error.message}` : error.message;
}

function outboxItem(survey) {
  const waitingPhotos = (survey.photos ?? []).filter((p) => !(survey.uploaded ?? []).includes(p));
  const photos = waitingPhotos.length ? "waiting" : "uploaded";
  return h("li", { class: "outbox-item", dataset: { id: survey.id, status: survey.status, photos } },
    h("div", { class: "card-head" }, h("strong", {}, surveyTitle(survey)), statusBadge(survey.status)),
    h("div", { class: "muted small" }, t("finished", { time: shortTime(survey.collected_at) })),
    survey.status === "sent" && waitingPhotos.length ? h("div", { class: "small" }, t("photo_waiting")) : null,
    survey.status === "failed" && survey.errors?.length
      ? h("div", { class: "server-errors" }, h("div", {}, t("server_errors")),
        h("ul", {}, survey.errors.map((e) => h("li", { class: "error" }, errorText(survey, e)))))
      : null,
    survey.status === "failed" ? h("button", { class: "secondary edit", onclick: () => openSurvey(survey) }, t("edit")) : null);
}

function renderOutbox() {
  const lists = h("div", { id: "outbox" }, "…");
  db.allSurveys().then((surveys) => {
    const finished = surveys.filter((s) => s.status !== "draft");
    finished.sort((a, b) => String(b.collected_at).localeCompare(String(a.collected_at)));
    const count = (status) => finished.filter((s) => s.status === status).length;
    lists.replaceChildren(
      h("p", { class: "counts", id: "outbox-counts" },
        [t("count_pending", { n: count("pending") }), t("count_sent", { n: count("sent") }), t("count_failed", { n: count("failed") })].join(" · ")),
      h("ul", { class: "surveys" }, finished.map(outboxItem)));
  });
  return [
    header(t("outbox")),
    h("main", { class: "content" },
      networkLine(),
      h("button", {
        class: "primary big", id: "sync-now", disabled: syncState.running,
        onclick: () => syncNow(),
      }, syncState.running ? t("syncing") : t("sync_now")),
      h("p", { class: "notice", id: "sync-status", dataset: { state: syncState.running ? "running" : syncState.last?.error ?? "idle" } },
        syncState.running ? t("syncing") : syncMessage(syncState.last)),
      lists),
  ];
}

function renderSettings() {
  const input = h("input", {
    id: "collector", type: "text", value: collector(), autocomplete: "name", maxlength: 64,
    "aria-describedby": "collector-hint",
  });
  const error = h("p", { class: "error", id: "collector-error", hidden: true }, t("collector_required"));
  return [
    header(t("settings")),
    h("main", { class: "content" },
      h("label", { for: "collector", class: "question-label" }, t("collector_label")),
      h("p", { class: "hint", id: "collector-hint" }, t("collector_hint")),
      input, error,
      h("button", {
        class: "primary big", id: "save-settings",
        onclick: () => {
          const value = input.value.trim();
          if (!value) {
            error.hidden = false;
            return;
          }
          localStorage.setItem(COLLECTOR_KEY, value);
          show("home");
        },
      }, t("save"))),
  ];
}

// ---------------------------------------------------------------- surveys

async function startSurvey(form) {
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
    answers: {},
    location: null,
    photos: [],
    uploaded: [],
    errors: [],
  };
  await db.putSurvey(survey);
  openSurvey(survey);
}

async function openSurvey(opened) {
  let survey = opened;
  if (survey.status === "pending") {
    // A sync may be sending it right now: let it finish, then look again.
    await syncIdle();
    survey = (await db.getSurvey(survey.id)) ?? survey;
    if (survey.status === "sent") {
      render();
      return;
    }
    survey.status = "draft"; // reopened: not sent until finished again
  }
  app.survey = survey;
  app.screen = survey.screen ?? 0;
  app.showErrors = new Set();
  app.view = "survey";
  await db.putSurvey(survey);
  render();
}

function saveDraft() {
  const survey = app.survey;
  survey.screen = app.screen;
  return db.putSurvey(survey);
}

function visibleScreens(form, relevant) {
  return screens(form).map((screen, index) => ({ ...screen, index }))
    .filter((screen) => screen.questions.some((q) => relevant[q.name]));
}

function renderSurvey() {
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
      app.notice ? h("p", { class: "error notice", id: "notice" }, app.notice) : null,
      body,
      h("button", { class: "link", id: "exit-survey", onclick: async () => { await saveDraft(); show("home"); } }, t("exit_survey"))),
    nav,
  ];
  queueMicrotask(() => refreshQuestions(form));
  return view;
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

function widgetContext(form, question) {
  return {
    survey: () => app.survey,
    active: () => app.view === "survey",
    save: saveDraft,
    refresh: () => refreshQuestions(form),
    answer: (value) => onAnswer(form, question, value),
  };
}

function widget(form, question) {
  const answers = app.survey.answers;
  const name = question.name;
  const labelledBy = `label-${name}`;
  switch (question.type) {
    case "select_one":
      return h("div", { class: "choices", role: "radiogroup", "aria-labelledby": labelledBy },
        question.choices.map((choice) => h("label", { class: "choice" },
          h("input", {
            type: "radio", name, value: choice.value, checked: answers[name] === choice.value,
            onchange: (event) => onAnswer(form, question, event.target.value),
          }),
          h("span", {}, pick(choice.label)))));
    case "select_multiple": {
      const group = h("div", { class: "choices", role: "group", "aria-labelledby": labelledBy });
      const selected = new Set(String(answers[name] ?? "").split(/\s+/).filter(Boolean));
      group.append(h("p", { class: "hint" }, t("select_hint")));
      for (const choice of question.choices) {
        group.append(h("label", { class: "choice" },
          h("input", {
            type: "checkbox", name, value: choice.value, checked: selected.has(choice.value),
            onchange: () => {
              const values = [...group.querySelectorAll("input:checked")].map((i) => i.value);
              onAnswer(form, question, values.join(" "));
            },
          }),
          h("span", {}, pick(choice.label))));
      }
      return group;
    }
    case "integer":
    case "decimal":
      return h("input", {
        type: "text", name, id: `q-${name}`, "aria-labelledby": labelledBy,
        inputmode: question.type === "integer" ? "numeric" : "decimal",
        value: answers[name] ?? "",
        oninput: (event) => onAnswer(form, question, event.target.value.trim()),
      });
    case "date":
      return h("input", {
        type: "date", name, id: `q-${name}`, "aria-labelledby": labelledBy, value: answers[name] ?? "",
        onchange: (event) => onAnswer(form, question, event.target.value),
      });
    case "geopoint":
      return gpsWidget(widgetContext(form, question));
    case "image":
      return photoWidget(widgetContext(form, question), question);
    case "note":
      return h("span");
    default: {
      const multiline = question.appearance === "multiline";
      return h(multiline ? "textarea" : "input", {
        type: multiline ? null : "text", name, id: `q-${name}`, "aria-labelledby": labelledBy,
        inputmode: /phone/.test(name) ? "tel" : null,
        value: multiline ? null : answers[name] ?? "",
        oninput: (event) => onAnswer(form, question, event.target.value),
      }, multiline ? answers[name] ?? "" : null);
    }
  }
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
  survey.payload = answersToSend(form, survey.answers, survey.location);
  survey.photos = form.questions.filter((q) => q.type === "image" && survey.payload[q.name])
    .map((q) => survey.payload[q.name]);
  survey.collected_at = localIso();
  survey.collector = collector() || survey.collector;
  survey.status = "pending";
  survey.errors = [];
  await db.putSurvey(survey);
  app.survey = null;
  app.view = "home";
  app.notice = t("saved_pending");
  render();
  if (navigator.onLine) syncNow();
}

// ---------------------------------------------------------------- start

async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  const markReady = () => {
    if (navigator.serviceWorker.controller) {
      document.documentElement.dataset.offlineReady = "yes";
      const line = document.getElementById("network");
      if (line && !line.textContent.includes(t("offline_ready"))) line.append(` · ${t("offline_ready")}`);
    }
  };
  navigator.serviceWorker.addEventListener("controllerchange", markReady);
  try {
    await navigator.serviceWorker.register("/collect/sw.js", { scope: "/collect" });
    await navigator.serviceWorker.ready;
    markReady();
  } catch (error) {
    console.warn("service worker not registered", error);
  }
}

async function start() {
  setLanguage(language());
  app.forms = await loadForms();
  app.versions = await loadVersions(app.forms);
  onSync(() => {
    if (app.view === "outbox" || app.view === "home") render();
  });
  window.addEventListener("online", () => { render(); syncNow(); });
  window.addEventListener("offline", () => render());
  app.view = collector() ? "home" : "settings";
  render();
  document.documentElement.dataset.appReady = "yes";
  registerServiceWorker();
  if (navigator.onLine) syncNow();
}

start();
