// The offline map of the geo widgets: Leaflet (vendored, loaded on the first map shown, cached
// by the service worker) with no tiles (no tile server is reachable in the field), a light
// background, the points, line or shape, the GPS accuracy circle and a scale bar.

import { t } from "./i18n.js";

const LEAFLET = "/static/vendor/leaflet-1.9.4";
const DEFAULT_ZOOM = 18; // a house and its lane
const EMPTY_CENTER = [15.5712, 108.4741]; // any point: nothing is drawn until there is one
const LOAD_TIMEOUT_MS = 10_000; // Leaflet's files come from the phone's cache: seconds at most
let loading = null;
// Each file's load, kept while it is under way: a try that gave up on a stalled file waits
// on the same element next time instead of adding a second one (a second leaflet.js would run
// twice once both arrive). Dropped only when the file fails.
const files = new Map();

/** Load Leaflet once (its script and stylesheet); resolves with `L` when both have loaded.
 * Without its stylesheet Leaflet's panes are laid out as plain boxes that spill out of the map
 * (and once pushed the fixed Back / Next bar off a phone's screen): a stylesheet that cannot be
 * had (offline before the app was cached) means no map, said on screen, and a new try next time.
 * A file that neither loads nor fails within LOAD_TIMEOUT_MS (a network that stalls) means no
 * map either, instead of a map box that waits for ever.
 */
export function loadLeaflet() {
  if (window.L && leafletStyled()) return Promise.resolve(window.L);
  if (loading) return loading;
  const attempt = Promise.all([
    leafletStyled() ? Promise.resolve() : inTime(file("link", { rel: "stylesheet", href: `${LEAFLET}/leaflet.css` })),
    window.L ? Promise.resolve() : inTime(file("script", { src: `${LEAFLET}/leaflet.js` })),
  ]).then(() => window.L);
  loading = attempt.catch((error) => {
    loading = null;
    throw error;
  });
  return loading;
}

function leafletStyled() {
  return [...document.querySelectorAll("link[data-leaflet]")].some((link) => link.dataset.loaded === "yes");
}

/** The load of a <link> or <script>: the one under way, else a new element. */
function file(tag, attributes) {
  const key = attributes.href ?? attributes.src;
  if (!files.has(key)) {
    files.set(key, new Promise((resolve, reject) => {
      const element = document.createElement(tag);
      Object.assign(element, attributes);
      element.dataset.leaflet = "";
      element.onload = () => {
        element.dataset.loaded = "yes";
        resolve();
      };
      element.onerror = () => {
        files.delete(key);
        element.remove(); // a later try fetches it again
        reject(new Error(`leaflet ${tag}`));
      };
      document.head.append(element);
    }));
  }
  return files.get(key);
}

/** `pending`, or a failure once LOAD_TIMEOUT_MS have passed without it. */
function inTime(pending) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error("leaflet: no answer")), LOAD_TIMEOUT_MS);
  });
  return Promise.race([pending, late]).finally(() => clearTimeout(timer));
}

/** A point marker that can be dragged, drawn with CSS (no image files). */
function pointIcon(L, kind) {
  return L.divIcon({ className: `map-point map-point-${kind}`, iconSize: [18, 18], iconAnchor: [9, 9] });
}

/**
 * A map in `element`: `onTap({lat, lon})` hears taps, `onDrag({lat, lon})` drags of the
 * point. Returns {show({point, accuracy_m, points, closed, gps}), destroy()} once drawn.
 */
export async function createMap(element, { onTap, onDrag } = {}) {
  const L = await loadLeaflet();
  const map = L.map(element, {
    attributionControl: false,
    zoomControl: false, // Leaflet's own says "Zoom in" / "Zoom out": ours, in the language shown
    center: EMPTY_CENTER,
    zoom: DEFAULT_ZOOM,
    maxZoom: 22,
    minZoom: 3,
    // No animations: a screen change removes the map at once, and an animation still running
    // on a removed map throws (cheap phones are spared the work too).
    zoomAnimation: false,
    fadeAnimation: false,
    markerZoomAnimation: false,
  });
  L.control.zoom({ zoomInTitle: t("zoom_in"), zoomOutTitle: t("zoom_out") }).addTo(map);
  L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
  const layers = L.layerGroup().addTo(map);
  let marker = null;
  let centred = false;
  map.on("click", (event) => onTap?.({ lat: event.latlng.lat, lon: event.latlng.lng }));

  let removed = false; // the screen changed: a late caller (a GPS fix, a read) draws nothing

  function show({ point = null, accuracy_m = null, points = [], closed = false, gps = null, draggable = false }) {
    if (removed) return;
    layers.clearLayers();
    marker = null;
    const bounds = [];
    if (gps && Number.isFinite(gps.lat)) {
      // Where the GPS says the phone is, apart from the recorded point.
      if (gps.accuracy_m) {
        L.circle([gps.lat, gps.lon], { radius: gps.accuracy_m, className: "map-gps-accuracy", interactive: false }).addTo(layers);
      }
      L.circleMarker([gps.lat, gps.lon], { radius: 5, className: "map-gps", interactive: false }).addTo(layers);
      bounds.push([gps.lat, gps.lon]);
    }
    if (points.length) {
      const latlngs = points.map((p) => [p.lat, p.lon]);
      if (closed && latlngs.length >= 3) L.polygon(latlngs, { className: "map-shape", interactive: false }).addTo(layers);
      else L.polyline(latlngs, { className: "map-line", interactive: false }).addTo(layers);
      latlngs.forEach((latlng, index) => {
        L.circleMarker(latlng, { radius: index === 0 ? 7 : 5, className: index === 0 ? "map-vertex map-first" : "map-vertex", interactive: false }).addTo(layers);
        bounds.push(latlng);
      });
    }
    if (point) {
      if (accuracy_m) {
        L.circle([point.lat, point.lon], { radius: accuracy_m, className: "map-accuracy", interactive: false }).addTo(layers);
      }
      marker = L.marker([point.lat, point.lon], {
        icon: pointIcon(L, point.manual ? "manual" : "gps"), draggable, keyboard: false,
      }).addTo(layers);
      if (draggable) {
        marker.on("dragend", () => {
          const { lat, lng } = marker.getLatLng();
          onDrag?.({ lat, lon: lng });
        });
      }
      bounds.push([point.lat, point.lon]);
    }
    if (bounds.length === 1 && !centred) {
      map.setView(bounds[0], DEFAULT_ZOOM, { animate: false });
      centred = true;
    } else if (bounds.length > 1 && !centred) {
      map.fitBounds(bounds, { padding: [24, 24], maxZoom: DEFAULT_ZOOM + 2, animate: false });
      centred = true;
    } else if (bounds.length && !map.getBounds().pad(-0.1).contains(bounds.at(-1))) {
      map.panTo(bounds.at(-1), { animate: false }); // follow the walker
    }
  }

  return {
    show,
    /** Centre on a place while nothing is drawn (the last place the phone knew). */
    centreOn: ({ lat, lon }) => {
      if (!centred && !removed) map.setView([lat, lon], DEFAULT_ZOOM - 2, { animate: false });
    },
    /** Centre on everything drawn again (after a clear, or on demand). */
    recentre: () => { centred = false; },
    invalidate: () => removed || map.invalidateSize(),
    destroy: () => {
      if (removed) return;
      removed = true;
      map.remove();
    },
  };
}

/** Metres between two points (haversine; enough for points a few metres to km apart). */
export function distanceM(a, b) {
  const R = 6371008.8;
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(h));
}
