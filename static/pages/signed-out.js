/* The sign-in page is shown to nobody signed in (after every sign-out, or when a session has
 * ended): whatever the map pages' service worker kept for the last person (static/maps/sw.js,
 * caches "maps-*") is deleted here, so the next person of this browser never sees it.
 * <html data-map-caches="cleared"> when done. */
(function () {
  "use strict";

  if (!window.caches) return;
  caches
    .keys()
    .then(function (names) {
      return Promise.all(
        names
          .filter(function (name) {
            return name.indexOf("maps-") === 0;
          })
          .map(function (name) {
            return caches.delete(name);
          })
      );
    })
    .then(function () {
      document.documentElement.dataset.mapCaches = "cleared";
    });
})();
