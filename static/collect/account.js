// The screens of signing in: the sign-in screen (QR code explained, password form), the
// banner of an expired sign-in, the question asked before the account changes, and the app's
// own confirmation dialog.

import * as auth from "./auth.js";
import * as db from "./db.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";
import { unsentRecords } from "./treasurer_sheet.js";

/** The number of finished surveys waiting to be sent on this phone: `user`'s, or (nobody
 * signed in) every account's. */
export async function waitingCount(user = auth.user()) {
  try {
    return (await db.allSurveys()).filter((s) => s.status === "pending" && (!user || db.madeBy(s, user))).length;
  } catch {
    return 0;
  }
}

/** The surveys of `user` (every account's when null) the server does not have yet, by what
 * they need: `waiting` (finished, or reopened from the outbox: sent by themselves once their
 * maker is signed in) and `toFix` (refused by the server, or a correction the reviewer asked
 * for being made: their maker corrects and sends them). */
export async function unsentCounts(user = auth.user()) {
  const counts = { waiting: 0, toFix: 0 };
  let surveys = [];
  try {
    surveys = await db.allSurveys();
  } catch (error) {
    console.warn("surveys not counted", error);
  }
  for (const survey of surveys) {
    if (user && !db.madeBy(survey, user)) continue;
    if (db.settledByServer(survey)) continue; // the server keeps its copy: nothing to send or fix
    if (survey.status === "pending" || db.reopenedDraft(survey)) counts.waiting += 1;
    else if (survey.status === "failed" || (survey.status === "draft" && survey.correction)) counts.toFix += 1;
  }
  return counts;
}

/** The cash book's records of `user` (everyone's when null) the server has not posted:
 * their treasurer sends them once signed in again (treasurer_sheet.js). */
export async function cashBookCount(user = auth.user()) {
  if (user && (user.id === null || user.id === undefined)) return 0; // made none: not known yet
  try {
    return await unsentRecords(user ? user.id : null);
  } catch (error) {
    console.warn("cash book not counted", error);
    return 0;
  }
}

/**
 * Ask before the phone leaves the account signed in, by signing out (`reason` "sign_out")
 * or with a QR code ("enrol": maybe another person's; an expired sign-in is not asked, its
 * banner asked for the code), while that person has surveys the server does not have, or
 * cash book records it has not posted: nothing is deleted, they stay on the phone for their
 * maker. Resolves with true to go on (at once when there are none).
 */
export async function confirmLeaving(reason) {
  const who = auth.user();
  if (!auth.hasToken()) return true;
  const { waiting, toFix } = await unsentCounts(who);
  const n = waiting + toFix;
  const records = await cashBookCount(who);
  if (!n && !records) return true;
  if (reason === "enrol") {
    // An expired sign-in asked for a new QR code itself, saying what is kept (its banner).
    if (auth.isExpired()) return true;
    const name = who?.display_name || who?.username || "?";
    const surveys = n ? t("confirm_enrol_switch", { name, n }) : "";
    const question = !n ? t("confirm_enrol_switch_cash_book", { name, n: records })
      : records ? `${t("cash_book_kept_of", { name, n: records })} ${surveys}` : surveys;
    return confirmDialog(question, t("sign_in"));
  }
  const surveys = !n ? "" : toFix ? t("confirm_sign_out_unsent", { n, m: toFix }) : t("confirm_sign_out", { n });
  const question = !n ? t("confirm_sign_out_cash_book", { n: records })
    : records ? `${t("cash_book_kept", { n: records })} ${surveys}` : surveys;
  return confirmDialog(question, t("sign_out"));
}

// The app's own words for the failures a volunteer can act on (they follow the language
// switch); any other failure is told with the server's message.
const FAILURES = {
  network: "signin_network", bad_enrolment: "enrol_refused", bad_credentials: "bad_credentials",
  missing: "signin_missing",
};

/** What to tell the volunteer about a sign-in that did not work. */
export function failureText(failure) {
  if (!failure) return "";
  const key = FAILURES[failure.code];
  return key ? t(key) : failure.detail || t("signin_failed");
}

/** Take the enrolment code out of the address (#enrol=...), so that it is not kept in the
 * history or bookmarked; the code, or null. */
export function takeEnrolmentCode() {
  if (!/(?:^#|&)enrol=/.test(location.hash)) return null;
  const code = auth.enrolmentCode(location.hash);
  history.replaceState(history.state, "", location.pathname + location.search);
  return code;
}

/**
 * The sign-in screen. `ui`: {state (signinFailure, enrolling, retryCode, signinUsername),
 * header(title), networkLine(), signedIn(user), retryEnrolment(code)}.
 */
export function renderSignIn(ui) {
  const state = ui.state;
  const error = h("p", { class: "error", id: "signin-error", role: "alert" });
  const showError = (failure) => {
    state.signinFailure = failure;
    error.textContent = failureText(failure);
    error.hidden = !failure;
  };
  showError(state.signinFailure);
  const username = h("input", {
    id: "username", name: "username", type: "text", autocomplete: "username", autocapitalize: "none",
    spellcheck: "false", maxlength: 64, value: state.signinUsername ?? "",
    oninput: (event) => (state.signinUsername = event.target.value),
  });
  const password = h("input", {
    id: "password", name: "password", type: "password", autocomplete: "current-password", maxlength: 200,
  });
  const submit = h("button", { class: "primary big", id: "sign-in", type: "submit" }, t("sign_in"));
  const form = h("form", {
    class: "signin-form", id: "password-form", novalidate: true,
    onsubmit: async (event) => {
      event.preventDefault();
      if (!username.value.trim() || !password.value) {
        showError(new auth.SignInFailed("missing"));
        return;
      }
      submit.disabled = true;
      submit.textContent = t("signing_in");
      showError(null);
      try {
        const user = await auth.signInWithPassword(username.value.trim(), password.value);
        state.signinUsername = "";
        await ui.signedIn(user);
      } catch (failure) {
        password.value = "";
        showError(failure);
        submit.disabled = false;
        submit.textContent = t("sign_in");
      }
    },
  },
  h("label", { for: "username", class: "question-label" }, t("username")), username,
  h("label", { for: "password", class: "question-label" }, t("password")), password,
  submit);
  const kept = h("p", { class: "notice", id: "kept-note", hidden: true });
  Promise.all([unsentCounts(), cashBookCount()]).then(([{ waiting, toFix }, records]) => {
    const lines = [
      auth.isExpired() ? t("session_expired", { n: waiting }) : waiting ? t("kept_waiting", { n: waiting }) : "",
      toFix ? t("kept_to_fix", { n: toFix }) : "",
      records ? t("kept_cash_book", { n: records }) : "",
    ];
    kept.textContent = lines.filter(Boolean).join(" ");
    kept.classList.toggle("error", auth.isExpired());
    kept.hidden = !kept.textContent;
  });
  return [
    ui.header(t("sign_in_title")),
    h("main", { class: "content signin" },
      ui.networkLine(),
      state.enrolling ? h("p", { class: "notice", id: "enrol-status", role: "status" }, t("signing_in")) : null,
      error,
      state.retryCode ? h("button", {
        class: "secondary big", id: "enrol-retry", type: "button", onclick: () => ui.retryEnrolment(state.retryCode),
      }, t("try_again")) : null,
      kept,
      h("section", { class: "qr-help", id: "qr-help" },
        h("h2", {}, t("signin_qr_title")),
        h("p", {}, t("signin_qr_text"))),
      h("h2", {}, t("signin_password_title")),
      form),
  ];
}

/** The banner of an expired (or revoked) sign-in, on every screen but the sign-in one. */
export function sessionBanner(ui) {
  const hidden = !auth.isExpired() || ui.state.view === "signin";
  const text = h("p", { id: "session-expired-text" }, t("session_expired", { n: "…" }));
  const banner = h("div", { class: "notice error session", id: "session-expired", role: "alert", hidden },
    text,
    h("button", { class: "primary", id: "sign-in-again", type: "button", onclick: () => ui.show("signin") }, t("sign_in_again")));
  if (!hidden) waitingCount().then((n) => (text.textContent = t("session_expired", { n })));
  return banner;
}

/** Ask a yes/no question in the app's own dialog; resolves with true for `confirmLabel`. */
export function confirmDialog(message, confirmLabel) {
  return new Promise((resolve) => {
    let dialog = null;
    const close = (answer) => {
      if (dialog.open && dialog.close) dialog.close();
      dialog.remove();
      resolve(answer);
    };
    dialog = h("dialog", { class: "confirm", id: "confirm-dialog", "aria-labelledby": "confirm-text" },
      h("p", { id: "confirm-text" }, message),
      h("div", { class: "row" },
        h("button", { class: "secondary", id: "confirm-cancel", type: "button", onclick: () => close(false) }, t("cancel")),
        h("button", { class: "primary danger-fill", id: "confirm-ok", type: "button", onclick: () => close(true) }, confirmLabel)));
    dialog.addEventListener("cancel", (event) => { // the phone's back gesture, or Escape
      event.preventDefault();
      close(false);
    });
    document.body.append(dialog);
    if (typeof dialog.showModal === "function") dialog.showModal();
    else dialog.setAttribute("open", "");
  });
}
