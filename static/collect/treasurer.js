// The treasurer's screen (thủ quỹ): a savings group's meeting on one collection sheet, offline
// first. The members are listed with what they owe on the day; each member's savings,
// mutual aid, fine, withdrawal and loan repayments are typed on their row; the cash expected
// in the box and the cash counted are shown side by side while typing; the meeting is closed
// with the count. Everything is kept on the phone at once and sent when there is a network
// (treasurer_sheet.js). Texts in Vietnamese first, English on the language button.

import * as auth from "./auth.js";
import * as db from "./db.js";
import { h } from "./dom.js";
import { language } from "./i18n.js";
import { formatDay, tt } from "./treasurer_i18n.js";
import {
  GROUP, KINDS, OUT_KINDS, adoptOlderMeetings, carryOver, counts, entryKey, expectedCash, fetchStatement,
  followMeeting, forgetMeeting, formatAmount, groupLoans, leftOver, loadMeeting, loadStatement, markReady,
  meetingKeyOf, newMeeting, onMeetingChanged, openingCash, parseAmount, recordedElsewhere, sameMeeting,
  saveMeeting, setEntry, sheetRows, today, treasurerGroups, unsentCount, waitingMeetings,
} from "./treasurer_sheet.js";
import { refreshBooks, syncMeeting } from "./treasurer_sync.js";

// The sheet shown: the person's (`userId`, whose meetings and statements are read and sent),
// of one group. Another person signing in on the phone empties it. `carry`: the meeting
// closed on another phone whose records not recorded go into the meeting opened next (it
// stays kept on the phone until then); `booksRead`: the id of the meeting whose books the
// server last answered for (the cash expected is the server's while the phone is online).
const EMPTY_SHEET = {
  userId: null, groupId: null, statement: null, meeting: null, status: "", loaded: false, carry: null,
  booksRead: null,
};
const sheet = { ...EMPTY_SHEET };
// The meeting being sent, whoever's sheet shows now (the sheet opened again meanwhile shows
// this copy, which the sync changes). One sync at a time in a tab: a sync asked for meanwhile
// (the sheet's button, an `online` event, the backoff's timer, a sign-in) never runs beside
// it; it runs once after it (however many were asked for), unless that sync got no answer:
// then the backoff's timer sends what waits, and nothing goes twice in a row.
let syncing = null;
let syncAgain = false;
let waitingAgain = false; // the same, for syncWaiting
// One sync of the cash book at a time across the phone's tabs (Web Locks): two tabs signed
// in at once sent the same meeting twice (the second close answered "duplicate").
const SYNC_LOCK = "cdfmap-cashbook-sync";
// A sync that got no answer of the server's (no network, a 5xx, a proxy's 502, a captive
// portal's page, an empty 200) is tried again by itself with a backoff, as the survey
// outbox's (sync.js): 2 s, then twice as long each time, at most 5 minutes.
const MIN_RETRY_MS = 2000;
const MAX_RETRY_MS = 5 * 60 * 1000;
let retryMs = 0;
let retryTimer = null;
let shell = null; // what app.js lends: render, show, header, networkLine, noteStorage
// Roles that send surveys (app/services/access.py, SUBMITTERS): anyone else has no survey
// buttons on the phone, the server would refuse their surveys anyway.
const SURVEY_ROLES = new Set(["volunteer", "ward_leader", "city_admin", "national_admin"]);
// The roles of the person signed in: their session's, then the latest GET /api/v1/me, kept
// on the phone with the person's id (another person signing in on the phone never inherits
// them).
const known = { userId: null, roles: [] };
const ROLES_KEY = "treasurer.roles";

/** Wire the screen into the app (app.js calls this once). */
export function connectTreasurer(parts) {
  shell = parts;
  // Back online, on the sheet or not: what waits of the person signed in leaves.
  // syncWaiting sends the sheet's meeting as it is on the screen, once with the others.
  window.addEventListener("online", () => {
    retryMs = 0; // a sync under way that gets no answer tries again soon, not minutes later
    if (auth.hasToken()) syncWaiting();
  });
  auth.onSessionChange(() => {
    if ((auth.user()?.id ?? null) === sheet.userId) return; // the same person (expired, say)
    Object.assign(sheet, EMPTY_SHEET);
    // Signed in as another person by another tab: this one's sheet is not theirs to see.
    if (shell.state.view === "treasurer") shell.show("home");
  });
  // Another tab of the phone changed a meeting: the one on this sheet takes it in.
  onMeetingChanged((changed) => followOtherTab(changed?.key));
  // Offline, the cash expected no longer counts other phones' records as they come: said.
  window.addEventListener("offline", () => {
    sheet.booksRead = null;
    if (shell.state.view === "treasurer") refreshTotals();
  });
}

/** What another tab changed of the sheet's meeting (kept on the phone under `key`) comes
 * into the sheet; a meeting another tab opened for the sheet's group shows here too. */
async function followOtherTab(key) {
  const { userId, groupId, meeting } = sheet;
  if (userId === null || groupId === null || !sheet.loaded) return;
  try {
    if (meeting) {
      if (key !== meetingKeyOf(meeting)) return;
      if ((await followMeeting(meeting)) && sheet.meeting === meeting && shell.state.view === "treasurer") rerender();
      return;
    }
    const kept = await loadMeeting(userId, groupId);
    if (kept && !sheet.meeting && stillShown(userId, groupId)) {
      sheet.meeting = kept;
      if (shell.state.view === "treasurer") rerender();
    }
  } catch (error) {
    shell.noteStorage(error);
  }
}

/** What is said of a sync or a download that failed: our own words, never the browser's
 * ("Failed to fetch"). */
function failureText(error) {
  if (error instanceof auth.SignInRequired) return "401";
  if (error instanceof auth.NotTheServer) return tt("bad_answer", { status: error.status });
  if (db.isQuotaError(error)) return tt("storage_full");
  if (!(error instanceof TypeError) && error?.name !== "NetworkError" && error?.name !== "AbortError") {
    console.warn("cash book", error);
  }
  return tt("network_lost");
}

/** Read the roles kept on the phone for the person signed in (app.js, before drawing). */
export async function loadRoles() {
  const me = auth.user();
  known.userId = me?.id ?? null;
  known.roles = me?.roles ?? [];
  if (!me) return;
  try {
    const kept = await db.getValue(ROLES_KEY);
    if (kept && kept.user_id === me.id && Array.isArray(kept.roles)) known.roles = kept.roles;
  } catch {
    // storage unreadable: the session's roles are enough
  }
  await adoptOlder();
}

/** Meetings an older version kept under the group alone become the treasurer's. */
async function adoptOlder() {
  try {
    await adoptOlderMeetings(auth.user()?.id ?? null, groups());
  } catch (error) {
    console.warn("older meetings not moved", error);
  }
}

/** The roles of the person signed in now. */
function roles() {
  const me = auth.user();
  if (!me) return [];
  return me.id === known.userId ? known.roles : me.roles ?? [];
}

/** The groups of the signed-in person (never those of someone who used the phone before). */
function groups() {
  return treasurerGroups({ roles: roles() });
}

/**
 * A treasurer (thủ quỹ) who sends no surveys: the phone shows them their sheet only. While
 * no role is known (an old session, never online since) the survey screens stay.
 */
export function treasurerOnly() {
  const held = roles();
  return groups().length > 0 && !held.some((r) => SURVEY_ROLES.has(r.role));
}

/** Ask the server for this person's roles (a treasurer named after the phone signed in). */
export async function refreshRoles() {
  if (!auth.hasToken() || !navigator.onLine) return;
  try {
    const response = await auth.api("/api/v1/me", { headers: { accept: "application/json" } });
    if (!response.ok) return;
    const me = await response.json();
    if (auth.user()?.id === undefined || me.id !== auth.user()?.id) return;
    const before = JSON.stringify([groups(), treasurerOnly()]);
    known.userId = me.id;
    known.roles = me.roles ?? [];
    await db.setValue(ROLES_KEY, { user_id: me.id, roles: known.roles });
    await adoptOlder();
    if (before !== JSON.stringify([groups(), treasurerOnly()]) && shell && shell.state.view === "home") shell.render();
  } catch {
    // offline or signed out: the roles known stay
  }
}

/** True when the person signed in keeps a group's cash book (the sheet may show). */
export function keepsCashBook() {
  return groups().length > 0;
}

/** The home screen's button to the sheet, for treasurers (hidden for everyone else). */
export function treasurerButton() {
  return h("button", {
    class: "primary big", id: "treasurer-open", hidden: groups().length === 0, onclick: () => openTreasurer(),
  }, tt("open_sheet"));
}

export async function openTreasurer(groupId = null) {
  const ids = groups();
  Object.assign(sheet, EMPTY_SHEET, { userId: auth.user()?.id ?? null, groupId: groupId ?? ids[0] ?? null });
  shell.show("treasurer");
  await loadSheet();
}

/** True while the sheet still shows this person's group (no one else signed in meanwhile). */
function stillShown(userId, groupId) {
  return sheet.userId === userId && sheet.groupId === groupId;
}

/** The session the sheet's requests go with ({token, userId}): the phone's, while it is the
 * sheet's person's; null otherwise. */
function sheetSession() {
  const session = auth.session();
  if (!session?.token || sheet.userId === null || session.user?.id !== sheet.userId) return null;
  return { token: session.token, userId: sheet.userId };
}

async function loadSheet() {
  const { userId, groupId } = sheet;
  if (groupId === null || userId === null) {
    sheet.loaded = true;
    shell.render();
    return;
  }
  let meeting = null;
  let statement = null;
  try {
    meeting = (await loadMeeting(userId, groupId)) ?? null;
    statement = (await loadStatement(userId, groupId)) ?? null;
  } catch (error) {
    shell.noteStorage(error);
  }
  if (!stillShown(userId, groupId)) return;
  if (meeting && sameMeeting(syncing, meeting) && syncing.user_id === userId) meeting = syncing;
  Object.assign(sheet, { meeting, statement, loaded: true });
  shell.render();
  const as = sheetSession();
  if (!navigator.onLine || !as) return;
  try {
    const answer = await fetchStatement(groupId, as);
    if (answer.fresh && stillShown(userId, groupId)) {
      sheet.statement = answer.statement;
      if (shell.state.view === "treasurer") rerender();
    }
  } catch (error) {
    if (error instanceof auth.SessionChanged || !stillShown(userId, groupId)) return;
    sheet.status = tt("sync_error", { detail: failureText(error) });
  }
  if (sheet.meeting && !sheet.meeting.closed) syncSheet();
}

// True while the screen is redrawn: the field being typed in is taken out of the page, and
// Chromium fires its `blur` and `change` then, which is no sign that typing is over.
let redrawing = false;
const CLOSE_FIELDS = ["cash-counted", "attendance", "close-note"];

function rerender() {
  // A render keeps the field being typed in and its caret.
  const active = document.activeElement;
  const id = active?.id;
  const caret = active?.selectionStart ?? null;
  // The close's fields are kept on the phone only when the meeting is closed: a redraw (a
  // sync's outcome, another tab's amounts) keeps what was typed in them.
  const typed = CLOSE_FIELDS.map((name) => document.getElementById(name))
    .map((node) => (node && !node.readOnly ? node.value : null));
  redrawing = true;
  try {
    shell.render();
  } finally {
    redrawing = false;
  }
  CLOSE_FIELDS.forEach((name, index) => {
    const node = document.getElementById(name);
    if (node && !node.readOnly && typed[index] !== null) node.value = typed[index];
  });
  if (id) {
    const again = document.getElementById(id);
    if (again) {
      again.focus();
      if (caret !== null && typeof again.setSelectionRange === "function") again.setSelectionRange(caret, caret);
    }
  }
}

function persist() {
  const meeting = sheet.meeting;
  saveMeeting(meeting).then((changed) => {
    shell.noteStorage(null);
    // Another tab's amounts came in with the save: shown.
    if (changed && sheet.meeting === meeting && shell.state.view === "treasurer") rerender();
  }).catch((error) => shell.noteStorage(error));
}

/**
 * Send the meeting on the sheet, with the token of its treasurer (the person signed in, whose
 * sheet it is), and only while they stay signed in: another person's sign-in meanwhile stops
 * it (syncMeeting), the rest waiting on the phone for its treasurer.
 */
export async function syncSheet() {
  const meeting = sheet.meeting;
  const as = sheetSession();
  if (!meeting || meeting.closed || !as || meeting.user_id !== as.userId) return;
  if (syncing) {
    syncAgain = true; // after the sync under way (maybe of someone who signed out since)
    return;
  }
  if (!navigator.onLine) {
    sheet.status = tt("sync_offline");
    if (shell.state.view === "treasurer") rerender();
    return;
  }
  await runSync(meeting, as);
}

/**
 * Send what waits on the phone of the person signed in now (after their sign-in, or back
 * online), in the background, with the token of this session ({token, userId} taken now):
 * their meetings only, never another person's; another sign-in meanwhile stops it. The
 * meeting on the sheet, when it is one of them, is the one sent.
 */
export async function syncWaiting() {
  const session = auth.session();
  const userId = session?.user?.id ?? null;
  if (!session?.token || userId === null || userId === undefined || !navigator.onLine) return;
  const as = { token: session.token, userId };
  if (syncing) {
    waitingAgain = true; // once the sync under way is done
    return;
  }
  let meetings = [];
  try {
    meetings = await waitingMeetings(userId);
  } catch (error) {
    shell.noteStorage(error);
    return;
  }
  const onSheet = sheet.userId === userId ? sheet.meeting : null;
  if (onSheet && unsentCount(onSheet) && !meetings.some((m) => sameMeeting(m, onSheet))) meetings.unshift(onSheet);
  for (const kept of meetings) {
    if (auth.session()?.token !== as.token || !navigator.onLine) return; // signed out, offline
    if (syncing) {
      waitingAgain = true;
      return;
    }
    const shown = sameMeeting(sheet.meeting, kept) && sheet.userId === userId ? sheet.meeting : null;
    const meeting = shown ?? kept;
    if (meeting.closed || meeting.user_id !== userId) continue;
    await runSync(meeting, as);
  }
}

/** Send what waits again later, each time later (returns the seconds until then). */
function scheduleRetry() {
  retryMs = Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, retryMs * 2));
  clearTimeout(retryTimer);
  retryTimer = setTimeout(() => {
    retryTimer = null;
    if (auth.hasToken()) syncWaiting(); // offline then: the `online` event sends it
  }, retryMs + Math.floor(Math.random() * 500));
  return Math.round(retryMs / 1000);
}

/** `task` while no other tab of the phone syncs the cash book (at once without Web Locks). */
function underSyncLock(task) {
  if (!navigator.locks?.request) return task();
  return navigator.locks.request(SYNC_LOCK, task);
}

/** The copy of `meeting` kept on the phone, written by another tab's sync meanwhile: what
 * the server took of it (opened, records posted or refused, closed) is taken over, so
 * nothing goes twice. A record changed since (another id or amount) keeps its own state. */
async function catchUp(meeting) {
  const kept = await loadMeeting(meeting.user_id, meeting.group_id);
  if (!kept || !sameMeeting(kept, meeting)) return;
  if (kept.id !== meeting.id && kept.joined_from === meeting.id) {
    // Another tab's sync found the meeting opened by another phone: this copy joins it too.
    meeting.id = kept.id;
    meeting.joined_from = kept.joined_from;
  }
  if (kept.opened && !meeting.opened) {
    meeting.opened = true;
    meeting.open_error = null;
  }
  for (const [key, entry] of Object.entries(kept.entries ?? {})) {
    const mine = meeting.entries[key];
    if (!mine || mine.client_id !== entry.client_id || mine.amount !== entry.amount) continue;
    if (entry.state === "posted" || (entry.state === "failed" && mine.state === "sending")) {
      mine.state = entry.state;
      mine.error = entry.error;
    }
  }
  if (kept.closed && !meeting.closed) {
    meeting.closed = true;
    meeting.close = kept.close;
    meeting.result = kept.result;
    if (kept.closed_elsewhere) {
      // Closed on another phone, read by another tab: its records as that tab left them.
      meeting.closed_elsewhere = true;
      meeting.entries = structuredClone(kept.entries);
    }
  }
}

/** One sync of `meeting` with `as` (syncing: one at a time), its outcome on the sheet when
 * the sheet shows it; then what was asked for meanwhile. */
async function runSync(meeting, as) {
  syncing = meeting;
  if (shell.state.view === "treasurer") rerender();
  let status = "";
  let retry = false;
  try {
    const booksBefore = meeting.books?.at;
    const outcome = await underSyncLock(async () => {
      await catchUp(meeting); // what another tab sent of it while this one waited
      if (meeting.closed) return { sent: 0, failed: 0, closed: false, error: null, retry: false };
      return syncMeeting(meeting, as.token);
    });
    if (sheet.meeting === meeting) sheet.booksRead = meeting.books?.at !== booksBefore ? meeting.id : null;
    retry = Boolean(outcome.retry);
    if (!outcome.error) retryMs = 0; // answered: the next failure waits the least again
    const parts = [];
    if (outcome.sent) parts.push(tt("sync_done", { n: outcome.sent }));
    if (outcome.failed) parts.push(tt("sync_failed", { n: outcome.failed }));
    if (outcome.error) parts.push(tt("sync_error", { detail: outcome.error }));
    if (meeting.close && !meeting.closed
      && Object.values(meeting.entries).some((e) => e.state === "failed" && !e.refused_closed)) {
      meeting.close.error = tt("fix_first"); // the refused rows open again for a correction
      saveMeeting(meeting).then(() => shell.noteStorage(null)).catch((error) => shell.noteStorage(error));
    }
    status = parts.join(" ");
    if (outcome.closed) {
      const answer = await fetchStatement(meeting.group_id, as);
      if (answer.fresh && sheet.meeting === meeting) sheet.statement = answer.statement;
    }
  } catch (error) {
    // Another person signed in (or nobody is): the sync ends without a word on their screen.
    if (!(error instanceof auth.SessionChanged)) {
      status = tt("sync_error", { detail: failureText(error) });
    }
    // No network (fetch failed) or the phone's storage: tried again; a sign-in or a role
    // missing is not helped by a retry (the sync resumes once someone signs in).
    retry = !(error instanceof auth.SessionChanged || error instanceof auth.SignInRequired
      || error instanceof auth.NotAllowed);
  } finally {
    syncing = null;
  }
  if (retry) status = `${status} ${tt("sync_retry", { s: scheduleRetry() })}`.trim();
  if (sheet.meeting === meeting) sheet.status = status;
  if (shell.state.view === "treasurer") rerender();
  const again = syncAgain;
  const waiting = waitingAgain;
  syncAgain = false;
  waitingAgain = false;
  // No answer: what was asked for meanwhile is the retry's to send (syncWaiting, the sheet's
  // meeting with the others); sent at once it went twice in a row, besides the retry.
  if (retry) return;
  if (again) syncSheet();
  if (waiting) syncWaiting();
}

// ---------------------------------------------------------------- the screen

/** Closed, or closed on the phone and waiting to be sent: the amounts are final. */
function sheetLocked(meeting) {
  return meeting.closed || Boolean(meeting.close && !meeting.close.error);
}

function amountInput(id, label, entry, onValue, onDone) {
  const locked = sheetLocked(sheet.meeting) || (entry && (entry.state === "sending" || entry.state === "posted"));
  // Typed wrong (kept as typed, after a reload too) or refused by the server: said on the row.
  const message = entry?.invalid ? tt(`err_${entry.invalid}`) : entry?.state === "failed" ? entry.error : "";
  const error = h("p", { class: "error amount-error", id: `${id}-error`, hidden: !message }, message);
  const input = h("input", {
    id, type: "text", inputmode: "numeric", autocomplete: "off", class: "amount",
    value: entry ? entry.text : "", readonly: locked, "aria-describedby": `${id}-error`,
    "aria-invalid": entry?.invalid ? "true" : null, dataset: { state: entry?.state ?? "" },
  });
  input.addEventListener("input", () => {
    const parsed = parseAmount(input.value);
    if (parsed.error) {
      error.textContent = tt(`err_${parsed.error}`);
      error.hidden = false;
      input.setAttribute("aria-invalid", "true");
      onValue(null, input.value, parsed.error); // kept as typed, never as a part of it
      return;
    }
    error.hidden = true;
    input.removeAttribute("aria-invalid");
    onValue(parsed.amount, input.value, false);
  });
  input.addEventListener("change", () => {
    const parsed = parseAmount(input.value);
    if (!redrawing && !parsed.error && parsed.amount !== null) input.value = formatAmount(parsed.amount);
  });
  // Leaving the field (not a redraw taking it out of the page) means the amount is final.
  input.addEventListener("blur", () => {
    if (!redrawing && !parseAmount(input.value).error) onDone();
  });
  return h("label", { class: "amount-field" },
    h("span", {}, label,
      entry?.state && entry.state !== "draft" ? h("span", { class: `badge entry-${entry.state}` }, tt(`state_${entry.state}`)) : null),
    input, error);
}

/** One amount of the sheet, kept on the phone as it is typed, final once its field is left. */
function entryField(id, label, key, fields) {
  const meeting = sheet.meeting;
  return amountInput(id, label, meeting.entries[key], (amount, text, invalid) => {
    if (sheetLocked(meeting)) return;
    setEntry(meeting, key, fields, amount, text, invalid || null);
    persist();
    refreshTotals();
  }, () => {
    if (sheetLocked(meeting) || !meeting.entries[key]) return;
    markReady(meeting, key);
    persist();
  });
}

function owedToday(loan) {
  const owes = [];
  if (loan.due) owes.push(tt("installment_due", { amount: formatAmount(loan.due) }));
  if (loan.overdue) owes.push(tt("overdue", { amount: formatAmount(loan.overdue) }));
  return owes;
}

/** The whole group's row: its own loans from the CDF, and the repayments handed to the CDF. */
function groupRow(statement) {
  const loans = groupLoans(statement, sheet.meeting.date);
  const fields = loans.map((loan) => entryField(`g-repayment-${loan.id}`,
    tt("group_repayment", { id: loan.id }), entryKey(GROUP, "repayment", loan.id),
    { kind: "repayment", member_id: null, loan_id: loan.id }));
  fields.push(entryField("g-remittance", tt("remittance"), entryKey(GROUP, "remittance"),
    { kind: "remittance", member_id: null, loan_id: null }));
  const overdue = loans.some((loan) => loan.overdue > 0);
  return h("section", { class: `group-row${overdue ? " has-overdue" : ""}`, id: "group-row" },
    h("h3", { class: "card-head" }, tt("group_title")),
    ...loans.map((loan) => h("div", { class: `small owes${loan.overdue ? " warning" : ""}`, dataset: { loan: loan.id } },
      `${tt("group_loan", { id: loan.id })}: ${tt("outstanding", { amount: formatAmount(loan.outstanding) })}`,
      ...owedToday(loan).map((text) => ` · ${text}`))),
    h("p", { class: "small muted" }, tt("remittance_hint")),
    h("div", { class: "amounts" }, fields));
}

function memberRow(member) {
  const owes = [tt("share_due", { amount: formatAmount(member.savingsDue) })];
  for (const loan of member.loans) owes.push(...owedToday(loan));
  const fields = [];
  const field = (kind, loanId = null) => {
    const key = entryKey(member.id, kind, loanId);
    const id = `m${member.id}-${kind}${loanId ? `-${loanId}` : ""}`;
    const label = kind === "repayment" ? tt("repayment", { id: loanId }) : tt(kind);
    return entryField(id, label, key, { kind, member_id: member.id, loan_id: loanId });
  };
  for (const kind of KINDS) fields.push(field(kind));
  for (const loan of member.loans) fields.push(field("repayment", loan.id));
  const overdue = member.loans.some((loan) => loan.overdue > 0);
  return h("li", { class: `member-row${overdue ? " has-overdue" : ""}`, dataset: { member: member.id } },
    h("div", { class: "card-head" },
      h("strong", { class: "member-name" }, member.name || member.code),
      h("span", { class: "muted small" }, member.code)),
    h("div", { class: "small muted" }, tt("saved", { amount: formatAmount(member.savings) }),
      ...member.loans.map((loan) => ` · ${tt("outstanding", { amount: formatAmount(loan.outstanding) })}`)),
    h("div", { class: `small owes${overdue ? " warning" : ""}` }, `${tt("owes")}: ${owes.join(" · ")}`),
    h("div", { class: "amounts" }, fields));
}

function totals(meeting) {
  let moneyIn = 0;
  let moneyOut = 0;
  for (const entry of Object.values(meeting.entries)) {
    if (!counts(entry)) continue;
    if (OUT_KINDS.has(entry.kind)) moneyOut += entry.amount;
    else moneyIn += entry.amount;
  }
  return { moneyIn, moneyOut, elsewhere: recordedElsewhere(meeting), expected: expectedCash(meeting) };
}

/** A time of the day as the phone's person reads it (the books' reading). */
function clockTime(iso) {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return "";
  return when.toLocaleTimeString(language() === "en" ? "en-GB" : "vi-VN", { hour: "2-digit", minute: "2-digit" });
}

/** Where the cash expected comes from: the server's books just read (every phone's records),
 * or, offline, this phone's records (and books read earlier): said plainly, with a warning. */
function expectedSource(meeting) {
  const books = meeting.books;
  if (books && navigator.onLine && sheet.booksRead === meeting.id) {
    return { text: tt("books_fresh", { time: clockTime(books.at) }), warning: false };
  }
  if (books) return { text: tt("books_old", { time: clockTime(books.at) }), warning: true };
  return { text: tt("books_none"), warning: true };
}

/** The server's books for the sheet's meeting, read now (online, no sync under way: a sync
 * reads them at its end): the cash expected counts every phone's records; a meeting closed
 * on another phone meanwhile shows closed. */
async function readBooks(meeting) {
  const as = sheetSession();
  if (!as || !navigator.onLine || syncing || !meeting.opened || meeting.closed || meeting.user_id !== as.userId) {
    return;
  }
  try {
    const result = await underSyncLock(() => refreshBooks(meeting, as.token));
    if (sheet.meeting !== meeting) return;
    sheet.booksRead = result === "open" ? meeting.id : null;
    if (result === "closed") {
      rerender();
      const answer = await fetchStatement(meeting.group_id, as);
      if (answer.fresh && sheet.meeting === meeting) sheet.statement = answer.statement;
      if (shell.state.view === "treasurer") rerender();
    } else refreshTotals();
  } catch (error) {
    // No answer, or another person signed in: the books read before stand (said so).
    if (db.isQuotaError(error)) shell.noteStorage(error);
  }
}

function counted() {
  const raw = document.getElementById("cash-counted")?.value ?? "";
  return parseAmount(raw, { allowZero: true }); // an empty box is counted 0
}

/** Whose and which amount of the sheet an entry is: {name, field}. */
function entryLabel(entry) {
  let name = tt("group_title");
  if (entry.member_id !== null && entry.member_id !== undefined) {
    const member = (sheet.statement?.members ?? []).find((m) => m.id === entry.member_id);
    name = member?.name || member?.code || `#${entry.member_id}`;
  }
  const field = entry.kind === "repayment" ? tt(entry.member_id === null ? "group_repayment" : "repayment", { id: entry.loan_id })
    : tt(entry.kind);
  return { name, field };
}

/** The first amount of the sheet typed wrong, said with its member's name and field (null
 * when none): the meeting is not closed while one is there. */
function invalidAmount(meeting) {
  const entry = Object.values(meeting.entries).find((e) => e.invalid);
  if (!entry) return null;
  return tt("fix_invalid", { ...entryLabel(entry), text: entry.text });
}

function refreshTotals() {
  const meeting = sheet.meeting;
  if (!meeting) return;
  const sums = totals(meeting);
  const set = (id, value) => {
    const node = document.getElementById(id);
    if (node) node.textContent = formatAmount(value);
  };
  set("money-in", sums.moneyIn);
  set("money-out", sums.moneyOut);
  if (sums.elsewhere !== null) set("cash-elsewhere", sums.elsewhere);
  set("cash-expected", sums.expected);
  const source = document.getElementById("expected-source");
  if (source) {
    const said = expectedSource(meeting);
    source.textContent = said.text;
    source.classList.toggle("warning", said.warning);
  }
  const count = counted();
  const diff = document.getElementById("cash-difference");
  if (diff) {
    diff.textContent = count.amount === null || count.error ? "—" : formatAmount(count.amount - sums.expected);
    diff.classList.toggle("warning", Boolean(count.amount !== null && !count.error && count.amount !== sums.expected));
  }
  const waiting = Object.values(meeting.entries)
    .filter((e) => e.state !== "posted" && e.state !== "unrecorded" && !e.invalid).length;
  const line = document.getElementById("waiting-count");
  if (line) line.textContent = tt("waiting", { n: waiting });
}

function closeSection(meeting) {
  const sums = totals(meeting);
  const close = meeting.close;
  const locked = Boolean(close) && !close.error;
  const countInput = h("input", {
    id: "cash-counted", type: "text", inputmode: "numeric", autocomplete: "off", class: "amount",
    value: close ? formatAmount(close.cash_counted) : "", readonly: locked,
  });
  const attendance = h("input", {
    id: "attendance", type: "number", min: 0, max: 10000, step: 1, inputmode: "numeric",
    value: close?.attendance ?? "", readonly: locked,
  });
  const note = h("textarea", { id: "close-note", rows: 2, maxlength: 1000, readonly: locked }, close?.note ?? "");
  const error = h("p", { class: "error", id: "close-error", hidden: !close?.error }, close?.error ?? "");
  countInput.addEventListener("input", () => {
    const parsed = parseAmount(countInput.value, { allowZero: true });
    error.hidden = !parsed.error;
    error.textContent = parsed.error ? tt(`err_${parsed.error}`) : "";
    refreshTotals();
  });
  // The box is being counted: what the other phones recorded until now is counted too.
  countInput.addEventListener("focus", () => {
    if (!redrawing && !locked) readBooks(meeting);
  });
  const closeButton = h("button", {
    class: "primary big", id: "close-meeting", type: "button", hidden: locked,
    onclick: async () => {
      // The count is compared with the books as they stand now, every phone's records in.
      await readBooks(meeting);
      if (sheet.meeting !== meeting || meeting.closed) return;
      const parsed = parseAmount(countInput.value, { allowZero: true });
      const wrong = invalidAmount(meeting);
      if (wrong) { // an amount typed wrong is no record: it is corrected or cleared first
        error.textContent = wrong;
        error.hidden = false;
        return;
      }
      if (parsed.error || parsed.amount === null) {
        error.textContent = tt(parsed.error ? `err_${parsed.error}` : "err_not_number");
        error.hidden = false;
        return;
      }
      if (Object.values(meeting.entries).some((e) => e.state === "failed")) {
        error.textContent = tt("fix_first");
        error.hidden = false;
        return;
      }
      const text = note.value.trim();
      if (parsed.amount !== expectedCash(meeting) && !text) {
        error.textContent = tt("note_needed");
        error.hidden = false;
        return;
      }
      const present = attendance.value === "" ? null : Math.trunc(Number(attendance.value));
      meeting.close = { cash_counted: parsed.amount, attendance: present, note: text, error: null };
      markReady(meeting); // closed: every amount on the sheet is final
      persist();
      rerender();
      syncSheet();
    },
  }, tt("close"));
  return h("section", { class: "cash-count", id: "cash-count" },
    h("dl", { class: "totals" },
      h("dt", {}, tt("opening_cash")), h("dd", { id: "opening-cash" }, formatAmount(openingCash(meeting))),
      h("dt", {}, tt("money_in")), h("dd", { id: "money-in" }, formatAmount(sums.moneyIn)),
      h("dt", {}, tt("money_out")), h("dd", { id: "money-out" }, formatAmount(sums.moneyOut)),
      sums.elsewhere === null ? null : h("dt", {}, tt("elsewhere")),
      sums.elsewhere === null ? null : h("dd", { id: "cash-elsewhere" }, formatAmount(sums.elsewhere)),
      h("dt", {}, tt("expected")), h("dd", { id: "cash-expected", class: "strong" }, formatAmount(sums.expected)),
      h("dt", {}, tt("difference")), h("dd", { id: "cash-difference" }, "—")),
    h("p", { class: "small", id: "expected-source" }, ""),
    h("label", { for: "cash-counted", class: "question-label" }, tt("counted")), countInput,
    h("label", { for: "attendance", class: "question-label" }, tt("attendance")), attendance,
    h("label", { for: "close-note", class: "question-label" }, tt("note")), note,
    error,
    locked && !meeting.closed ? h("p", { class: "notice", id: "close-waiting" }, tt("closing")) : null,
    closeButton);
}

function startSection() {
  const day = h("input", { id: "meeting-date", type: "date", value: today(), max: today() });
  const carried = leftOver(sheet.carry).length;
  return h("section", { id: "meeting-start" },
    carried ? h("p", { class: "notice", id: "carry-notice" }, tt("carry_notice", { n: carried })) : null,
    h("label", { for: "meeting-date", class: "question-label" }, tt("meeting_date")), day,
    h("button", {
      class: "primary big", id: "open-meeting", type: "button",
      onclick: () => {
        // Kept under the same key, the new meeting takes the place of the one closed
        // elsewhere on the phone, with its records not recorded: never both, never neither.
        const entries = sheet.carry ? carryOver(sheet.carry) : {};
        sheet.meeting = newMeeting(sheet.userId, sheet.groupId, day.value || today(), sheet.statement, entries);
        sheet.carry = null;
        persist();
        rerender();
        syncSheet();
      },
    }, tt("open_meeting")));
}

function closedSection(meeting) {
  const difference = formatAmount(meeting.result?.difference ?? 0);
  // Closed on another phone: the server's figures, and what this phone's records the server
  // never took (money taken at the meeting), kept for a new meeting.
  const left = leftOver(meeting);
  const notice = meeting.closed_elsewhere
    ? tt("closed_elsewhere", { counted: formatAmount(meeting.result?.cash_counted ?? 0), amount: difference })
    : tt("closed", { amount: difference });
  return h("section", { id: "meeting-closed" },
    h("p", { class: "notice", id: "closed-notice" }, notice),
    left.length ? h("div", { class: "notice error", id: "unrecorded" },
      h("p", {}, tt("unrecorded_title", { n: left.length })),
      h("ul", { id: "unrecorded-list" }, left.map((entry) => {
        const { name, field } = entryLabel(entry);
        const amount = entry.amount === null || entry.amount === undefined ? entry.text : `${formatAmount(entry.amount)} đ`;
        return h("li", { dataset: { client: entry.client_id ?? "" } }, `${name} · ${field}: ${amount}`);
      }))) : null,
    h("button", {
      class: "secondary big", id: "new-meeting", type: "button",
      onclick: async () => {
        if (left.length) sheet.carry = meeting; // kept on the phone until the next one opens
        else await forgetMeeting(meeting).catch((error) => shell.noteStorage(error));
        sheet.meeting = null;
        sheet.status = "";
        rerender();
      },
    }, left.length ? tt("carry_button", { n: left.length }) : tt("new_meeting")));
}

/** The group's statement as a PDF, fetched with the phone's token and saved as a file. */
async function downloadStatement() {
  if (!navigator.onLine) {
    sheet.status = tt("pdf_needs_network");
    rerender();
    return;
  }
  try {
    const url = `/api/v1/cdf/groups/${encodeURIComponent(sheet.groupId)}/statement.pdf?lang=${language()}`;
    const response = await auth.api(url, { headers: { accept: "application/pdf" } });
    if (!response.ok) throw new Error(String(response.status));
    const link = h("a", { href: URL.createObjectURL(await response.blob()), download: `sao-ke-nhom-${sheet.groupId}.pdf` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
  } catch (error) {
    sheet.status = tt("pdf_failed", { detail: /^\d+$/.test(error.message) ? error.message : failureText(error) });
    rerender();
  }
}

/** The treasurer's screen (app.js's "treasurer" view). */
export function renderTreasurer() {
  const statement = sheet.statement;
  const meeting = sheet.meeting;
  const body = [];
  // The tab's title names the sheet (app.js's render gives the surveys' title first).
  document.title = meeting ? tt("page_title_meeting", { date: formatDay(meeting.date) }) : tt("title");
  if (!sheet.loaded) body.push(h("p", { class: "muted" }, "…"));
  else if (sheet.groupId === null) body.push(h("p", { class: "notice error", id: "no-group" }, tt("no_group")));
  else if (!statement) body.push(h("p", { class: "notice error", id: "no-statement" }, tt("no_statement")));
  else {
    body.push(h("h2", { id: "group-name" }, statement.group?.name ?? ""));
    body.push(h("button", {
      class: "link", id: "statement-pdf", type: "button", onclick: () => downloadStatement(),
    }, tt("statement_pdf")));
    if (!meeting) body.push(startSection());
    else {
      const rows = sheetRows(statement, meeting.date);
      body.push(
        h("p", { class: "small", id: "meeting-title", dataset: { meeting: meeting.id } },
          tt("meeting_of", { date: formatDay(meeting.date) }), " · ", tt("members", { n: rows.length })),
        // Another phone opened the group's meeting of the day first: this one's records join it.
        meeting.joined_from && !meeting.closed ? h("p", { class: "notice", id: "meeting-joined" }, tt("joined")) : null,
        meeting.closed ? closedSection(meeting) : null,
        h("ul", { class: "member-rows", id: "member-rows" }, rows.map(memberRow)),
        groupRow(statement),
        meeting.closed ? null : closeSection(meeting),
        h("p", { class: "small muted", id: "waiting-count" }, ""),
        meeting.closed ? null : h("button", {
          class: "secondary big", id: "treasurer-sync", type: "button", disabled: syncing?.id === meeting.id,
          onclick: () => syncSheet(),
        }, syncing?.id === meeting.id ? tt("syncing") : tt("sync")));
    }
  }
  const view = [
    shell.header(tt("title")),
    h("main", { class: "content treasurer", id: "treasurer" },
      shell.networkLine(),
      h("p", { class: "notice", id: "treasurer-status", hidden: !sheet.status, dataset: { syncing: syncing && syncing.id === meeting?.id ? "yes" : "no" } }, sheet.status),
      ...body),
  ];
  queueMicrotask(refreshTotals);
  return view;
}

/** After a reload: a meeting left open on the phone opens again where it was. */
export async function resumeTreasurer() {
  const me = auth.user();
  if (!auth.hasToken() || me?.id === null || me?.id === undefined) return false;
  for (const id of groups()) {
    const meeting = await loadMeeting(me.id, id).catch(() => null);
    // Closed on another phone with records it never took: shown, so they are not forgotten.
    if (meeting && (!meeting.closed || unsentCount(meeting) > 0)) {
      await openTreasurer(id);
      return true;
    }
  }
  return false;
}
