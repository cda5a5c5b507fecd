// The page's one door to the service: the same API the other clients use, with the session
// cookie (sent by the browser, never read by script) and the session's CSRF token on every
// change. Problems keep their word, so the page can show the Norwegian text the API documents.

let csrf = null;
let onSignedOut = () => {};

export function setCsrf(token) {
  csrf = token;
}

export function whenSignedOut(fn) {
  onSignedOut = fn;
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem && problem.detail ? problem.detail : `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.word = (this.problem.type || "").split("/").pop();
  }
  // A route another part of the service has not built yet (or not here): the page goes on
  // without it.
  get missing() {
    return (this.status === 404 && /no such resource/.test(this.message)) || this.status === 405;
  }
}

export async function api(method, path, body, opts = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD" && csrf) headers["X-CSRF-Token"] = csrf;
  if (method === "POST") headers["Idempotency-Key"] = crypto.randomUUID();
  if (opts.ifMatch) headers["If-Match"] = opts.ifMatch;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, { type: "unavailable", detail: "network" });
  }
  if (res.status === 204) return null;
  const type = res.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await res.json() : await res.text();
  if (!res.ok) {
    const err = new ApiError(res.status, typeof data === "object" ? data : null);
    if (res.status === 401 && !opts.signingIn) onSignedOut();
    throw err;
  }
  return data;
}

export const get = (path, opts) => api("GET", path, undefined, opts);
export const post = (path, body, opts) => api("POST", path, body === undefined ? {} : body, opts);
export const patch = (path, body, opts) => api("PATCH", path, body, opts);
export const del = (path, opts) => api("DELETE", path, undefined, opts);

// Every page of a list, following next_cursor (at most max items).
export async function all(path, max = 5000) {
  const items = [];
  let cursor = null;
  const sep = path.includes("?") ? "&" : "?";
  do {
    const page = await get(`${path}${sep}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== null && v !== undefined) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

// The Norwegian texts of the problem words, from the API's own description (x-problem-types),
// fetched the first time a problem is shown.
let texts = null;
export async function problemText(err) {
  if (texts === null) {
    texts = {};
    try {
      const doc = await get("/v1/openapi.json");
      for (const t of doc.components.schemas.Problem["x-problem-types"] || []) texts[t.word] = t.text;
    } catch {
      /* without the document the page says what it knows itself */
    }
  }
  if (err.status === 0) return "Får ikke kontakt med tjenesten. Sjekk nettet og prøv igjen.";
  return texts[err.word] || "Noe gikk galt. Prøv igjen.";
}
