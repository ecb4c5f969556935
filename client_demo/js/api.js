// The only way this client talks to the backend: fetch + Bearer token.
const TOKEN_KEY = 'trusted-backend.token';

function readApiBase() {
  const meta = document.querySelector('meta[name="api-base"]');
  return (meta ? meta.content : '').trim().replace(/\/+$/, '');
}

export const API_BASE = readApiBase();

export class ApiError extends Error {
  constructor(status, code, message, details = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = Array.isArray(details) ? details : [details];
  }

  // True when the server definitively refused the request (nothing happened),
  // as opposed to a network failure or 5xx whose outcome is unknown.
  get definitive() {
    return this.status >= 400 && this.status < 500;
  }
}

// sessionStorage: the token dies with the tab, and is not shared across tabs.
export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

let unauthorizedHandler = null;
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

function buildUrl(path, query) {
  let url = `${API_BASE}/api/v1${path}`;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== '') params.set(k, v);
    }
    const qs = params.toString();
    if (qs) url += `?${qs}`;
  }
  return url;
}

// Returns {status, headers, data}; throws ApiError for non-2xx and network errors.
// `form` (a FormData) is sent as multipart/form-data instead of a JSON `body`.
export async function apiFull(path, { method = 'GET', body, form, query, idempotencyKey, auth = true } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const bearer = auth ? token.get() : null;
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;

  let res;
  try {
    res = await fetch(buildUrl(path, query), {
      method,
      headers,
      body: form !== undefined ? form : body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'network_error', 'Could not reach the server. Check the connection and try again.');
  }

  const text = res.status === 204 ? '' : await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const err = data && typeof data.error === 'object' && data.error ? data.error : {};
    const apiError = new ApiError(
      res.status,
      err.code || `http_${res.status}`,
      err.message || `The server answered HTTP ${res.status}.`,
      err.details || [],
    );
    if (res.status === 401 && bearer && unauthorizedHandler) unauthorizedHandler(apiError);
    throw apiError;
  }
  return { status: res.status, headers: res.headers, data };
}

export async function api(path, options) {
  return (await apiFull(path, options)).data;
}

export function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // randomUUID needs a secure context; plain-http deployments fall back to this.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// One key per intended operation: reused for retries and double submits,
// dropped when the user edits the form or the operation is settled.
export class IdempotencyKeeper {
  constructor(form) {
    this.key = null;
    form.addEventListener('input', () => this.reset());
    form.addEventListener('change', () => this.reset());
  }

  current() {
    if (!this.key) this.key = newIdempotencyKey();
    return this.key;
  }

  reset() {
    this.key = null;
  }
}
