/* Leaflet's own words in the page's language: the zoom buttons' titles, the layers button's
   title and the attribution's link to Leaflet ("A JavaScript library for interactive maps").
   Loaded right after leaflet.js, before any map is made: the texts (app.geo.web_map.
   leaflet_texts, from the catalogue) are read from the page's `leaflet-texts` meta element
   (JSON) and become Leaflet's defaults, so every map of the page uses them.
   They go in as attributes (title, aria-label) or escaped, never as markup. */
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="leaflet-texts"]');
  if (!window.L || !meta) return;
  var texts = JSON.parse(meta.content);

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  var zoom = L.Control.Zoom.prototype.options;
  zoom.zoomInTitle = texts.zoomIn;
  zoom.zoomOutTitle = texts.zoomOut;
  var attribution = L.Control.Attribution.prototype.options;
  if (typeof attribution.prefix === "string") {
    attribution.prefix = attribution.prefix.replace(
      /title="[^"]*"/,
      'title="' + escapeHtml(texts.leaflet) + '"'
    );
  }
  // The layers button's title is fixed in Leaflet's code ("Layers"): set once it exists.
  var layersOnAdd = L.Control.Layers.prototype.onAdd;
  L.Control.Layers.prototype.onAdd = function (map) {
    var container = layersOnAdd.call(this, map);
    var toggle = container.querySelector(".leaflet-control-layers-toggle");
    if (toggle) {
      toggle.title = texts.layers;
      toggle.setAttribute("aria-label", texts.layers);
    }
    return container;
  };
})();
