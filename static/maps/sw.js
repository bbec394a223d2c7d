// Service worker of the map pages (scopes /maps/ and /progress/; app/api/offline.py serves it
// at /maps/sw.js and fills in KEPT): a map page opened once while signed in opens again with
// no network, with the data it showed last.
//
// - Pages and their data (KEPT: map pages, the progress dashboard, household points, context
//   layers, vector tiles): network first, always fresh online. A response is kept only when
//   the server marked it with X-Offline-Viewer (made for a web session), in the cache of that
//   session alone ("maps-user-<key>"; another session's cache is deleted first). A response
//   that shows nobody signed in (401, a redirect to sign in, an anonymous page) deletes every
//   user cache. Offline, the kept copy answers; a page gets <meta name="cdfmap-saved"> with
//   the time it was kept, and a page whose data came from here is told so by a message, so
//   that static/maps/offline.js shows "no network, data from <time>".
// - Scripts and styles of the pages: cache first for the vendored libraries (their folder
//   names their version: never changed under one URL), network first for the app's own.
// - Nothing else: no POST, print, export or admin page ever passes through this cache.

const KEPT = __KEPT_PATHS__.map((source) => new RegExp(source));
const STATIC = /^\/static\/(maps|pages|progress|vendor)\//;
const VERSIONED = /^\/static\/vendor\/[A-Za-z0-9_.-]+-\d+(\.\d+)+[A-Za-z0-9.-]*\//;
const CONTEXT = /^\/api\/v1\/context\//;
const STATIC_CACHE = "maps-static";
const USER_PREFIX = "maps-user-";
const VIEWER = "X-Offline-Viewer";
const SAVED = "X-Offline-Saved";
const VIEWER_KEY = /^[0-9a-f]{8,64}$/;
const TIME = /^[0-9T:.Z-]{10,30}$/;
const MAX_KEEP = 600; // URLs one page may ask to keep at once
// Copies one session keeps at most (tiles and street views add up as a planner browses):
// past it the oldest go, checked every TRIM_EVERY copies.
const MAX_KEPT = 4000;
const TRIM_EVERY = 200;
let keptSinceTrim = 0;

self.addEventListener("install", (event) => {
  event.waitUntil(self.skipWaiting());
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      // A page's request starts while the worker itself starts (not after it).
      if (self.registration.navigationPreload) await self.registration.navigationPreload.enable();
      await self.clients.claim();
    })(),
  );
});

function kept(pathname) {
  return KEPT.some((pattern) => pattern.test(pathname));
}

async function userCaches() {
  return (await caches.keys()).filter((name) => name.startsWith(USER_PREFIX));
}

/** Delete every user cache but `keep` (none: nobody's data stays). */
async function forgetUsers(keep) {
  for (const name of await userCaches()) {
    if (name !== keep) await caches.delete(name);
  }
}

/** A copy to keep: the same body and headers, with the time it was kept. */
async function stamped(response) {
  const headers = new Headers();
  for (const [name, value] of response.headers) {
    // The body is decoded already, and its length is the decoded one.
    if (name !== "content-length" && name !== "content-encoding") headers.append(name, value);
  }
  headers.set(SAVED, new Date().toISOString());
  const body = response.status === 204 ? null : await response.arrayBuffer();
  return new Response(body, { status: response.status, statusText: response.statusText, headers });
}

/** Keep a page's or data's response for its session, or forget everyone's if it has none. */
async function keep(url, response) {
  const viewer = response.headers.get(VIEWER) || "";
  if ((response.status === 200 || response.status === 204) && VIEWER_KEY.test(viewer)) {
    const name = USER_PREFIX + viewer;
    await forgetUsers(name);
    const cache = await caches.open(name);
    await cache.put(url, await stamped(response));
    keptSinceTrim += 1;
    if (keptSinceTrim >= TRIM_EVERY) {
      keptSinceTrim = 0;
      await trim(cache);
    }
  } else if (
    response.type === "opaqueredirect" ||
    response.redirected ||
    response.status === 401 ||
    (response.ok && !viewer)
  ) {
    await forgetUsers(null);
  }
}

/** Delete the oldest copies past MAX_KEPT (keys() lists them in the order they were put). */
async function trim(cache) {
  const requests = await cache.keys();
  for (const request of requests.slice(0, Math.max(0, requests.length - MAX_KEPT))) {
    await cache.delete(request);
  }
}

async function findKept(url) {
  for (const name of await userCaches()) {
    const cache = await caches.open(name);
    const found = await cache.match(url, { ignoreVary: true });
    if (found) return found;
    // Streets of another view of the same city are better than none.
    if (CONTEXT.test(new URL(url).pathname)) {
      const near = await cache.match(url, { ignoreVary: true, ignoreSearch: true });
      if (near) return near;
    }
  }
  return null;
}

/** A kept page, marked with the time it was kept (read by offline.js). */
async function markedPage(found) {
  const saved = found.headers.get(SAVED) || "";
  const text = await found.text();
  const meta = TIME.test(saved) ? `<meta name="cdfmap-saved" content="${saved}">` : "";
  return new Response(text.replace("<head>", `<head>\n${meta}`), {
    status: found.status,
    statusText: found.statusText,
    headers: found.headers,
  });
}

async function tell(clientId, saved) {
  const client = clientId ? await self.clients.get(clientId) : null;
  if (client) client.postMessage({ type: "cdfmap-offline", saved: saved });
}

async function networkFirst(event) {
  const request = event.request;
  let response;
  try {
    const preloaded = request.mode === "navigate" ? await event.preloadResponse : undefined;
    response = preloaded || (await fetch(request));
  } catch (error) {
    const found = await findKept(request.url);
    if (!found) throw error;
    if (request.mode === "navigate") return markedPage(found);
    event.waitUntil(tell(event.clientId, found.headers.get(SAVED) || ""));
    return found;
  }
  const copy = response.clone();
  event.waitUntil(keep(request.url, copy).catch(() => undefined));
  return response;
}

async function staticAsset(event) {
  const request = event.request;
  const cache = await caches.open(STATIC_CACHE);
  const versioned = VERSIONED.test(new URL(request.url).pathname);
  if (versioned) {
    const found = await cache.match(request.url, { ignoreVary: true });
    if (found) return found;
  }
  try {
    const response = await fetch(request);
    // Only our server's files (app/api/collect.py marks them): never a captive portal's page.
    if (response.status === 200 && response.headers.get("X-App-File") === "1") {
      const copy = response.clone();
      event.waitUntil(cache.put(request.url, copy).catch(() => undefined));
    }
    return response;
  } catch (error) {
    const found = await cache.match(request.url, { ignoreVary: true });
    if (found) return found;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return; // a background map's tiles: the browser's
  if (kept(url.pathname)) event.respondWith(networkFirst(event));
  else if (STATIC.test(url.pathname)) event.respondWith(staticAsset(event));
});

/** What a page loaded before this worker controlled it: fetched again and kept. */
async function keepLoaded(urls) {
  const staticCache = await caches.open(STATIC_CACHE);
  const jobs = urls.slice(0, MAX_KEEP).map(async (raw) => {
    let url;
    try {
      url = new URL(String(raw), self.location.origin);
    } catch (error) {
      return;
    }
    url.hash = "";
    if (url.origin !== self.location.origin) return;
    try {
      if (kept(url.pathname)) {
        await keep(url.href, await fetch(url.href, { credentials: "same-origin" }));
      } else if (STATIC.test(url.pathname) && !(await staticCache.match(url.href))) {
        const response = await fetch(url.href);
        if (response.status === 200) await staticCache.put(url.href, response);
      }
    } catch (error) {
      // Offline already: what was kept stays.
    }
  });
  await Promise.all(jobs);
}

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type !== "keep" || !Array.isArray(data.urls)) return;
  const port = event.ports && event.ports[0];
  event.waitUntil(
    keepLoaded(data.urls).then(() => {
      if (port) port.postMessage({ done: true });
    }),
  );
});
