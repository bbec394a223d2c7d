// A small promise wrapper over IndexedDB: surveys, photos and a key-value store.

const DB_NAME = "cdfmap-collect";
const DB_VERSION = 1;
let opening = null;

function open() {
  if (opening) return opening;
  opening = new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains("surveys")) db.createObjectStore("surveys", { keyPath: "id" });
      if (!db.objectStoreNames.contains("photos")) db.createObjectStore("photos");
      if (!db.objectStoreNames.contains("kv")) db.createObjectStore("kv");
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opening;
}

async function run(store, mode, action) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(store, mode);
    const request = action(transaction.objectStore(store));
    let result;
    if (request) request.onsuccess = () => (result = request.result);
    transaction.oncomplete = () => resolve(result);
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
}

/** Every survey stored on the phone. */
export function allSurveys() {
  return run("surveys", "readonly", (store) => store.getAll());
}

/** One survey by id (undefined when absent). */
export function getSurvey(id) {
  return run("surveys", "readonly", (store) => store.get(id));
}

/** Store (insert or replace) a survey. */
export function putSurvey(survey) {
  return run("surveys", "readwrite", (store) => store.put({ ...survey, updated_at: new Date().toISOString() }));
}

/** Store several surveys in one transaction. */
export function putSurveys(surveys) {
  return run("surveys", "readwrite", (store) => {
    for (const survey of surveys) store.put(survey);
    return null;
  });
}

/** Delete a survey and its photos. */
export async function deleteSurvey(survey) {
  await run("surveys", "readwrite", (store) => store.delete(survey.id));
  for (const filename of survey.photos ?? []) await deletePhoto(survey.id, filename);
}

/** Store a photo (a Blob) of a survey under its filename. */
export function putPhoto(surveyId, filename, blob) {
  return run("photos", "readwrite", (store) => store.put(blob, `${surveyId}/${filename}`));
}

/** A photo Blob, or undefined. */
export function getPhoto(surveyId, filename) {
  return run("photos", "readonly", (store) => store.get(`${surveyId}/${filename}`));
}

/** Delete a photo. */
export function deletePhoto(surveyId, filename) {
  return run("photos", "readwrite", (store) => store.delete(`${surveyId}/${filename}`));
}

/** A value of the key-value store. */
export function getValue(key) {
  return run("kv", "readonly", (store) => store.get(key));
}

/** Set a value of the key-value store. */
export function setValue(key, value) {
  return run("kv", "readwrite", (store) => store.put(value, key));
}
