// Who the phone is signed in as: its token, kept in IndexedDB (kv "session") so that the app
// works offline with it; every API call carries it. The token comes from an admin's QR code
// (an enrolment link /collect/#enrol=<code>, exchanged once for the phone's own token) or
// from a username and password. A 401 never touches the outbox: our server's (its JSON
// error; a captive portal's page is no sign of the token) marks the session expired, and sending resumes once the volunteer signs in again.

import * as db from "./db.js";
import { language } from "./i18n.js";

const SESSION_KEY = "session";
const SIGN_OUT_TIMEOUT_MS = 8000;
const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("cdfmap-session") : null;
const listeners = new Set();
let current = null; // {token, user: {id, username, display_name, roles}, expired, signed_in_at}

/** Thrown by api() when the server wants a sign-in (no token, or it expired or was revoked). */
export class SignInRequired extends Error {
  constructor() {
    super("sign-in required");
    this.name = "SignInRequired";
  }
}

/** Thrown by api() on a 403: the signed-in account may not do this (e.g. a role that never
 * sends). `code` is the server's (not_allowed...): a caller may know one that names a single
 * thing rather than the account (sync.js). */
export class NotAllowed extends Error {
  constructor(detail, code = "") {
    super(detail || "not allowed");
    this.name = "NotAllowed";
    this.code = code;
  }
}

/** Thrown by apiAs() when the phone's session is no longer the one a task started with
 * (its person signed out, or another signed in): nothing was sent. */
export class SessionChanged extends Error {
  constructor() {
    super("the account changed");
    this.name = "SessionChanged";
  }
}

/** Thrown by api() for an answer that is not our server's (a captive portal's 401 or 403
 * page, a proxy's, a redirect to a Wi-Fi login): nothing is known of the request, and
 * nothing of the session or the outbox changes; the caller tries again later. */
export class NotTheServer extends Error {
  constructor(status) {
    super(`not the server's answer (${status})`);
    this.name = "NotTheServer";
    this.status = status;
  }
}

/** A sign-in that did not work: `code` is the server's (bad_enrolment...) or "network". */
export class SignInFailed extends Error {
  constructor(code, detail) {
    super(detail || code);
    this.name = "SignInFailed";
    this.code = code;
    this.detail = detail || "";
  }
}

function publish(fromOtherTab = false) {
  for (const listener of listeners) listener(current, fromOtherTab);
}

// Another tab signed in, out, or found the session expired: this one follows.
if (channel) channel.onmessage = () => loadSession().then(() => publish(true));

/** Read the session from the phone (the truth across tabs); resolves with it or null. */
export async function loadSession() {
  try {
    current = (await db.getValue(SESSION_KEY)) ?? null;
  } catch (error) {
    console.warn("session not read", error); // keep the one in memory
  }
  return current;
}

/** The session in memory (null when nobody signed in on this phone). */
export function session() {
  return current;
}

/** The signed-in person, or null. */
export function user() {
  return current?.user ?? null;
}

/** True when the phone has a token (live or expired). */
export function hasToken() {
  return Boolean(current?.token);
}

/** True when the server refused the token: the volunteer must sign in again to send. */
export function isExpired() {
  return Boolean(current?.token && current.expired);
}

/** Call `listener(session, fromOtherTab)` whenever this or another tab signs in or out. */
export function onSessionChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

async function keep(next) {
  current = next;
  try {
    if (next) await db.setValue(SESSION_KEY, next);
    else await db.deleteValue(SESSION_KEY);
  } catch (error) {
    // A full phone: the session lasts while the app stays open.
    console.warn("session not stored", error);
  }
  channel?.postMessage("session");
  publish();
}

async function markExpired(token) {
  const stored = await loadSession();
  // A request made with an older token (another tab signed in meanwhile) says nothing of this one.
  if (!stored?.token || stored.token !== token || stored.expired) {
    publish();
    return;
  }
  await keep({ ...stored, expired: true, expired_at: new Date().toISOString() });
}

/** The JSON error body of our server (app/api/errors.py: a `code`, a `detail`), or null for
 * anything else (a captive portal's or a proxy's page, an empty body). */
async function serverError(response) {
  const body = await response.json().catch(() => null);
  return body && typeof body.code === "string" && body.code !== "" ? body : null;
}

/**
 * fetch() with the phone's token and language. Our server's 401 (its JSON error) marks the
 * session expired and throws SignInRequired, its 403 throws NotAllowed; a redirect, or a 401
 * or 403 that is not our server's (a captive portal, a proxy) throws NotTheServer: tried
 * again later, the session as it was. Every other answer is returned as it is.
 */
export function api(url, options = {}) {
  return call(current?.token, url, options, false);
}

/**
 * api() on behalf of the person of `token` alone (a sync carries one person's surveys): the
 * request goes, with that token, only while it is still the phone's session; once that
 * person signed out or another signed in, SessionChanged is thrown and nothing is sent.
 */
export function apiAs(token, url, options = {}) {
  return call(token, url, options, true);
}

async function call(token, url, options, bound) {
  // Checked right before the request, against the token it carries (nothing awaited between).
  if (bound && (!token || current?.token !== token)) throw new SessionChanged();
  if (!token || current.expired) throw new SignInRequired();
  const headers = { "accept-language": language(), ...options.headers, authorization: `Bearer ${token}` };
  // A redirect is never our API's answer: a Wi-Fi login or a proxy. Not followed (a POST
  // followed as a GET would be answered for another request).
  const response = await fetch(url, { cache: "no-store", redirect: "manual", ...options, headers });
  if (response.type === "opaqueredirect" || response.redirected) throw new NotTheServer(response.status || 302);
  if (response.status === 401) {
    if (!(await serverError(response))) throw new NotTheServer(401);
    await markExpired(token);
    // A token refused after its person signed out (or another signed in) says nothing of the next.
    throw bound && current?.token !== token ? new SessionChanged() : new SignInRequired();
  }
  if (response.status === 403) {
    const body = await serverError(response);
    if (!body) throw new NotTheServer(403);
    throw new NotAllowed(body.detail, body.code);
  }
  return response;
}

async function failure(response) {
  const body = await response.json().catch(() => ({}));
  return new SignInFailed(body.code || String(response.status), body.detail);
}

async function post(url, init) {
  try {
    return await fetch(url, { method: "POST", cache: "no-store", ...init });
  } catch {
    throw new SignInFailed("network");
  }
}

// GET /api/v1/me right after a sign-in, on a flaky connection: tried again after 1 s and 2 s.
const WHO_IS_RETRIES_MS = [1000, 2000];

async function whoIsOnce(token) {
  try {
    const response = await fetch("/api/v1/me", {
      headers: { authorization: `Bearer ${token}`, "accept-language": language() }, cache: "no-store",
    });
    if (response.ok) {
      const me = await response.json();
      if (hasId(me)) return me;
    }
  } catch {
    // no answer: tried again
  }
  return null;
}

async function whoIs(token) {
  let me = await whoIsOnce(token);
  for (const wait of WHO_IS_RETRIES_MS) {
    if (me) break;
    await new Promise((resolve) => setTimeout(resolve, wait));
    me = await whoIsOnce(token);
  }
  return me;
}

function hasId(user) {
  return user?.id !== null && user?.id !== undefined;
}

/** True when the session knows who is signed in (the person's id): surveys are made and sent
 * only then, each with its maker's id. */
export function userKnown() {
  return Boolean(current?.token) && hasId(current.user);
}

/**
 * Learn the signed-in person (GET /api/v1/me) when the sign-in could not (its /me got no
 * answer): the sync and the app's start call it while the id is missing. Once known, the
 * session keeps it, and the surveys this session made meanwhile (none since this version;
 * older ones made them with no maker) become that person's. Resolves with userKnown();
 * throws SignInRequired on a 401.
 */
export async function ensureUser() {
  if (!current?.token || current.expired || userKnown()) return userKnown();
  const token = current.token;
  let me = null;
  try {
    const response = await api("/api/v1/me");
    if (response.ok) me = await response.json();
  } catch (error) {
    if (error instanceof SignInRequired || error instanceof NotAllowed) throw error;
    return false; // no answer: tried again by the next sync
  }
  if (!hasId(me)) return false;
  const stored = await loadSession();
  if (stored?.token !== token) return userKnown(); // another tab signed in meanwhile
  await db.adoptUnknownMaker(me, stored.signed_in_at);
  await keep({ ...stored, user: me });
  return true;
}

async function revoke(token) {
  const signal = typeof AbortSignal.timeout === "function" ? AbortSignal.timeout(SIGN_OUT_TIMEOUT_MS) : undefined;
  try {
    await fetch("/api/v1/auth/logout", { method: "POST", headers: { authorization: `Bearer ${token}` }, cache: "no-store", signal });
  } catch {
    // offline: the token stays valid on the server until it expires or an admin revokes it
  }
}

async function begin(token, user) {
  const previous = await loadSession();
  await keep({ token, user, expired: false, signed_in_at: new Date().toISOString() });
  // The phone holds one token: a replaced one that still works is revoked.
  if (previous?.token && previous.token !== token && !previous.expired) revoke(previous.token);
  return user;
}

/** Exchange a one-time enrolment code (from the admin's QR code) for this phone's token. */
export async function enrol(code) {
  const response = await post("/api/v1/auth/enrol", {
    headers: { "content-type": "application/json", "accept-language": language() },
    body: JSON.stringify({ code }),
  });
  if (!response.ok) throw await failure(response);
  const body = await response.json();
  const me = hasId(body.user) ? body.user : await whoIs(body.access_token);
  return begin(body.access_token, me ?? { id: null, username: "", display_name: "" });
}

/** Sign in with a username and password (people an admin gave one). */
export async function signInWithPassword(username, password) {
  const response = await post("/api/v1/auth/token", {
    headers: { "accept-language": language() },
    // A phone's token (it lasts like an enrolled phone's; admins see and can revoke it).
    body: new URLSearchParams({ username, password, device_name: "phone (password)" }),
  });
  if (!response.ok) throw await failure(response);
  const body = await response.json();
  // Without an answer from /me the person is not known yet: the app makes and sends no
  // survey until it is (ensureUser, at each sync and start).
  const me = await whoIs(body.access_token);
  return begin(body.access_token, me ?? { id: null, username: username.trim().toLowerCase(), display_name: username });
}

/** Sign out: the token is revoked on the server when online, and forgotten on the phone. */
export async function signOut() {
  const previous = await loadSession();
  if (previous?.token && !previous.expired && navigator.onLine) await revoke(previous.token);
  await keep(null);
}

/** The enrolment code of a location hash such as "#enrol=abc", or null. */
export function enrolmentCode(hash) {
  const match = /(?:^#|&)enrol=([^&]*)/.exec(hash || "");
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]) || null;
  } catch {
    return null;
  }
}
