/* The map pages offline (map pages, the national view, the progress dashboard): registers
 * the maps' service worker (/maps/sw.js, app/api/offline.py), hands it what this page
 * loaded before it took control (the first visit: page, data, scripts), and shows
 * "no network, data from <time>" when the page or its data came from the worker's cache.
 *
 * The note's text is the page's <meta name="cdfmap-offline"> (app/i18n.py, in the page's
 * language) with {time} filled in; the time is the one the worker kept the copy at, as
 * <meta name="cdfmap-saved"> (the worker adds it to a page it answers) or in its message.
 * Everything is set as text. <html data-offline-ready="yes"> once the worker holds this page.
 */
(function () {
  "use strict";

  var root = document.documentElement;
  var oldest = null;
  var note = null;

  /** The time as the page's language writes it (static/pages/dates.js, loaded before). */
  function formatTime(iso) {
    var dates = window.cdfmapDates;
    return (dates && dates.time(iso, root.lang === "en" ? "en" : "vi")) || "?";
  }

  /** Show (or update to an older time) the note that the data is not fresh. */
  function showNote(iso) {
    if (oldest !== null && iso && iso >= oldest) return;
    oldest = iso || oldest || "";
    var meta = document.querySelector('meta[name="cdfmap-offline"]');
    var template = meta ? meta.getAttribute("content") : "{time}";
    var text = template.replace(/\{time\}/g, function () {
      return formatTime(oldest);
    });
    if (!note) {
      note = document.createElement("div");
      note.id = "cdfmap-offline-note";
      note.setAttribute("role", "status");
      var style = note.style;
      style.position = "fixed";
      style.left = "50%";
      style.bottom = "28px";
      style.transform = "translateX(-50%)";
      style.zIndex = "1200";
      style.maxWidth = "90%";
      style.padding = "6px 12px";
      style.background = "#fff3cd";
      style.color = "#5c3c00";
      style.border = "1px solid #c99a2e";
      style.borderRadius = "4px";
      style.boxShadow = "0 1px 4px rgba(0, 0, 0, 0.35)";
      style.font = "bold 13px/1.35 sans-serif";
      style.textAlign = "center";
      document.body.appendChild(note);
    }
    note.textContent = text;
    root.dataset.offlineNote = "yes";
  }

  function fromCache() {
    var saved = document.querySelector('meta[name="cdfmap-saved"]');
    if (saved) showNote(saved.getAttribute("content") || "");
  }

  if (document.body) fromCache();
  else document.addEventListener("DOMContentLoaded", fromCache);

  if (!("serviceWorker" in navigator)) return;
  var workers = navigator.serviceWorker;
  workers.addEventListener("message", function (event) {
    var data = event.data || {};
    if (data.type === "cdfmap-offline" && typeof data.saved === "string") {
      if (document.body) showNote(data.saved);
    }
  });
  workers.startMessages(); // the worker's messages from now on, not only once the page is parsed

  // What this page fetched before the worker took control (URLs of this site only).
  var controlledAt = workers.controller ? 0 : null;
  var sentUpTo = 0;
  var loaded = [];

  function same(url) {
    return url.indexOf(location.origin + "/") === 0;
  }

  function ask(worker, urls) {
    return new Promise(function (resolve) {
      var channel = new MessageChannel();
      channel.port1.onmessage = function () {
        resolve();
      };
      worker.postMessage({ type: "keep", urls: urls }, [channel.port2]);
    });
  }

  function pending() {
    var urls = loaded.slice(sentUpTo);
    sentUpTo = loaded.length;
    return urls;
  }

  function ready() {
    root.dataset.offlineReady = "yes";
  }

  workers
    .register("/maps/sw.js", {
      scope: location.pathname.indexOf("/progress/") === 0 ? "/progress/" : "/maps/",
    })
    .then(function () {
      return workers.ready;
    })
    .then(function (registration) {
      if (controlledAt === 0) {
        ready(); // this page and its data came through the worker
        return;
      }
      var claimed = function () {
        if (controlledAt !== null || !workers.controller) return;
        controlledAt = performance.now();
        loaded.push(location.href);
        var observer = new PerformanceObserver(function (list) {
          list.getEntries().forEach(function (entry) {
            if (entry.startTime < controlledAt && same(entry.name)) loaded.push(entry.name);
          });
          var urls = pending();
          if (urls.length && registration.active) ask(registration.active, urls);
        });
        // The entries so far, then those still arriving (started before the worker's time).
        var urls = performance
          .getEntriesByType("resource")
          .filter(function (entry) {
            return entry.startTime < controlledAt && same(entry.name);
          })
          .map(function (entry) {
            return entry.name;
          });
        loaded = loaded.concat(urls);
        observer.observe({ type: "resource" });
        ask(registration.active, pending()).then(ready);
      };
      workers.addEventListener("controllerchange", claimed);
      claimed();
    })
    .catch(function (error) {
      if (window.console) console.warn("map pages offline: no service worker", error);
    });
})();
