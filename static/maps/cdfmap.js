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
  // Household points are drawn from this zoom on (a few streets across a phone): further out
  // a settlement is a few pixels wide, and dots would hide its priority colour.
  var HOUSEHOLD_MIN_ZOOM = 14;
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

  // A large city's households come as vector tiles (/tiles/households/{z}/{x}/{y}.pbf), read
  // with the vendored @mapbox/vector-tile (CdfVectorTile). Each tile is fetched once per page
  // and shared by the indicator layers; offline, a tile seen before comes from the maps'
  // service worker (static/maps/sw.js), else from the browser's HTTP cache (the server marks
  // tiles no-cache: they are revalidated while online).
  var tileCache = {};
  var tileOrder = [];
  var TILE_CACHE_SIZE = 512;

  function fetchTile(url) {
    var options = { credentials: "same-origin" };
    return fetch(url, options).catch(function () {
      return fetch(url, { credentials: "same-origin", cache: "force-cache" });
    });
  }

  function loadTile(url) {
    if (!tileCache[url]) {
      tileCache[url] = fetchTile(url)
        .then(function (response) {
          if (response.status === 204) {
            return null; // nothing in this tile
          }
          if (!response.ok) {
            throw new Error("household tile: HTTP " + response.status);
          }
          return response.arrayBuffer();
        })
        .then(function (buffer) {
          var layer = buffer ? CdfVectorTile.decode(new Uint8Array(buffer)).layers.households : null;
          return layer ? tilePoints(layer) : { count: 0 };
        });
      tileCache[url].catch(function () {
        delete tileCache[url]; // try again next time it is shown
      });
      tileOrder.push(url);
      if (tileOrder.length > TILE_CACHE_SIZE) {
        delete tileCache[tileOrder.shift()];
      }
    }
    return tileCache[url];
  }

  // A tile's points: position (0..1 across the tile; the buffer around it as well, so a dot
  // on an edge is drawn whole on both sides), ward and answers.
  function tilePoints(layer) {
    var xs = [];
    var ys = [];
    var inside = [];
    var properties = [];
    for (var i = 0; i < layer.length; i++) {
      var feature = layer.feature(i);
      var rings = feature.loadGeometry();
      for (var r = 0; r < rings.length; r++) {
        for (var p = 0; p < rings[r].length; p++) {
          var x = rings[r][p].x / layer.extent;
          var y = rings[r][p].y / layer.extent;
          xs.push(x);
          ys.push(y);
          inside.push(x >= 0 && x < 1 && y >= 0 && y < 1);
          properties.push(feature.properties);
        }
      }
    }
    return { count: xs.length, x: xs, y: ys, inside: inside, properties: properties };
  }

  var HouseholdLayer = L.GridLayer.extend({
    options: {
      url: null,
      tiles: null, // URL template of vector tiles, instead of url
      ward: null, // a ward's page: only its households (tiles hold the whole city's)
      question: null,
      values: [],
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
      if (coords.z < HOUSEHOLD_MIN_ZOOM) {
        // Not the layer's minZoom option: Leaflet would keep the whole map from zooming out.
        setTimeout(function () {
          done(null, tile);
        }, 0);
        return tile;
      }
      if (this.options.tiles) {
        loadTile(L.Util.template(this.options.tiles, coords)).then(
          function (points) {
            if (layer._map) {
              layer._drawTile(tile, coords, points);
            }
            done(null, tile);
          },
          function (error) {
            done(error, tile);
          }
        );
        return tile;
      }
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

    _drawTile: function (tile, coords, points) {
      var size = this.getTileSize();
      var look = dotStyle(coords.z);
      var question = this.options.question;
      var values = this.options.values;
      var colours = this.options.colours;
      var ward = this.options.ward;
      var groups = {};
      var drawn = 0;
      for (var i = 0; i < points.count; i++) {
        var properties = points.properties[i];
        if (ward !== null && properties.ward_id !== ward) {
          continue;
        }
        var code = values.indexOf(properties[question]);
        var colour = code >= 0 && code < colours.length ? colours[code] : this.options.noDataColour;
        (groups[colour] = groups[colour] || []).push(points.x[i] * size.x, points.y[i] * size.y);
        if (points.inside[i]) {
          drawn++;
        }
      }
      tile.setAttribute("data-households", String(drawn));
      tile.setAttribute("data-tile", coords.z + "/" + coords.x + "/" + coords.y);
      paintDots(tile.getContext("2d"), groups, look);
    },

    _draw: function (tile, coords, points) {
      var size = this.getTileSize();
      var pixels = this._pixels(points, coords.z);
      var left = coords.x * size.x;
      var top = coords.y * size.y;
      var look = dotStyle(coords.z);
      var radius = look.radius;
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
      paintDots(tile.getContext("2d"), groups, look);
    },
  });

  // How household dots look at a zoom level: small, translucent and without an outline while
  // a settlement holds many of them on a few pixels, so its priority colour shows between
  // them; bigger and outlined once single houses can be told apart.
  function dotStyle(zoom) {
    var radius = Math.max(1.2, Math.min(5, 1.2 + (zoom - 14) * 0.7));
    return {
      radius: radius,
      alpha: zoom < 16 ? 0.6 : 0.85,
      stroke: radius >= 2.5 ? 0.6 : 0,
    };
  }

  function paintDots(context, groups, look) {
    var radius = look.radius;
    context.globalAlpha = look.alpha;
    context.lineWidth = look.stroke;
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
      if (look.stroke) {
        context.stroke();
      }
    });
  }

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

  // Small screens: the legend starts folded into a button, so the map stays visible.
  function smallScreen() {
    return window.matchMedia("(max-width: 700px), (max-height: 500px)").matches;
  }

  function legend(map, spec) {
    var control = L.control({ position: "bottomright" });
    var container;
    var body;
    var button;
    function render() {
      if (!body) {
        return;
      }
      while (body.firstChild) {
        body.removeChild(body.firstChild);
      }
      section(body, spec.priority.title, spec.priority.items, true);
      var projectsShown = projectLayers.some(function (layer) {
        return map.hasLayer(layer);
      });
      if (spec.projects && projectsShown) {
        section(body, spec.projects.title, spec.projects.items, false);
      }
      var groupsShown = groupLayers.some(function (layer) {
        return map.hasLayer(layer);
      });
      if (spec.groups && groupsShown) {
        section(body, spec.groups.title, spec.groups.items, false);
        var groupsNote = L.DomUtil.create("div", "cdf-legend-note", body);
        groupsNote.textContent = spec.groups.note;
      } else if (spec.groups && spec.groups.unplaced && !groupLayers.length) {
        // No circle to draw (no group has a settlement): the groups are still said.
        var unplacedNote = L.DomUtil.create("div", "cdf-legend-note cdf-groups-unplaced", body);
        unplacedNote.textContent = spec.groups.unplaced;
      }
      householdLayers.forEach(function (layer) {
        if (map.hasLayer(layer)) {
          var entry = spec.indicators[layer.options.indicatorKey];
          if (entry) {
            section(body, entry.title, entry.items, false);
            // Tiles are drawn at the nearest whole zoom level.
            if (Math.round(map.getZoom()) < HOUSEHOLD_MIN_ZOOM && spec.zoomIn) {
              textElement("div", "cdf-legend-note cdf-legend-zoom", spec.zoomIn, body);
            }
          }
        }
      });
      if (spec.note) {
        var note = L.DomUtil.create("div", "cdf-legend-note", body);
        note.textContent = spec.note;
      }
    }
    function setOpen(open) {
      body.hidden = !open;
      button.setAttribute("aria-expanded", open ? "true" : "false");
      button.textContent = open ? spec.hide : spec.show;
      L.DomUtil[open ? "removeClass" : "addClass"](container, "cdf-legend-folded");
    }
    control.onAdd = function () {
      container = L.DomUtil.create("div", "cdf-legend leaflet-bar");
      button = L.DomUtil.create("button", "cdf-legend-toggle", container);
      button.type = "button";
      body = L.DomUtil.create("div", "cdf-legend-body", container);
      body.id = "cdf-legend-body";
      button.setAttribute("aria-controls", body.id);
      L.DomEvent.on(button, "click", function () {
        setOpen(body.hidden);
      });
      L.DomEvent.disableClickPropagation(container);
      L.DomEvent.disableScrollPropagation(container);
      render();
      setOpen(!smallScreen());
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
    map.on("layerremove zoomend", render);
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

  // Room a popup keeps from the map's edges when the map pans to show it: below the title
  // box at the top. One array shared by every popup (Leaflet reads it when a popup opens),
  // kept up to date when the title's height changes with the screen.
  var popupPadding = [10, 90];

  function fitPopupsBelow(map, box) {
    function update() {
      popupPadding[1] = box.offsetTop + box.offsetHeight + 12;
    }
    update();
    map.on("resize", update);
  }

  function popupOptions() {
    return {
      minWidth: Math.min(240, window.innerWidth - 80),
      maxWidth: Math.min(340, window.innerWidth - 80),
      autoPanPaddingTopLeft: popupPadding,
      autoPanPaddingBottomRight: [10, 10],
    };
  }

  // Settlement names on the map: one label each at a point inside the settlement, drawn as
  // text. A label shows only where its settlement is wide enough on screen and it does not
  // cover a label already placed (settlements with the highest score placed first), so the
  // city view is not buried under names and they appear as the map zooms in.
  function labelLayer(map, collection) {
    var group = L.layerGroup();
    var labels = [];
    collection.features.forEach(function (feature) {
      var point = feature.properties.label;
      if (!point || feature.properties.name === null || feature.properties.name === undefined) {
        return;
      }
      var text = textElement("span", "cdf-label-text", feature.properties.name);
      var marker = L.marker([point[1], point[0]], {
        icon: L.divIcon({ className: "cdf-label", html: text, iconSize: null }),
        interactive: false,
        keyboard: false,
        pane: "cdfLabels",
      });
      var shape = L.geoJSON(feature);
      labels.push({
        marker: marker,
        bounds: shape.getBounds(),
        score: typeof feature.properties.score === "number" ? feature.properties.score : -1,
      });
      group.addLayer(marker);
    });
    labels.sort(function (a, b) {
      return b.score - a.score;
    });
    function place() {
      if (!map.hasLayer(group)) {
        return;
      }
      var placed = [];
      labels.forEach(function (label) {
        var element = label.marker.getElement();
        if (!element) {
          return;
        }
        var south = map.latLngToContainerPoint(label.bounds.getSouthWest());
        var north = map.latLngToContainerPoint(label.bounds.getNorthEast());
        var wide = Math.abs(north.x - south.x) >= 28 || Math.abs(north.y - south.y) >= 28;
        element.style.visibility = "hidden";
        element.style.display = wide ? "" : "none";
        if (!wide) {
          return;
        }
        var box = element.getBoundingClientRect();
        var free = placed.every(function (other) {
          return (
            box.right + 2 < other.left ||
            box.left > other.right + 2 ||
            box.bottom + 1 < other.top ||
            box.top > other.bottom + 1
          );
        });
        if (free) {
          placed.push(box);
          element.style.visibility = "";
        } else {
          element.style.display = "none";
        }
      });
    }
    group.on("add", function () {
      setTimeout(place, 0);
    });
    map.on("zoomend resize", place);
    group.place = place;
    return group;
  }

  // The whole page from its data block: <script type="application/json" id="...">.
  function build(map, dataId) {
    var data = JSON.parse(document.getElementById(dataId).textContent);
    var b = data.bounds; // west, south, east, north
    map.fitBounds([
      [b[1], b[0]],
      [b[3], b[2]],
    ]);
    fitPopupsBelow(map, title(map, data));
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
        // The map pans to show the whole popup below the title box.
        layer.bindPopup(function () {
          return popupContent(feature.properties, data.popupFields);
        }, popupOptions());
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
    if (data.context && data.context.url && window.CdfContext) {
      // Streets, water and landmarks (cdfcontext.js): under the settlements (overlayPane, 400).
      map.createPane("cdfContext").style.zIndex = 350;
      overlays[escapeHtml(data.layers.context)] = CdfContext.layer(map, data.context).addTo(map);
    }
    overlays[escapeHtml(data.layers.settlements)] = settlements;
    // Names above the household points and projects, under tooltips; they take no clicks.
    map.createPane("cdfLabels").style.zIndex = 645;
    var labels = labelLayer(map, data.settlements).addTo(map);
    if (data.layers.labels) {
      overlays[escapeHtml(data.layers.labels)] = labels;
    }
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
        tiles: points.tiles,
        ward: points.ward,
        question: indicator.question,
        values: indicator.values,
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
    legend(map, data.legend);
    return { settlements: settlements, wards: wards, projects: projects, labels: labels };
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
        item.bindPopup(function () {
          return popupContent(feature.properties, fields);
        }, popupOptions());
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
