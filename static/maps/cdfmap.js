/* CDF map: builds a map page from its JSON data block (settlements, wards, popups, title,
 * legend), household points drawn on canvas tiles (no DOM marker per household), a legend
 * that follows the visible layers. Needs only Leaflet; no network access beyond this app.
 *
 * Names come from boundary files and forms: they are only ever set as text (textContent,
 * DOM elements handed to Leaflet), never as HTML, and the page's data is read with
 * JSON.parse, never evaluated. Household points arrive as compact JSON:
 *   {"origin": [lon0, lat0], "scale": 1e-5, "lon": [int...], "lat": [int...],
 *    "categories": {"tenure": "0123-...", ...}}   (one character per household, "-" = no answer)
 */
(function () {
  "use strict";

  var cache = {};
  var householdLayers = [];
  var projectLayers = [];
  var groupLayers = [];

  function decode(data) {
    var n = data.lon.length;
    var lon = new Float64Array(n);
    var lat = new Float64Array(n);
    for (var i = 0; i < n; i++) {
      lon[i] = data.origin[0] + data.lon[i] * data.scale;
      lat[i] = data.origin[1] + data.lat[i] * data.scale;
    }
    return { count: n, lon: lon, lat: lat, categories: data.categories || {} };
  }

  function loadPoints(url) {
    if (!cache[url]) {
      cache[url] = fetch(url, { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("household points: HTTP " + response.status);
          }
          return response.json();
        })
        .then(decode);
    }
    return cache[url];
  }

  var HouseholdLayer = L.GridLayer.extend({
    options: {
      url: null,
      indicatorKey: null,
      colours: [],
      noDataColour: "#bdbdbd",
      updateWhenZooming: false,
      maxNativeZoom: 22,
    },

    initialize: function (options) {
      L.GridLayer.prototype.initialize.call(this, options);
      this._projected = {};
    },

    createTile: function (coords, done) {
      var tile = L.DomUtil.create("canvas", "cdf-households-tile");
      var size = this.getTileSize();
      tile.width = size.x;
      tile.height = size.y;
      var layer = this;
      loadPoints(this.options.url).then(
        function (points) {
          if (layer._map) {
            layer._draw(tile, coords, points);
          }
          done(null, tile);
        },
        function (error) {
          done(error, tile);
        }
      );
      return tile;
    },

    _pixels: function (points, zoom) {
      if (!this._projected[zoom]) {
        var xs = new Float64Array(points.count);
        var ys = new Float64Array(points.count);
        var crs = this._map.options.crs;
        for (var i = 0; i < points.count; i++) {
          var p = crs.latLngToPoint(L.latLng(points.lat[i], points.lon[i]), zoom);
          xs[i] = p.x;
          ys[i] = p.y;
        }
        this._projected[zoom] = { x: xs, y: ys };
      }
      return this._projected[zoom];
    },

    _draw: function (tile, coords, points) {
      var size = this.getTileSize();
      var pixels = this._pixels(points, coords.z);
      var left = coords.x * size.x;
      var top = coords.y * size.y;
      var radius = Math.max(1.5, Math.min(5, 1.5 + (coords.z - 13) * 0.6));
      var codes = points.categories[this.options.indicatorKey] || "";
      var colours = this.options.colours;
      var groups = {};
      for (var i = 0; i < points.count; i++) {
        var x = pixels.x[i] - left;
        var y = pixels.y[i] - top;
        if (x < -radius || y < -radius || x > size.x + radius || y > size.y + radius) {
          continue;
        }
        var code = codes.charCodeAt(i) - 48;
        var colour = code >= 0 && code < colours.length ? colours[code] : this.options.noDataColour;
        (groups[colour] = groups[colour] || []).push(x, y);
      }
      var context = tile.getContext("2d");
      context.lineWidth = radius > 2.5 ? 0.8 : 0.4;
      context.strokeStyle = "rgba(40, 40, 40, 0.8)";
      Object.keys(groups).forEach(function (colour) {
        var xy = groups[colour];
        context.beginPath();
        for (var j = 0; j < xy.length; j += 2) {
          context.moveTo(xy[j] + radius, xy[j + 1]);
          context.arc(xy[j], xy[j + 1], radius, 0, 2 * Math.PI);
        }
        context.fillStyle = colour;
        context.fill();
        context.stroke();
      });
    },
  });

  function householdLayer(options) {
    var layer = new HouseholdLayer(options);
    householdLayers.push(layer);
    return layer;
  }

  function swatch(colour, hatch) {
    var box = L.DomUtil.create("span", "cdf-swatch" + (hatch ? " cdf-swatch-area" : ""));
    box.style.background = colour;
    return box;
  }

  function section(container, title, items, area) {
    var block = L.DomUtil.create("div", "cdf-legend-section", container);
    var heading = L.DomUtil.create("div", "cdf-legend-title", block);
    heading.textContent = title;
    items.forEach(function (item) {
      var row = L.DomUtil.create("div", "cdf-legend-row", block);
      row.appendChild(swatch(item[0], area));
      var label = L.DomUtil.create("span", "", row);
      label.textContent = item[1];
    });
  }

  function legend(map, spec) {
    var control = L.control({ position: "bottomright" });
    var container;
    function render() {
      if (!container) {
        return;
      }
      while (container.firstChild) {
        container.removeChild(container.firstChild);
      }
      section(container, spec.priority.title, spec.priority.items, true);
      var projectsShown = projectLayers.some(function (layer) {
        return map.hasLayer(layer);
      });
      if (spec.projects && projectsShown) {
        section(container, spec.projects.title, spec.projects.items, false);
      }
      var groupsShown = groupLayers.some(function (layer) {
        return map.hasLayer(layer);
      });
      if (spec.groups && groupsShown) {
        section(container, spec.groups.title, spec.groups.items, false);
        var groupsNote = L.DomUtil.create("div", "cdf-legend-note", container);
        groupsNote.textContent = spec.groups.note;
      }
      householdLayers.forEach(function (layer) {
        if (map.hasLayer(layer)) {
          var entry = spec.indicators[layer.options.indicatorKey];
          if (entry) {
            section(container, entry.title, entry.items, false);
          }
        }
      });
      if (spec.note) {
        var note = L.DomUtil.create("div", "cdf-legend-note", container);
        note.textContent = spec.note;
      }
    }
    control.onAdd = function () {
      container = L.DomUtil.create("div", "cdf-legend leaflet-bar");
      L.DomEvent.disableClickPropagation(container);
      L.DomEvent.disableScrollPropagation(container);
      render();
      return container;
    };
    var latest = null;
    map.on("layeradd", function (event) {
      // Household indicators are exclusive: showing one hides the others. Wait until the
      // layer control has finished handling the click, or it would add the others back.
      if (householdLayers.indexOf(event.layer) >= 0) {
        latest = event.layer;
        setTimeout(function () {
          householdLayers.forEach(function (other) {
            if (other !== latest && map.hasLayer(other)) {
              map.removeLayer(other);
            }
          });
        }, 0);
      }
      render();
    });
    map.on("layerremove", render);
    control.addTo(map);
    return control;
  }

  // Leaflet's layer control writes layer names as HTML: give it escaped text.
  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (character) {
      return "&#" + character.charCodeAt(0) + ";";
    });
  }

  function textElement(tag, className, text, parent) {
    var element = L.DomUtil.create(tag, className, parent);
    element.textContent = text === null || text === undefined ? "" : String(text);
    return element;
  }

  function popupContent(properties, fields) {
    var box = L.DomUtil.create("div", "cdf-popup");
    var table = L.DomUtil.create("table", "", box);
    var body = L.DomUtil.create("tbody", "", table);
    fields.forEach(function (field) {
      var row = L.DomUtil.create("tr", "", body);
      textElement("th", "", field[1], row);
      textElement("td", "", properties[field[0]], row);
    });
    return box;
  }

  function tooltipContent(properties) {
    return textElement("span", "cdf-tooltip", properties.name);
  }

  function title(map, spec) {
    var box = L.DomUtil.create("div", "cdf-title", map.getContainer());
    L.DomEvent.disableClickPropagation(box);
    textElement("div", "cdf-title-main", spec.title, box);
    if (spec.subtitle) {
      textElement("div", "cdf-title-sub", spec.subtitle, box);
    }
    if (spec.note) {
      textElement("div", "cdf-title-note", spec.note, box);
    }
    return box;
  }

  // The whole page from its data block: <script type="application/json" id="...">.
  function build(map, dataId) {
    var data = JSON.parse(document.getElementById(dataId).textContent);
    var b = data.bounds; // west, south, east, north
    map.fitBounds([
      [b[1], b[0]],
      [b[3], b[2]],
    ]);
    if (data.basemap) {
      L.tileLayer(data.basemap.url, {
        attribution: escapeHtml(data.basemap.attribution),
        maxZoom: 20,
      }).addTo(map);
    }
    var settlements = L.geoJSON(data.settlements, {
      style: function (feature) {
        return {
          fillColor: feature.properties.colour,
          fillOpacity: 0.55,
          color: "#5b2c06",
          weight: 1.5,
        };
      },
      onEachFeature: function (feature, layer) {
        // Built when first shown: a city's hundreds of settlements cost no DOM until then.
        layer.bindTooltip(
          function () {
            return tooltipContent(feature.properties);
          },
          { sticky: true }
        );
        layer.bindPopup(
          function () {
            return popupContent(feature.properties, data.popupFields);
          },
          {
            minWidth: 240,
            maxWidth: 340,
            // Keep the popup clear of the title box when the map pans to show it.
            autoPanPaddingTopLeft: [10, 90],
          }
        );
        layer.on("mouseover", function () {
          layer.setStyle({ weight: 3, fillOpacity: 0.7 });
        });
        layer.on("mouseout", function () {
          settlements.resetStyle(layer);
        });
      },
    }).addTo(map);
    var wards = L.geoJSON(data.wards, {
      style: function () {
        return { fill: false, color: "#222222", weight: 2.5, dashArray: "6 4" };
      },
      onEachFeature: function (feature, layer) {
        layer.bindTooltip(
          function () {
            return tooltipContent(feature.properties);
          },
          { sticky: true }
        );
      },
    }).addTo(map);
    var overlays = {};
    overlays[escapeHtml(data.layers.settlements)] = settlements;
    overlays[escapeHtml(data.layers.wards)] = wards;
    var projects = null;
    if (data.projects && data.projects.features.length) {
      // Above the household points (markerPane, 600), below popups and tooltips.
      map.createPane("cdfProjects").style.zIndex = 640;
      projects = projectLayer(data.projects, data.projectPopupFields).addTo(map);
      overlays[escapeHtml(data.layers.projects)] = projects;
    }
    var groups = null;
    if (data.groups && data.groups.features.length) {
      // Savings groups (cdfgroups.js): above the household points, under the projects.
      map.createPane("cdfGroups").style.zIndex = 630;
      groups = CdfGroups.layer(data.groups, data.groupPopupFields, popupContent, tooltipContent);
      groupLayers.push(groups);
      groups.addTo(map);
      overlays[escapeHtml(data.layers.groups)] = groups;
    }
    var points = data.households;
    points.indicators.forEach(function (indicator) {
      var layer = householdLayer({
        url: points.url,
        indicatorKey: indicator.key,
        colours: indicator.colours,
        noDataColour: points.noDataColour,
        // Above the settlement polygons; canvas tiles let clicks through to them.
        pane: "markerPane",
      });
      if (indicator.key === points.shown) {
        layer.addTo(map);
      }
      overlays[escapeHtml(indicator.name)] = layer;
    });
    // Open on a desktop, folded into a button on a phone.
    L.control
      .layers({}, overlays, { position: "topright", collapsed: window.innerWidth < 700 })
      .addTo(map);
    L.control.scale({ imperial: false, maxWidth: 160 }).addTo(map);
    title(map, data);
    legend(map, data.legend);
    return { settlements: settlements, wards: wards, projects: projects };
  }

  // The CDF's upgrading projects: points as circles, lanes and drains as lines, areas as
  // outlined shapes, coloured by status; popups built from text nodes like the settlements'.
  function projectLayer(collection, fields) {
    var layer = L.geoJSON(collection, {
      pane: "cdfProjects",
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, { radius: 7, pane: "cdfProjects" });
      },
      style: function (feature) {
        var colour = feature.properties.colour;
        if (feature.geometry.type === "LineString") {
          return { color: colour, weight: 5, opacity: 0.95 };
        }
        return {
          color: "#08306b",
          weight: 2,
          fillColor: colour,
          fillOpacity: feature.geometry.type === "Point" ? 0.95 : 0.45,
        };
      },
      onEachFeature: function (feature, item) {
        item.bindTooltip(
          function () {
            return tooltipContent(feature.properties);
          },
          { sticky: true }
        );
        item.bindPopup(
          function () {
            return popupContent(feature.properties, fields);
          },
          { minWidth: 240, maxWidth: 340, autoPanPaddingTopLeft: [10, 90] }
        );
      },
    });
    projectLayers.push(layer);
    return layer;
  }

  window.CdfMap = {
    build: build,
    householdLayer: householdLayer,
    legend: legend,
    title: title,
    loadPoints: loadPoints,
  };
})();
