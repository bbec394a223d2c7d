// One GPS watch at a time: the latest fix and its state, to whoever listens. The watch runs
// only while a GPS widget is on screen (the battery of a volunteer's phone must last the day).

const listeners = new Set();
let watchId = null;
export const state = { status: "idle", fix: null, error: null };

function publish() {
  for (const listener of listeners) listener(state);
}

function onPosition(position) {
  const { latitude, longitude, accuracy, altitude } = position.coords;
  state.status = "fix";
  state.error = null;
  state.fix = {
    lat: latitude,
    lon: longitude,
    accuracy_m: Math.round(accuracy * 10) / 10,
    altitude_m: altitude === null || altitude === undefined ? null : altitude,
    at: position.timestamp,
  };
  publish();
}

function onError(error) {
  if (error.code === 1) state.status = "denied";
  else if (error.code === 3) state.status = state.fix ? "fix" : "timeout";
  else state.status = state.fix ? "fix" : "unavailable";
  state.error = error.code;
  publish();
}

const OPTIONS = { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 };

/** Start watching the position; `listener` hears every change. Returns the unsubscribe. */
export function watch(listener) {
  listeners.add(listener);
  if (!("geolocation" in navigator)) {
    state.status = "unsupported";
    listener(state);
    return () => release(listener);
  }
  if (watchId === null) {
    // A fix from an earlier watch may be another house: start from nothing.
    state.fix = null;
    state.status = "searching";
    watchId = navigator.geolocation.watchPosition(onPosition, onError, OPTIONS);
  }
  listener(state);
  return () => release(listener);
}

/** Stop telling `listener`; the watch stops when nobody listens. */
export function release(listener) {
  listeners.delete(listener);
  if (listeners.size === 0 && watchId !== null) {
    navigator.geolocation.clearWatch(watchId);
    watchId = null;
  }
}

/** Ask for a fresh position now (the "wait for a better fix" button). */
export function refresh() {
  if (!("geolocation" in navigator)) return;
  navigator.geolocation.getCurrentPosition(onPosition, onError, OPTIONS);
}
