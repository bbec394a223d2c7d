// The treasurer's collection sheet (thủ quỹ) without the screen: amounts in whole đồng, what
// each member owes on the meeting's day, the meeting kept on the phone (IndexedDB, kv store)
// and its sync through the meetings API (treasurer_sync.js; docs/cdf.md, "Treasurer").
//
// Every id is made here: the meeting's and each record's (crypto.randomUUID). A record is
// marked "sending" on the phone before it leaves, and keeps its id until the server answered
// it: a resend after a lost answer or a reload carries the same id, and the server posts it
// once. Once sent, a record is never changed on the phone; one the server refused can be
// corrected, which gives it a new id.
//
// A phone may be shared (two treasurers of a group, a treasurer and a volunteer): a meeting
// and the group's statement are kept under the person's id as well as the group's, and a
// meeting is sent only with the token of the person who keeps it. Its sync is bound to the
// session it started with (auth.apiAs, as the survey outbox's): once that person signed out,
// or another signed in (a QR code), it stops before its next request, and what it had not
// sent waits on the phone for its treasurer.
//
// Two phones may open the same group's meeting of one day (the treasurer and the secretary,
// a phone and a tablet), each with its own id: the server answers the second with the meeting
// the first opened ("joined"), and that phone takes the server's id for its meeting. Its
// records never left under its own id (they go after the opening), so they all go, each with
// its own id, into the one meeting, whose box is counted once. `joined_from` keeps the id
// made here, so that another tab still showing the meeting under it follows the change.
//
// With two phones at one meeting, neither holds every record: the cash the box should hold
// is taken from the server's books for the meeting whenever the phone is online
// (GET /api/v1/cdf/meetings/{id}: the group's cash on the meeting's day and the ids of every
// phone's records, kept as `books`), plus this phone's records the books do not hold yet.
// Offline, the screen says the other phones' records are not counted. Once one phone closes
// the meeting, the server refuses the other's later records (`cdf_meeting_closed`): that
// phone takes the close from the server (`closed_elsewhere`, the figures in `result`), keeps
// the records it refused on the sheet as not recorded (`unrecorded`) and carries them, each
// with its own id, into the next meeting it opens (carryOver): never lost, never posted twice
// (a record the books hold is `posted`; the server answers a resent id `duplicate`).

import * as auth from "./auth.js";
import * as db from "./db.js";

export const KINDS = ["savings", "mutual_aid", "fine", "withdrawal"];
// Money that leaves the group's box: a member's withdrawal, and the remittance of the
// repayments collected to the CDF (which lends them again).
export const OUT_KINDS = new Set(["withdrawal", "remittance"]);
// The sheet's row of the whole group: its own loans from the CDF and the remittance.
export const GROUP = "group";
// The books' largest amount (app/services/cdf_input.py, MAX_MONEY): 10^12 đồng.
export const MAX_AMOUNT = 1e12;
const PERIOD_DAYS = { weekly: 7, fortnightly: 14, monthly: 31 };

/**
 * Read an amount typed by a person: "50.000", "50000" or "50 000" are 50000 đồng (a dot
 * groups the thousands, as Vietnamese writes them); "" is nothing (null). Anything else is
 * refused with a reason, never read as the part of it that looks like a number: "100,000"
 * (a comma is the decimal mark in Vietnamese: ambiguous), "50k" or "1tr" (shorthand),
 * "5.5" (decimals), "0050.000" (leading zeros), more than the books' largest amount, and 0
 * (nothing to record) unless `allowZero` (a cash count may be 0).
 * Returns {amount} or {error: "negative" | "decimal" | "comma" | "shorthand" |
 * "leading_zero" | "zero" | "not_number" | "too_large"}.
 */
export function parseAmount(raw, { allowZero = false } = {}) {
  const text = String(raw ?? "").replace(/[\s\u00a0]/g, "").replace(/(đồng|đ|vnd)$/i, "");
  if (!text) return { amount: null };
  if (/^[-−]/.test(text)) return { error: "negative" };
  if (/^\d+([.,]\d+)*(k|nghìn|ngàn|ng|tr|triệu|m|tỷ|ty|tỉ|ti)\d*$/i.test(text)) return { error: "shorthand" };
  if (/^0+\d/.test(text)) return { error: "leading_zero" };
  let digits = null;
  if (/^\d+$/.test(text)) digits = text;
  else if (/^\d{1,3}(\.\d{3})+$/.test(text)) digits = text.replaceAll(".", "");
  else if (/^\d{1,3}(,\d{3})+$/.test(text)) return { error: "comma" };
  else if (/^\d+[.,]\d*$/.test(text) || /^\d{1,3}(\.\d{3})*,\d+$/.test(text)) return { error: "decimal" };
  if (digits === null) return { error: "not_number" };
  const amount = Number(digits);
  if (!Number.isSafeInteger(amount) || amount > MAX_AMOUNT) return { error: "too_large" };
  if (amount === 0 && !allowZero) return { error: "zero" };
  return { amount };
}

/** 1234567 -> "1.234.567" (Vietnamese thousands). */
export function formatAmount(amount) {
  const sign = amount < 0 ? "-" : "";
  return sign + String(Math.abs(Math.trunc(amount))).replace(/\B(?=(\d{3})+(?!\d))/g, ".");
}

function addDays(day, days) {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

/** Today on the phone, YYYY-MM-DD (the phone's own day). */
export function today() {
  const now = new Date();
  const local = new Date(now.getTime() - now.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 10);
}

/**
 * What a member's loan asks for on `day`: overdue (installments due before the day, unpaid)
 * and due (installments falling due from the day until the next meeting).
 */
export function loanDue(loan, day, frequency) {
  const next = addDays(day, PERIOD_DAYS[frequency] ?? 31);
  let overdue = 0;
  let due = 0;
  for (const row of loan.schedule?.installments ?? []) {
    const left = row.principal_due - row.principal_paid + row.interest_due - row.interest_paid;
    if (left <= 0) continue;
    if (row.due_on < day) overdue += left;
    else if (row.due_on < next) due += left;
  }
  return { overdue, due };
}

/** The sheet's rows: each member with their savings and open loans, and what they owe. */
export function sheetRows(statement, day) {
  const group = statement.group;
  const loans = (statement.loans ?? []).filter((loan) => loan.member_id !== null && loan.schedule
    && loan.schedule.principal_outstanding + loan.schedule.interest_outstanding > 0);
  return (statement.members ?? []).filter((m) => !m.left_on).map((member) => {
    const own = loans.filter((loan) => loan.member_id === member.id).map((loan) => ({
      id: loan.id, ...loanDue(loan, day, group.meeting_frequency),
      outstanding: loan.schedule.principal_outstanding + loan.schedule.interest_outstanding,
    }));
    return {
      id: member.id, code: member.code, name: member.name ?? "", savings: member.savings ?? 0,
      savingsDue: group.share_value ?? 0, loans: own,
    };
  });
}

/**
 * The group's own loans from the CDF (no member: the whole group borrowed) still owed, with
 * what they ask for on `day`.
 */
export function groupLoans(statement, day) {
  const frequency = statement.group?.meeting_frequency;
  return (statement.loans ?? []).filter((loan) => loan.member_id === null && loan.schedule
    && loan.schedule.principal_outstanding + loan.schedule.interest_outstanding > 0).map((loan) => ({
    id: loan.id, ...loanDue(loan, day, frequency),
    outstanding: loan.schedule.principal_outstanding + loan.schedule.interest_outstanding,
  }));
}

/**
 * The key of one amount of the sheet: a member's kind (and loan, for a repayment); the
 * whole group's with GROUP for the member.
 */
export function entryKey(memberId, kind, loanId = null) {
  return loanId === null ? `${memberId}:${kind}` : `${memberId}:repayment:${loanId}`;
}

/** What a record does to the box: +amount in, -amount out. */
function cashEffect(entry) {
  return OUT_KINDS.has(entry.kind) ? -entry.amount : entry.amount;
}

/** True for a record of this phone that counts in the box (not refused, not left out of a
 * meeting closed elsewhere). */
export function counts(entry) {
  return isRecord(entry) && entry.state !== "failed" && entry.state !== "unrecorded";
}

/**
 * The cash the box should hold. With the server's books for the meeting (`books`, every
 * phone's records posted when they were read): that cash plus this phone's records they do
 * not hold yet. Without (never online since it was opened): the cash at the meeting's start
 * plus this phone's records, short of any other phone's (the screen says so).
 */
export function expectedCash(meeting) {
  const books = meeting.books;
  const held = new Set(books?.record_ids ?? []);
  let total = books ? books.cash : meeting.opening_cash ?? 0;
  for (const entry of Object.values(meeting.entries)) {
    if (!counts(entry) || (books && held.has(entry.client_id))) continue;
    total += cashEffect(entry);
  }
  return total;
}

/** The cash in the box when the meeting began: from the server's books when read (their
 * cash on the meeting's day less what its records moved, whatever day it is held on), else
 * the group's cash when the meeting was started on this phone (a statement of that moment:
 * for a meeting dated back, it holds later days' money too). */
export function openingCash(meeting) {
  const books = meeting.books;
  if (books && Number.isSafeInteger(books.meeting_cash)) return books.cash - books.meeting_cash;
  return meeting.opening_cash ?? 0;
}

/** The money of the meeting the books hold that is not this phone's: other phones'
 * records (and the office's) at it. Null without books. */
export function recordedElsewhere(meeting) {
  const books = meeting.books;
  if (!books) return null;
  const held = new Set(books.record_ids);
  let mine = 0;
  for (const entry of Object.values(meeting.entries)) {
    if (counts(entry) && held.has(entry.client_id)) mine += cashEffect(entry);
  }
  return books.cash - openingCash(meeting) - mine;
}

// ---------------------------------------------------------------- on the phone

const meetingPrefix = (userId) => `treasurer.${userId}.meeting.`;
const meetingKey = (userId, groupId) => `${meetingPrefix(userId)}${groupId}`;
const statementKey = (userId, groupId) => `treasurer.${userId}.statement.${groupId}`;
// Before meetings were kept per person (one meeting per group on a phone, whoever kept it).
const olderMeetingKey = (groupId) => `treasurer.meeting.${groupId}`;
const olderStatementKey = (groupId) => `treasurer.statement.${groupId}`;
let writing = Promise.resolve();

/** Once the meetings saved or forgotten before now are written: a read made meanwhile (the
 * sheet opened again, the waiting meetings counted) would find the one before, and an edit
 * made on it would be saved over the last one. */
function written() {
  return writing.catch(() => {});
}

// Two tabs of the phone may show the same meeting, each with its own copy. A save never
// writes this tab's whole copy over the one kept: in one IndexedDB transaction it reads the
// meeting kept, applies what this tab changed since it last read or wrote it (`bases`: the
// meeting as it was then, per copy), writes the result, and takes into its copy what the
// others changed. The other tabs are told (BroadcastChannel) and follow (followMeeting).
const bases = new WeakMap();
const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("cdfmap-treasurer") : null;
const meetingListeners = new Set();
if (channel) channel.onmessage = (event) => { for (const listener of meetingListeners) listener(event.data); };

/** Call `listener({key, id})` when another tab changed a meeting kept on the phone. */
export function onMeetingChanged(listener) {
  meetingListeners.add(listener);
}

/** The key a meeting is kept under. */
export function meetingKeyOf(meeting) {
  return meetingKey(meeting.user_id, meeting.group_id);
}

export const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** True when `a` and `b` are copies of one meeting: the same id, or one of them took the
 * server's id for the meeting another phone opened (joined) in place of the other's. */
export function sameMeeting(a, b) {
  if (!a || !b) return false;
  return a.id === b.id || (a.joined_from !== undefined && a.joined_from === b.id)
    || (b.joined_from !== undefined && b.joined_from === a.id);
}

// What a copy made before its meeting joined another phone's never takes back: the id
// given by the server, and that the server has it.
const JOINED_FIELDS = new Set(["id", "joined_from", "opened", "open_error"]);

/** The meeting kept (`stored`) with what `mine` changed since `base` (null: all of it). */
function merged(stored, mine, base) {
  if (!stored || !sameMeeting(stored, mine) || !stored.entries) return structuredClone(mine);
  const out = structuredClone(stored);
  const joinedSince = stored.id !== mine.id && stored.joined_from === mine.id;
  for (const [name, value] of Object.entries(mine)) {
    if (joinedSince && JOINED_FIELDS.has(name)) continue;
    if (name !== "entries" && (!base || !same(value, base[name]))) out[name] = structuredClone(value);
  }
  const was = base?.entries ?? {};
  for (const key of new Set([...Object.keys(mine.entries), ...Object.keys(was)])) {
    if (same(mine.entries[key], was[key])) continue; // not changed in this tab
    if (mine.entries[key] === undefined) delete out.entries[key];
    else out.entries[key] = structuredClone(mine.entries[key]);
  }
  return out;
}

/** Write `copy` merged into the meeting kept, in one transaction of db.js's (the app's one
 * connection to its database): {out, wrote}. A full disk, say, keeps nothing of it. */
function writeMerged(key, copy, base) {
  return db.updateValue(key, (stored) => {
    const out = merged(stored, copy, base);
    const wrote = !same(stored, out);
    return { value: wrote ? out : undefined, result: { out, wrote } };
  });
}

/** Bring into `live` what the meeting kept (`out`) holds that `live` did not change since
 * `copy` was taken; the same entry objects are kept (a sync holds them). True if any. */
function adopt(live, copy, out) {
  if (!out || !(out.id === live.id || (out.joined_from !== undefined && out.joined_from === live.id))) return false;
  let changed = false;
  for (const [name, value] of Object.entries(out)) {
    if (name === "entries" || same(live[name], value) || !same(live[name], copy[name])) continue;
    live[name] = structuredClone(value);
    changed = true;
  }
  for (const key of new Set([...Object.keys(live.entries), ...Object.keys(out.entries ?? {})])) {
    const mine = live.entries[key];
    const theirs = out.entries?.[key];
    if (same(mine, theirs) || !same(mine, copy.entries[key])) continue;
    if (theirs === undefined) delete live.entries[key];
    else if (mine) {
      for (const field of Object.keys(mine)) delete mine[field];
      Object.assign(mine, structuredClone(theirs));
    } else live.entries[key] = structuredClone(theirs);
    changed = true;
  }
  return changed;
}

/**
 * Keep the meeting on the phone, under its treasurer: what this tab changed in it since it
 * last read or wrote it is merged into the meeting kept (another tab's amounts stay), and
 * what other tabs changed comes into `meeting`. Writes of a tab in order. Resolves with true
 * when `meeting` took something of another tab's (the screen is drawn again).
 */
export function saveMeeting(meeting) {
  const copy = structuredClone(meeting);
  const key = meetingKeyOf(meeting);
  const done = written().then(async () => {
    const { out, wrote } = await writeMerged(key, copy, bases.get(meeting) ?? null);
    bases.set(meeting, structuredClone(out));
    const changed = adopt(meeting, copy, out);
    if (wrote) channel?.postMessage({ key, id: meeting.id });
    return changed;
  });
  writing = done;
  return done;
}

/** What other tabs changed of `meeting` (kept on the phone since) into it: true if any. */
export function followMeeting(meeting) {
  return saveMeeting(meeting);
}

/** The meeting `userId` keeps on the phone for the group (undefined when none). */
export async function loadMeeting(userId, groupId) {
  await written();
  const meeting = await db.getValue(meetingKey(userId, groupId));
  if (meeting?.entries) bases.set(meeting, structuredClone(meeting));
  return meeting;
}

export function forgetMeeting(meeting) {
  const key = meetingKeyOf(meeting);
  writing = written().then(() => db.deleteValue(key)).then(() => channel?.postMessage({ key, id: meeting.id }));
  return writing;
}

export function loadStatement(userId, groupId) {
  return db.getValue(statementKey(userId, groupId));
}

/**
 * A meeting (and statement) an older version kept under the group alone becomes that of the
 * person signed in who keeps the group's cash book (`userId`, `groupIds`): the phone's
 * treasurer when it was updated, who may send it. Resolves once done.
 */
export async function adoptOlderMeetings(userId, groupIds) {
  if (userId === null || userId === undefined) return;
  for (const groupId of groupIds) {
    const meeting = await db.getValue(olderMeetingKey(groupId));
    const kept = meeting ? await loadMeeting(userId, groupId) : undefined;
    if (meeting && !kept) {
      await saveMeeting({ ...meeting, user_id: userId });
      await db.deleteValue(olderMeetingKey(groupId));
    } else if (meeting && kept.id === meeting.id) {
      // Adopted before, and the phone stopped before the older copy was deleted: the one
      // kept since is the meeting (edited since, perhaps); the older one would be counted as
      // waiting for ever and never sent.
      await db.deleteValue(olderMeetingKey(groupId));
    }
    const statement = await db.getValue(olderStatementKey(groupId));
    if (statement) {
      if (!(await loadStatement(userId, groupId))) await db.setValue(statementKey(userId, groupId), statement);
      await db.deleteValue(olderStatementKey(groupId));
    }
  }
}

/** How many things of a meeting the server has not taken: its records not posted (typed,
 * being sent or refused) and a close waiting to be sent. */
export function unsentCount(meeting) {
  if (meeting?.closed_elsewhere) return leftOver(meeting).filter((e) => !e.invalid).length;
  if (!meeting || meeting.closed) return 0;
  const records = Object.values(meeting.entries ?? {}).filter((e) => e.state !== "posted" && !e.invalid).length;
  return records + (meeting.close ? 1 : 0);
}

/** The meetings of the treasurer `userId` kept on the phone with something the server has
 * not taken: not opened there yet, records not posted or a close waiting to be sent. */
export async function waitingMeetings(userId) {
  if (userId === null || userId === undefined) return [];
  await written();
  const meetings = await db.valuesWithPrefix(meetingPrefix(userId));
  for (const meeting of meetings) if (meeting?.entries) bases.set(meeting, structuredClone(meeting));
  return meetings.filter((m) => m?.group_id !== undefined && m.entries && m.user_id === userId && !m.closed)
    .filter((m) => !m.opened || unsentCount(m) > 0);
}

/** The cash book's records on the phone the server has not posted (unsentCount) of the
 * treasurer `userId`, or of everyone's when null (nobody signed in). */
export async function unsentRecords(userId) {
  await written();
  const meetings = userId === null || userId === undefined
    ? await db.valuesWithPrefix("treasurer.")
    : await db.valuesWithPrefix(meetingPrefix(userId));
  return meetings.filter((m) => m?.group_id !== undefined && m.entries)
    .reduce((total, meeting) => total + unsentCount(meeting), 0);
}

/**
 * The group's statement from the server with the token of `as` ({token, userId}: the
 * person whose sheet asks), kept for offline use under that person; the kept one when
 * offline. Throws SessionChanged when the phone's session is no longer `as`'s.
 */
export async function fetchStatement(groupId, as) {
  try {
    const response = await auth.apiAs(as.token, `/api/v1/cdf/groups/${encodeURIComponent(groupId)}`, {
      headers: { accept: "application/json" },
    });
    if (response.ok) {
      const statement = await response.json();
      await db.setValue(statementKey(as.userId, groupId), statement);
      return { statement, fresh: true };
    }
  } catch (error) {
    if (error instanceof auth.SignInRequired || error instanceof auth.NotAllowed) throw error;
    if (error instanceof auth.SessionChanged) throw error;
  }
  return { statement: await loadStatement(as.userId, groupId), fresh: false };
}

/** The groups this person keeps the cash book of, from their roles. */
export function treasurerGroups(user) {
  return (user?.roles ?? []).filter((r) => r.role === "treasurer" && r.cdf_group_id)
    .map((r) => r.cdf_group_id);
}

/** A new meeting on the phone of the treasurer `userId`, with its own id, holding the
 * records carried over from a meeting closed elsewhere (carryOver), if any. */
export function newMeeting(userId, groupId, day, statement, entries = {}) {
  return {
    id: crypto.randomUUID(), user_id: userId, group_id: groupId, date: day, opened: false, entries,
    opening_cash: statement?.balances?.cash ?? 0, close: null, closed: false, result: null,
    started_at: new Date().toISOString(),
  };
}

/** What of a meeting closed elsewhere the server never took: records not recorded, refused
 * ones and amounts typed wrong, each on its row. */
export function leftOver(meeting) {
  if (!meeting?.closed_elsewhere) return [];
  return Object.values(meeting.entries ?? {}).filter((e) => e.state !== "posted");
}

/**
 * The entries a new meeting takes from a meeting closed elsewhere: each record it did not
 * record goes again with its own id (the server posts an id once: a record it holds somewhere
 * is answered `duplicate`, never posted twice); a refused one stays refused on its row (a
 * correction gives it a new id), an amount typed wrong stays to be corrected.
 */
export function carryOver(meeting) {
  const entries = {};
  for (const [key, entry] of Object.entries(meeting?.entries ?? {})) {
    if (!meeting.closed_elsewhere || entry.state === "posted") continue;
    const copy = structuredClone(entry);
    delete copy.refused_closed;
    if (copy.state === "unrecorded") Object.assign(copy, { state: "draft", error: null, ready: true });
    entries[key] = copy;
  }
  return entries;
}

/**
 * The meeting `seen` (GET /api/v1/cdf/meetings/{id}) as the server closed it: taken as this
 * phone's close when it counts what this phone counted and holds every record of this
 * phone's (a close whose answer was lost); otherwise as closed on another phone, with the
 * server's figures. Each record of the phone the books hold is posted; any other is left
 * on the sheet as not recorded (`unrecorded`), a refused one as refused.
 */
export function takeServerClose(meeting, seen) {
  const held = new Set((seen.record_ids ?? []).map(String));
  const counted = seen.cash_counted ?? null;
  const inLedger = seen.cash_in_ledger ?? null;
  const difference = counted === null || inLedger === null ? null : counted - inLedger;
  const records = Object.values(meeting.entries).filter(isRecord);
  const mine = Boolean(meeting.close) && meeting.close.cash_counted === counted
    && records.every((e) => held.has(e.client_id));
  for (const entry of Object.values(meeting.entries)) {
    if (!isRecord(entry)) continue;
    if (held.has(entry.client_id)) {
      entry.state = "posted";
      entry.error = null;
      delete entry.refused_closed;
    } else if (entry.state !== "failed" || entry.refused_closed) {
      entry.state = "unrecorded";
      entry.error = null;
      delete entry.refused_closed;
    }
  }
  meeting.closed = true;
  meeting.server_closed = false;
  meeting.result = { difference, cash_in_ledger: inLedger, cash_counted: counted };
  if (mine) meeting.close.error = null;
  else meeting.closed_elsewhere = true;
}

/**
 * Set one amount of the sheet from what was typed. A record already sent is never changed;
 * one the server refused takes a new id. What was typed and does not read as an amount
 * (`invalid`: parseAmount's error) is kept as typed with its error and no amount: never a
 * record, never sent, never counted, and the meeting cannot be closed while it is there.
 * Returns the entry (or null when emptied).
 */
export function setEntry(meeting, key, fields, amount, text, invalid = null) {
  const entry = meeting.entries[key];
  if (entry && (entry.state === "sending" || entry.state === "posted")) return entry;
  if (amount === null && !invalid) {
    delete meeting.entries[key];
    return null;
  }
  // An id the server never saw (a draft's) is kept; a refused record's is not used again.
  const kept = entry && entry.state !== "failed" ? entry.client_id ?? null : null;
  meeting.entries[key] = {
    ...fields, amount: invalid ? null : amount, text, state: "draft", error: null, ready: false,
    invalid: invalid || null, client_id: invalid ? kept : kept ?? crypto.randomUUID(),
  };
  return meeting.entries[key];
}

/** True for an amount of the sheet that is a record (not one typed wrong, still to fix). */
export function isRecord(entry) {
  return Boolean(entry) && !entry.invalid && entry.amount !== null && entry.amount !== undefined;
}

/**
 * An amount the treasurer has finished typing (the field was left), or every amount when
 * the meeting is closed: only these are sent, never a figure half typed while a sync runs.
 */
export function markReady(meeting, key = null) {
  for (const [name, entry] of Object.entries(meeting.entries)) {
    if ((key === null || name === key) && entry.state === "draft" && isRecord(entry)) entry.ready = true;
  }
}
