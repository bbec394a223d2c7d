// Service worker of the survey app (scope /collect): the shell, scripts, styles, icons and
// form definitions are precached so that the app opens and works with no connection.
// Network-first for the page and the form JSON (fresh when online), cache-first for the
// versioned assets; POSTs (submissions, photos) are never touched or cached.
//
// The server (app/api/collect.py) puts a hash of every file of static/collect/ in VERSION:
// any change of any asset changes this file's bytes, so phones install the new version,
// which fetches every asset past the browser's HTTP cache (cache: "reload").

const VERSION = "collect-__ASSETS_VERSION__";
const ASSETS = [
  "/collect",
  "/collect/manifest.webmanifest",
  "/static/collect/app.js",
  "/static/collect/clock.js",
  "/static/collect/db.js",
  "/static/collect/dom.js",
  "/static/collect/form.js",
  "/static/collect/gps.js",
  "/static/collect/i18n.js",
  "/static/collect/sync.js",
  "/static/collect/widgets.js",
  "/static/collect/xpath.js",
  "/static/collect/style.css",
  "/static/collect/icons/icon-192.png",
  "/static/collect/icons/icon-512.png",
  "/static/collect/icons/icon-maskable-512.png",
];
const FORMS = ["/api/v1/forms", "/api/v1/forms/household"];

async function precache() {
  const cache = await caches.open(VERSION);
  await cache.addAll(ASSETS.map((url) => new Request(url, { cache: "reload" })));
  const forms = new Set(FORMS);
  try {
    const listing = await (await fetch("/api/v1/forms", { cache: "no-store" })).json();
    for (const form of listing.forms ?? []) forms.add(`/api/v1/forms/${encodeURIComponent(form.form_id)}`);
  } catch {
    // offline at install: the fixed list is enough
  }
  await Promise.all(
    [...forms].map(async (url) => {
      try {
        const response = await fetch(url, { cache: "no-store" });
        if (response.ok) await cache.put(url, response);
      } catch {
        // a form that cannot be fetched now is cached on its first online use
      }
    }),
  );
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

async function networkFirst(request, cacheKey) {
  const cache = await caches.open(VERSION);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(cacheKey, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(cacheKey, { ignoreSearch: false });
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(VERSION);
  const cached = await cache.match(request, { ignoreSearch: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return; // submissions and photos go straight to the network
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && (url.pathname === "/collect" || url.pathname === "/collect/")) {
    event.respondWith(networkFirst(request, "/collect"));
  } else if (url.pathname.startsWith("/api/v1/forms")) {
    event.respondWith(networkFirst(request, url.pathname + url.search));
  } else if (url.pathname.startsWith("/static/collect/") || url.pathname === "/collect/manifest.webmanifest") {
    event.respondWith(cacheFirst(request));
  }
});
