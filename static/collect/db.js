// A small promise wrapper over IndexedDB: surveys, photos and a key-value store.
//
// Several tabs may hold the same survey. Each survey carries `rev`, its content revision:
// the editor writes only over the revision it read (saveSurvey), and the outbox changes a
// survey's send status only while its revision is the one it sent (settle). A survey the
// server may already have (`locked`) is never written by the editor again.
//
// `review` ({status, comment, reviewed_at, version}) is the server's word on a sent survey
// (GET /api/v1/me/surveys). It is not content: it changes no revision, and the editor's
// writes keep the stored one. A survey the reviewer sent back (needs_correction) is
// reopened as a draft with `correction` set, and sent again with PUT (sync.js).

const DB_NAME = "cdfmap-collect";
const DB_VERSION = 1;
const DAY_MS = 24 * 60 * 60 * 1000;
let opening = null;

// Other tabs of the app are told when the list of surveys changed, so theirs follow.
const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("cdfmap-collect") : null;
const changeListeners = new Set();
if (channel) channel.onmessage = () => { for (const listener of changeListeners) listener(); };

/** Call `listener` when another tab changed the surveys. */
export function onOtherTabChange(listener) {
  changeListeners.add(listener);
}

/** Tell the other tabs that the surveys changed. */
export function notifyOtherTabs() {
  channel?.postMessage("changed");
}

/** Thrown when a survey changed since it was read (another tab, or the outbox). */
export class StaleSurvey extends Error {
  constructor(current) {
    super("the survey changed since it was read");
    this.name = "StaleSurvey";
    this.current = current;
  }
}

/** Thrown when a survey being edited is no longer on the phone (deleted in another tab). */
export class SurveyGone extends Error {
  constructor(id) {
    super("the survey is no longer on the phone");
    this.name = "SurveyGone";
    this.id = id;
  }
}

/** True for the errors of a full disk (every write can fail with one). */
export function isQuotaError(error) {
  return error?.name === "QuotaExceededError" || error?.code === 22
    || (error?.name === "UnknownError" && /quota|space|disk/i.test(error?.message ?? ""));
}

function open() {
  if (opening) return opening;
  opening = new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains("surveys")) db.createObjectStore("surveys", { keyPath: "id" });
      if (!db.objectStoreNames.contains("photos")) db.createObjectStore("photos");
      if (!db.objectStoreNames.contains("kv")) db.createObjectStore("kv");
    };
    request.onsuccess = () => {
      const db = request.result;
      db.onversionchange = () => { // a newer app version in another tab upgrades it
        db.close();
        opening = null;
      };
      resolve(db);
    };
    request.onerror = () => reject(request.error);
  });
  opening.catch(() => (opening = null));
  return opening;
}

/**
 * One transaction over `stores`: `action(stores, fail)` issues requests and may call
 * `fail(error)` to abort; resolves with what `action` returned (or set on `out.value`)
 * once the transaction is committed, rejects with the error that aborted it.
 */
async function transact(stores, mode, action) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const names = [].concat(stores);
    const transaction = db.transaction(names, mode);
    const objectStores = names.map((name) => transaction.objectStore(name));
    const out = { value: undefined };
    let failure = null;
    const fail = (error) => {
      failure = failure ?? error;
      try {
        transaction.abort();
      } catch {
        // already finished
      }
    };
    transaction.oncomplete = () => resolve(out.value);
    transaction.onerror = (event) => {
      failure = failure ?? transaction.error ?? event.target?.error;
    };
    transaction.onabort = () => reject(failure ?? transaction.error ?? new Error("aborted"));
    try {
      const value = action(objectStores.length === 1 ? objectStores[0] : objectStores, fail, out);
      if (value !== undefined) out.value = value;
    } catch (error) {
      fail(error); // e.g. a put refused at once by a full disk: nothing of it is kept
    }
  });
}

function request(req, onValue, fail) {
  req.onsuccess = () => {
    try {
      onValue(req.result);
    } catch (error) {
      fail(error);
    }
  };
}

/**
 * True when `survey` is `user`'s: made by them (its `user_id`), or made before accounts (no
 * maker: the phone's, anyone's). A phone may be shared: each person sees, edits, deletes and
 * sends only their own surveys; the others' stay on the phone, unseen, for their makers.
 */
export function madeBy(survey, user) {
  // A survey made under a session whose person was not yet known (user_id null, before this
  // was refused) is nobody's: never sent under an account it may not be of.
  if (survey.user_id === undefined) return true;
  return survey.user_id !== null && user?.id !== null && user?.id !== undefined && survey.user_id === user.id;
}

/** Give the surveys a session made before its person was known (user_id null, started
 * since `since`) to that person, `user`, now known; resolves with how many. */
export async function adoptUnknownMaker(user, since) {
  const from = Date.parse(since ?? "");
  if (user?.id === null || user?.id === undefined || Number.isNaN(from)) return 0;
  const count = await transact("surveys", "readwrite", (store, fail, out) => {
    out.value = 0;
    request(store.getAll(), (all) => {
      for (const survey of all) {
        if (survey.user_id !== null || !(Date.parse(survey.started_at ?? "") >= from)) continue;
        store.put({ ...survey, user_id: user.id, user_name: user.display_name || user.username || "" });
        out.value += 1;
      }
    }, fail);
  });
  if (count) notifyOtherTabs();
  return count;
}

/** Every survey stored on the phone (of every person who used it: see madeBy). */
export function allSurveys() {
  return transact("surveys", "readonly", (store, fail, out) => {
    request(store.getAll(), (all) => (out.value = all), fail);
  });
}

/** One survey by id (undefined when absent). */
export function getSurvey(id) {
  return transact("surveys", "readonly", (store, fail, out) => {
    request(store.get(id), (survey) => (out.value = survey), fail);
  });
}

/** Insert a new survey (revision 1). */
export async function addSurvey(survey) {
  const stored = { ...survey, rev: 1, updated_at: new Date().toISOString() };
  await transact("surveys", "readwrite", (store) => {
    store.add(stored);
  });
  notifyOtherTabs();
  return stored;
}

/**
 * Write the editor's copy of a survey over the revision it read; resolves with the new
 * revision. Rejects with StaleSurvey (carrying the stored copy) when the stored survey is
 * newer or the server may already have it, and with SurveyGone when it is no longer stored:
 * every survey the editor holds was stored first (addSurvey), so one missing was deleted
 * meanwhile (another tab), and a write would bring it back.
 */
export function saveSurvey(survey) {
  return transact("surveys", "readwrite", (store, fail, out) => {
    request(store.get(survey.id), (current) => {
      if (!current) {
        fail(new SurveyGone(survey.id));
        return;
      }
      if ((current.rev ?? 0) !== (survey.rev ?? 0) || current.locked) {
        fail(new StaleSurvey(current));
        return;
      }
      const rev = (survey.rev ?? 0) + 1;
      // The review may have changed since the editor read the survey: the stored one wins.
      store.put({ ...survey, review: current.review ?? survey.review, rev, updated_at: new Date().toISOString() });
      out.value = rev;
    }, fail);
  });
}

/** JSON with the keys of every object sorted: equal for equal content, whatever the order. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

/** What a survey says (its answers and location), to tell whether an edit changed it. */
export function contentOf(survey) {
  return canonical([survey.answers ?? {}, survey.location ?? null]);
}

/**
 * Reopen a survey for editing: a waiting survey becomes a draft again (so that no sync
 * sends it while it changes), unless the server may have it (then it stays as it is). It
 * keeps what it said when it was reopened (`reopened`): left unchanged, it waits again
 * (restoreWaiting). Resolves with the stored survey after the change.
 */
export async function reopenSurvey(id) {
  const survey = await transact("surveys", "readwrite", (store, fail, out) => {
    request(store.get(id), (current) => {
      out.value = current;
      if (!current || current.locked || current.status !== "pending") return;
      const reopened = {
        ...current, status: "draft", reopened: { content: contentOf(current) },
        rev: (current.rev ?? 0) + 1, updated_at: new Date().toISOString(),
      };
      store.put(reopened);
      out.value = reopened;
    }, fail);
  });
  notifyOtherTabs();
  return survey;
}

/** True for a waiting survey reopened and not finished again (a draft until it is). */
export function reopenedDraft(survey) {
  return survey?.status === "draft" && Boolean(survey.reopened) && Boolean(survey.body);
}

/**
 * A survey reopened from the outbox and left without a change waits again, with the content
 * it was finished with (its `body`, never restamped). Resolves with true when it does, false
 * when it changed (it stays a draft, to be finished again) or is not such a survey.
 */
export async function restoreWaiting(id) {
  const restored = await transact("surveys", "readwrite", (store, fail, out) => {
    out.value = false;
    request(store.get(id), (current) => {
      if (!reopenedDraft(current) || current.locked || contentOf(current) !== current.reopened.content) return;
      const { reopened: _reopened, ...kept } = current;
      store.put({ ...kept, status: "pending", rev: (current.rev ?? 0) + 1, updated_at: new Date().toISOString() });
      out.value = true;
    }, fail);
  });
  if (restored) notifyOtherTabs();
  return restored;
}

/**
 * The outbox takes the waiting surveys among `ids` for sending: each is marked `locked`
 * (the server may have it from now on, so it is not edited again) before it is posted.
 * `bodyOf` makes the content of a survey finished by an older app version, which kept none.
 * Resolves with the surveys taken, as stored.
 */
export function claimForSending(ids, now, bodyOf) {
  return transact("surveys", "readwrite", (store, fail, out) => {
    out.value = [];
    for (const id of ids) {
      request(store.get(id), (current) => {
        if (!current || current.status !== "pending") return;
        let body = current.body;
        try {
          body = body ?? bodyOf(current);
        } catch (error) {
          // One survey the phone cannot put into words never holds up the others: it fails
          // on its own, with the reason, and stays editable.
          const errors = [{ field: "", code: "phone_error", message: String(error?.message ?? error) }];
          store.put({ ...current, status: "failed", errors, locked: false });
          return;
        }
        const claimed = { ...current, body, locked: true, attempted_at: now };
        store.put(claimed);
        out.value.push(claimed);
      }, fail);
    }
  });
}

/**
 * Record the server's answers: `outcomes` are {id, rev, status, errors, locked}. A survey
 * is changed only if it still waits with the revision that was sent. Resolves with the
 * ids changed (so that a tab counts only what it changed itself).
 */
export async function settle(outcomes, now) {
  const changed = await transact("surveys", "readwrite", (store, fail, out) => {
    out.value = [];
    for (const outcome of outcomes) {
      request(store.get(outcome.id), (current) => {
        if (!current || current.status !== "pending" || (current.rev ?? 0) !== (outcome.rev ?? 0)) return;
        const next = { ...current, status: outcome.status, errors: outcome.errors ?? [], locked: outcome.locked };
        if (outcome.status === "sent") next.confirmed_at = now;
        if (outcome.review) next.review = { ...current.review, ...outcome.review };
        if (outcome.corrected) {
          next.correction = false; // sent: locked again until the reviewer sends it back
          next.corrected_at = now;
        }
        store.put(next);
        out.value.push(outcome.id);
      }, fail);
    }
  });
  if (changed.length) notifyOtherTabs();
  return changed;
}

/**
 * A photo (recording, document) of a sent survey was answered by the server. Accepted: it is
 * noted as uploaded and leaves the phone. Refused by the server with its reason (`refusal`,
 * {code, message}), or missing on the phone: it is NOT uploaded; it stays on the phone (the
 * survey with it: see fullySent), not sent again, its reason on the survey's card.
 */
export function photoDone(surveyId, filename, accepted, refusal) {
  return transact(["surveys", "photos"], "readwrite", ([surveys, photos], fail) => {
    request(surveys.get(surveyId), (current) => {
      if (!current) return;
      const refused = { ...(current.photo_refused ?? {}) };
      const next = { ...current };
      if (accepted) {
        next.uploaded = [...new Set([...(current.uploaded ?? []), filename])];
        delete refused[filename];
      } else {
        refused[filename] = refusal ?? { code: "", message: "" };
      }
      next.photo_refused = refused;
      surveys.put(next);
      if (accepted) photos.delete(`${surveyId}/${filename}`);
    }, fail);
  });
}

/** A file the server refused, tried again at the volunteer's asking (the server's limits may
 * have changed): its refusal is forgotten, so the next sending takes it. */
export function retryRefused(surveyId, filename) {
  return changeRefused(surveyId, filename, (next) => next);
}

/**
 * A file the server refused that the volunteer gives up: it leaves the phone (noted in
 * `photos_removed`; the server never had it), and the survey then follows the clean-up of
 * sent surveys. Until then a refused file kept the survey, its answers and photos, on the
 * phone for ever.
 */
export function removeRefused(surveyId, filename) {
  return changeRefused(surveyId, filename, (next) => ({
    ...next,
    photos: (next.photos ?? []).filter((name) => name !== filename),
    photos_removed: [...new Set([...(next.photos_removed ?? []), filename])],
  }));
}

function changeRefused(surveyId, filename, change) {
  return transact(["surveys", "photos"], "readwrite", ([surveys, photos], fail) => {
    request(surveys.get(surveyId), (current) => {
      if (!current?.photo_refused || !(filename in current.photo_refused)) return;
      const { [filename]: _, ...refused } = current.photo_refused;
      const next = change({ ...current, photo_refused: refused });
      surveys.put(next);
      if (!(next.photos ?? []).includes(filename)) photos.delete(`${surveyId}/${filename}`);
    }, fail);
  }).then(notifyOtherTabs);
}

/**
 * Repair a survey noted by an older app version, which counted a refused file as uploaded
 * (`photo_errors`): a file the server accepted left the phone at once, so a file still on the
 * phone was not accepted. It waits again to be sent.
 */
export function unmarkRefusedUploads(surveyId) {
  return transact(["surveys", "photos"], "readwrite", ([surveys, photos], fail) => {
    request(surveys.get(surveyId), (current) => {
      if (!current?.photo_errors) return;
      const uploaded = current.uploaded ?? [];
      const kept = new Set();
      let pending = uploaded.length;
      const done = () => {
        if (pending > 0) return;
        const { photo_errors: _, ...next } = current;
        surveys.put({ ...next, uploaded: uploaded.filter((name) => !kept.has(name)) });
      };
      if (!pending) done();
      for (const name of uploaded) {
        request(photos.getKey(`${surveyId}/${name}`), (key) => {
          if (key !== undefined) kept.add(name);
          pending -= 1;
          done();
        }, fail);
      }
    }, fail);
  });
}

/** The files of a sent survey still to upload: neither accepted nor refused by the server. */
export function photosToSend(survey) {
  const refused = survey.photo_refused ?? {};
  return (survey.photos ?? []).filter((name) => !(survey.uploaded ?? []).includes(name) && !(name in refused));
}

/** The files of a survey the server refused, as [filename, {code, message}]. */
export function photosRefused(survey) {
  return Object.entries(survey.photo_refused ?? {}).filter(([name]) => (survey.photos ?? []).includes(name)
    && !(survey.uploaded ?? []).includes(name));
}

// A survey leaves the phone only when every file of it was accepted: one refused or not yet
// sent keeps it (and its files) on the phone.
function photosWaiting(survey) {
  return (survey.photos ?? []).some((name) => !(survey.uploaded ?? []).includes(name));
}

/** True when a survey may leave the phone: the server has it and all its photos, and no
 * correction is asked for. */
export function fullySent(survey) {
  return survey.status === "sent" && !photosWaiting(survey) && !needsCorrection(survey);
}

const DECIDED = new Set(["approved", "rejected"]);

/**
 * True for a survey the server settled before it could take the phone's copy: refused for
 * good (failed and locked, see sync.js): a correction (the reviewer decided meanwhile, the
 * survey changed elsewhere, or it is someone else's), or a survey the server holds another
 * content of under the same id (a conflict); or a correction left as a draft on a survey the
 * reviewer has since approved or rejected (no finish can send it). The server's copy is the
 * one kept; the phone's, with the household's personal answers, leaves as sent surveys do
 * (purgeSent), or at once by hand. It stayed on the phone for ever (a conflict too).
 */
export function settledByServer(survey) {
  if (!survey) return false;
  if (survey.status === "failed") return Boolean(survey.locked);
  if (!survey.correction) return false;
  // Once its answers left (purgeSent), it stays settled whatever the review says next: the
  // server's copy is what a later correction starts from (applyReview, restoreFromServer).
  return survey.status === "draft" && (DECIDED.has(survey.review?.status) || Boolean(survey.purged_at));
}

/** True for a survey the volunteer may remove from the phone at once (clearSent). */
export function clearable(survey) {
  return fullySent(survey) || settledByServer(survey);
}

/** Since when a survey may leave the phone (ms), NaN for one that may not (yet). */
function leavingSince(survey) {
  if (fullySent(survey)) return Date.parse(survey.confirmed_at ?? survey.sent_at ?? "");
  if (!settledByServer(survey)) return Number.NaN;
  // Refused for good (a correction, a conflict): the sending the server refused. A draft:
  // the reviewer's decision (the draft's own attempted_at is its first sending, long before).
  const when = survey.status === "failed" ? survey.attempted_at : survey.review?.reviewed_at;
  return Date.parse(when ?? survey.updated_at ?? "");
}

/** True when the reviewer sent a sent survey back for correction (and it is not reopened yet). */
export function needsCorrection(survey) {
  return survey.status === "sent" && survey.review?.status === "needs_correction";
}

// The photos of a survey are stored under "<survey id>/<filename>" from the moment they are
// taken, long before the survey lists them (at Finish): they are found by that prefix.
function photosOf(surveyId) {
  return IDBKeyRange.bound(`${surveyId}/`, `${surveyId}/\uffff`);
}

function dropSurvey(surveys, photos, survey) {
  surveys.delete(survey.id);
  photos.delete(photosOf(survey.id));
}

// What a survey holds of the household (answers, the point, the copy of what it said when it
// was reopened from the outbox): the clean-up takes it all.
const PERSONAL_KEYS = ["answers", "payload", "body", "location", "reopened"];

/**
 * Sent surveys (and corrections and conflicts the server settled: settledByServer) leave the
 * phone by age: after `answersDays` their answers (the personal ones among them) and photos
 * are deleted, after `recordDays` the record too. Never an unsent one. Photos of no survey on the phone (a
 * draft deleted by an older version, which left its photos) are deleted too.
 */
export async function purgeSent(now, answersDays, recordDays) {
  const count = await transact(["surveys", "photos"], "readwrite", ([surveys, photos], fail, out) => {
    out.value = 0;
    request(surveys.getAll(), (all) => {
      for (const survey of all) {
        const since = leavingSince(survey);
        if (Number.isNaN(since)) continue;
        const age = now.getTime() - since;
        if (age > recordDays * DAY_MS) {
          dropSurvey(surveys, photos, survey);
          out.value += 1;
        } else if (age > answersDays * DAY_MS && PERSONAL_KEYS.some((key) => key in survey)) {
          // Also a survey cleaned by an older version, which kept `reopened`.
          const kept = { ...survey, purged_at: survey.purged_at ?? now.toISOString() };
          for (const key of PERSONAL_KEYS) delete kept[key];
          surveys.put(kept);
          photos.delete(photosOf(survey.id));
          out.value += 1;
        }
      }
      const ids = new Set(all.map((survey) => survey.id));
      request(photos.getAllKeys(), (keys) => {
        for (const key of keys) {
          if (!ids.has(String(key).split("/")[0])) photos.delete(key);
        }
      }, fail);
    }, fail);
  });
  if (count) notifyOtherTabs();
  return count;
}

/** Delete every sent survey of `user` (whose photos are sent too), and every correction or
 * conflict of theirs the server settled, from the phone; resolves with the count. */
export async function clearSent(user) {
  const count = await transact(["surveys", "photos"], "readwrite", ([surveys, photos], fail, out) => {
    out.value = 0;
    request(surveys.getAll(), (all) => {
      for (const survey of all.filter((s) => clearable(s) && madeBy(s, user))) {
        dropSurvey(surveys, photos, survey);
        out.value += 1;
      }
    }, fail);
  });
  if (count) notifyOtherTabs();
  return count;
}

/** Delete a draft of `user` and its photos (never a survey that waits or was sent, nor
 * someone else's). */
export async function deleteDraft(id, user) {
  await transact(["surveys", "photos"], "readwrite", ([surveys, photos], fail) => {
    request(surveys.get(id), (current) => {
      // A correction is of a survey the server has: it is never deleted as a draft, unless
      // the server settled the survey meanwhile (its copy is the one kept).
      const deletable = !current?.correction || settledByServer(current);
      if (current?.status === "draft" && !current.locked && deletable && madeBy(current, user)) {
        dropSurvey(surveys, photos, current);
      }
    }, fail);
  });
  notifyOtherTabs();
}

/** Store a photo (a Blob) of a survey under its filename. */
export function putPhoto(surveyId, filename, blob) {
  return transact("photos", "readwrite", (store) => {
    store.put(blob, `${surveyId}/${filename}`);
  });
}

/** A photo Blob, or undefined. */
export function getPhoto(surveyId, filename) {
  return transact("photos", "readonly", (store, fail, out) => {
    request(store.get(`${surveyId}/${filename}`), (blob) => (out.value = blob), fail);
  });
}

/** Delete a photo. */
export function deletePhoto(surveyId, filename) {
  return transact("photos", "readwrite", (store) => {
    store.delete(`${surveyId}/${filename}`);
  });
}

/** A value of the key-value store. */
export function getValue(key) {
  return transact("kv", "readonly", (store, fail, out) => {
    request(store.get(key), (value) => (out.value = value), fail);
  });
}

/** Set a value of the key-value store. */
export function setValue(key, value) {
  return transact("kv", "readwrite", (store) => {
    store.put(value, key);
  });
}

/**
 * Change a value of the key-value store in one transaction (read, then written over what was
 * read, nothing in between): `change(current)` returns {value, result}; `value` is written
 * (undefined: nothing is), and the promise resolves with `result` once committed. A throw of
 * `change` or a write refused (a full disk) aborts it: nothing of it is kept.
 */
export function updateValue(key, change) {
  return transact("kv", "readwrite", (store, fail, out) => {
    request(store.get(key), (current) => {
      const { value, result } = change(current);
      if (value !== undefined) store.put(value, key);
      out.value = result;
    }, fail);
  });
}

/** The values of the key-value store whose keys start with `prefix`. */
export function valuesWithPrefix(prefix) {
  return transact("kv", "readonly", (store, fail, out) => {
    request(store.getAll(IDBKeyRange.bound(prefix, `${prefix}\uffff`)), (values) => (out.value = values), fail);
  });
}

/** Delete a value of the key-value store. */
export function deleteValue(key) {
  return transact("kv", "readwrite", (store) => {
    store.delete(key);
  });
}

// ---------------------------------------------------------------- review and corrections

const REVIEW_STATUSES = ["received", "approved", "needs_correction", "rejected"];

function sameReview(a, b) {
  return Boolean(a) && a.status === b.status && a.comment === b.comment
    && a.reviewed_at === b.reviewed_at && a.version === b.version;
}

/**
 * Note the server's review of the volunteer's own surveys (items of GET /api/v1/me/surveys).
 * A survey sent back for correction that the phone no longer has (cleared, or cleaned up)
 * comes back as a record without answers, fetched from the server when it is opened.
 * Resolves with the number of surveys changed.
 */
export async function applyReview(items, userId, now) {
  const count = await transact("surveys", "readwrite", (store, fail, out) => {
    out.value = 0;
    for (const item of items) {
      if (typeof item?.id !== "string" || !REVIEW_STATUSES.includes(item.status)) continue;
      const review = {
        status: item.status, comment: item.review_comment ?? null,
        reviewed_at: item.reviewed_at ?? null, version: item.version ?? null,
      };
      request(store.get(item.id), (current) => {
        if (!current) {
          if (item.status !== "needs_correction") return;
          store.put({
            id: item.id, status: "sent", locked: true, remote: true, user_id: userId, review,
            photos: [], uploaded: [], errors: [], rev: 1, confirmed_at: now, updated_at: now,
          });
          out.value += 1;
          return;
        }
        if (sameReview(current.review, review)) return;
        store.put({ ...current, review }); // not content: the revision stays
        out.value += 1;
      }, fail);
    }
  });
  if (count) notifyOtherTabs();
  return count;
}

/**
 * Fill a survey sent back for correction whose answers are no longer on the phone with the
 * server's copy (`record`, GET /api/v1/submissions/{id}); `photoNames` are its photo answers.
 */
export async function restoreFromServer(record, photoNames) {
  const survey = await transact("surveys", "readwrite", (store, fail, out) => {
    request(store.get(record.id), (current) => {
      out.value = current;
      if (!needsCorrection(current ?? {}) || current.answers) return;
      const { purged_at: _purged, remote: _remote, ...kept } = current;
      const restored = {
        ...kept,
        form_id: record.form_id,
        form_version: record.form_version,
        collected_at: record.collected_at,
        started_at: kept.started_at ?? record.collected_at,
        collector: record.collector ?? kept.collector,
        location: record.location,
        answers: { ...record.answers },
        // The points placed by hand stay so (widgets.js keeps the mark by widget id).
        manual_points: Object.fromEntries((record.manual_points ?? []).map((key) => [`q-${key}`, true])),
        photos: photoNames,
        uploaded: photoNames, // the server has them
        rev: (current.rev ?? 0) + 1,
        updated_at: new Date().toISOString(),
      };
      store.put(restored);
      out.value = restored;
    }, fail);
  });
  notifyOtherTabs();
  return survey;
}

/**
 * Reopen a survey the reviewer sent back: it becomes a draft again, marked `correction`,
 * from the first screen. Resolves with the stored survey after the change (unchanged when
 * it cannot be corrected, or its answers are not on the phone).
 */
export async function reopenForCorrection(id) {
  const survey = await transact("surveys", "readwrite", (store, fail, out) => {
    request(store.get(id), (current) => {
      out.value = current;
      if (!current || !needsCorrection(current) || !current.answers) return;
      const reopened = {
        ...current, status: "draft", locked: false, correction: true, errors: [], screen: 0,
        rev: (current.rev ?? 0) + 1, updated_at: new Date().toISOString(),
      };
      store.put(reopened);
      out.value = reopened;
    }, fail);
  });
  notifyOtherTabs();
  return survey;
}
