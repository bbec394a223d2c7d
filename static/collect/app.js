// The phone survey app: screens, the form renderer, GPS, photos; offline-first.

import {
  confirmLeaving, renderSignIn, sessionBanner, takeEnrolmentCode,
} from "./account.js";
import * as auth from "./auth.js";
import * as db from "./db.js";
import { h } from "./dom.js";
import {
  connectEditor, edit, openSurvey, passEntries, renderSurvey, startSurvey,
} from "./editor.js";
import {
  attachmentsOf, findQuestion, firstTextAnswer, instanceName, readableRows, renderable,
} from "./form.js";
import { language, pick, setLanguage, t } from "./i18n.js";
import { plainText } from "./markdown.js";
import {
  SENT_ANSWERS_DAYS, onSync, state as syncState, syncNow, tidy,
} from "./sync.js";
import {
  connectTreasurer, keepsCashBook, loadRoles, openTreasurer, refreshRoles, renderTreasurer,
  resumeTreasurer, syncWaiting, treasurerButton, treasurerOnly,
} from "./treasurer.js";
import { releaseGps } from "./widgets.js";

const COLLECTOR_KEY = "cdfmap.collect.collector";
const LAST_USER_KEY = "cdfmap.collect.user";
const root = document.getElementById("app");
const app = {
  forms: [], versions: {}, view: "home", survey: null, viewing: null, screen: 0,
  // notice: a text, or a function of the surveys on screen making it in the language shown
  // (noticeText), so that it follows a switch of language and the survey it speaks of.
  showErrors: new Set(), notice: "", storageError: null,
  signinFailure: null, enrolling: false, retryCode: null, signinUsername: "",
};

function collector() {
  try {
    return localStorage.getItem(COLLECTOR_KEY) || "";
  } catch {
    return "";
  }
}

/** The collector name defaults to the account's username, and follows a change of account. */
function adoptCollector(user) {
  if (!user?.username) return;
  try {
    if (user.id === null || user.id === undefined) {
      // The person is not known yet (their /me got no answer): only a first name is taken.
      if (!collector()) localStorage.setItem(COLLECTOR_KEY, user.username);
      return;
    }
    const previous = localStorage.getItem(LAST_USER_KEY);
    if (!collector() || (previous && previous !== String(user.id))) localStorage.setItem(COLLECTOR_KEY, user.username);
    localStorage.setItem(LAST_USER_KEY, String(user.id));
  } catch {
    // private mode: the settings screen asks for the name
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
  const response = await auth.api(url, { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

function keepVersion(form) {
  app.versions[`${form.form_id}@${form.version}`] = form;
  db.getValue("form-versions")
    .then((versions) => db.setValue("form-versions", { ...(versions ?? {}), [`${form.form_id}@${form.version}`]: form }))
    .catch(noteStorage);
}

/** The form a survey was made with, fetched when the phone does not have that version. */
async function ensureForm(formId, version) {
  const known = app.versions[`${formId}@${version}`];
  if (known) return known;
  try {
    const query = `?version=${encodeURIComponent(version)}`;
    const form = await fetchJson(`/api/v1/forms/${encodeURIComponent(formId)}${query}`);
    if (renderable(form)) {
      keepVersion(form);
      return form;
    }
  } catch (error) {
    if (error instanceof auth.SignInRequired) throw error;
  }
  return app.forms.find((f) => f.form_id === formId);
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
  const who = auth.user();
  return h(
    "header", { class: "bar" },
    h("button", {
      class: "link", id: "home-button", "aria-label": t("home"), hidden: !auth.hasToken(), onclick: () => show("home"),
    }, "⌂"),
    h("div", { class: "titles" },
      h("h1", {}, title),
      who ? h("span", { class: "who", id: "signed-in-as" }, t("signed_in_as", { name: who.display_name || who.username })) : null),
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
    h("p", { class: "small", id: "storage-sync-status" }, syncState.running ? syncingText() : syncMessage(syncState.last)));
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

// ---------------------------------------------------------------- Android's Back

// Every screen but home is a history entry ({collect: "screen", view, depth}), so that Back
// shows the screen before it; home is the page's own first entry, so that Back there leaves
// the app as it leaves any first page. `depth` counts the app's entries above that first one
// (the editor's too: editor.js), so that going home passes them all in one step.
const SCREENS = new Set(["outbox", "settings", "view", "treasurer"]);

/** The app's entries above its first one, where the history is now. */
function historyDepth() {
  return history.state?.collect ? history.state.depth ?? 0 : 0;
}

function screenEntry(view) {
  return { collect: "screen", view, viewing: view === "view" ? app.viewing?.id ?? null : null };
}

function show(view) {
  app.view = view;
  app.notice = "";
  const here = history.state;
  if (SCREENS.has(view)) {
    const entry = screenEntry(view);
    if (here?.collect === "screen" && here.view === view && here.viewing === entry.viewing) {
      history.replaceState({ ...entry, depth: here.depth }, "");
    } else {
      history.pushState({ ...entry, depth: historyDepth() + 1 }, "");
    }
  } else if (here?.collect === "screen" && here.depth > 0) {
    // Home (or the sign-in) from a screen: its entries go, so that Back here leaves the app.
    // (The editor's, left with Exit, stay: a reload may follow at once; Back passes them.)
    history.go(-here.depth);
  }
  render();
}


/**
 * After a reload, the screen the history's entry names (the app starts on home): shown again,
 * Back walks the screens before it. Before, home showed above that entry and the first Back
 * only reached home's, seeming to do nothing. The editor's entries are passed instead (a
 * reload leaves the survey for home, its draft kept), as is a screen that cannot show again
 * (its survey gone, or not this person's): Back on home then leaves the app. Resolves with the
 * view to show ("treasurer": the sheet opens once home is drawn).
 */
async function screenFromHistory() {
  const state = history.state;
  if (!state?.collect || !(state.depth > 0)) return "home";
  if (state.collect === "screen") {
    const surveys = !treasurerOnly(); // a treasurer alone has no outbox nor surveys
    if (state.view === "settings" || (state.view === "outbox" && surveys)) return state.view;
    if (state.view === "treasurer" && keepsCashBook()) return state.view;
    if (state.view === "view" && state.viewing && surveys) {
      let survey = null;
      try {
        survey = await db.getSurvey(state.viewing);
      } catch (error) {
        noteStorage(error);
      }
      if (survey && db.madeBy(survey, auth.user())) {
        app.viewing = survey;
        return "view";
      }
    }
  }
  await passEntries(state.depth);
  return "home";
}

/** The in-app Back of a screen: the history's, so that both agree; `fallback` when the
 * screen has no entry of its own. */
function backFrom(view, fallback) {
  if (history.state?.collect === "screen" && history.state.view === view) history.back();
  else show(fallback);
}

/** Back (or Forward) reached a screen's entry, or the app's first (home). */
async function onHistory(state) {
  if (app.view === "survey" || state?.collect === "survey") return; // the editor's (editor.js)
  if (app.view === "signin" || !auth.hasToken()) return;
  if (state?.collect !== "screen") {
    if (app.view !== "home") {
      app.view = "home";
      app.notice = "";
      render();
    }
    return;
  }
  if (state.view === "view") {
    let survey = app.viewing?.id === state.viewing ? app.viewing : null;
    try {
      survey = survey ?? (state.viewing ? await db.getSurvey(state.viewing) : null);
    } catch (error) {
      noteStorage(error);
    }
    const now = history.state;
    if (now?.collect !== "screen" || now.view !== "view" || now.viewing !== state.viewing) return; // moved on
    if (!survey || !db.madeBy(survey, auth.user())) {
      app.view = "home"; // gone meanwhile (cleared, removed by age)
    } else {
      app.viewing = survey;
      app.view = "view";
    }
  } else if (SCREENS.has(state.view)) {
    app.view = state.view;
  }
  app.notice = "";
  render();
}

// What account.js needs of the app.
const ui = {
  state: app,
  show: (view) => show(view),
  header: (title) => header(title),
  networkLine: () => networkLine(),
  signedIn: (user) => afterSignIn(user),
  retryEnrolment: (code) => enrolWith(code, true),
};

function refreshSessionBanner() {
  root.querySelector("#session-expired")?.replaceWith(sessionBanner(ui));
}

// The survey last shown in the editor: when the editor is left, a survey reopened from the
// outbox and not changed waits again (leftEditor).
let inEditor = null;

// A survey open in the editor is held by its tab (a Web Lock, taken when the editor shows it,
// let go when the editor is left or the tab closes): the start of another tab leaves it alone
// (start). Without Web Locks (or in the moment between reopening and showing) a start takes
// every reopened survey as left, as before: the editor whose survey waits again meanwhile is
// told so at its next write (db.StaleSurvey), and nothing is lost.
const EDITING_LOCK = "cdfmap-editing:";
let editing = null; // {id, release}

function holdEditing(id) {
  if (editing?.id === id) return;
  editing?.release();
  editing = null;
  if (!navigator.locks?.request) return;
  let release;
  const held = new Promise((resolve) => (release = resolve));
  editing = { id, release };
  navigator.locks.request(EDITING_LOCK + id, () => held).catch((error) => console.warn("survey not held", error));
}

/** `task()`, unless another tab has the survey `id` open in its editor (null then). */
function unlessOpenElsewhere(id, task) {
  if (!navigator.locks?.request) return task();
  return navigator.locks.request(EDITING_LOCK + id, { ifAvailable: true }, (lock) => (lock ? task() : null));
}

function render() {
  releaseGps(); // the GPS widget, if on the new screen, starts its own watch
  if (app.view === "survey" && app.survey) {
    inEditor = app.survey.id;
    holdEditing(inEditor);
  } else if (inEditor) {
    const held = editing; // let go once the survey waits again (or stays a draft)
    editing = null;
    leftEditor(inEditor).finally(() => held?.release());
    inEditor = null;
  }
  document.title = t("app_title");
  if (!auth.hasToken()) app.view = "signin"; // the surveys on the phone stay, unseen till then
  const views = {
    home: renderHome, outbox: renderOutbox, settings: renderSettings, survey: renderSurvey, view: renderView,
    signin: () => renderSignIn(ui), treasurer: renderTreasurer,
  };
  const sameView = root.dataset.view === app.view;
  const [first, ...rest] = (views[app.view] ?? renderHome)().flat();
  root.replaceChildren(first, sessionBanner(ui), storageBanner(), ...rest);
  root.dataset.view = app.view;
  if (!sameView) window.scrollTo(0, 0); // a list refreshed by a sync stays where it was read
}

// ---------------------------------------------------------------- home, outbox, settings

function statusBadge(status) {
  return h("span", { class: `badge ${status}` }, t(`status_${status}`));
}

/** The reviewer's word on a sent survey (or one being corrected), as a badge and a comment. */
function reviewLines(survey) {
  const review = survey.review;
  if (!review?.status || !(survey.status === "sent" || survey.correction)) return [];
  const lines = [h("div", { class: "review" },
    h("span", { class: `badge review-${review.status}` }, t(`review_${review.status}`)))];
  if (review.comment && (review.status === "needs_correction" || review.status === "rejected")) {
    const key = review.status === "rejected" ? "review_reason" : "review_comment";
    lines.push(h("p", { class: "review-comment" }, t(key, { comment: review.comment })));
  }
  return lines;
}

function correctButton(survey) {
  return db.needsCorrection(survey)
    ? h("button", { class: "primary correct", type: "button", onclick: () => correctSurvey(survey) }, t("correct"))
    : null;
}

// Names already worked out, by survey, revision and language (a list is drawn again at every
// sync; instance_name evaluates the whole form).
const titles = new Map();

/** A survey's name in its maker's lists: its form's instance_name, else its first text
 * answer (one not marked personal first). */
function surveyTitle(survey) {
  if (survey.purged_at || survey.remote) return t("answers_removed");
  const answers = survey.answers ?? survey.payload;
  const form = formOf(survey);
  if (!form) return answers?.head_name || t("untitled"); // its form is not on the phone
  const key = `${survey.id}|${survey.rev}|${language()}`;
  if (!titles.has(key)) {
    if (titles.size > 2000) titles.clear();
    titles.set(key, instanceName(form, answers ?? {}, survey.location) || firstTextAnswer(form, answers));
  }
  return titles.get(key) || t("untitled");
}

/** The title of a survey's form, in the language shown. */
function formTitle(survey) {
  const form = formOf(survey);
  return form ? pick(form.title) || form.form_id : survey.form_id ?? "";
}

/** Editable on the phone: not sent, and not possibly on the server already (nor a correction
 * the server settled meanwhile: no finish could send it). */
function editable(survey) {
  return !survey.locked && ["draft", "failed", "pending"].includes(survey.status) && !db.settledByServer(survey);
}

/** Why a correction the server settled stays no longer, and how it leaves (null for others). */
function settledLine(survey) {
  if (!db.settledByServer(survey)) return null;
  const key = survey.status === "draft" ? "settled_draft" : "settled_leaves";
  return h("div", { class: "small warning settled" }, t(key, { days: SENT_ANSWERS_DAYS }));
}

/** A treasurer who sends no surveys: their sheet, their account, nothing of surveys. */
/** What app.notice says now, in the language shown (`surveys`: those of the list drawn). */
function noticeText(surveys = []) {
  return typeof app.notice === "function" ? app.notice(surveys) : app.notice || "";
}

function noticeLine() {
  const text = noticeText();
  return h("p", { class: "notice", id: "notice", hidden: !text }, text);
}

function renderTreasurerHome() {
  return [
    header(t("app_title")),
    h("main", { class: "content", id: "treasurer-home" },
      networkLine(),
      noticeLine(),
      treasurerButton(),
      h("div", { class: "row" },
        h("button", { class: "secondary", id: "settings-button", onclick: () => show("settings") }, t("settings")))),
  ];
}

/** The surveys on the phone of the person signed in (a shared phone keeps others' too,
 * unseen: they are sent when their maker signs in again). */
async function mySurveys() {
  const me = auth.user();
  return (await db.allSurveys()).filter((s) => db.madeBy(s, me));
}

function renderHome() {
  if (treasurerOnly()) return renderTreasurerHome();
  const list = h("ul", { class: "surveys", id: "my-surveys" }, h("li", { class: "muted" }, "…"));
  const notice = noticeLine();
  mySurveys().then((surveys) => {
    surveys.sort((a, b) => String(b.started_at).localeCompare(String(a.started_at)));
    list.replaceChildren(...(surveys.length ? surveys.map(surveyCard) : [h("li", { class: "muted" }, t("no_surveys"))]));
    notice.textContent = noticeText(surveys);
    notice.hidden = !notice.textContent;
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
      notice,
      ...starts,
      treasurerButton(),
      h("div", { class: "row" },
        h("button", { class: "secondary", id: "outbox-button", onclick: () => show("outbox") }, t("outbox")),
        h("button", { class: "secondary", id: "settings-button", onclick: () => show("settings") }, t("settings"))),
      h("h2", {}, t("my_surveys")),
      list),
  ];
}

function surveyCard(survey) {
  const dataset = { id: survey.id, form: survey.form_id ?? "", status: survey.status, review: survey.review?.status ?? "" };
  return h("li", { class: "survey-card", dataset },
    h("div", { class: "card-head" }, h("strong", {}, surveyTitle(survey)), statusBadge(survey.status)),
    formTitle(survey) ? h("div", { class: "muted small form-title" }, formTitle(survey)) : null,
    h("div", { class: "muted small" },
      survey.collected_at ? t("finished", { time: shortTime(survey.collected_at) }) : t("started", { time: shortTime(survey.started_at) })),
    db.reopenedDraft(survey) ? h("div", { class: "small warning draft-again" }, t("draft_again")) : null,
    settledLine(survey),
    refusedFiles(survey),
    reviewLines(survey),
    correctButton(survey),
    editable(survey)
      ? h("button", { class: "secondary edit", onclick: () => openSurvey(survey) }, t("edit"))
      : h("button", { class: "secondary view", onclick: () => viewSurvey(survey) }, t("view")),
    survey.status === "draft" && (!survey.correction || db.settledByServer(survey)) ? h("button", {
      class: "link danger", onclick: async () => {
        if (!window.confirm(t("confirm_delete"))) return;
        try {
          await db.deleteDraft(survey.id, auth.user());
        } catch (error) {
          noteStorage(error);
        }
        render();
      },
    }, t("delete_draft")) : null);
}

/** What a sync under way says: sending, or (no answer for a while) that it waits on. */
function syncingText() {
  return syncState.slow ? t("syncing_slow") : t("syncing");
}

/** What the outbox's status line says now: the last sync's word, as it stands at present.
 * `waiting`: the person's surveys waiting now (undefined: not counted). Offline, those
 * waiting go when the phone is back online (no retry is timed meanwhile, sync.js); a sync
 * that found nothing says nothing of the surveys finished since. */
function syncMessage(last, waiting) {
  if (last?.error === "signin") return t("sync_signin");
  if (last?.error === "forbidden") return t("sync_forbidden", { detail: last.detail ?? "" });
  const offline = !navigator.onLine || last?.error === "offline";
  if (offline && waiting > 0) return t("sync_waiting_offline", { n: waiting });
  if (!last) return waiting > 0 ? t("sync_waiting", { n: waiting }) : "";
  if (last.error === "offline") return t("sync_offline");
  if (last.error === "network") return t("sync_network_error", { s: last.retryIn });
  if (last.error === "server") {
    // A busy proxy or server (408, 425, 429) is not "a problem": it asked to come back later.
    // An answer not of our server (a Wi-Fi login page, a proxy's): the network's, not a fault.
    if (last.foreign) return t("sync_not_server", { status: last.status, s: last.retryIn });
    const busy = [408, 425, 429].includes(last.status);
    return t(busy ? "sync_server_busy" : "sync_server_error", { status: last.status, s: last.retryIn });
  }
  if (last.error === "whoami") return t("sync_whoami", { s: last.retryIn });
  if (last.error === "phone") return t("sync_phone_error", { detail: last.detail, s: last.retryIn });
  if (last.sent === 0 && last.failed === 0) return waiting > 0 ? t("sync_waiting", { n: waiting }) : t("sync_nothing");
  const done = t("sync_done", { n: last.sent });
  return last.failed ? `${done} ${t("count_failed", { n: last.failed })}.` : done;
}

/** The phone's own words (in the language shown now) for a refusal whose server text would
 * mislead: it says "start a new survey" (conflict), speaks to a reviewer (not_collector),
 * names only an id (a correction's not_found) or versions (a correction made on a version
 * the server has replaced since). Null for the others. */
function explanation(survey, error) {
  if (error.code === "conflict") return "readonly_conflict";
  if (error.code === "not_collector") return "readonly_not_collector";
  if (error.code === "not_found" && survey.correction) return "readonly_correction_not_found";
  if (error.code === "correction_outdated" || error.code === "correction_version_unknown") {
    return "readonly_correction_outdated";
  }
  return null;
}

// The fields of a survey outside its answers, as the server names them, in words.
const FIELD_WORDS = {
  id: "field_id", form_id: "field_form_id", form_version: "field_form_version",
  collected_at: "field_collected_at", finished_at: "field_finished_at", sent_at: "field_sent_at",
  collector: "field_collector",
  city: "field_city", location: "field_location", "location.lat": "field_lat", "location.lon": "field_lon",
  "location.accuracy_m": "field_accuracy", "location.altitude_m": "field_altitude",
  "location.manual": "field_location", answers: "field_answers",
};

/** A field of a refusal in the volunteer's words, in the language shown: a question by its
 * label ("answers.member[2].age" -> its label), another field by a phrase; "" for none. */
function fieldWords(survey, field) {
  if (!field) return "";
  if (FIELD_WORDS[field]) return t(FIELD_WORDS[field]);
  if (!field.startsWith("answers.")) return FIELD_WORDS[field.split(".")[0]] ? t(FIELD_WORDS[field.split(".")[0]]) : "";
  const name = field.slice("answers.".length).replace(/\[\d+\]/g, "").split(/[./]/).filter(Boolean).pop() ?? "";
  const form = formOf(survey);
  const question = form && name ? findQuestion(form, name) : null;
  return (question && plainText(pick(question.label))) || t("field_unknown_answer", { name });
}

function errorText(survey, error) {
  const own = explanation(survey, error);
  if (own) return t(own);
  const where = fieldWords(survey, String(error.field ?? ""));
  return where ? `${where}: ${error.message}` : error.message;
}

/** The files of a sent survey the server refused (kept on the phone), each with its reason:
 * the server's sentence (in the language it was sent in), or the phone's own words. */
function refusedFiles(survey) {
  const refused = db.photosRefused(survey);
  if (!refused.length) return null;
  return h("div", { class: "server-errors photo-refused" }, h("div", {}, t("photo_refused")),
    h("ul", {}, refused.map(([name, reason]) => h("li", { class: "error", dataset: { file: name, code: reason.code ?? "" } },
      `${name}: ${reason.code === "missing_on_phone" ? t("photo_missing") : reason.message || reason.code}`,
      h("span", { class: "file-actions" },
        reason.code === "missing_on_phone" ? null
          : h("button", { class: "link retry-file", type: "button", onclick: () => retryFile(survey, name) }, t("file_retry")),
        h("button", { class: "link danger remove-file", type: "button", onclick: () => removeFile(survey, name) }, t("file_remove")))))));
}

/** Send a refused file again (the volunteer asked: the server's limits may have changed). */
async function retryFile(survey, name) {
  try {
    await db.retryRefused(survey.id, name);
  } catch (error) {
    noteStorage(error);
  }
  render();
  if (navigator.onLine) syncNow();
}

/** Give up a refused file (asked first): it leaves the phone, and the survey can then too. */
async function removeFile(survey, name) {
  if (!window.confirm(t("confirm_file_remove", { name }))) return;
  try {
    await db.removeRefused(survey.id, name);
  } catch (error) {
    noteStorage(error);
  }
  render();
}

function outboxItem(survey) {
  const photos = db.photosToSend(survey).length ? "waiting" : db.photosRefused(survey).length ? "refused" : "uploaded";
  const review = survey.review?.status ?? "";
  return h("li", { class: "outbox-item", dataset: { id: survey.id, form: survey.form_id ?? "", status: survey.status, photos, review } },
    h("div", { class: "card-head" }, h("strong", {}, surveyTitle(survey)), statusBadge(survey.status)),
    formTitle(survey) ? h("div", { class: "muted small form-title" }, formTitle(survey)) : null,
    survey.collected_at ? h("div", { class: "muted small" }, t("finished", { time: shortTime(survey.collected_at) })) : null,
    survey.status === "sent" && db.photosToSend(survey).length ? h("div", { class: "small" }, t("photo_waiting")) : null,
    settledLine(survey),
    refusedFiles(survey),
    reviewLines(survey),
    correctButton(survey),
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
  // Said once the surveys are counted (a sync's word alone may be out of date).
  const statusLine = h("p", { class: "notice", id: "sync-status", dataset: { state: syncState.running ? (syncState.slow ? "slow" : "running") : syncState.last?.error ?? "idle" } },
    syncState.running ? syncingText() : "");
  db.allSurveys().then((surveys) => {
    const me = auth.user();
    const finished = surveys.filter((s) => s.status !== "draft" && db.madeBy(s, me));
    finished.sort((a, b) => String(b.collected_at).localeCompare(String(a.collected_at)));
    const count = (status) => finished.filter((s) => s.status === status).length;
    if (!syncState.running) statusLine.textContent = syncMessage(syncState.last, count("pending"));
    clear.disabled = !surveys.some((s) => db.clearable(s) && db.madeBy(s, me));
    lists.replaceChildren(
      h("p", { class: "counts", id: "outbox-counts" },
        [t("count_pending", { n: count("pending") }), t("count_sent", { n: count("sent") }), t("count_failed", { n: count("failed") })].join(" · ")),
      othersWaiting(surveys.filter((s) => s.status === "pending" && !db.madeBy(s, me))) ?? "", // not "null"
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
      statusLine,
      noticeLine(),
      lists,
      h("p", { class: "muted small" }, t("sent_kept", { days: SENT_ANSWERS_DAYS })),
      clear),
  ];
}

/** Others' waiting surveys are not shown (their answers are theirs), only counted by maker,
 * so that nobody thinks them lost: they leave when their maker signs in again. */
function othersWaiting(surveys) {
  if (!surveys.length) return null;
  const byMaker = new Map();
  for (const survey of surveys) {
    const name = survey.user_name || "?";
    byMaker.set(name, (byMaker.get(name) ?? 0) + 1);
  }
  return h("ul", { class: "small muted others-waiting", id: "others-waiting" },
    [...byMaker].map(([name, n]) => h("li", {}, t("others_waiting", { name, n }))));
}

async function clearSent() {
  const count = (await mySurveys()).filter(db.clearable).length;
  if (!count || !window.confirm(t("confirm_clear_sent", { n: count }))) return;
  try {
    const n = await db.clearSent(auth.user());
    app.notice = () => t("cleared_sent", { n });
  } catch (error) {
    noteStorage(error);
  }
  render();
}

// ---------------------------------------------------------------- leaving a reopened survey

/**
 * The editor was left (Exit, Home, another tab's change): a survey reopened from the outbox
 * waits again when nothing changed; changed, it is a draft until it is finished again, and
 * the volunteer is told so.
 */
async function leftEditor(id, quietly = false) {
  try {
    const survey = await db.getSurvey(id);
    if (!db.reopenedDraft(survey)) return;
    if (await db.restoreWaiting(id)) {
      if (!quietly) app.notice = () => t("still_waiting");
      if (navigator.onLine && auth.hasToken()) syncNow();
    } else if (!quietly) {
      app.notice = () => t("left_draft_again");
    }
  } catch (error) {
    noteStorage(error);
    return;
  }
  if (app.view === "home" || app.view === "outbox") render();
}

// ---------------------------------------------------------------- a survey, read-only

function readonlyReason(survey) {
  if (db.settledByServer(survey) && survey.status === "draft") return t("settled_draft", { days: SENT_ANSWERS_DAYS });
  if (survey.errors?.some((e) => e.code === "not_correctable")) return t("readonly_not_correctable");
  const explained = survey.errors?.map((e) => explanation(survey, e)).find(Boolean);
  if (explained) return t(explained);
  if (survey.status === "sent" && survey.review?.status === "approved") return t("readonly_approved");
  if (survey.status === "sent" && survey.review?.status === "rejected") return t("readonly_rejected");
  if (db.needsCorrection(survey)) return t("readonly_needs_correction");
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
    for (const [label, text, depth] of readableRows(form, answers)) {
      rows.push(h("dt", { class: depth ? "nested" : null }, label), h("dd", {}, text));
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
      survey.status === "draft" ? null : settledLine(survey), // a draft's reason says it already
      reviewLines(survey),
      correctButton(survey),
      survey.errors?.some((e) => !explanation(survey, e)) // said above already
        ? h("ul", { class: "server-errors" }, survey.errors.filter((e) => !explanation(survey, e))
          .map((e) => h("li", { class: "error" }, errorText(survey, e))))
        : null,
      answers ? h("dl", { class: "answers", id: "answers" }, rows) : h("p", { class: "muted", id: "answers" }, t("answers_removed")),
      h("button", { class: "secondary big", id: "view-back", onclick: () => backFrom("view", app.returnTo ?? "home") }, t("back"))),
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
  if (treasurerOnly()) {
    // No surveys, so no collector's name: the account, and back to the sheet's button.
    return [
      header(t("settings")),
      h("main", { class: "content" }, accountSection(),
        h("button", { class: "secondary big", id: "view-back", onclick: () => show("home") }, t("back"))),
    ];
  }
  return [
    header(t("settings")),
    h("main", { class: "content" },
      accountSection(),
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

// ---------------------------------------------------------------- the account

function accountSection() {
  const who = auth.user();
  if (!who) return null;
  const name = who.display_name && who.display_name !== who.username
    ? `${who.display_name} (${who.username})` : who.username;
  return h("section", { class: "account", id: "account" },
    h("h2", {}, t("account")),
    h("p", { id: "account-name" }, name),
    h("button", { class: "secondary big", id: "sign-out", type: "button", onclick: () => signOut() }, t("sign_out")));
}

async function signOut() {
  // Nothing is deleted: the surveys not sent wait on the phone until their maker signs in again.
  if (!(await confirmLeaving("sign_out"))) return;
  await auth.signOut();
  app.survey = null;
  app.signinFailure = null;
  show("signin");
}

async function afterSignIn(user) {
  adoptCollector(user);
  await loadRoles();
  Object.assign(app, { signinFailure: null, enrolling: false, retryCode: null });
  app.forms = await loadForms();
  app.versions = await loadVersions(app.forms);
  app.view = collector() || treasurerOnly() ? "home" : "settings";
  app.notice = "";
  render();
  refreshRoles();
  if (navigator.onLine) {
    syncNow(); // what waited for a sign-in leaves now: the surveys
    syncWaiting(); // and the cash book's records of this person (their token, in the background)
  }
}

async function enrolWith(code, asked = false) {
  // Another person's QR code signs the one signed in out: asked first, as a sign-out is.
  if (!asked && !(await confirmLeaving("enrol"))) {
    if (!app.forms.length) {
      app.forms = await loadForms();
      app.versions = await loadVersions(app.forms);
    }
    render();
    return;
  }
  Object.assign(app, { view: "signin", enrolling: true, signinFailure: null, retryCode: null });
  render();
  try {
    await afterSignIn(await auth.enrol(code));
  } catch (failure) {
    app.enrolling = false;
    app.signinFailure = failure;
    if (failure?.code === "network") app.retryCode = code; // the code is still good: try again
    if (!app.forms.length) {
      app.forms = await loadForms();
      app.versions = await loadVersions(app.forms);
    }
    app.view = "signin";
    render();
  }
}

// ---------------------------------------------------------------- corrections asked by the reviewer

async function fetchForCorrection(survey) {
  // Its answers left the phone (cleaned up, or cleared): the server's copy is the one to correct.
  const response = await auth.api(`/api/v1/submissions/${encodeURIComponent(survey.id)}`, {
    headers: { accept: "application/json" },
  });
  if (!response.ok) throw new Error(String(response.status));
  const record = await response.json();
  const form = await ensureForm(record.form_id, record.form_version);
  const photos = form ? attachmentsOf(form, record.answers ?? {}) : [];
  return db.restoreFromServer(record, photos);
}

async function correctSurvey(survey) {
  try {
    let current = survey;
    if (!current.answers) current = await fetchForCorrection(current);
    const reopened = await db.reopenForCorrection(current.id);
    if (reopened?.correction && reopened.status === "draft") {
      await ensureForm(reopened.form_id, reopened.form_version);
      edit(reopened);
      return;
    }
    render();
  } catch (error) {
    if (db.isQuotaError(error)) {
      noteStorage(error);
      return;
    }
    const key = error instanceof auth.SignInRequired ? "sync_signin" : "correction_not_loaded";
    app.notice = () => t(key);
    render();
  }
}

// ---------------------------------------------------------------- start

connectEditor({
  app, render, show, header, noteStorage, storageText, formOf, collector, editable, viewSurvey, noticeText,
});
window.addEventListener("popstate", (event) => onHistory(event.state)); // after the editor's
connectTreasurer({ state: app, render, show, header, networkLine, noteStorage });

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

function onNetworkChange() {
  // The sign-in and survey screens keep what is typed: only the line changes.
  if (["signin", "survey", "treasurer"].includes(app.view)) root.querySelector("#network")?.replaceWith(networkLine());
  else render();
}

async function start() {
  setLanguage(language());
  await auth.loadSession();
  await loadRoles();
  const code = takeEnrolmentCode();
  if (auth.hasToken() && !collector()) adoptCollector(auth.user());
  if (!code) {
    app.forms = await loadForms();
    app.versions = await loadVersions(app.forms);
  }
  onSync((state) => {
    if (state.last?.storageFull && !app.storageError) noteStorage(new DOMException("sync", "QuotaExceededError"));
    if (app.view === "outbox" || app.view === "home") render();
    else refreshStorageBanner();
  });
  db.onOtherTabChange(() => {
    if (app.view === "outbox" || app.view === "home") render();
  });
  auth.onSessionChange((session, fromOtherTab) => {
    // Signed in by another tab (say, the one the QR code opened): this one carries on too.
    if (fromOtherTab && app.view === "signin" && auth.hasToken() && !auth.isExpired()) afterSignIn(auth.user());
    else if (!auth.hasToken() || ["home", "outbox", "settings"].includes(app.view)) {
      if (auth.userKnown()) adoptCollector(auth.user()); // e.g. the person learnt after a sign-in
      render();
    }
    else refreshSessionBanner();
  });
  window.addEventListener("online", () => { onNetworkChange(); syncNow(); });
  window.addEventListener("offline", () => onNetworkChange());
  // A phone keeps the app open for days: sent surveys leave it by age when it is looked at.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") tidy();
  });
  // An enrolment link opened while the app is open changes only the address's fragment.
  window.addEventListener("hashchange", () => {
    const again = takeEnrolmentCode();
    if (again) enrolWith(again);
  });
  app.view = !auth.hasToken() ? "signin" : collector() || treasurerOnly() ? "home" : "settings";
  // The app was closed in the editor: a survey reopened from the outbox and left unchanged
  // waits again (not one open in another tab's editor).
  try {
    for (const survey of (await db.allSurveys()).filter(db.reopenedDraft)) {
      await unlessOpenElsewhere(survey.id, () => leftEditor(survey.id, true));
    }
  } catch (error) {
    noteStorage(error);
  }
  const resumed = app.view === "home" && !code ? await screenFromHistory() : app.view;
  if (resumed !== "treasurer") app.view = resumed;
  render();
  if (resumed === "treasurer") {
    if (!(await resumeTreasurer())) await openTreasurer();
  } else if (app.view === "home") {
    await resumeTreasurer(); // a meeting left open on the phone
  }
  document.documentElement.dataset.appReady = "yes";
  registerServiceWorker();
  askPersistentStorage();
  refreshRoles();
  if (code) enrolWith(code);
  else if (navigator.onLine && auth.hasToken()) syncNow();
  else tidy();
}

start();
