// The phone survey app: screens, the form renderer, GPS, photos; offline-first.

import { localIso } from "./clock.js";
import * as db from "./db.js";
import { h } from "./dom.js";
import { language, pick, setLanguage, t } from "./i18n.js";
import {
  answersToSend, clearIrrelevant, evaluateForm, groupLabel, renderable, screens,
} from "./form.js";
import {
  SENT_ANSWERS_DAYS, onSync, state as syncState, submissionBody, syncNow, tidy,
} from "./sync.js";
import { gpsWidget, photoWidget, releaseGps } from "./widgets.js";

const COLLECTOR_KEY = "cdfmap.collect.collector";
const root = document.getElementById("app");
const app = {
  forms: [], versions: {}, view: "home", survey: null, viewing: null, screen: 0,
  showErrors: new Set(), notice: "", storageError: null,
};

function collector() {
  try {
    return localStorage.getItem(COLLECTOR_KEY) || "";
  } catch {
    return "";
  }
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
    try {
      await db.setValue("forms", forms);
      const versions = (await db.getValue("form-versions")) ?? {};
      for (const form of forms) versions[`${form.form_id}@${form.version}`] = form;
      await db.setValue("form-versions", versions);
    } catch (error) {
      noteStorage(error); // the forms are used all the same, just not kept for offline use
    }
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

// ---------------------------------------------------------------- phone storage

/** Every failed write lands here (null after a write that worked): the volunteer is told. */
function noteStorage(error) {
  if (!error && !app.storageError) return;
  if (error) console.warn("could not write on the phone", error);
  app.storageError = error ? { quota: db.isQuotaError(error), detail: error.message ?? String(error) } : null;
  refreshStorageBanner();
}

function storageText() {
  const problem = app.storageError;
  if (!problem) return "";
  return problem.quota ? t("storage_full") : t("storage_failed", { detail: problem.detail });
}

function storageBanner() {
  // Shown on every screen while writes fail; sending needs no write, so it stays possible.
  return h("div", { class: "notice error storage", id: "storage-full", role: "alert", hidden: !app.storageError },
    h("p", {}, storageText()),
    h("button", { class: "primary", id: "storage-send", type: "button", onclick: () => syncNow() }, t("sync_now")),
    h("p", { class: "small", id: "storage-sync-status" }, syncState.running ? t("syncing") : syncMessage(syncState.last)));
}

function refreshStorageBanner() {
  root.querySelector("#storage-full")?.replaceWith(storageBanner());
}

async function askPersistentStorage() {
  // Without it the browser may evict the app's data (unsent surveys) when space runs low.
  try {
    if (navigator.storage?.persist && !(await navigator.storage.persisted())) await navigator.storage.persist();
  } catch (error) {
    console.warn("persistent storage not granted", error);
  }
}

function show(view) {
  app.view = view;
  app.notice = "";
  render();
}

function render() {
  releaseGps(); // the GPS widget, if on the new screen, starts its own watch
  document.title = t("app_title");
  const views = {
    home: renderHome, outbox: renderOutbox, settings: renderSettings, survey: renderSurvey, view: renderView,
  };
  const sameView = root.dataset.view === app.view;
  const [first, ...rest] = (views[app.view] ?? renderHome)().flat();
  root.replaceChildren(first, storageBanner(), ...rest);
  root.dataset.view = app.view;
  if (!sameView) window.scrollTo(0, 0); // a list refreshed by a sync stays where it was read
}

// ---------------------------------------------------------------- home, outbox, settings

function statusBadge(status) {
  return h("span", { class: `badge ${status}` }, t(`status_${status}`));
}

function surveyTitle(survey) {
  if (survey.purged_at) return t("answers_removed");
  return survey.answers?.head_name || t("untitled");
}

/** Editable on the phone: not sent, and not possibly on the server already. */
function editable(survey) {
  return !survey.locked && ["draft", "failed", "pending"].includes(survey.status);
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
  return h("li", { class: "survey-card", dataset: { id: survey.id, status: survey.status } },
    h("div", { class: "card-head" }, h("strong", {}, surveyTitle(survey)), statusBadge(survey.status)),
    h("div", { class: "muted small" },
      survey.collected_at ? t("finished", { time: shortTime(survey.collected_at) }) : t("started", { time: shortTime(survey.started_at) })),
    editable(survey)
      ? h("button", { class: "secondary edit", onclick: () => openSurvey(survey) }, t("edit"))
      : h("button", { class: "secondary view", onclick: () => viewSurvey(survey) }, t("view")),
    survey.status === "draft" ? h("button", {
      class: "link danger", onclick: async () => {
        if (!window.confirm(t("confirm_delete"))) return;
        try {
          await db.deleteDraft(survey.id);
        } catch (error) {
          noteStorage(error);
        }
        render();
      },
    }, t("delete_draft")) : null);
}

function syncMessage(last) {
  if (!last) return "";
  if (last.error === "network") return t("sync_network_error", { s: last.retryIn });
  if (last.error === "server") return t("sync_server_error", { status: last.status, s: last.retryIn });
  if (last.error === "phone") return t("sync_phone_error", { detail: last.detail, s: last.retryIn });
  if (last.sent === 0 && last.failed === 0) return t("sync_nothing");
  const done = t("sync_done", { n: last.sent });
  return last.failed ? `${done} ${t("count_failed", { n: last.failed })}.` : done;
}

function errorText(survey, error) {
  // The server's own text says "start a new survey", which would count the household twice.
  if (error.code === "conflict") return t("readonly_conflict");
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
    survey.status === "failed" && editable(survey)
      ? h("button", { class: "secondary edit", onclick: () => openSurvey(survey) }, t("edit"))
      : null,
    editable(survey) ? null : h("button", { class: "secondary view", onclick: () => viewSurvey(survey) }, t("view")));
}

function renderOutbox() {
  const lists = h("div", { id: "outbox" }, "…");
  const clear = h("button", {
    class: "link danger", id: "clear-sent", type: "button", disabled: true,
    onclick: () => clearSent(),
  }, t("clear_sent"));
  db.allSurveys().then((surveys) => {
    const finished = surveys.filter((s) => s.status !== "draft");
    finished.sort((a, b) => String(b.collected_at).localeCompare(String(a.collected_at)));
    const count = (status) => finished.filter((s) => s.status === status).length;
    clear.disabled = !finished.some(db.fullySent);
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
      app.notice ? h("p", { class: "notice", id: "notice" }, app.notice) : null,
      lists,
      h("p", { class: "muted small" }, t("sent_kept", { days: SENT_ANSWERS_DAYS })),
      clear),
  ];
}

async function clearSent() {
  const count = (await db.allSurveys()).filter(db.fullySent).length;
  if (!count || !window.confirm(t("confirm_clear_sent", { n: count }))) return;
  try {
    app.notice = t("cleared_sent", { n: await db.clearSent() });
  } catch (error) {
    noteStorage(error);
  }
  render();
}

// ---------------------------------------------------------------- a survey, read-only

function answerText(question, value) {
  if (value === undefined || value === null || value === "") return t("no_answer");
  if (question.type === "image") return t("photo_attached");
  if (question.type === "select_one" || question.type === "select_multiple") {
    return String(value).split(/\s+/).filter(Boolean)
      .map((name) => pick(question.choices?.find((c) => c.value === name)?.label) || name).join(", ");
  }
  return String(value);
}

function readonlyReason(survey) {
  if (survey.status === "sent") return t("readonly_sent");
  if (survey.status === "failed") return t("readonly_conflict");
  return t("readonly_unconfirmed");
}

function renderView() {
  const survey = app.viewing;
  const form = formOf(survey);
  // What the server has (or may have) is what was sent: show that, not the editor's copy.
  const answers = survey.body?.answers ?? survey.payload ?? survey.answers;
  const location = survey.body?.location ?? survey.location;
  const rows = [];
  if (answers && form) {
    for (const question of form.questions) {
      if (question.type === "note" || question.type === "geopoint") continue;
      if (!(question.name in answers)) continue;
      rows.push(h("dt", {}, pick(question.label)), h("dd", {}, answerText(question, answers[question.name])));
    }
  }
  if (answers && location) {
    rows.unshift(h("dt", {}, t("location_label")), h("dd", {}, `${location.lat.toFixed(6)}, ${location.lon.toFixed(6)}`));
  }
  return [
    header(surveyTitle(survey)),
    h("main", { class: "content" },
      h("div", { class: "card-head" }, statusBadge(survey.status),
        h("span", { class: "muted small" }, survey.collected_at ? t("finished", { time: shortTime(survey.collected_at) }) : "")),
      h("p", { class: "notice", id: "readonly-reason" }, readonlyReason(survey)),
      survey.errors?.some((e) => e.code !== "conflict")
        ? h("ul", { class: "server-errors" }, survey.errors.filter((e) => e.code !== "conflict")
          .map((e) => h("li", { class: "error" }, errorText(survey, e))))
        : null,
      answers ? h("dl", { class: "answers", id: "answers" }, rows) : h("p", { class: "muted", id: "answers" }, t("answers_removed")),
      h("button", { class: "secondary big", id: "view-back", onclick: () => show(app.returnTo ?? "home") }, t("back"))),
  ];
}

function viewSurvey(survey) {
  app.returnTo = app.view === "outbox" ? "outbox" : "home";
  app.viewing = survey;
  show("view");
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
          try {
            localStorage.setItem(COLLECTOR_KEY, value);
          } catch (failure) {
            noteStorage(failure);
            return;
          }
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

function edit(survey) {
  app.survey = survey;
  app.screen = survey.screen ?? 0;
  app.showErrors = new Set();
  app.view = "survey";
  app.notice = "";
  render();
}

async function openSurvey(opened) {
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

function widgetContext(form, question) {
  return {
    survey: () => app.survey,
    active: () => app.view === "survey",
    save: saveDraft,
    refresh: () => refreshQuestions(form),
    answer: (value) => onAnswer(form, question, value),
    storageProblem: (error) => noteStorage(error),
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
  const outcome = await queueWrite(() => {
    const payload = answersToSend(form, survey.answers, survey.location);
    const finished = {
      ...survey,
      payload,
      photos: form.questions.filter((q) => q.type === "image" && payload[q.name]).map((q) => payload[q.name]),
      // The time of the first finish: finishing again is the same survey, not a new one.
      collected_at: survey.collected_at ?? localIso(),
      collector: collector() || survey.collector,
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
  onSync((state) => {
    if (state.last?.storageFull && !app.storageError) noteStorage(new DOMException("sync", "QuotaExceededError"));
    if (app.view === "outbox" || app.view === "home") render();
    else refreshStorageBanner();
  });
  db.onOtherTabChange(() => {
    if (app.view === "outbox" || app.view === "home") render();
  });
  window.addEventListener("online", () => { render(); syncNow(); });
  window.addEventListener("offline", () => render());
  app.view = collector() ? "home" : "settings";
  render();
  document.documentElement.dataset.appReady = "yes";
  registerServiceWorker();
  askPersistentStorage();
  if (navigator.onLine) syncNow();
  else tidy();
}

start();
