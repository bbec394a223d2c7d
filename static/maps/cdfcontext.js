/* CDF map: the streets, water and landmarks under the settlements (the context layers of
 * /api/v1/context/{city}.geojson), fetched for the view as it moves: main streets and water
 * from afar, lanes and buildings at house scale. Names are text nodes, never HTML. */
(function () {
  "use strict";

  var ROADS = { major: [4, "#9a9a9a"], minor: [2.5, "#b4b4b4"], lane: [1.2, "#c8c8c8"] };
  var WATERWAYS = { river: 3, canal: 2, stream: 1.2, drain: 1 };

  function style(feature) {
    var p = feature.properties;
    if (p.kind === "road") {
      var road = ROADS[p["class"]] || ROADS.lane;
      return { color: road[1], weight: road[0], opacity: 0.9, lineCap: "round" };
    }
    if (p.kind === "waterway") {
      return { color: "#7aa7cf", weight: WATERWAYS[p["class"]] || 1, opacity: 0.9 };
    }
    if (p.kind === "water") {
      return { color: "#8fb3d1", weight: 0.5, fillColor: "#cfe2f1", fillOpacity: 0.8 };
    }
    return { color: "#b0b0b0", weight: 0.5, fillColor: "#e2e2e2", fillOpacity: 0.8 };
  }

  function text(value) {
    var node = document.createElement("span");
    node.textContent = value;
    return node;
  }

  function layer(map, options) {
    var group = L.geoJSON(null, {
      pane: "cdfContext",
      style: style,
      interactive: true,
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, {
          pane: "cdfContext",
          radius: 5,
          color: "#ffffff",
          weight: 1.5,
          fillColor: "#303030",
          fillOpacity: 0.9,
          className: "cdf-landmark",
        });
      },
      onEachFeature: function (feature, item) {
        var name = feature.properties.name;
        if (name) {
          item.bindTooltip(text(name), {
            sticky: feature.properties.kind !== "landmark",
            direction: "right",
            className: "cdf-context-name",
          });
        }
      },
    });
    var shown = null; // the bbox and zoom last drawn
    var pending = null;
    var attribution = null;
    var timer = null;

    function covers(outer, inner) {
      return outer && outer.bounds.contains(inner.bounds) && outer.zoom === inner.zoom;
    }

    function load() {
      if (!map.hasLayer(group)) return;
      var zoom = Math.min(22, Math.max(0, Math.round(map.getZoom())));
      var view = { bounds: map.getBounds().pad(0.25), zoom: zoom };
      if (covers(shown, { bounds: map.getBounds(), zoom: zoom })) return;
      if (pending) pending.abort();
      pending = window.AbortController ? new AbortController() : null;
      var b = view.bounds;
      var west = Math.max(-180, b.getWest()), east = Math.min(180, b.getEast());
      var south = Math.max(-90, b.getSouth()), north = Math.min(90, b.getNorth());
      if (east - west > 2 || north - south > 2) return; // farther out than a city: nothing
      var url = options.url + "?bbox=" + [west, south, east, north].map(function (v) {
        return v.toFixed(5);
      }).join(",") + "&zoom=" + zoom;
      fetch(url, { credentials: "same-origin", signal: pending ? pending.signal : undefined })
        .then(function (response) {
          if (!response.ok) throw new Error("context " + response.status);
          return response.json();
        })
        .then(function (collection) {
          group.clearLayers();
          group.addData(collection);
          shown = view;
          if (collection.attribution && !attribution) {
            attribution = map.attributionControl;
            if (!attribution) {
              attribution = L.control.attribution({ prefix: false }).addTo(map);
            }
            attribution.addAttribution(
              String(collection.attribution).replace(/[&<>"']/g, function (c) {
                return "&#" + c.charCodeAt(0) + ";";
              })
            );
          }
        })
        .catch(function () {
          /* offline or aborted: the last streets drawn stay */
        });
    }

    map.on("moveend zoomend", function () {
      clearTimeout(timer);
      timer = setTimeout(load, 250);
    });
    group.on("add", function () {
      setTimeout(load, 0);
    });
    return group;
  }

  window.CdfContext = { layer: layer };
})();
