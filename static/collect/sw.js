// Service worker of the survey app (scope /collect): the shell, scripts, styles and icons
// are precached so that the app opens and works with no connection. Network-first for the
// page (fresh when online and answered OK; the copy kept here when the network fails or the
// server is down), cache-first for the versioned assets. The API is never touched:
// it needs the phone's token, and the app keeps what it needs offline (the form
// definitions) in IndexedDB itself; nothing signed in is ever kept in this cache.
//
// The server (app/api/collect.py) puts a hash of every file of static/collect/ in VERSION:
// any change of any asset changes this file's bytes, so phones install the new version,
// which asks the server for every asset again with the copy it holds (cache: "no-cache":
// an ETag round trip each, 304 for the unchanged ones): on 3G an update downloads only the
// files that changed, never an old copy (docs/benchmarks.md, bench/phone.py).

const VERSION = "collect-__ASSETS_VERSION__";
const ASSETS = [
  "/collect",
  "/collect/manifest.webmanifest",
  "/static/collect/account.js",
  "/static/collect/app.js",
  "/static/collect/auth.js",
  "/static/collect/clock.js",
  "/static/collect/db.js",
  "/static/collect/dom.js",
  "/static/collect/editor.js",
  "/static/collect/form.js",
  "/static/collect/gps.js",
  "/static/collect/map.js",
  "/static/collect/i18n.js",
  "/static/collect/markdown.js",
  "/static/collect/model.js",
  "/static/collect/review.js",
  "/static/collect/sync.js",
  "/static/collect/treasurer.js",
  "/static/collect/treasurer_i18n.js",
  "/static/collect/treasurer_sheet.js",
  "/static/collect/treasurer_sync.js",
  "/static/collect/treasurer.css",
  "/static/collect/widgets.js",
  "/static/collect/xpath.js",
  "/static/vendor/openrosa-xpath-evaluator-3.1.0-p1/openrosa-xpath-evaluator.js",
  "/static/collect/style.css",
  "/static/collect/icons/icon-192.png",
  "/static/collect/icons/icon-512.png",
  "/static/collect/icons/icon-maskable-512.png",
  // The geo widgets' map (loaded when a map question is first shown, kept for offline use).
  "/static/vendor/leaflet-1.9.4/leaflet.js",
  "/static/vendor/leaflet-1.9.4/leaflet.css",
];

// Our server marks every file it serves (app/api/collect.py): a 200 without the mark is
// someone else's page (a Wi-Fi's captive portal answering every address with its login on
// plain HTTP). It is shown, never kept: kept as the shell, the app would not open offline.
function ours(response) {
  return response.ok && response.headers.get("X-App-File") === "1";
}

async function precache() {
  const cache = await caches.open(VERSION);
  const answers = await Promise.all(
    ASSETS.map(async (url) => [url, await fetch(new Request(url, { cache: "no-cache" }))]),
  );
  for (const [url, response] of answers) {
    // An install that gets someone else's page fails: the version installed keeps working.
    if (!ours(response)) throw new Error(`not the app's file: ${url} (${response.status})`);
  }
  await Promise.all(answers.map(([url, response]) => cache.put(url, response)));
}

self.addEventListener("install", (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key !== VERSION && key.startsWith("collect-")) await caches.delete(key);
      }
      await self.clients.claim();
    })(),
  );
});

// Answers for the shell that are the person's to see rather than the app's to hide: a sign-in
// asked by someone in between (a proxy's 401, 407) or a refusal (403), and a redirect (a
// Wi-Fi login). Any other answer that is not OK (a 5xx: the app server down behind the
// proxy, its 502; a 404 of a half-deployed proxy; a 408 or 429) gives the shell kept here:
// the app opens with its waiting surveys instead of an error page.
const SHELL_ANSWERS_SHOWN = new Set([401, 403, 407]);

function shownAsIs(response) {
  return response.ok || response.type === "opaqueredirect" || (response.status >= 300 && response.status < 400)
    || SHELL_ANSWERS_SHOWN.has(response.status);
}

async function networkFirst(request, cacheKey) {
  const cache = await caches.open(VERSION);
  let response;
  try {
    response = await fetch(request);
  } catch (error) {
    const cached = await cache.match(cacheKey, { ignoreSearch: false });
    if (cached) return cached;
    throw error;
  }
  if (ours(response)) {
    await cache.put(cacheKey, response.clone());
    return response;
  }
  if (shownAsIs(response)) return response;
  return (await cache.match(cacheKey, { ignoreSearch: false })) ?? response;
}

async function cacheFirst(request) {
  const cache = await caches.open(VERSION);
  const cached = await cache.match(request, { ignoreSearch: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (ours(response)) await cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return; // sign-in, submissions and photos go straight to the network
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && (url.pathname === "/collect" || url.pathname === "/collect/")) {
    event.respondWith(networkFirst(request, "/collect"));
  } else if (url.pathname.startsWith("/static/collect/") || url.pathname === "/collect/manifest.webmanifest"
    || url.pathname.startsWith("/static/vendor/openrosa-xpath-evaluator-") // versioned by its folder
    || url.pathname.startsWith("/static/vendor/leaflet-")) { // the geo widgets' map, likewise
    event.respondWith(cacheFirst(request));
  }
});
